package org.fusedstage.cli;

import ai.djl.ndarray.NDManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.sampling.ValidatedDataset;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.service.ServiceMetrics;
import org.fusedstage.service.ServiceResult;
import org.fusedstage.service.StructureService;
import org.fusedstage.sinks.HostMemory;

/**
 * The batching policy {@code FusedStageService} replaced, kept only as the benchmark's baseline:
 * gather what arrives within a window (up to {@code maxBatch} structures and {@code maxAtoms}
 * atoms), check them and run that fixed batch to its end (with a NonFiniteGuard), answer, repeat, as
 * the old {@code RelaxationService} example did. A window of 0 and a batch of 1 is
 * one structure at a time. Not for use: the bench shows where it loses.
 */
final class MicroBatchingService implements StructureService {

    private record Request(AtomicSystem system, CompletableFuture<ServiceResult> result, long submitted) {}

    private final Supplier<FusedStage.Builder> chain;
    private final int maxBatch;
    private final int maxAtoms;
    private final long windowNanos;
    private final java.util.Set<Integer> elements;
    private final double searchRadius;
    private final LinkedBlockingQueue<Request> queue = new LinkedBlockingQueue<>();
    private final AtomicLong completed = new AtomicLong();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final Thread worker;
    // Results are delivered off the worker, as FusedStageService delivers them: the comparison is
    // of the batching policies, not of where the callers' dependent actions run.
    private final ExecutorService completions = Executors.newSingleThreadExecutor(task -> {
        Thread t = new Thread(task, "micro-batching-completions");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean running = true;

    MicroBatchingService(Supplier<FusedStage.Builder> chain, int maxBatch, int maxAtoms, Duration window,
            TorchScriptPotential potential) {
        this.chain = chain;
        this.elements = potential.metadata().elements();
        this.searchRadius = ChainOptions.edgeRadius(potential);
        this.maxBatch = maxBatch;
        this.maxAtoms = maxAtoms;
        this.windowNanos = window.toNanos();
        this.worker = new Thread(this::work, "micro-batching");
        worker.setDaemon(true);
        worker.start();
    }

    @Override
    public CompletableFuture<ServiceResult> submit(AtomicSystem system) {
        if (!running) {
            throw new RejectedExecutionException("shut down");
        }
        Request r = new Request(system, new CompletableFuture<>(), System.nanoTime());
        queue.add(r);
        return r.result();
    }

    private void work() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Request carried = null;
            while (running) {
                Request first = carried != null ? carried : queue.poll(100, TimeUnit.MILLISECONDS);
                carried = null;
                if (first == null) {
                    continue;
                }
                List<Request> batch = new ArrayList<>(List.of(first));
                int atoms = first.system().size();
                long deadline = System.nanoTime() + windowNanos;
                while (batch.size() < maxBatch) {
                    Request next = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    if (atoms + next.system().size() > maxAtoms) {
                        carried = next; // starts the next batch
                        break;
                    }
                    batch.add(next);
                    atoms += next.system().size();
                }
                runBatch(batch, manager);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            completions.execute(() -> queue.forEach(r -> r.result().completeExceptionally(new RejectedExecutionException("shut down"))));
            completions.shutdown();
            try {
                completions.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            terminated.countDown();
        }
    }

    private void runBatch(List<Request> gathered, NDManager manager) {
        long started = System.nanoTime();
        // As the old service did, on its worker: a structure the model cannot take fails before the batch.
        List<Request> requests = new ArrayList<>();
        for (Request r : gathered) {
            var problem = ValidatedDataset.problemOf(r.system(), elements, searchRadius);
            if (problem.isPresent()) {
                r.result().completeExceptionally(new IllegalArgumentException("bad structure: " + problem.get()));
            } else {
                requests.add(r);
            }
        }
        if (requests.isEmpty()) {
            return;
        }
        HostMemory sink = new HostMemory(requests.size());
        List<AtomicSystem> systems = requests.stream().map(Request::system).toList();
        try (FusedStage fused = chain.get().addSink(sink).addHook(new NonFiniteGuard()).build(); Batch batch = Batch.of(systems, manager)) {
            fused.run(batch);
            List<Integer> codes = fused.subStages().stream().map(FusedStage.SubStage::code).toList();
            long done = System.nanoTime();
            for (AtomicSystem record : sink.read()) {
                Request r = requests.stream().filter(q -> q.system().sampleId().equals(record.sampleId())).findFirst()
                        .orElseThrow();
                completed.incrementAndGet();
                ServiceResult result = ServiceResult.of(record, codes, Duration.ofNanos(started - r.submitted()),
                        Duration.ofNanos(done - started));
                completions.execute(() -> r.result().complete(result));
            }
        } catch (RuntimeException e) {
            completions.execute(() -> requests.forEach(r -> r.result().completeExceptionally(e)));
        }
        completions.execute(() -> requests.forEach(r -> r.result().completeExceptionally(new IllegalStateException("did not finish"))));
    }

    @Override
    public boolean cancel(String sampleId) {
        return false;
    }

    @Override
    public ServiceMetrics metrics() {
        return new ServiceMetrics(queue.size(), Integer.MAX_VALUE, 0, maxBatch, 0, maxAtoms, completed.get(), 0, 0, 0, 0, 0,
                Double.NaN, Double.NaN, Double.NaN, 0, running, terminated.getCount() > 0);
    }

    @Override
    public int shutdownNow() {
        running = false;
        return 0;
    }

    @Override
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        running = false;
        try {
            terminated.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
