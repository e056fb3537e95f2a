package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;
import org.fusedstage.data.ValidatedDataset;
import org.fusedstage.dynamics.Dynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Status;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.model.TorchScriptPotential;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service-style use: a long-lived component that accepts structures from any thread and
 * streams results back as they finish. One worker thread owns the model and the device; it
 * gathers whatever arrived (up to {@code maxBatch} structures, waiting at most 50 ms for more),
 * runs them through one FusedStage (all stages, one forward pass per step), and completes each
 * caller's future with the final structure (energy, forces, per-stage step counts).
 *
 * <p>A request can fail only itself: a structure the model cannot take (unknown element,
 * overlapping atoms, a cell too small for the cutoff) is refused with its reason before it joins a
 * batch; a structure that blows up is quarantined alone; a batch that fails is run again one
 * structure at a time, so its mates still get their results; a structure that does not finish
 * within {@code maxSteps} steps fails with that reason. If the worker itself dies, every pending
 * future fails with the cause and {@link #submit} refuses at once.
 */
public final class RelaxationService implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(RelaxationService.class);

    private record Request(AtomicSystem system, CompletableFuture<AtomicSystem> result) {}

    private final BlockingQueue<Request> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private final int maxBatch;
    private final long maxSteps;
    private volatile boolean running = true;
    private volatile Throwable dead; // why the worker stopped, once it did

    /**
     * Starts the service.
     *
     * @param modelName a zoo model
     * @param stages builds the chain's stages for a potential (called per batch, on the worker thread)
     * @param maxBatch the largest number of structures per batch
     * @param maxSteps the most steps a batch runs; structures not finished by then fail
     */
    public RelaxationService(String modelName, Function<TorchScriptPotential, List<Dynamics>> stages, int maxBatch, long maxSteps) {
        this.maxBatch = maxBatch;
        this.maxSteps = maxSteps;
        this.worker = new Thread(() -> serve(modelName, stages), "fused-stage-service");
        worker.start();
    }

    /** Submits a structure (with a unique sample id); the future completes when it finished every stage, or with its failure. */
    public CompletableFuture<AtomicSystem> submit(AtomicSystem system) {
        CompletableFuture<AtomicSystem> result = new CompletableFuture<>();
        Throwable cause = dead;
        if (cause != null) {
            result.completeExceptionally(new IllegalStateException("the service is dead: " + cause, cause));
        } else if (!running) {
            result.completeExceptionally(new IllegalStateException("service is closed"));
        } else {
            queue.add(new Request(system, result));
            if (dead != null) { // it died while we queued: nobody will take this request
                failAll(dead);
            }
        }
        return result;
    }

    /** Whether the worker is alive. */
    public boolean isAlive() {
        return dead == null && worker.isAlive();
    }

    private void serve(String modelName, Function<TorchScriptPotential, List<Dynamics>> stages) {
        DjlRuntime.ensureOffline();
        List<Request> deferred = new ArrayList<>(); // requests whose id was taken in the last batch
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo(modelName); NDManager manager = NDManager.newBaseManager()) {
            double radius = model.metadata().cutoff() + model.skin();
            while (running || !queue.isEmpty() || !deferred.isEmpty()) {
                List<Request> requests = gather(deferred);
                if (requests.isEmpty()) {
                    continue;
                }
                // Refuse what the model cannot take before it joins a batch; one request per sample id.
                List<Request> batch = new ArrayList<>();
                Set<String> ids = new HashSet<>();
                deferred = new ArrayList<>();
                for (Request r : requests) {
                    Optional<String> problem = ValidatedDataset.problemOf(r.system(), model.metadata().elements(), radius);
                    if (problem.isPresent()) {
                        r.result().completeExceptionally(new IllegalArgumentException("bad structure "
                                + r.system().sampleId().orElse("") + ": " + problem.get()));
                    } else if (!ids.add(r.system().sampleId().orElse("#" + System.identityHashCode(r)))) {
                        deferred.add(r); // the same id twice in one batch: it waits for the next one
                    } else {
                        batch.add(r);
                    }
                }
                runIsolated(model, stages, manager, batch);
            }
        } catch (Throwable t) { // the worker cannot go on: say so to every caller, now and later
            dead = t;
            logger.error("the service worker died", t);
            deferred.forEach(r -> r.result().completeExceptionally(new IllegalStateException("the service is dead: " + t, t)));
            failAll(t);
        }
    }

    private List<Request> gather(List<Request> deferred) throws InterruptedException {
        List<Request> requests = new ArrayList<>(deferred);
        Request first = requests.isEmpty() ? queue.poll(200, TimeUnit.MILLISECONDS) : queue.poll();
        if (first == null) {
            return requests;
        }
        requests.add(first);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
        while (requests.size() < maxBatch) {
            Request next = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (next == null) {
                break;
            }
            requests.add(next);
        }
        return requests;
    }

    /** Runs a batch; if it fails as a whole, runs each structure alone, so only the culprit fails. */
    private void runIsolated(TorchScriptPotential model, Function<TorchScriptPotential, List<Dynamics>> stages, NDManager manager,
            List<Request> requests) {
        if (requests.isEmpty()) {
            return;
        }
        try {
            runBatch(model, stages, manager, requests);
        } catch (Throwable t) { // also OutOfMemoryError of a pathological structure: the worker survives it
            if (requests.size() == 1) {
                requests.get(0).result().completeExceptionally(t);
                return;
            }
            logger.warn("a batch of {} failed ({}); running its structures one at a time", requests.size(), t.toString());
            for (Request r : requests) {
                runIsolated(model, stages, manager, List.of(r));
            }
        }
    }

    private void runBatch(TorchScriptPotential model, Function<TorchScriptPotential, List<Dynamics>> stages, NDManager manager,
            List<Request> requests) {
        NonFiniteGuard guard = new NonFiniteGuard();
        FusedStage.Builder b = FusedStage.builder().addHook(guard).optMaxSteps(maxSteps);
        List<Dynamics> chain = stages.apply(model);
        for (int k = 0; k < chain.size(); k++) {
            b.addSubStage(k, chain.get(k));
        }
        List<AtomicSystem> systems = requests.stream().map(Request::system).toList();
        try (FusedStage fused = b.build(); Batch batch = Batch.of(systems, manager)) {
            fused.run(batch);
            long[] status = batch.status().toLongArray();
            List<Integer> finished = new ArrayList<>();
            for (int i = 0; i < status.length; i++) {
                if (status[i] == fused.exitStatus()) {
                    finished.add(i);
                }
            }
            // Only finished samples are read back: a quarantined one holds non-finite values.
            List<AtomicSystem> done = batch.systems(finished);
            AtomicSystem[] results = new AtomicSystem[status.length];
            for (int k = 0; k < finished.size(); k++) {
                results[finished.get(k)] = done.get(k);
            }
            List<long[]> steps = new ArrayList<>();
            for (FusedStage.SubStage stage : fused.subStages()) {
                steps.add(batch.get(stage.dynamics().stateName("steps")).toLongArray());
            }
            for (int i = 0; i < requests.size(); i++) {
                CompletableFuture<AtomicSystem> future = requests.get(i).result();
                if (status[i] == Status.QUARANTINED) {
                    String id = batch.sampleIds().get(i);
                    String reason = guard.rejects().stream().filter(r -> r.sampleId().equals(id))
                            .map(NonFiniteGuard.Reject::reason).findFirst().orElse("non-finite values");
                    future.completeExceptionally(new IllegalStateException("structure blew up: " + reason));
                } else if (status[i] != fused.exitStatus()) {
                    future.completeExceptionally(new IllegalStateException("structure did not finish within " + maxSteps
                            + " steps (status " + status[i] + ")"));
                } else {
                    AtomicSystem.Builder r = results[i].toBuilder();
                    for (int k = 0; k < steps.size(); k++) {
                        r.optInfo("steps_stage" + fused.subStages().get(k).code(), steps.get(k)[i]);
                    }
                    future.complete(r.build());
                }
            }
            logger.info("served a batch of {} structures", requests.size());
        }
    }

    private void failAll(Throwable cause) {
        for (Request r; (r = queue.poll()) != null; ) {
            r.result().completeExceptionally(new IllegalStateException("the service is dead: " + cause, cause));
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        worker.join();
    }

    /** Three client threads submit structures concurrently and print results as they arrive. */
    public static void main(String[] args) throws Exception {
        try (RelaxationService service = new RelaxationService("lennard-jones", model -> List.of(
                org.fusedstage.dynamics.FIRE.builder(model).optFmax(0.05).build(),
                org.fusedstage.dynamics.Langevin.builder(model).optTemperature(80).optNSteps(100).build()), 32, 100_000)) {
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                final int client = c;
                clients.add(new Thread(() -> {
                    for (int k = 0; k < 5; k++) {
                        AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.26, 2), 0.1, 100 * client + k)
                                .toBuilder().optSampleId("client" + client + "-" + k).build();
                        service.submit(s).thenAccept(r -> System.out.printf("%s done: E = %.4f eV after %s FIRE steps%n",
                                r.sampleId().orElseThrow(), r.energy().orElseThrow(), r.info().getOrDefault("steps_stage0", "?")));
                    }
                }));
            }
            clients.forEach(Thread::start);
            for (Thread t : clients) {
                t.join();
            }
            Thread.sleep(200);
        }
    }
}
