package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.compile.StepGraph;
import org.fusedstage.data.Status;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.sinks.HostMemory;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;

/** Runs end, and results say what happened: the semantics a user relies on. */
class TrustworthyResultsTest extends WithLennardJones {

    private static final Duration LIMIT = Duration.ofSeconds(60); // a hang fails the test

    private static List<AtomicSystem> crystals(int n) {
        List<AtomicSystem> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(TestSystems.fccArgon(1, 5.3, 0.1, 40 + i));
        }
        return out;
    }

    @Test
    void aNewBatchStartsAtTheEntryStatusOfExplicitCodes() {
        FusedStage fused = FusedStage.builder()
                .addSubStage(5, FIRE.builder(lj.potential).optFmax(0.05).build())
                .addSubStage(6, VelocityVerlet.builder(lj.potential).optNSteps(3).build())
                .optEntryStatus(5).build();
        assertEquals(7, fused.exitStatus());
        try (Batch batch = Batch.of(crystals(3), lj.manager)) {
            assertTimeoutPreemptively(LIMIT, () -> fused.run(batch));
            assertArrayEquals(new long[] {7, 7, 7}, batch.status().toLongArray());
            assertArrayEquals(new long[] {3, 3, 3}, batch.get("stage6.steps").toLongArray(), "each ran its MD budget");
            assertTrue(fused.lastReport().unfinished().isEmpty());
        }
    }

    @Test
    void samplesAtAStatusNoStageOwnsStopTheRunNamingThem() {
        FusedStage fused = FIRE.builder(lj.potential).build().plus(VelocityVerlet.builder(lj.potential).optNSteps(2).build());
        try (Batch batch = Batch.of(crystals(3), lj.manager)) {
            batch.set(Batch.STATUS, batch.getManager().create(new long[] {0, 9, 1}));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> fused.run(batch));
            assertTrue(e.getMessage().contains(batch.sampleIds().get(1) + " (status 9)"), e.getMessage());
        }
    }

    @Test
    void chainsThatCouldNeverEndAreRefusedAtConstruction() {
        String md = assertThrows(IllegalArgumentException.class,
                () -> FusedStage.of(List.of(VelocityVerlet.builder(lj.potential).build()))).getMessage();
        assertTrue(md.contains("neither a step budget nor convergence criteria"), md);
        assertThrows(IllegalArgumentException.class, () -> FIRE.builder(lj.potential).build()
                .plus(Langevin.builder(lj.potential).optTemperature(80).build()));
        String zero = assertThrows(IllegalArgumentException.class, () -> FIRE.builder(lj.potential).optFmax(0).build()).getMessage();
        assertTrue(zero.contains("must be > 0"), zero);
        // A convergence target that loops back: no sample could reach the exit status.
        ConvergenceHook back = ConvergenceHook.builder().addCriterion(Criterion.FMAX, 0.05).optTargetStatus(0).build();
        String loop = assertThrows(IllegalArgumentException.class, () -> FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).build())
                .addSubStage(1, FIRE.builder(lj.potential).optConvergence(back).build()).build()).getMessage();
        assertTrue(loop.contains("loop"), loop);
        // A relaxation without criteria ends at ASE's default fmax.
        FusedStage relax = FusedStage.of(List.of(FIRE.builder(lj.potential).optConvergence(null).build()));
        assertEquals(ConvergenceHook.DEFAULT_FMAX, relax.subStages().get(0).convergence().criteria().get(0).threshold());
    }

    @Test
    void aSourceStatusThatDiffersFromTheCodeIsRefused() {
        ConvergenceHook fromFive = ConvergenceHook.builder().addCriterion(Criterion.FMAX, 0.05).optSourceStatus(5).build();
        FIRE fire = FIRE.builder(lj.potential).optConvergence(fromFive).build();
        String message = assertThrows(IllegalArgumentException.class,
                () -> fire.plus(VelocityVerlet.builder(lj.potential).optNSteps(2).build())).getMessage();
        assertTrue(message.contains("source status 5") && message.contains("code is 0"), message);
        // Honoured where it matches: explicit construction at code 5.
        FusedStage fused = FusedStage.builder().addSubStage(5, FIRE.builder(lj.potential).optConvergence(fromFive).build())
                .addSubStage(6, VelocityVerlet.builder(lj.potential).optNSteps(2).build()).build();
        assertEquals(5, fused.subStages().get(0).convergence().sourceStatus());
    }

    @Test
    void aDynamicsInTwoChainsIsRefusedAndTheFirstChainIsUnchanged() {
        FIRE a = FIRE.builder(lj.potential).build();
        VelocityVerlet b = VelocityVerlet.builder(lj.potential).optNSteps(2).build();
        VelocityVerlet c = VelocityVerlet.builder(lj.potential).optNSteps(2).build();
        FusedStage first = a.plus(b);
        String message = assertThrows(IllegalArgumentException.class, () -> b.plus(c)).getMessage();
        assertTrue(message.contains("already sub-stage 1 of another FusedStage"), message);
        assertEquals(1, b.statusCode(), "b keeps its code in the first chain");
        assertFalse(c.isAssigned(), "the refused chain wired nothing");
        // The same instances at the same codes are fine (fused.plus builds on the same chain).
        FusedStage longer = first.plus(c);
        try (Batch batch = Batch.of(crystals(2), lj.manager)) {
            assertTimeoutPreemptively(LIMIT, () -> first.run(batch));
            assertArrayEquals(new long[] {2, 2}, batch.status().toLongArray());
        }
        try (Batch batch = Batch.of(crystals(2), lj.manager)) {
            assertTimeoutPreemptively(LIMIT, () -> longer.run(batch));
            assertArrayEquals(new long[] {3, 3}, batch.status().toLongArray());
        }
    }

    /** FIRE capped at 3 steps (the rattled crystals need more), then 2 MD steps; fmax 10 converges at once. */
    private static Map<String, AtomicSystem> runCapped(OnUnconverged policy, boolean compiled, HostMemory rejects) {
        HostMemory sink = new HostMemory(100);
        List<AtomicSystem> systems = new java.util.ArrayList<>(crystals(3));
        FusedStage.Builder b = FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.01).optNSteps(3).build())
                .addSubStage(1, VelocityVerlet.builder(lj.potential).optNSteps(2).build())
                .addSink(sink).optOnUnconverged(policy).optCompileStep(compiled);
        if (rejects != null) {
            b.addRejectSink(rejects);
        }
        try (FusedStage fused = b.build(); Batch batch = Batch.of(systems, lj.manager)) {
            assertTimeoutPreemptively(LIMIT, () -> fused.run(batch));
        }
        Map<String, AtomicSystem> out = new HashMap<>();
        sink.read().forEach(s -> out.put(s.sampleId().orElseThrow(), s));
        return out;
    }

    @Test
    void aRelaxationThatRanOutOfStepsIsNotCalledConverged() {
        for (boolean compiled : new boolean[] {false, true}) {
            Map<String, AtomicSystem> continued = runCapped(OnUnconverged.CONTINUE, compiled, null);
            assertEquals(3, continued.size());
            for (AtomicSystem s : continued.values()) {
                assertEquals(3L, s.info().get("steps_stage0"));
                assertEquals(Boolean.FALSE, s.info().get("converged_stage0"), "compiled=" + compiled);
                assertEquals(Boolean.TRUE, s.info().get("converged_stage1"), "MD ran its budget");
                assertEquals(Boolean.FALSE, s.info().get("converged"));
                assertEquals(2L, s.info().get("steps_stage1"), "CONTINUE goes on into MD");
            }
            Map<String, AtomicSystem> stopped = runCapped(OnUnconverged.STOP, compiled, null);
            assertEquals(3, stopped.size());
            for (AtomicSystem s : stopped.values()) {
                assertEquals(0L, s.info().get("steps_stage1"), "STOP skips the MD");
                assertEquals(Boolean.FALSE, s.info().get("converged"));
            }
            HostMemory rejects = new HostMemory(100);
            Map<String, AtomicSystem> kept = runCapped(OnUnconverged.REJECT, compiled, rejects);
            assertTrue(kept.isEmpty(), "REJECT keeps them out of the results");
            assertEquals(3, rejects.size());
            for (AtomicSystem s : rejects.read()) {
                assertEquals((long) Status.REJECTED, s.info().get("status"));
                assertTrue(s.info().get("reject_reason").toString().contains("did not converge in 3 steps"));
            }
        }
    }

    @Test
    void aConvergedRelaxationSaysSo() {
        HostMemory sink = new HostMemory(10);
        FusedStage fused = FIRE.builder(lj.potential).optFmax(0.05).optNSteps(5000).build()
                .plus(VelocityVerlet.builder(lj.potential).optNSteps(2).build());
        try (Batch batch = Batch.of(crystals(2), lj.manager)) {
            FusedStage withSink = FusedStage.builder().addSubStage(0, fused.subStages().get(0).dynamics())
                    .addSubStage(1, fused.subStages().get(1).dynamics()).addSink(sink).build();
            assertTimeoutPreemptively(LIMIT, () -> withSink.run(batch));
        }
        for (AtomicSystem s : sink.read()) {
            assertEquals(Boolean.TRUE, s.info().get("converged_stage0"));
            assertEquals(Boolean.TRUE, s.info().get("converged"));
            assertTrue((Long) s.info().get("steps_stage0") < 5000);
        }
    }

    @Test
    void nonPeriodicSystemsCarryNoStress() {
        AtomicSystem cluster = TestSystems.argonCluster(6, 4, 3.3, 7);
        AtomicSystem slab = TestSystems.fccArgon(1, 5.3, 0.05, 8).toBuilder().optPbc(new boolean[] {true, true, false}).build();
        AtomicSystem bulk = TestSystems.fccArgon(1, 5.3, 0.05, 9);
        try (Batch batch = Batch.of(List.of(cluster, slab, bulk), lj.manager)) {
            lj.potential.compute(batch);
            List<AtomicSystem> out = batch.toSystems();
            assertFalse(out.get(0).stress().isPresent(), "cluster");
            assertFalse(out.get(1).stress().isPresent(), "slab");
            assertTrue(out.get(2).stress().isPresent(), "bulk");
            assertTrue(out.get(0).forces().isPresent() && out.get(1).energy().isPresent());
        }
    }

    @Test
    void theSeedsCompileKwargsAreAcceptedAndUnknownKeysNamed() {
        StepGraph.checkOptions(Map.of("mode", "reduce-overhead", "fullgraph", "True"));
        String unknown = assertThrows(IllegalArgumentException.class, () -> StepGraph.checkOptions(Map.of("fullgrph", "true")))
                .getMessage();
        assertTrue(unknown.contains("'fullgrph'") && unknown.contains("fullgraph") && unknown.contains("step_module"), unknown);
        assertThrows(IllegalArgumentException.class, () -> StepGraph.checkOptions(Map.of("mode", "fastest")));
    }

    @Test
    void aCompiledStageClosesItsGraphAndPlusSharesIt() {
        FusedStage compiled = FusedStage.builder().addSubStage(0, FIRE.builder(lj.potential).build())
                .optCompileStep(true).optCompileOption("mode", "default").build();
        FusedStage longer = compiled.plus(VelocityVerlet.builder(lj.potential).optNSteps(2).build());
        compiled.close();
        compiled.close(); // idempotent
        try (longer; Batch batch = Batch.of(crystals(2), lj.manager)) {
            assertTimeoutPreemptively(LIMIT, () -> longer.run(batch)); // the shared graph outlives the first stage
            assertArrayEquals(new long[] {2, 2}, batch.status().toLongArray());
        }
    }
}
