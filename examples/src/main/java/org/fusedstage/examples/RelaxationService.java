package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.TorchScriptPotential;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service-style use: a long-lived component that accepts structures from any thread and
 * streams results back as they finish. One worker thread owns the model and the device; it
 * gathers whatever arrived (up to {@code maxBatch} structures, waiting at most 50 ms for more),
 * runs them through one FusedStage (all stages, one forward pass per step), and completes each
 * caller's future with the final structure (energy, forces, per-stage step counts).
 */
public final class RelaxationService implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(RelaxationService.class);

    private record Request(AtomicSystem system, CompletableFuture<AtomicSystem> result) {}

    private final BlockingQueue<Request> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private final int maxBatch;
    private volatile boolean running = true;

    /**
     * Starts the service.
     *
     * @param modelName a zoo model
     * @param chain builds the FusedStage for a potential (called once, on the worker thread)
     * @param maxBatch the largest number of structures per batch
     */
    public RelaxationService(String modelName, java.util.function.Function<TorchScriptPotential, FusedStage> chain, int maxBatch) {
        this.maxBatch = maxBatch;
        this.worker = new Thread(() -> serve(modelName, chain), "fused-stage-service");
        worker.start();
    }

    /** Submits a structure (with a unique sample id); the future completes when it finished every stage. */
    public CompletableFuture<AtomicSystem> submit(AtomicSystem system) {
        CompletableFuture<AtomicSystem> result = new CompletableFuture<>();
        if (!running) {
            result.completeExceptionally(new IllegalStateException("service is closed"));
            return result;
        }
        queue.add(new Request(system, result));
        return result;
    }

    private void serve(String modelName, java.util.function.Function<TorchScriptPotential, FusedStage> chain) {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo(modelName); NDManager manager = NDManager.newBaseManager()) {
            FusedStage fused = chain.apply(model);
            while (running || !queue.isEmpty()) {
                List<Request> requests = new ArrayList<>();
                Request first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
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
                List<AtomicSystem> systems = requests.stream().map(Request::system).toList();
                try (Batch batch = Batch.of(systems, manager)) {
                    fused.run(batch);
                    List<AtomicSystem> results = batch.toSystems();
                    List<long[]> steps = new ArrayList<>();
                    for (FusedStage.SubStage stage : fused.subStages()) {
                        steps.add(batch.get(stage.dynamics().stateName("steps")).toLongArray());
                    }
                    for (int i = 0; i < requests.size(); i++) {
                        AtomicSystem.Builder b = results.get(i).toBuilder();
                        for (int k = 0; k < steps.size(); k++) {
                            b.optInfo("steps_stage" + fused.subStages().get(k).code(), steps.get(k)[i]);
                        }
                        requests.get(i).result().complete(b.build());
                    }
                    logger.info("served a batch of {} structures", requests.size());
                } catch (RuntimeException e) {
                    requests.forEach(r -> r.result().completeExceptionally(e)); // callers hear about it, nothing is dropped
                }
            }
        } catch (Exception e) {
            running = false;
            queue.forEach(r -> r.result().completeExceptionally(e));
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        worker.join();
    }

    /** Three client threads submit structures concurrently and print results as they arrive. */
    public static void main(String[] args) throws Exception {
        try (RelaxationService service = new RelaxationService("lennard-jones", model ->
                org.fusedstage.dynamics.FIRE.builder(model).optFmax(0.05).build()
                        .plus(org.fusedstage.dynamics.Langevin.builder(model).optTemperature(80).optNSteps(100).build()), 32)) {
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
