package org.fusedstage.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookContext;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.sinks.HostMemory;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The service: concurrent submitters get each result exactly once, equal to a batch run; cancel,
 * both shutdowns, a full queue, oversize and bad structures and a blow-up end as documented. Every
 * test has a timeout that fails it, and every future is awaited with a timeout.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FusedStageServiceTest extends WithLennardJones {

    private static final Duration WAIT = Duration.ofSeconds(60);

    /** Mixed sizes and difficulty: rattled fcc cells (4 and 32 atoms) and clusters of 2-12 atoms. */
    static List<AtomicSystem> structures(int count) {
        List<AtomicSystem> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            AtomicSystem s = i % 5 == 0 ? TestSystems.fccArgon(i % 10 == 0 ? 2 : 1, 5.26 + 0.01 * (i % 7), 0.05, 500 + i)
                    : TestSystems.argonCluster(2 + i % 11, 3.0 + 0.2 * (i % 11), 3.4, 900 + i);
            out.add(s.toBuilder().optSampleId(String.format("r%04d", i)).build());
        }
        return out;
    }

    static FusedStage.Builder chain() {
        return FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, Langevin.builder(lj.potential).optTemperature(40).optFriction(0.02).optTimeStep(2.0)
                        .optNSteps(15).optSeed(11).build());
    }

    /** A chain whose second stage runs for a long time: requests in it stay running. */
    static FusedStage.Builder slowChain() {
        return FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, Langevin.builder(lj.potential).optTemperature(40).optNSteps(1_000_000).optSeed(1).build());
    }

    private static ServiceResult await(CompletableFuture<ServiceResult> f) throws Exception {
        return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** The future's failure, within the wait; fails the test if it completes normally or hangs. */
    private static Throwable failure(CompletableFuture<ServiceResult> f) throws InterruptedException {
        try {
            f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (CancellationException e) {
            return e;
        } catch (TimeoutException e) {
            throw new AssertionError("the future did not complete within " + WAIT, e);
        }
        throw new AssertionError("the future completed normally");
    }

    @Test
    void concurrentSubmittersGetEachResultOnceEqualToABatchRun() throws Exception {
        List<AtomicSystem> systems = structures(240);
        Map<String, ServiceResult> results = new ConcurrentHashMap<>();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        try (FusedStageService service = FusedStageService.builder(chain()).optMaxAtoms(160).optMaxBatchSize(24)
                .optQueueCapacity(16).build()) {
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                final int client = c;
                clients.add(new Thread(() -> {
                    List<CompletableFuture<ServiceResult>> mine = new ArrayList<>();
                    for (int i = client; i < systems.size(); i += 8) {
                        // The queue (16) is smaller than the load: submitters block for room.
                        mine.add(service.submit(systems.get(i), WAIT));
                    }
                    for (CompletableFuture<ServiceResult> f : mine) {
                        try {
                            ServiceResult r = await(f);
                            if (results.put(r.sampleId(), r) != null) {
                                errors.add(new AssertionError("result of " + r.sampleId() + " delivered twice"));
                            }
                        } catch (Exception e) {
                            errors.add(e);
                        }
                    }
                }));
            }
            clients.forEach(Thread::start);
            for (Thread t : clients) {
                t.join(TimeUnit.SECONDS.toMillis(150));
                assertFalse(t.isAlive(), "a submitter hung");
            }
            assertTrue(errors.isEmpty(), "failures: " + errors);
            assertEquals(240, results.size(), "every structure exactly once");
            ServiceMetrics m = service.metrics();
            assertEquals(240, m.completed());
            assertEquals(0, m.queued());
            assertEquals(0, m.running());
            assertTrue(m.latencyP50() > 0 && m.latencyP99() >= m.latencyP50(), m.toString());
            assertTrue(m.atomSteps() > 0, m.toString());
        }

        // The same structures as fixed batches of 60: the same numbers and step counts.
        HostMemory fixed = new HostMemory(300);
        for (int k = 0; k < systems.size(); k += 60) {
            try (FusedStage f = chain().addSink(fixed).build(); Batch batch = Batch.of(systems.subList(k, k + 60), lj.manager)) {
                f.run(batch);
            }
        }
        assertEquals(240, fixed.size());
        for (AtomicSystem expected : fixed.read()) {
            String id = expected.sampleId().orElseThrow();
            ServiceResult r = results.get(id);
            assertArrayEquals(expected.positions(), r.system().positions(), 1e-10, "positions of " + id);
            assertArrayEquals(expected.velocities().orElseThrow(), r.system().velocities().orElseThrow(), 1e-10,
                    "velocities of " + id);
            assertArrayEquals(expected.forces().orElseThrow(), r.forces(), 1e-10, "forces of " + id);
            assertEquals(expected.energy().orElseThrow(), r.energy(), 1e-10, "energy of " + id);
            assertEquals(expected.info().get("steps_stage0"), r.stepsPerStage().get(0), "FIRE steps of " + id);
            assertEquals(15L, r.stepsPerStage().get(1));
            assertTrue(r.converged(), id);
            assertFalse(r.capped(), id);
        }
    }

    @Test
    void cancelRemovesAWaitingRequestAndEvictsARunningOne() throws Exception {
        try (FusedStageService service = FusedStageService.builder(slowChain()).optMaxBatchSize(1).build()) {
            CompletableFuture<ServiceResult> running = service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 1), "running"));
            CompletableFuture<ServiceResult> waiting = service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 2), "waiting"));
            awaitRunning(service, 1);
            assertEquals(1, service.metrics().queued());
            assertTrue(waiting.cancel(false));
            assertInstanceOf(CancellationException.class, failure(waiting));
            assertEquals(0, service.metrics().queued());
            assertTrue(service.cancel("running"), "cancel by sample id");
            assertInstanceOf(CancellationException.class, failure(running));
            assertFalse(service.cancel("running"), "already cancelled");
            // The evicted sample's slot is free again: the next request takes it.
            CompletableFuture<ServiceResult> next = service.submit(named(TestSystems.argonCluster(2, 3.0, 3.4, 3), "next"));
            awaitUntil(() -> service.metrics().queued() == 0, "the next request never got the evicted slot");
            assertEquals(1, service.metrics().running());
            assertEquals(2, service.metrics().cancelled());
            next.cancel(false); // so that close() does not wait for its million steps
        }
    }

    /** Services built on slowChain must cancel their long runners before close() returns. */
    private static void awaitRunning(FusedStageService service, int n) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (service.metrics().running() < n) {
            assertTrue(System.nanoTime() < deadline, "requests never started running");
            Thread.sleep(5);
        }
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition, String failure) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, failure);
            Thread.sleep(5);
        }
    }

    private static AtomicSystem named(AtomicSystem s, String id) {
        return s.toBuilder().optSampleId(id).build();
    }

    /** An idle service parks its worker (no busy wait) and wakes it for the next request. */
    @Test
    void anIdleWorkerSleeps() throws Exception {
        try (FusedStageService service = FusedStageService.builder(chain()).optThreadName("idle-check").build()) {
            await(service.submit(named(TestSystems.argonCluster(3, 3.2, 3.4, 1), "first")));
            Thread worker = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("idle-check"))
                    .findFirst().orElseThrow();
            awaitUntil(() -> worker.getState() == Thread.State.WAITING, "the idle worker never parked");
            long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getThreadCpuTime(worker.getId());
            Thread.sleep(300);
            long idleCpu = java.lang.management.ManagementFactory.getThreadMXBean().getThreadCpuTime(worker.getId()) - cpu;
            assertTrue(idleCpu < TimeUnit.MILLISECONDS.toNanos(20), "an idle worker used " + idleCpu / 1e6 + " ms of CPU in 300 ms");
            assertEquals("second", await(service.submit(named(TestSystems.argonCluster(3, 3.2, 3.4, 2), "second"))).sampleId());
        }
    }

    /**
     * Futures complete on the service's completion thread: a caller's dependent action that blocks
     * (here until released) does not stall the batch, whose other samples all finish meanwhile.
     */
    @Test
    void aBlockingCallbackDoesNotStallTheBatch() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        List<AtomicSystem> systems = structures(12);
        try (FusedStageService service = FusedStageService.builder(chain()).optThreadName("callback-check").build()) {
            CompletableFuture<ServiceResult> first = service.submit(systems.get(0));
            CompletableFuture<String> callbackThread = first.thenApply(r -> {
                String name = Thread.currentThread().getName();
                try {
                    release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return name;
            });
            List<CompletableFuture<ServiceResult>> rest = new ArrayList<>();
            for (AtomicSystem s : systems.subList(1, systems.size())) {
                rest.add(service.submit(s));
            }
            awaitUntil(() -> service.metrics().completed() == systems.size(),
                    "the batch stalled while a caller's callback blocked");
            assertFalse(callbackThread.isDone(), "the callback is still blocked");
            release.countDown();
            assertEquals("callback-check-completions", callbackThread.get(WAIT.toSeconds(), TimeUnit.SECONDS));
            for (CompletableFuture<ServiceResult> f : rest) {
                assertTrue(await(f).converged());
            }
        }
    }

    @Test
    void gracefulShutdownFinishesWhatWasAcceptedAndRefusesNew() throws Exception {
        FusedStageService service = FusedStageService.builder(chain()).optMaxAtoms(60).optMaxBatchSize(6).build();
        List<CompletableFuture<ServiceResult>> futures = new ArrayList<>();
        for (AtomicSystem s : structures(30)) {
            futures.add(service.submit(s));
        }
        service.shutdown();
        RejectedExecutionException refused = assertThrows(RejectedExecutionException.class,
                () -> service.submit(structures(31).get(30)));
        assertTrue(refused.getMessage().contains("shut down"), refused.getMessage());
        assertTrue(service.awaitTermination(WAIT), "the worker ended");
        for (CompletableFuture<ServiceResult> f : futures) {
            assertTrue(f.isDone() && !f.isCompletedExceptionally(), "every accepted request finished");
            assertTrue(await(f).converged());
        }
        assertFalse(service.metrics().alive());
    }

    @Test
    void immediateShutdownFailsTheRestAtOnce() throws Exception {
        FusedStageService service = FusedStageService.builder(slowChain()).optMaxBatchSize(2).build();
        List<CompletableFuture<ServiceResult>> futures = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            futures.add(service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 10 + i), "n" + i)));
        }
        awaitRunning(service, 2);
        assertEquals(5, service.shutdownNow());
        for (CompletableFuture<ServiceResult> f : futures) {
            Throwable t = failure(f);
            assertInstanceOf(RejectedExecutionException.class, t);
            assertTrue(t.getMessage().contains("shut down before request n"), t.getMessage());
        }
        assertTrue(service.awaitTermination(WAIT), "the worker left its batch and ended");
        assertEquals(5, service.metrics().failed());
    }

    @Test
    void aFullQueueRejectsAtOnceOrWaitsUpToTheTimeout() throws Exception {
        try (FusedStageService service = FusedStageService.builder(slowChain()).optMaxBatchSize(1).optQueueCapacity(2)
                .build()) {
            CompletableFuture<ServiceResult> running = service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 1), "a"));
            awaitRunning(service, 1);
            CompletableFuture<ServiceResult> b = service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 2), "b"));
            service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 3), "c"));
            RejectedExecutionException now = assertThrows(RejectedExecutionException.class,
                    () -> service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 4), "d")));
            assertTrue(now.getMessage().contains("queue is full"), now.getMessage());
            long t0 = System.nanoTime();
            assertThrows(RejectedExecutionException.class,
                    () -> service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 4), "d"), Duration.ofMillis(300)));
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(250), "it waited for the timeout");
            // Room appears while a submitter waits: it gets in.
            Thread freer = new Thread(() -> {
                sleep(200);
                b.cancel(false);
            });
            freer.start();
            CompletableFuture<ServiceResult> d = service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 4), "d"), WAIT);
            freer.join();
            assertFalse(d.isDone());
            assertEquals(2, service.metrics().refused(), "both refusals of d counted");
            assertEquals(2, service.metrics().queued());
            service.shutdownNow();
            assertInstanceOf(RejectedExecutionException.class, failure(running));
            assertInstanceOf(RejectedExecutionException.class, failure(d));
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void structuresThatCanNeverRunAreRefusedAtSubmit() throws Exception {
        try (FusedStageService service = FusedStageService.builder(chain()).optMaxAtoms(20).optMaxBatchSize(4).build()) {
            AtomicSystem big = named(TestSystems.fccArgon(2, 5.26, 0.0, 1), "big"); // 32 atoms
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> service.submit(big));
            assertTrue(e.getMessage().contains("big has 32 atoms") && e.getMessage().contains("at most 20"), e.getMessage());
            AtomicSystem copper = AtomicSystem.builder().positions(new double[] {0, 0, 0, 2.5, 0, 0}).symbols("Cu", "Cu")
                    .optSampleId("copper").build();
            IllegalArgumentException element = assertThrows(IllegalArgumentException.class, () -> service.submit(copper));
            assertTrue(element.getMessage().contains("element Cu is unknown"), element.getMessage());
            AtomicSystem overlap = AtomicSystem.builder().positions(new double[] {0, 0, 0, 0.1, 0, 0}).symbols("Ar", "Ar")
                    .optSampleId("overlap").build();
            assertThrows(IllegalArgumentException.class, () -> service.submit(overlap));
            AtomicSystem cube = AtomicSystem.builder().positions(new double[3]).atomicNumbers(new int[] {18})
                    .optCell(new double[] {0.03, 0, 0, 0, 0.03, 0, 0, 0, 0.03}).optPbc(true, true, true).optSampleId("cube").build();
            IllegalArgumentException thin = assertThrows(IllegalArgumentException.class, () -> service.submit(cube));
            assertTrue(thin.getMessage().contains("too thin"), thin.getMessage());
            // The same id twice while the first is in flight is refused; after it finished it is fine.
            AtomicSystem small = named(TestSystems.argonCluster(3, 3.2, 3.4, 7), "same");
            CompletableFuture<ServiceResult> first = service.submit(small);
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> service.submit(small));
            assertTrue(twice.getMessage().contains("already in flight"), twice.getMessage());
            await(first);
            assertEquals("same", await(service.submit(small)).sampleId());
            assertEquals(5, service.metrics().refused());
            // Without an id, the service names the request.
            AtomicSystem cluster = TestSystems.argonCluster(3, 3.2, 3.4, 8);
            AtomicSystem noId = AtomicSystem.builder().positions(cluster.positions()).atomicNumbers(cluster.atomicNumbers())
                    .build();
            ServiceResult anonymous = await(service.submit(noId));
            assertTrue(anonymous.sampleId().startsWith("job-"), anonymous.sampleId());
        }
    }

    /** Makes the sample named "boom" non-finite after its third step in the batch. */
    private static final class Detonator implements Hook {
        private int seen;

        @Override
        public HookStage stage() {
            return HookStage.AFTER_STEP;
        }

        @Override
        public void apply(HookContext context) {
            Batch batch = context.batch();
            int slot = batch.sampleIds().indexOf("boom");
            if (slot < 0 || !batch.isOccupied(slot) || ++seen != 3) {
                return;
            }
            double[] p = batch.positions().toDoubleArray();
            for (int row : batch.atomRows(slot)) {
                p[3 * row] = Double.NaN;
            }
            NDArray blown = batch.getManager().create(p, batch.positions().getShape()).toType(batch.getDataType(), false);
            batch.set(Batch.POSITIONS, blown);
        }
    }

    @Test
    void aSampleThatBlowsUpFailsAloneWithItsReason() throws Exception {
        try (FusedStageService service = FusedStageService.builder(chain().addHook(new Detonator())).optMaxBatchSize(8)
                .build()) {
            List<AtomicSystem> systems = structures(12);
            List<CompletableFuture<ServiceResult>> others = new ArrayList<>();
            for (AtomicSystem s : systems.subList(0, 6)) {
                others.add(service.submit(s));
            }
            CompletableFuture<ServiceResult> boom = service.submit(named(TestSystems.fccArgon(1, 5.3, 0.05, 5), "boom"));
            double[] masses = new double[4];
            java.util.Arrays.fill(masses, 1e-320); // F/m overflows: it blows up by itself in MD
            CompletableFuture<ServiceResult> light = service.submit(TestSystems.fccArgon(1, 5.3, 0.05, 6).toBuilder()
                    .optSampleId("light").optMasses(masses).build());
            for (AtomicSystem s : systems.subList(6, 12)) {
                others.add(service.submit(s));
            }
            Throwable t = failure(boom);
            assertInstanceOf(SampleFailedException.class, t);
            assertEquals("boom", ((SampleFailedException) t).sampleId());
            assertTrue(((SampleFailedException) t).reason().contains("non-finite positions"), t.getMessage());
            Throwable light2 = failure(light);
            assertInstanceOf(SampleFailedException.class, light2);
            assertTrue(light2.getMessage().contains("blew up"), light2.getMessage());
            Map<String, ServiceResult> byId = new HashMap<>();
            for (CompletableFuture<ServiceResult> f : others) {
                ServiceResult r = await(f);
                byId.put(r.sampleId(), r);
                assertTrue(r.converged(), r.sampleId());
            }
            assertEquals(12, byId.size());
            assertEquals(2, service.metrics().failed());
        }
    }
}
