package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookContext;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.model.Potential;
import org.fusedstage.model.PotentialMetadata;
import org.fusedstage.sinks.HostMemory;
import org.fusedstage.testing.WithLennardJones;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

class FusedStageTest extends WithLennardJones {


    /** Moves its samples by a stage-specific amount in x and records which samples it updated. */
    private static final class Marker extends Dynamics {
        final double shift;
        final List<boolean[]> updated = new ArrayList<>();

        Marker(Potential p, double shift, ConvergenceHook convergence) {
            super(new MarkerBuilder(p).optConvergence(convergence));
            this.shift = shift;
        }

        @Override
        protected void preUpdate(Batch batch, StageMask mask) {
            updated.add(mask.systems().toBooleanArray());
            NDArray dx = batch.positions().zerosLike();
            dx.set(new ai.djl.ndarray.index.NDIndex(":, 0"), shift);
            batch.set(Batch.POSITIONS, mask.select(batch.positions().add(dx), batch.positions()));
        }
    }

    private static final class MarkerBuilder extends Dynamics.BaseBuilder<MarkerBuilder> {
        MarkerBuilder(Potential p) {
            super(p, 1.0);
        }

        @Override
        protected MarkerBuilder self() {
            return this;
        }
    }

    private static List<AtomicSystem> eight() {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            systems.add(TestSystems.fccArgon(1, 5.3, 0.05, 300 + i));
        }
        return systems;
    }

    /** The seed's picture: statuses [0,0,0,1,1,0,1,0]; sample 2 converges in stage 0 and migrates. */
    @Test
    void seedPictureUpdatesTheRightSamplesAndMigrates() {
        ConvergenceHook ready = ConvergenceHook.builder().addCriterion("not_ready", 0.5).build();
        Marker stage0 = new Marker(lj.potential, 0.001, ready);
        Marker stage1 = new Marker(lj.potential, 0.010, ConvergenceHook.builder().addCriterion("never", -0.0 + 0.0).build());
        FusedStage fused = stage0.plus(stage1);
        try (Batch batch = Batch.of(eight(), lj.manager)) {
            batch.set(Batch.STATUS, batch.getManager().create(new long[] {0, 0, 0, 1, 1, 0, 1, 0}));
            double[] notReady = {1, 1, 0, 1, 1, 1, 1, 1};
            batch.putSystemField("not_ready", batch.getManager().create(notReady));
            batch.putSystemField("never", batch.getManager().create(new double[] {1, 1, 1, 1, 1, 1, 1, 1}));
            fused.prepare(batch);
            // Sample 2 met stage 0's criterion at the check before the first step.
            assertArrayEquals(new long[] {0, 0, 1, 1, 1, 0, 1, 0}, batch.status().toLongArray());
            batch.set(Batch.STATUS, batch.getManager().create(new long[] {0, 0, 0, 1, 1, 0, 1, 0}));
            double[] x0 = xOfFirstAtoms(batch);
            long forwardsBefore = lj.potential.forwardCount();
            fused.step(batch).close();
            assertEquals(forwardsBefore + 1, lj.potential.forwardCount(), "one forward pass per fused step");
            assertArrayEquals(new boolean[] {true, true, true, false, false, true, false, true}, stage0.updated.get(0));
            assertArrayEquals(new boolean[] {false, false, false, true, true, false, true, false}, stage1.updated.get(0));
            double[] x1 = xOfFirstAtoms(batch);
            long[] before = {0, 0, 0, 1, 1, 0, 1, 0};
            for (int i = 0; i < 8; i++) {
                assertEquals(before[i] == 0 ? 0.001 : 0.010, x1[i] - x0[i], 1e-12, "sample " + i);
            }
            assertArrayEquals(new long[] {0, 0, 1, 1, 1, 0, 1, 0}, batch.status().toLongArray(), "sample 2 migrated to 1");
        }
    }

    private static double[] xOfFirstAtoms(Batch batch) {
        double[] p = batch.positions().toDoubleArray();
        double[] out = new double[batch.numSystems()];
        for (int i = 0; i < out.length; i++) {
            out[i] = p[3 * batch.atomRows(i)[0]];
        }
        return out;
    }

    @Test
    void oneForwardPassPerStepWithTwoAndThreeStages() {
        for (int stages = 2; stages <= 3; stages++) {
            FusedStage fused = new DemoDynamics(lj.potential, 1.0).plus(new DemoDynamics(lj.potential, 1.0));
            if (stages == 3) {
                fused = fused.plus(new DemoDynamics(lj.potential, 1.0));
            }
            try (Batch batch = Batch.of(eight(), lj.manager)) {
                batch.set(Batch.STATUS, batch.getManager().create(new long[] {0, 1, 2 % stages, 0, 1, 0, 1, 0}));
                fused.prepare(batch);
                long before = lj.potential.forwardCount();
                for (int s = 0; s < 5; s++) {
                    fused.step(batch).close();
                }
                assertEquals(before + 5, lj.potential.forwardCount(), stages + " stages");
            }
        }
    }

    /** FIRE -> VelocityVerlet: every sample relaxes, then runs exactly its MD budget, then graduates once. */
    @Test
    void fireThenVelocityVerletMatchesRunningTheStagesAlone() {
        List<AtomicSystem> systems = List.of(
                TestSystems.fccArgon(1, 5.3, 0.15, 1), TestSystems.argonCluster(5, 4, 3.3, 2),
                TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.1, 3), TestSystems.argonCluster(8, 5, 3.3, 4));
        int budget = 20;
        HostMemory sink = new HostMemory(100);
        FusedStage fused = FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, VelocityVerlet.builder(lj.potential).optNSteps(budget).build())
                .addSink(sink)
                .build();
        assertEquals(2, fused.exitStatus());
        try (Batch batch = Batch.of(systems, lj.manager)) {
            fused.run(batch);
            assertArrayEquals(new long[] {2, 2, 2, 2}, batch.status().toLongArray());
            long[] mdSteps = batch.get("stage1.steps").toLongArray();
            assertArrayEquals(new long[] {budget, budget, budget, budget}, mdSteps);
            assertEquals(4, sink.size(), "each sample written once");
            Map<String, AtomicSystem> written = new HashMap<>();
            sink.read().forEach(s -> written.put(s.sampleId().orElseThrow(), s));
            List<AtomicSystem> fusedOut = batch.toSystems();
            long[] fireSteps = batch.get("stage0.steps").toLongArray();
            for (int i = 0; i < systems.size(); i++) {
                AtomicSystem alone = runAlone(systems.get(i), budget);
                AtomicSystem mine = fusedOut.get(i);
                assertArrayEquals(alone.positions(), mine.positions(), 1e-10, "positions of sample " + i);
                assertArrayEquals(alone.velocities().orElseThrow(), mine.velocities().orElseThrow(), 1e-10);
                AtomicSystem record = written.get(mine.sampleId().orElseThrow());
                assertEquals(fireSteps[i], record.info().get("steps_stage0"));
                assertEquals((long) budget, record.info().get("steps_stage1"));
                assertArrayEquals(mine.positions(), record.positions(), 0.0, "the sink holds the final state");
            }
        }
    }

    private static AtomicSystem runAlone(AtomicSystem system, int budget) {
        FIRE fire = FIRE.builder(lj.potential).optFmax(0.02).build();
        VelocityVerlet vv = VelocityVerlet.builder(lj.potential).optNSteps(budget).build();
        try (Batch batch = Batch.of(List.of(system), lj.manager)) {
            fire.run(batch, 10_000);
            batch.set(Batch.STATUS, batch.status().zerosLike());
            vv.run(batch, 10_000);
            assertEquals(budget, batch.get(vv.stateName("steps")).toLongArray()[0]);
            return batch.toSystems().get(0);
        }
    }

    @Test
    void toStringMatchesTheSeed() {
        FusedStage fused = new DemoDynamics(lj.potential, 0.5).plus(new DemoDynamics(lj.potential, 1.0))
                .plus(new DemoDynamics(lj.potential, 2.0));
        assertEquals("FusedStage(sub_stages=[0:DemoDynamics, 1:DemoDynamics, 2:DemoDynamics], entry_status=0, "
                + "exit_status=3, compiled=false, step_count=0)", fused.toString());
        List<Integer> codes = new ArrayList<>();
        fused.subStages().forEach(s -> codes.add(s.code()));
        assertEquals(List.of(0, 1, 2), codes);
        assertEquals(List.of(1, 2, 3), fused.subStages().stream().map(FusedStage.SubStage::target).toList());
    }

    @Test
    void badChainsFailAtConstructionWithClearMessages() {
        assertMessage(() -> FusedStage.builder().build(), "at least one sub-stage");
        assertMessage(() -> FusedStage.builder().addSubStage(0, new DemoDynamics(lj.potential, 1))
                .addSubStage(0, new DemoDynamics(lj.potential, 1)).build(), "duplicate status code 0");
        assertMessage(() -> FusedStage.builder().addSubStage(0, new DemoDynamics(lj.potential, 1))
                .addSubStage(1, new DemoDynamics(lj.potential, 1)).optExitStatus(1).build(), "exit status 1 collides");
        Potential gpu = new FakePotential(Device.gpu());
        assertMessage(() -> new DemoDynamics(lj.potential, 1).plus(new DemoDynamics(gpu, 1)), "share one device");
        Potential other = new FakePotential(Device.cpu());
        assertMessage(() -> new DemoDynamics(lj.potential, 1).plus(new DemoDynamics(other, 1)), "same Potential instance");
        Hook beforeCompute = new Hook() {
            @Override
            public HookStage stage() {
                return HookStage.BEFORE_COMPUTE;
            }

            @Override
            public void apply(HookContext context) {}
        };
        assertMessage(() -> new DemoDynamics(lj.potential, 1).plus(DemoDynamics.builder(lj.potential).addHook(beforeCompute).build()),
                "only the fused stage has");
        DemoDynamics same = new DemoDynamics(lj.potential, 1);
        assertMessage(() -> same.plus(same), "appears twice");
    }

    private static void assertMessage(Runnable r, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void safetyCapEndsTheRunWithAReport() {
        FusedStage fused = FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(1e-9).build())
                .addSubStage(1, VelocityVerlet.builder(lj.potential).optNSteps(5).build())
                .optMaxSteps(10)
                .build();
        try (Batch batch = Batch.of(List.of(TestSystems.fccArgon(1, 5.3, 0.2, 1), TestSystems.fccArgon(1, 5.26, 0.0, 2)), lj.manager)) {
            fused.run(batch);
            FusedStage.RunReport report = fused.lastReport();
            assertTrue(report.capped());
            assertEquals(10, report.steps());
            assertEquals(List.of("fcc-1-1 (status 0)"), report.unfinished(), "the perfect crystal finished, the other did not");
        }
    }

    @Test
    void singleStageFusedWritesEachSampleOnce() {
        HostMemory sink = new HostMemory(10);
        FusedStage fused = FusedStage.builder().addSubStage(0, new FIRE(lj.potential)).addSink(sink).build();
        try (Batch batch = Batch.of(List.of(TestSystems.fccArgon(1, 5.3, 0.1, 1), TestSystems.fccArgon(1, 5.26, 0.0, 2)), lj.manager)) {
            fused.run(batch);
            for (int i = 0; i < 5; i++) {
                fused.step(batch).close(); // graduated samples stay put and are not written again
            }
        }
        assertEquals(2, sink.size());
    }

    /** A potential that only declares a device, for construction checks. */
    private static final class FakePotential implements Potential {
        private final Device device;

        FakePotential(Device device) {
            this.device = device;
        }

        @Override
        public PotentialMetadata metadata() {
            return PotentialMetadata.builder("fake").optCutoff(1).build();
        }

        @Override
        public void compute(Batch batch) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Device device() {
            return device;
        }

        @Override
        public long forwardCount() {
            return 0;
        }
    }
}
