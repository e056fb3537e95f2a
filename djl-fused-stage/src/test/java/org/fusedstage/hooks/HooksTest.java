package org.fusedstage.hooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Status;
import org.fusedstage.dynamics.VelocityVerlet;
import org.fusedstage.sinks.HostMemory;
import org.fusedstage.sinks.SinkFullException;
import org.fusedstage.testing.WithLennardJones;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

class HooksTest extends WithLennardJones {


    /** Records (step, stage) for every call. */
    private static final class Recorder implements Hook {
        final HookStage stage;
        final int frequency;
        final List<String> calls;

        Recorder(HookStage stage, int frequency, List<String> calls) {
            this.stage = stage;
            this.frequency = frequency;
            this.calls = calls;
        }

        @Override
        public HookStage stage() {
            return stage;
        }

        @Override
        public int frequency() {
            return frequency;
        }

        @Override
        public void apply(HookContext context) {
            calls.add(context.step() + ":" + context.stage());
        }
    }

    @Test
    void allNineStagesFireInStepOrderAtTheirFrequency() {
        List<String> calls = new ArrayList<>();
        VelocityVerlet.Builder b = VelocityVerlet.builder(lj.potential);
        for (HookStage stage : HookStage.values()) {
            b.addHook(new Recorder(stage, 1, calls));
        }
        b.addHook(new Recorder(HookStage.AFTER_STEP, 3, calls));
        VelocityVerlet vv = b.build();
        try (Batch batch = Batch.of(List.of(TestSystems.fccArgon(1, 5.3, 0.1, 1)), lj.manager)) {
            vv.run(batch, 3);
        }
        List<String> expected = new ArrayList<>();
        expected.add("0:AFTER_COMPUTE"); // the forward pass that primes forces before step 1
        for (int step = 1; step <= 3; step++) {
            for (HookStage stage : HookStage.values()) {
                expected.add(step + ":" + stage);
                if (step == 3 && stage == HookStage.AFTER_STEP) {
                    expected.add("3:AFTER_STEP");
                }
            }
        }
        assertEquals(expected, calls);
    }

    @Test
    void snapshotAndLoggingHooksFireAtTheirFrequencies() {
        HostMemory sink = new HostMemory(1000);
        LoggingHook logging = new LoggingHook(100);
        VelocityVerlet vv = VelocityVerlet.builder(lj.potential).addHook(new SnapshotHook(sink, 10)).addHook(logging)
                .optInitialTemperature(50).build();
        List<AtomicSystem> systems = List.of(TestSystems.fccArgon(1, 5.3, 0.1, 1), TestSystems.argonCluster(3, 3, 3, 2));
        try (Batch batch = Batch.of(systems, lj.manager)) {
            vv.run(batch, 99);
            assertEquals(null, logging.lastLine(), "no log line before step 100");
            vv.run(batch, 1);
            assertTrue(logging.lastLine().startsWith("step 100: samples per status {0=2}"), logging.lastLine());
        }
        assertEquals(2 * 10, sink.size(), "10 snapshots of 2 samples in 100 steps");
        AtomicSystem last = sink.read().get(19);
        assertEquals(100L, last.info().get("step"));
        assertTrue(last.velocities().isPresent() && last.forces().isPresent() && last.energy().isPresent());
    }

    @Test
    void nonFiniteSampleIsQuarantinedAndTheOthersContinue() {
        quarantineCheck();
    }

    /** The same with the forms a GPU runs (the guard's one-scalar shortcut instead of the host scan). */
    @Test
    void nonFiniteSampleIsQuarantinedWithTheDeviceForms() {
        withDeviceForms(HooksTest::quarantineCheck);
    }

    /** Runs {@code check} with the forms a GPU batch uses, on this CPU. */
    private static void withDeviceForms(Runnable check) {
        org.fusedstage.data.HostWork.forceDeviceForms(true);
        try {
            check.run();
        } finally {
            org.fusedstage.data.HostWork.forceDeviceForms(false);
        }
    }

    /**
     * A quarantined sample is written with the state of the last step in which every value was
     * finite: positions, velocities, forces and energy exactly as an AFTER_COMPUTE hook saw them
     * then (a hook spoils the sample's positions before the forward pass of step 4).
     */
    @Test
    void aRejectCarriesItsLastGoodState() {
        lastGoodStateCheck();
    }

    /** The same with the forms a GPU runs (device copies of the last good state). */
    @Test
    void aRejectCarriesItsLastGoodStateWithTheDeviceForms() {
        withDeviceForms(HooksTest::lastGoodStateCheck);
    }

    private static void lastGoodStateCheck() {
        int spoiledStep = 4;
        AtomicSystem healthy = TestSystems.fccArgon(1, 5.3, 0.1, 3);
        AtomicSystem fragile = TestSystems.fccArgon(1, 5.3, 0.1, 4).toBuilder().optSampleId("fragile").build();
        Hook spoiler = new Hook() {
            @Override
            public HookStage stage() {
                return HookStage.BEFORE_COMPUTE;
            }

            @Override
            public void apply(HookContext context) {
                if (context.step() == spoiledStep) {
                    Batch b = context.batch();
                    double[] p = b.positions().toDoubleArray();
                    p[3 * b.atomRows(1)[2] + 1] = Double.NaN;
                    b.set(Batch.POSITIONS, b.getManager().create(p, b.positions().getShape()));
                }
            }
        };
        List<AtomicSystem> seen = new ArrayList<>(); // the fragile sample as AFTER_COMPUTE saw it, each finite step
        Hook recorder = new Hook() {
            @Override
            public HookStage stage() {
                return HookStage.AFTER_COMPUTE;
            }

            @Override
            public void apply(HookContext context) {
                if (context.step() < spoiledStep) {
                    seen.add(context.batch().systems(List.of(1)).get(0));
                }
            }
        };
        HostMemory rejects = new HostMemory(10);
        NonFiniteGuard guard = new NonFiniteGuard(rejects);
        VelocityVerlet vv = VelocityVerlet.builder(lj.potential).addHook(spoiler).addHook(recorder).addHook(guard)
                .optInitialTemperature(50).build();
        try (Batch batch = Batch.of(List.of(healthy, fragile), lj.manager)) {
            vv.run(batch, 8);
            assertEquals(List.of("fragile"), guard.rejects().stream().map(NonFiniteGuard.Reject::sampleId).toList());
            assertTrue(seen.size() >= 4, "finite steps before the spoiled one: " + seen.size());
            AtomicSystem reject = rejects.read().get(0);
            assertEquals("last good step", reject.info().get("state"));
            AtomicSystem last = seen.get(seen.size() - 1);
            org.junit.jupiter.api.Assertions.assertArrayEquals(last.positions(), reject.positions(), 0);
            org.junit.jupiter.api.Assertions.assertArrayEquals(last.velocities().orElseThrow(), reject.velocities().orElseThrow(), 0);
            org.junit.jupiter.api.Assertions.assertArrayEquals(last.forces().orElseThrow(), reject.forces().orElseThrow(), 0);
            assertEquals(last.energy().orElseThrow(), reject.energy().orElseThrow(), 0);
        }
    }

    private static void quarantineCheck() {
        AtomicSystem broken = AtomicSystem.builder()
                .positions(new double[] {0, 0, 0, 0, 0, 0, 3.8, 0, 0}) // two atoms on the same spot
                .symbols("Ar", "Ar", "Ar").optSampleId("broken").build();
        AtomicSystem healthy = TestSystems.fccArgon(1, 5.3, 0.1, 3);
        HostMemory rejects = new HostMemory(10);
        NonFiniteGuard guard = new NonFiniteGuard(rejects);
        VelocityVerlet vv = VelocityVerlet.builder(lj.potential).addHook(guard).optInitialTemperature(50).build();
        try (Batch reference = Batch.of(List.of(healthy), lj.manager);
                Batch batch = Batch.of(List.of(healthy, broken), lj.manager)) {
            VelocityVerlet alone = VelocityVerlet.builder(lj.potential).optInitialTemperature(50).build();
            alone.run(reference, 5);
            vv.run(batch, 5);
            assertEquals(List.of(0L, (long) Status.QUARANTINED), List.of(batch.status().toLongArray()[0], batch.status().toLongArray()[1]));
            assertEquals(1, guard.rejects().size());
            assertEquals("broken", guard.rejects().get(0).sampleId());
            assertEquals(1, rejects.size());
            assertEquals("broken", rejects.read().get(0).sampleId().orElseThrow());
            double[] expected = reference.toSystems().get(0).positions();
            double[] actual = batch.positions().get("0:4").toDoubleArray();
            for (int k = 0; k < expected.length; k++) {
                assertEquals(expected[k], actual[k], 1e-12, "the healthy sample is unaffected");
            }
        }
    }

    @Test
    void fullHostMemoryRefusesTheWholeWrite() {
        HostMemory sink = new HostMemory(3);
        sink.write(List.of(TestSystems.argonCluster(2, 3, 2, 1), TestSystems.argonCluster(2, 3, 2, 2)));
        SinkFullException e = assertThrows(SinkFullException.class,
                () -> sink.write(List.of(TestSystems.argonCluster(2, 3, 2, 3), TestSystems.argonCluster(2, 3, 2, 4))));
        assertTrue(e.getMessage().contains("holds 2 of 3"), e.getMessage());
        assertEquals(2, sink.size(), "nothing of the failed write was stored");
    }
}
