package org.fusedstage.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.Structures;
import org.fusedstage.sampling.ValidatedDataset;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.server.StructureServer;
import org.fusedstage.service.FusedStageService;
import org.fusedstage.service.StructureService;

/**
 * The service's load benchmark: N closed-loop HTTP clients on 127.0.0.1 for a fixed time against
 * the same server ({@link StructureServer}) with three batching policies behind it, one after the
 * other in one run: continuous batching ({@link FusedStageService}), 50 ms micro-batching and one
 * structure at a time ({@link MicroBatchingService}). Each client posts a structure, waits for
 * its result, posts the next; requests still running when the time is up are not counted.
 */
final class ServeBench {

    private final TorchScriptPotential potential;
    private final int clients;
    private final Duration duration;
    private final int rounds;
    private final double rate;
    private final List<AtomicSystem> structures = new ArrayList<>();
    private final List<String> bodies = new ArrayList<>(); // the same structures as extxyz request bodies

    ServeBench(TorchScriptPotential potential, int clients, Duration duration, int rounds, double rate) {
        this.potential = potential;
        this.rate = rate;
        this.rounds = rounds;
        this.clients = clients;
        this.duration = duration;
        // Users' work: strained, rattled fcc argon of 32 and 108 atoms; relaxation times vary widely.
        for (int i = 0; i < 256; i++) {
            double strain = 0.97 + 0.07 * ((i * 13) % 11) / 10.0;
            double u = ((i * 37) % 17) / 16.0;
            double rattle = 0.05 + 1.2 * u * u * u; // as the whole-job bench: most relax in tens of steps, a few in hundreds
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.26 * strain, i % 3 == 0 ? 3 : 2), rattle, 7000 + i);
            if (ValidatedDataset.problemOf(s, potential.metadata().elements(), ChainOptions.edgeRadius(potential)).isPresent()) {
                continue; // a rattle that put two atoms on top of each other: users send valid structures
            }
            structures.add(s);
            bodies.add(ExtxyzWriter.formatFrame(s));
        }
    }

    private FusedStage.Builder chain() {
        return FusedStage.builder()
                .addSubStage(0, FIRE.builder(potential).optFmax(0.05).build())
                .addSubStage(1, Langevin.builder(potential).optTemperature(80).optNSteps(100).optSeed(3).build());
    }

    private StructureService continuous() {
        return continuous(64);
    }

    private StructureService continuous(int maxBatchSize) {
        return FusedStageService.builder(chain()).optMaxAtoms(2048).optMaxBatchSize(maxBatchSize).build();
    }

    /**
     * Batch caps below the clients' concurrency (3/4, 5/8 and 1/2 of it): the step's cost grows with the
     * samples in it, so a smaller batch shortens the hard structures' time in it (the p99) while
     * the waiting requests keep every slot busy (the throughput); each request waits longer for a slot.
     */
    private int[] latencyCaps() {
        return new int[] {Math.max(1, 3 * clients / 4), Math.max(1, 5 * clients / 8), Math.max(1, clients / 2)};
    }

    private StructureService microBatching(int maxBatch, Duration window) {
        return new MicroBatchingService(this::chain, maxBatch, 2048, window, potential);
    }

    void run() throws Exception {
        System.out.printf("## Service under load: %d HTTP clients on 127.0.0.1, %d s per policy, %d rounds (closed loop)%n",
                clients, duration.toSeconds(), rounds);
        System.out.printf("Structures: %d strained, rattled fcc argon crystals of 32 and 108 atoms (one in three is 108; rattles "
                + "of 0.05-1.25 A, so most relax in tens of FIRE steps and a few in hundreds), zoo LJ, FIRE (fmax 0.05) then "
                + "100 Langevin steps; batches of at most 2048 atoms and 64 structures.%n", bodies.size());
        System.out.println();
        System.out.println("| round | batching | structures/s | atoms/s | p50 latency (s) | p99 latency (s) | completed | batch steps per result |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---:|");
        List<String> ratios = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            double[] continuous = measure(round, "continuous (FusedStageService)", continuous());
            double[] micro = measure(round, "micro-batching (50 ms window)", microBatching(64, Duration.ofMillis(50)));
            StringBuilder line = new StringBuilder(String.format("round %d: %.2fx, p99 %.2f s vs %.2f s", round,
                    continuous[0] / micro[0], continuous[3], micro[3]));
            for (int cap : latencyCaps()) {
                double[] capped = measure(round, "continuous, at most " + cap + " structures per batch", continuous(cap));
                line.append(String.format("; at most %d per batch: %.2fx, p99 %.2f s", cap, capped[0] / micro[0], capped[3]));
            }
            measure(round, "one structure at a time", microBatching(1, Duration.ZERO));
            ratios.add(line.toString());
        }
        System.out.println();
        System.out.println("Continuous / micro-batching throughput: " + String.join("; ", ratios) + ".");
        System.out.println();
        System.out.printf("The same closed loop in process (%d threads calling submit(), no HTTP): the batching policies "
                + "alone, without the HTTP work that shares this machine's two cores with the worker.%n", clients);
        System.out.println();
        System.out.println("| round | batching | structures/s | p50 latency (s) | p99 latency (s) | completed |");
        System.out.println("|---|---|---:|---:|---:|---:|");
        for (int round = 1; round <= rounds; round++) {
            direct(round, "continuous (FusedStageService)", continuous());
            direct(round, "micro-batching (50 ms window)", microBatching(64, Duration.ofMillis(50)));
        }
        System.out.println();
        System.out.printf("Open loop: requests arrive at %.1f/s (Poisson, seeded), each from its own client connection, "
                + "whether or not earlier ones finished, as independent users send them; the same arrival times for every "
                + "policy. Latency counts every request sent (those still running %d s after the window count as that long).%n",
                rate, DRAIN.toSeconds());
        System.out.println();
        System.out.println("| round | batching | offered (1/s) | done within the window (1/s) | p50 latency (s) | p99 latency (s) | completed by the end of the drain |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|");
        for (int round = 1; round <= rounds; round++) {
            openLoop(round, "continuous (FusedStageService)", continuous());
            openLoop(round, "micro-batching (50 ms window)", microBatching(64, Duration.ofMillis(50)));
        }
        System.out.println();
    }

    private static final Duration DRAIN = Duration.ofSeconds(60);

    /** The closed loop through {@link StructureService#submit} directly. */
    private void direct(int round, String name, StructureService service) throws Exception {
        service.submit(structures.get(0).toBuilder().optSampleId("warm-up").build()).get();
        AtomicLong ids = new AtomicLong();
        Done done = closedLoop((pick, waitSeconds) -> {
            AtomicSystem s = structures.get(pick).toBuilder().optSampleId("d" + ids.incrementAndGet()).build();
            try {
                service.submit(s).get((long) (waitSeconds * 1e9), TimeUnit.NANOSECONDS);
                return true;
            } catch (Exception e) {
                return false; // not done within the window
            }
        });
        service.shutdownNow();
        service.close();
        System.out.printf("| %d | %s | %.2f | %.2f | %.2f | %d |%n", round, name, done.latencies().length / seconds(),
                quantile(done.latencies(), 0.50), quantile(done.latencies(), 0.99), done.latencies().length);
    }

    /** One request of a closed loop: sends structure {@code pick}, waits up to the time given, says whether it came back done. */
    private interface Send {
        boolean send(int pick, double waitSeconds);
    }

    /**
     * Latencies (s, sorted) and atoms of the requests done within the window.
     *
     * @param latencies seconds, sorted
     * @param atoms atoms of those structures
     */
    private record Done(double[] latencies, long atoms) {}

    /** {@code clients} threads, each sending a structure, waiting for it, sending the next, until the window ends. */
    private Done closedLoop(Send send) throws InterruptedException {
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong atoms = new AtomicLong();
        long end = System.nanoTime() + duration.toNanos();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            final int client = c;
            threads.add(new Thread(() -> {
                for (int k = 0; k < 100_000 && System.nanoTime() < end; k++) { // bounded loop
                    int pick = (client * 61 + k * 7) % structures.size();
                    long t0 = System.nanoTime();
                    boolean ok = send.send(pick, Math.max(1, (end - t0) / 1e9));
                    long t1 = System.nanoTime();
                    if (ok && t1 <= end) {
                        latencies.add((t1 - t0) / 1e9);
                        atoms.addAndGet(structures.get(pick).size());
                    }
                }
            }, "bench-client-" + c));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        return new Done(sorted(latencies), atoms.get());
    }

    private double seconds() {
        return duration.toNanos() / 1e9;
    }

    /** Open loop at {@code rate} requests/s for the duration; latency of every request sent. */
    private void openLoop(int round, String name, StructureService service) throws Exception {
        java.util.Random random = new java.util.Random(20261202L + round);
        List<Long> arrivals = new ArrayList<>();
        for (double t = 0; ; ) {
            t += -Math.log(1 - random.nextDouble()) / rate;
            if (t >= duration.toNanos() / 1e9) {
                break;
            }
            arrivals.add((long) (t * 1e9));
        }
        double[] latency = new double[arrivals.size()];
        AtomicLong inWindow = new AtomicLong();
        java.util.Arrays.fill(latency, DRAIN.toNanos() / 1e9 + duration.toNanos() / 1e9);
        int completed = 0;
        try (StructureServer server = new StructureServer(service, "127.0.0.1", 0, 16_000_000, 100_000)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            warmUp(http, server.port());
            java.util.concurrent.ExecutorService senders = java.util.concurrent.Executors.newFixedThreadPool(256);
            long start = System.nanoTime();
            List<java.util.concurrent.Future<Boolean>> sent = new ArrayList<>();
            for (int k = 0; k < arrivals.size(); k++) { // bounded: the arrival schedule
                long due = start + arrivals.get(k);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                final int index = k;
                sent.add(senders.submit(() -> {
                    HttpResponse<String> r = post(http, server.port(), bodies.get((index * 7) % bodies.size()),
                            DRAIN.toSeconds() + duration.toSeconds());
                    boolean ok = r != null && r.statusCode() == 200;
                    if (ok) {
                        long now = System.nanoTime();
                        latency[index] = (now - due) / 1e9;
                        if (now - start <= duration.toNanos()) {
                            inWindow.incrementAndGet();
                        }
                    }
                    return ok;
                }));
            }
            long drainEnd = System.nanoTime() + DRAIN.toNanos();
            for (java.util.concurrent.Future<Boolean> f : sent) {
                try {
                    if (f.get(Math.max(1, drainEnd - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        completed++;
                    }
                } catch (java.util.concurrent.TimeoutException e) {
                    // counted at the drain limit
                }
            }
            service.shutdownNow();
            senders.shutdownNow();
        }
        double[] sorted = latency.clone();
        java.util.Arrays.sort(sorted);
        double p50 = quantile(sorted, 0.50);
        double p99 = quantile(sorted, 0.99);
        System.out.printf("| %d | %s | %.2f | %.2f | %.2f | %.2f | %d of %d |%n", round, name, arrivals.size() / (duration.toNanos() / 1e9),
                inWindow.get() / (duration.toNanos() / 1e9), p50, p99, completed, arrivals.size());
    }

    /** Over HTTP; returns {structures/s, atoms/s, p50, p99, completed}. */
    private double[] measure(int round, String name, StructureService service) throws Exception {
        Done done;
        long forwards;
        try (StructureServer server = new StructureServer(service, "127.0.0.1", 0, 16_000_000, 100_000)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            warmUp(http, server.port());
            forwards = potential.forwardCount();
            done = closedLoop((pick, waitSeconds) -> {
                HttpResponse<String> r = post(http, server.port(), bodies.get(pick), waitSeconds);
                return r != null && r.statusCode() == 200;
            });
            forwards = potential.forwardCount() - forwards; // steps (one forward each) in the window and the tail
            service.shutdownNow(); // what still runs is not counted
        }
        int completed = done.latencies().length;
        double[] row = {completed / seconds(), done.atoms() / seconds(), quantile(done.latencies(), 0.50),
            quantile(done.latencies(), 0.99), completed};
        System.out.printf("| %d | %s | %.2f | %.0f | %.2f | %.2f | %d | %.1f |%n", round, name, row[0], row[1], row[2], row[3],
                completed, forwards / (double) Math.max(1, completed));
        return row;
    }

    private static double[] sorted(List<Double> values) {
        double[] out = values.stream().mapToDouble(Double::doubleValue).toArray();
        java.util.Arrays.sort(out);
        return out;
    }

    /** The q-quantile (nearest rank) of sorted values; NaN for none. */
    private static double quantile(double[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[(int) Math.ceil(q * sorted.length) - 1];
    }

    /** One structure of each size first, so no policy pays the model's first calls inside the timed window. */
    private void warmUp(HttpClient http, int port) {
        post(http, port, bodies.get(0), 120);
        post(http, port, bodies.get(1), 120);
    }

    private static HttpResponse<String> post(HttpClient http, int port, String body, double waitSeconds) {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs?wait=" + waitSeconds))
                    .header("Content-Type", "chemical/x-extxyz").timeout(Duration.ofSeconds(600))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            return null; // a request cut off by the shutdown at the end
        }
    }
}
