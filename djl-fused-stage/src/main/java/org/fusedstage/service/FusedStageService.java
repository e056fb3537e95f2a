package org.fusedstage.service;

import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.sampling.ValidatedDataset;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.model.NeighborList;
import org.fusedstage.model.Potential;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sampling.BatchLimits;
import org.fusedstage.sampling.SampleSource;
import org.fusedstage.sinks.DataSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous (inflight) batching for services: one {@link FusedStage}, its model and device, driven
 * by one worker thread, fed by {@link #submit} from any thread.
 *
 * <p>Requests wait in a bounded queue and enter free slots of the running batch at the next refill
 * (every step), in arrival order, within the batch's {@code maxAtoms}, {@code maxEdges} and
 * {@code maxBatchSize}: a fast structure's slot is reused as soon as it leaves, and a new request
 * never waits for the slowest structure of a batch. A request that does not fit waits, and none
 * behind it jumps ahead, so large structures are never starved. The worker sleeps while nothing
 * runs and nothing waits.
 *
 * <p>Outcomes: the future completes with a {@link ServiceResult} when the sample left the chain
 * (also when it reached the per-sample step cap: {@link ServiceResult#capped()}); exceptionally with
 * {@link SampleFailedException} when it blew up (non-finite values), a stage rejected it, or its
 * batch failed (the other samples go on in a new batch); with a {@link
 * java.util.concurrent.CancellationException} when cancelled ({@code future.cancel} or {@link
 * #cancel}); with {@link RejectedExecutionException} after {@link #shutdownNow}. Submits that can
 * never succeed are refused at once: a structure larger than the limits or unusable by the model
 * ({@link IllegalArgumentException}), a full queue or a shut-down service ({@link
 * RejectedExecutionException}).
 *
 * <p>Results equal those of a batch run of the same structures with the same sample ids (noise
 * streams are keyed by sample id and per-sample step, never by batch-mates); requests without a
 * sample id get {@code job-<n>}. Sample ids must be unique among the requests in flight.
 *
 * <p>Futures completed by the worker (results, blow-ups, rejects) complete on the service's own
 * completion thread, never on the worker: a caller's dependent actions ({@code thenApply},
 * an HTTP server writing its response) run there and cannot stall the batch. {@link
 * #awaitTermination} returns only after every such completion ran.
 */
public final class FusedStageService implements StructureService {

    private static final Logger logger = LoggerFactory.getLogger(FusedStageService.class);
    private static final int LATENCY_WINDOW = 4096;

    private final FusedStage fused;
    private final BatchLimits limits;
    private final int queueCapacity;
    private final Set<Integer> elements;
    private final double searchRadius;
    private final NonFiniteGuard guard = new NonFiniteGuard();
    private int guardRejectsSeen; // worker thread only

    // Requests: waiting in the queue, or running in the batch. Guarded by lock.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final Condition roomFreed = lock.newCondition();
    private final ArrayDeque<Request> waiting = new ArrayDeque<>();
    private final Map<String, Request> inFlight = new HashMap<>();
    private final Map<String, Request> running = new LinkedHashMap<>();
    private final Set<String> toEvict = new HashSet<>();
    private long runningAtoms;
    private long sequence;
    private boolean accepting = true;
    private boolean aborting;

    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong atomSteps = new AtomicLong();
    private final AtomicLong latencyNanos = new AtomicLong();
    private final long[] latencies = new long[LATENCY_WINDOW]; // nanoseconds, a ring; guarded by itself
    private long latencyCount;
    private final ArrayDeque<long[]> recentAtomSteps = new ArrayDeque<>(); // {finished nanos, atom-steps}; guarded by itself

    private final long started = System.nanoTime();
    private final Thread worker;
    private final ExecutorService completions;
    private final CountDownLatch terminated = new CountDownLatch(1);

    private FusedStageService(Builder b) {
        this.limits = b.limits;
        this.queueCapacity = b.queueCapacity;
        this.fused = b.chain.addSink(new ResultSink()).addRejectSink(new RejectSink()).addHook(guard).build();
        fused.setRefillFrequency(b.refillFrequency);
        fused.setMaxStepsPerSample(b.maxStepsPerSample);
        fused.setBatchDataType(b.dataType);
        Potential potential = fused.potential();
        this.elements = potential.metadata().elements();
        this.searchRadius = potential.metadata().cutoff()
                + (potential instanceof TorchScriptPotential t ? t.skin() : 0);
        this.completions = Executors.newSingleThreadExecutor(task -> {
            Thread t = new Thread(task, b.threadName + "-completions");
            t.setDaemon(true);
            return t;
        });
        this.worker = new Thread(this::work, b.threadName);
        worker.setDaemon(true);
        worker.start();
        logger.info("service started: {} with batches of at most {} samples and {} atoms, queue of {}", fused,
                limits.maxBatchSize(), limits.maxAtoms(), queueCapacity);
    }

    /**
     * Starts a builder around a chain: the service adds its own sinks and a {@link NonFiniteGuard}
     * to it and builds it; do not add sinks meant to receive the results (use the futures).
     */
    public static Builder builder(FusedStage.Builder chain) {
        return new Builder(chain);
    }

    /** The fused stage the worker runs. */
    public FusedStage fusedStage() {
        return fused;
    }

    /**
     * Submits a structure; refuses at once when the queue is full.
     *
     * @throws IllegalArgumentException if the structure can never run here (too large, unusable by
     *     the model, or its sample id is already in flight: {@link DuplicateSampleIdException})
     * @throws RejectedExecutionException if the queue is full or the service is shut down
     */
    @Override
    public CompletableFuture<ServiceResult> submit(AtomicSystem system) {
        return submit(system, Duration.ZERO);
    }

    /**
     * Submits a structure, waiting up to {@code timeout} for room in a full queue.
     *
     * @throws IllegalArgumentException if the structure can never run here
     * @throws RejectedExecutionException if the queue stayed full for {@code timeout}, the service
     *     is shut down, or the caller was interrupted while waiting
     */
    public CompletableFuture<ServiceResult> submit(AtomicSystem system, Duration timeout) {
        Preconditions.checkNotNull(system, "system");
        Preconditions.checkNotNull(timeout, "timeout");
        try {
            long edges = check(system);
            return enqueue(system, edges, timeout.toNanos());
        } catch (IllegalArgumentException | RejectedExecutionException e) {
            refused.incrementAndGet();
            throw e;
        }
    }

    /** Edges of an acceptable structure; throws naming the problem otherwise. */
    private long check(AtomicSystem system) {
        String name = system.sampleId().orElse(system.formula());
        if (!limits.fitsAlone(system.size(), 0)) {
            throw new IllegalArgumentException("structure " + name + " has " + system.size()
                    + " atoms; this service's batches hold " + limits.describe());
        }
        Optional<String> problem = ValidatedDataset.problemOf(system, elements, searchRadius);
        if (problem.isPresent()) {
            throw new IllegalArgumentException("bad structure " + name + ": " + problem.get());
        }
        long edges = limits.maxEdges() > 0 ? NeighborList.countEdges(system, limits.edgeRadius()) : 0;
        if (!limits.fitsAlone(system.size(), edges)) {
            throw new IllegalArgumentException("structure " + name + " has " + edges + " edges within "
                    + limits.edgeRadius() + " A; this service's batches hold " + limits.describe());
        }
        return edges;
    }

    private Request enqueue(AtomicSystem system, long edges, long timeoutNanos) {
        lock.lock();
        try {
            String id = system.sampleId().orElse(null);
            if (id == null) {
                do {
                    id = "job-" + ++sequence; // never one a caller chose for a request in flight
                } while (inFlight.containsKey(id));
                system = system.toBuilder().optSampleId(id).build();
            }
            long wait = timeoutNanos;
            while (accepting && waiting.size() >= queueCapacity && wait > 0) {
                wait = roomFreed.awaitNanos(wait);
            }
            if (!accepting) {
                throw new RejectedExecutionException("the service is shut down and takes no new requests");
            }
            if (waiting.size() >= queueCapacity) {
                throw new RejectedExecutionException("the queue is full (" + queueCapacity + " requests waiting)");
            }
            if (inFlight.containsKey(id)) {
                throw new DuplicateSampleIdException(id);
            }
            Request r = new Request(system, id, edges);
            waiting.add(r);
            inFlight.put(id, r);
            arrived.signal();
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RejectedExecutionException("interrupted while waiting for room in the queue", e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Cancels the request with this sample id: a waiting one leaves the queue, a running one leaves
     * the batch at the next refill. Its future completes with a CancellationException.
     *
     * @return false if no such request is in flight (finished, failed or unknown)
     */
    @Override
    public boolean cancel(String sampleId) {
        Request r;
        lock.lock();
        try {
            r = inFlight.get(sampleId);
        } finally {
            lock.unlock();
        }
        return r != null && r.cancelRequest();
    }

    /** Called once a request's future was cancelled. */
    private void cancelled(Request r) {
        cancelled.incrementAndGet();
        lock.lock();
        try {
            if (waiting.remove(r)) {
                inFlight.remove(r.id);
                roomFreed.signal();
            } else if (running.get(r.id) == r) {
                toEvict.add(r.id);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Refuses new requests and finishes the accepted ones; the worker ends after the last. */
    public void shutdown() {
        lock.lock();
        try {
            accepting = false;
            arrived.signalAll();
            roomFreed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new requests and fails every accepted one at once with a {@link
     * RejectedExecutionException}; running samples leave the batch at the next refill.
     *
     * @return the number of requests failed
     */
    @Override
    public int shutdownNow() {
        List<Request> rest;
        lock.lock();
        try {
            accepting = false;
            aborting = true;
            rest = new ArrayList<>(waiting);
            rest.addAll(running.values());
            waiting.forEach(r -> inFlight.remove(r.id));
            waiting.clear();
            arrived.signalAll();
            roomFreed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Request r : rest) {
            if (r.completeExceptionally(new RejectedExecutionException(
                    "the service was shut down before request " + r.id + " finished"))) {
                failed.incrementAndGet();
            }
        }
        return rest.size();
    }

    /** Waits until the worker ended (after a shutdown); false if the timeout passed first. */
    @Override
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Graceful shutdown: finishes every accepted request, then returns. An interrupt while waiting
     * shuts down immediately instead (and keeps the thread's interrupt flag).
     */
    @Override
    public void close() {
        shutdown();
        try {
            terminated.await();
        } catch (InterruptedException e) {
            shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** The service's load now. */
    @Override
    public ServiceMetrics metrics() {
        int queued;
        int runningNow;
        long atoms;
        boolean open;
        lock.lock();
        try {
            queued = waiting.size();
            runningNow = running.size();
            atoms = runningAtoms;
            open = accepting;
        } finally {
            lock.unlock();
        }
        double[] p;
        synchronized (latencies) {
            int n = (int) Math.min(latencyCount, LATENCY_WINDOW);
            long[] recent = Arrays.copyOf(latencies, n);
            Arrays.sort(recent);
            p = new double[] {percentile(recent, 0.50), percentile(recent, 0.90), percentile(recent, 0.99)};
        }
        return new ServiceMetrics(queued, queueCapacity, runningNow, limits.maxBatchSize(), atoms, limits.maxAtoms(),
                completed.get(), failed.get(), cancelled.get(), refused.get(), atomSteps.get(), recentAtomStepRate(), p[0], p[1],
                p[2], latencyNanos.get() * 1e-9, open, terminated.getCount() > 0);
    }

    private static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int k = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, k))] * 1e-9;
    }

    private double recentAtomStepRate() {
        long now = System.nanoTime();
        long window = TimeUnit.SECONDS.toNanos(ServiceMetrics.WINDOW_SECONDS);
        synchronized (recentAtomSteps) {
            while (!recentAtomSteps.isEmpty() && now - recentAtomSteps.peekFirst()[0] > window) {
                recentAtomSteps.pollFirst();
            }
            long sum = 0;
            for (long[] e : recentAtomSteps) {
                sum += e[1];
            }
            double seconds = Math.min(window, now - started) * 1e-9;
            return seconds > 0 ? sum / seconds : 0;
        }
    }

    // ------------------------------------------------------------------ worker

    private void work() {
        try {
            while (true) {
                lock.lock();
                try {
                    if (!accepting && waiting.isEmpty() && running.isEmpty()) {
                        break;
                    }
                } finally {
                    lock.unlock();
                }
                try {
                    fused.run(new LiveSource());
                    collectFailures();
                    failRunning("the batch ended before it finished", null); // none expected: run() ends only when idle
                } catch (Throwable t) { // a batch that fails fails its samples; the service goes on with the queue
                    logger.error("a batch failed; its {} samples fail, the queue goes on", running.size(), t);
                    collectFailures();
                    failRunning("the batch it ran in failed: " + t, t);
                }
            }
        } finally {
            completions.shutdown(); // runs what the worker handed it, then ends
            boolean interrupted = false;
            while (!completions.isTerminated()) {
                try {
                    completions.awaitTermination(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            logger.info("service stopped: {} completed, {} failed, {} cancelled", completed.get(), failed.get(),
                    cancelled.get());
            terminated.countDown();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void failRunning(String reason, Throwable cause) {
        List<Request> rest;
        lock.lock();
        try {
            rest = new ArrayList<>(running.values());
            running.values().forEach(r -> inFlight.remove(r.id));
            running.clear();
            runningAtoms = 0;
            toEvict.clear();
        } finally {
            lock.unlock();
        }
        for (Request r : rest) {
            failOnCompletionThread(r, new SampleFailedException(r.id, reason, cause));
        }
    }

    /** Fails the samples the guard quarantined since the last call (worker thread). */
    private void collectFailures() {
        List<NonFiniteGuard.Reject> rejects = guard.rejects();
        for (int k = guardRejectsSeen; k < rejects.size(); k++) {
            NonFiniteGuard.Reject reject = rejects.get(k);
            Request r = leave(reject.sampleId());
            if (r != null) {
                failOnCompletionThread(r, new SampleFailedException(r.id,
                        reject.reason() + " at step " + reject.step() + " (it blew up)", null));
            }
        }
        guardRejectsSeen = rejects.size();
    }

    /** Removes a running request (it left the batch); null if it is not running. */
    private Request leave(String id) {
        lock.lock();
        try {
            Request r = running.remove(id);
            if (r != null) {
                inFlight.remove(id);
                runningAtoms -= r.system.size();
                toEvict.remove(id);
                roomFreed.signalAll();
            }
            return r;
        } finally {
            lock.unlock();
        }
    }

    private void finished(AtomicSystem record) {
        Request r = leave(record.sampleId().orElseThrow());
        if (r == null) {
            return; // evicted (cancelled) or failed meanwhile
        }
        long now = System.nanoTime();
        ServiceResult result = ServiceResult.of(record, stageCodes(), Duration.ofNanos(r.admitted - r.submitted),
                Duration.ofNanos(now - r.admitted));
        long totalSteps = result.stepsPerStage().values().stream().mapToLong(Long::longValue).sum();
        // Counted before the caller can see the result, so metrics read after a result include it.
        long work = totalSteps * record.size();
        completed.incrementAndGet();
        atomSteps.addAndGet(work);
        latencyNanos.addAndGet(now - r.submitted);
        synchronized (recentAtomSteps) {
            recentAtomSteps.addLast(new long[] {now, work});
        }
        synchronized (latencies) {
            latencies[(int) (latencyCount++ % LATENCY_WINDOW)] = now - r.submitted;
        }
        completions.execute(() -> {
            if (!r.complete(result)) {
                completed.decrementAndGet(); // cancelled meanwhile: its work still counts as work done
            }
        });
    }

    /** Fails a request on the completion thread (see the class comment), counting it if it was still open. */
    private void failOnCompletionThread(Request r, SampleFailedException reason) {
        completions.execute(() -> {
            if (r.completeExceptionally(reason)) {
                failed.incrementAndGet();
            }
        });
    }

    private List<Integer> stageCodes() {
        List<Integer> codes = new ArrayList<>();
        fused.subStages().forEach(st -> codes.add(st.code()));
        return codes;
    }

    /** The live queue as the FusedStage's sample source (worker thread). */
    private final class LiveSource implements SampleSource {

        @Override
        public BatchLimits limits() {
            return limits;
        }

        @Override
        public int slotCapacity() {
            return limits.maxBatchSize();
        }

        @Override
        public int atomCapacity() {
            return limits.maxAtoms();
        }

        @Override
        public List<Entry> first() {
            return take(limits.atomsLeft(0), limits.edgesLeft(0), limits.samplesLeft(0), true);
        }

        @Override
        public List<Entry> next(long freeAtoms, long freeEdges, int freeSlots, boolean idle) {
            return take(freeAtoms, freeEdges, freeSlots, idle);
        }

        /** Waiting requests in arrival order while they fit; blocks while idle and nothing waits. */
        private List<Entry> take(long freeAtoms, long freeEdges, int freeSlots, boolean idle) {
            List<Entry> out = new ArrayList<>();
            lock.lock();
            try {
                while (idle && waiting.isEmpty() && accepting) {
                    arrived.awaitUninterruptibly();
                }
                long atoms = 0;
                long edges = 0;
                while (!waiting.isEmpty() && out.size() < freeSlots) {
                    Request r = waiting.peekFirst();
                    if (atoms + r.system.size() > freeAtoms || edges + r.edges > freeEdges) {
                        break; // it waits for room; nothing behind it jumps ahead
                    }
                    waiting.pollFirst();
                    atoms += r.system.size();
                    edges += r.edges;
                    r.admitted = System.nanoTime();
                    running.put(r.id, r);
                    runningAtoms += r.system.size();
                    out.add(new Entry(r.system, r.edges));
                }
                if (!out.isEmpty()) {
                    roomFreed.signalAll();
                }
            } finally {
                lock.unlock();
            }
            return out;
        }

        @Override
        public boolean exhausted() {
            lock.lock();
            try {
                return !accepting && waiting.isEmpty();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int remaining() {
            lock.lock();
            try {
                return waiting.size();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public Set<String> evictions() {
            collectFailures();
            lock.lock();
            try {
                Set<String> out = new HashSet<>(aborting ? running.keySet() : toEvict);
                out.retainAll(running.keySet());
                for (String id : out) {
                    Request r = running.remove(id);
                    inFlight.remove(id);
                    runningAtoms -= r.system.size();
                }
                toEvict.clear();
                if (!out.isEmpty()) {
                    roomFreed.signalAll();
                }
                return out;
            } finally {
                lock.unlock();
            }
        }
    }

    /** A request and its future; cancelling the future cancels the request. */
    private final class Request extends CompletableFuture<ServiceResult> {
        final AtomicSystem system;
        final String id;
        final long edges;
        final long submitted = System.nanoTime();
        volatile long admitted;

        Request(AtomicSystem system, String id, long edges) {
            this.system = system;
            this.id = id;
            this.edges = edges;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return cancelRequest() || isCancelled();
        }

        /** Cancels it; true only for the call that did (CompletableFuture.cancel is true on every call). */
        boolean cancelRequest() {
            boolean now = completeExceptionally(new CancellationException("request " + id + " was cancelled"));
            if (now) {
                cancelled(this);
            }
            return now;
        }
    }

    /** Receives graduated (and capped) samples from the FusedStage, on the worker thread. */
    private final class ResultSink implements DataSink {
        private long written;

        @Override
        public void write(List<AtomicSystem> systems) {
            systems.forEach(FusedStageService.this::finished);
            written += systems.size();
        }

        @Override
        public long size() {
            return written;
        }
    }

    /** Receives samples a stage rejected ({@link org.fusedstage.dynamics.OnUnconverged#REJECT}). */
    private final class RejectSink implements DataSink {
        private long written;

        @Override
        public void write(List<AtomicSystem> systems) {
            for (AtomicSystem s : systems) {
                Request r = leave(s.sampleId().orElseThrow());
                if (r != null) {
                    failOnCompletionThread(r, new SampleFailedException(r.id,
                            "rejected: " + s.info().getOrDefault("reject_reason", "a stage did not converge"), null));
                }
            }
            written += systems.size();
        }

        @Override
        public long size() {
            return written;
        }
    }

    /** Builder of {@link FusedStageService}; every limit has a default. */
    public static final class Builder {
        private final FusedStage.Builder chain;
        private BatchLimits limits = BatchLimits.NONE.withMaxAtoms(4096).withMaxBatchSize(64);
        private int queueCapacity = 1024;
        private long maxStepsPerSample = 100_000;
        private DataType dataType = DataType.FLOAT64;
        private String threadName = "fused-stage-service";
        private int refillFrequency = 1;

        private Builder(FusedStage.Builder chain) {
            this.chain = Preconditions.checkNotNull(chain, "chain");
        }

        /** Most atoms in the batch at once (default 4096); larger structures are refused at submit. */
        public Builder optMaxAtoms(int maxAtoms) {
            limits = limits.withMaxAtoms(maxAtoms);
            return this;
        }

        /** Most edges (pairs within {@code radius} A, both directions) in the batch at once (default: no limit). */
        public Builder optMaxEdges(long maxEdges, double radius) {
            limits = limits.withMaxEdges(maxEdges, radius);
            return this;
        }

        /**
         * Most samples in the batch at once (default 64). Under saturation this is the service's
         * latency knob: a step costs about in proportion to the samples in it, so a cap below the
         * number of requests in flight keeps every slot busy (throughput about the same) while the
         * slowest structures spend less time per step (lower p99), at the price of a wait for a
         * slot for every request (higher p50). BENCHMARKS.md, "Service under load", measures it.
         */
        public Builder optMaxBatchSize(int maxBatchSize) {
            limits = limits.withMaxBatchSize(maxBatchSize);
            return this;
        }

        /** Most requests waiting for a slot (default 1024); beyond it submits are refused or wait. */
        public Builder optQueueCapacity(int queueCapacity) {
            Preconditions.checkArgument(queueCapacity > 0, "queueCapacity must be positive, got %s", queueCapacity);
            this.queueCapacity = queueCapacity;
            return this;
        }

        /**
         * Steps after which a sample leaves the batch unfinished, with {@code capped=true,
         * converged=false} (default 100000; 0 = never, so a structure that never converges keeps
         * its slot forever).
         */
        public Builder optMaxStepsPerSample(long steps) {
            Preconditions.checkArgument(steps >= 0, "max steps per sample must be >= 0, got %s", steps);
            this.maxStepsPerSample = steps;
            return this;
        }

        /**
         * Read the batch's statuses back, hand out finished results and admit waiting requests every
         * {@code k} steps (default 1). Larger k reads device data less often (GPUs) at the cost of up
         * to k-1 steps of latency per request and slots idle for as long.
         */
        public Builder optRefillFrequency(int k) {
            Preconditions.checkArgument(k >= 1, "refill frequency must be >= 1, got %s", k);
            this.refillFrequency = k;
            return this;
        }

        /** Float type of the batch (default float64). */
        public Builder optDataType(DataType dataType) {
            this.dataType = Preconditions.checkNotNull(dataType);
            return this;
        }

        /** Name of the worker thread (default fused-stage-service). */
        public Builder optThreadName(String name) {
            this.threadName = Preconditions.checkNotNull(name);
            return this;
        }

        /** Builds the chain with the service's sinks and starts the worker. */
        public FusedStageService build() {
            return new FusedStageService(this);
        }
    }
}
