package org.fusedstage.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.Structures;
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
    private final List<String> bodies = new ArrayList<>();
    private final List<Integer> sizes = new ArrayList<>();

    ServeBench(TorchScriptPotential potential, int clients, Duration duration) {
        this.potential = potential;
        this.clients = clients;
        this.duration = duration;
        // Users' work: strained, rattled fcc argon of 32 and 108 atoms; relaxation times vary widely.
        for (int i = 0; i < 256; i++) {
            double strain = 0.97 + 0.07 * ((i * 13) % 11) / 10.0;
            double u = ((i * 37) % 17) / 16.0;
            double rattle = 0.05 + 1.2 * u * u * u; // as the whole-job bench: most relax in tens of steps, a few in hundreds
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.26 * strain, i % 3 == 0 ? 3 : 2), rattle, 7000 + i);
            bodies.add(ExtxyzWriter.formatFrame(s));
            sizes.add(s.size());
        }
    }

    private FusedStage.Builder chain() {
        return FusedStage.builder()
                .addSubStage(0, FIRE.builder(potential).optFmax(0.05).build())
                .addSubStage(1, Langevin.builder(potential).optTemperature(80).optNSteps(100).optSeed(3).build());
    }

    void run() throws Exception {
        System.out.printf("## Service under load: %d HTTP clients on 127.0.0.1 for %d s per policy (closed loop)%n", clients,
                duration.toSeconds());
        System.out.println("Structures: strained, rattled fcc argon of 32 and 108 atoms (one in three is 108), zoo LJ, "
                + "FIRE (fmax 0.05) then 100 Langevin steps; batches of at most 2048 atoms and 64 structures.");
        System.out.println();
        System.out.println("| batching | structures/s | atoms/s | p50 latency (s) | p99 latency (s) | completed |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        Supplier<FusedStage.Builder> chain = this::chain;
        List<double[]> rows = new ArrayList<>();
        rows.add(measure("continuous (FusedStageService)", FusedStageService.builder(chain()).optMaxAtoms(2048)
                .optMaxBatchSize(64).build()));
        rows.add(measure("micro-batching (50 ms window)", new MicroBatchingService(chain, 64, 2048, Duration.ofMillis(50))));
        rows.add(measure("one structure at a time", new MicroBatchingService(chain, 1, 2048, Duration.ZERO)));
        System.out.println();
        System.out.printf("Continuous / micro-batching throughput: %.2fx; p99 %.2f s vs %.2f s.%n", rows.get(0)[0] / rows.get(1)[0],
                rows.get(0)[3], rows.get(1)[3]);
        System.out.println();
    }

    /** {structures/s, atoms/s, p50, p99, completed}. */
    private double[] measure(String name, StructureService service) throws Exception {
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong atoms = new AtomicLong();
        try (StructureServer server = new StructureServer(service, "127.0.0.1", 0, 16_000_000, 100_000)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            warmUp(http, server.port());
            long start = System.nanoTime();
            long end = start + duration.toNanos();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                final int client = c;
                threads.add(new Thread(() -> {
                    for (int k = 0; k < 100_000 && System.nanoTime() < end; k++) { // bounded loop
                        int pick = (client * 61 + k * 7) % bodies.size();
                        long t0 = System.nanoTime();
                        HttpResponse<String> r = post(http, server.port(), bodies.get(pick),
                                Math.max(1, (end - t0) / 1e9));
                        long t1 = System.nanoTime();
                        if (r != null && r.statusCode() == 200 && t1 <= end) {
                            latencies.add((t1 - t0) / 1e9);
                            atoms.addAndGet(sizes.get(pick));
                        }
                    }
                }, "bench-client-" + c));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            service.shutdownNow(); // what still runs is not counted
        }
        double seconds = duration.toNanos() / 1e9;
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        double p50 = sorted.isEmpty() ? Double.NaN : sorted.get((int) Math.ceil(0.50 * sorted.size()) - 1);
        double p99 = sorted.isEmpty() ? Double.NaN : sorted.get((int) Math.ceil(0.99 * sorted.size()) - 1);
        double[] row = {sorted.size() / seconds, atoms.get() / seconds, p50, p99, sorted.size()};
        System.out.printf("| %s | %.2f | %.0f | %.2f | %.2f | %d |%n", name, row[0], row[1], row[2], row[3], sorted.size());
        return row;
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
