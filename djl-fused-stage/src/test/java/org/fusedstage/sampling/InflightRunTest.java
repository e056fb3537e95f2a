package org.fusedstage.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.InMemoryDataset;
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

/** Inflight batching: every sample exactly once, limits respected, results equal a fixed batch. */
class InflightRunTest extends WithLennardJones {

    private static final int MAX_ATOMS = 120;
    private static final int MAX_BATCH = 16;

    /**
     * Mixed sizes: argon clusters of 2-12 atoms and 4-atom fcc cells, relaxing at different speeds;
     * every fourth sample of heavier isotopes (so a slot refilled with another sample must move
     * with that sample's masses).
     */
    static List<AtomicSystem> dataset(int count) {
        List<AtomicSystem> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            AtomicSystem s = i % 3 == 0
                    ? TestSystems.fccArgon(1, 5.26 + 0.01 * (i % 7), 0.03 + 0.02 * (i % 5), 1000 + i)
                    : TestSystems.argonCluster(2 + i % 11, 3.0 + 0.2 * (i % 11), 3.4, 2000 + i);
            AtomicSystem.Builder b = s.toBuilder().optSampleId(String.format("s%04d", i));
            if (i % 4 == 1) {
                double[] heavy = s.masses().clone();
                java.util.Arrays.setAll(heavy, a -> 1.5 * heavy[a]);
                b.optMasses(heavy);
            }
            out.add(b.build());
        }
        return out;
    }

    static FusedStage chain(HostMemory sink) {
        return chainBuilder(sink).build();
    }

    static FusedStage.Builder chainBuilder(HostMemory sink) {
        return FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, Langevin.builder(lj.potential).optTemperature(40).optFriction(0.02).optTimeStep(2.0)
                        .optNSteps(15).optSeed(11).build())
                .addSink(sink);
    }

    /** Checks the budgets of the samples still running, at every step. */
    private static final class LimitCheck implements Hook {
        int maxSeenAtoms;
        int maxSeenCount;

        @Override
        public HookStage stage() {
            return HookStage.BEFORE_STEP;
        }

        @Override
        public void apply(HookContext context) {
            Batch batch = context.batch();
            long[] status = batch.status().toLongArray();
            int atoms = 0;
            int count = 0;
            for (int i = 0; i < status.length; i++) {
                if (status[i] == 0 || status[i] == 1) {
                    atoms += batch.atomCount(i);
                    count++;
                }
            }
            maxSeenAtoms = Math.max(maxSeenAtoms, atoms);
            maxSeenCount = Math.max(maxSeenCount, count);
        }
    }

    @Test
    void fiveHundredSamplesEachOnceWithinLimitsAndEqualToAFixedBatch() {
        List<AtomicSystem> systems = dataset(500);
        HostMemory inflightSink = new HostMemory(1000);
        LimitCheck limits = new LimitCheck();
        FusedStage inflight = FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, Langevin.builder(lj.potential).optTemperature(40).optFriction(0.02).optTimeStep(2.0)
                        .optNSteps(15).optSeed(11).build())
                .addSink(inflightSink)
                .addHook(limits)
                .build();
        SizeAwareSampler sampler = SizeAwareSampler.builder(new InMemoryDataset(systems))
                .optMaxAtoms(MAX_ATOMS).optMaxBatchSize(MAX_BATCH).build();
        inflight.setSampler(sampler);
        inflight.setRefillFrequency(1);
        assertNull(inflight.run(), "run() returns null once the sampler is exhausted");
        assertTrue(sampler.exhausted());
        assertTrue(limits.maxSeenAtoms <= MAX_ATOMS, "atoms in a batch: " + limits.maxSeenAtoms);
        assertTrue(limits.maxSeenAtoms > MAX_ATOMS * 3 / 4, "batches were packed: " + limits.maxSeenAtoms + " atoms at most");
        assertTrue(limits.maxSeenCount <= MAX_BATCH, "samples in a batch: " + limits.maxSeenCount);

        Map<String, AtomicSystem> byId = new HashMap<>();
        for (AtomicSystem s : inflightSink.read()) {
            AtomicSystem previous = byId.put(s.sampleId().orElseThrow(), s);
            assertNull(previous, "sample " + s.sampleId().orElseThrow() + " written twice");
        }
        assertEquals(500, byId.size(), "every sample exactly once");

        // The same samples in one fixed batch give the same results (per-sample noise streams).
        HostMemory fixedSink = new HostMemory(1000);
        List<AtomicSystem> subset = systems.subList(0, 60);
        try (Batch batch = Batch.of(subset, lj.manager)) {
            chain(fixedSink).run(batch);
        }
        for (AtomicSystem fixed : fixedSink.read()) {
            AtomicSystem mine = byId.get(fixed.sampleId().orElseThrow());
            assertArrayEquals(fixed.positions(), mine.positions(), 1e-10, "positions of " + fixed.sampleId().get());
            assertArrayEquals(fixed.velocities().orElseThrow(), mine.velocities().orElseThrow(), 1e-10);
            assertEquals(fixed.info().get("steps_stage0"), mine.info().get("steps_stage0"));
            assertEquals(15L, mine.info().get("steps_stage1"));
            assertEquals(Boolean.TRUE, mine.info().get("converged"));
        }
        assertEquals(60, fixedSink.size());
    }

    /**
     * An MD-only chain refills every slot at once, so its stage keeps the same slots while their
     * samples (and masses) change: each sample still moves with its own masses, as in a fixed batch.
     */
    @Test
    void refilledSlotsMoveWithTheirNewSamplesMasses() {
        List<AtomicSystem> systems = dataset(40);
        HostMemory inflightSink = new HostMemory(100);
        HostMemory fixedSink = new HostMemory(100);
        java.util.function.Function<HostMemory, FusedStage> md = sink -> FusedStage.builder()
                .addSubStage(0, Langevin.builder(lj.potential).optTemperature(40).optTimeStep(2.0).optNSteps(10).optSeed(5).build())
                .addSink(sink).build();
        FusedStage inflight = md.apply(inflightSink);
        inflight.setSampler(SizeAwareSampler.builder(new InMemoryDataset(systems)).optMaxBatchSize(8).build());
        inflight.run();
        try (Batch batch = Batch.of(systems, lj.manager)) {
            md.apply(fixedSink).run(batch);
        }
        Map<String, AtomicSystem> fixed = new HashMap<>();
        fixedSink.read().forEach(s -> fixed.put(s.sampleId().orElseThrow(), s));
        assertEquals(40, inflightSink.size());
        for (AtomicSystem s : inflightSink.read()) {
            AtomicSystem f = fixed.get(s.sampleId().orElseThrow());
            assertArrayEquals(f.velocities().orElseThrow(), s.velocities().orElseThrow(), 1e-10, "velocities of " + s.sampleId().get());
            assertArrayEquals(f.positions(), s.positions(), 1e-10, "positions of " + s.sampleId().get());
        }
    }

    /** Reading the status only every 3 steps (fewer device reads) changes nothing per sample. */
    @Test
    void sparseStatusReadsGiveTheSameResults() throws Exception {
        List<AtomicSystem> systems = dataset(60);
        HostMemory every = new HostMemory(100);
        HostMemory sparse = new HostMemory(100);
        for (HostMemory sink : List.of(every, sparse)) {
            FusedStage fused = chain(sink);
            fused.setSampler(SizeAwareSampler.builder(new InMemoryDataset(systems)).optMaxAtoms(MAX_ATOMS).build());
            fused.setRefillFrequency(sink == every ? 1 : 3);
            fused.run();
        }
        assertEquals(60, sparse.size());
        Map<String, AtomicSystem> reference = new HashMap<>();
        every.read().forEach(s -> reference.put(s.sampleId().orElseThrow(), s));
        for (AtomicSystem s : sparse.read()) {
            AtomicSystem r = reference.get(s.sampleId().orElseThrow());
            assertArrayEquals(r.positions(), s.positions(), 1e-10);
            assertEquals(r.info().get("steps_stage0"), s.info().get("steps_stage0"));
        }
    }

    /** The safety cap ends an inflight run too: exactly that many steps, the unfinished samples named. */
    @Test
    void safetyCapEndsAnInflightRun() {
        HostMemory sink = new HostMemory(100);
        FusedStage fused = FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, Langevin.builder(lj.potential).optTemperature(40).optNSteps(15).optSeed(11).build())
                .addSink(sink).optMaxSteps(12).build();
        fused.setSampler(SizeAwareSampler.builder(new InMemoryDataset(dataset(60))).optMaxBatchSize(4).build());
        fused.run();
        FusedStage.RunReport report = fused.lastReport();
        assertTrue(report.capped());
        assertEquals(12, report.steps());
        assertEquals(12, fused.stepCount());
        assertEquals(4, report.unfinished().size() + report.quarantined().size(), report.toString());
        assertTrue(sink.size() < 60, "the run stopped early");
    }

    @Test
    void oversizeSamplesAreReportedBeforeTheRun() {
        List<AtomicSystem> systems = new ArrayList<>(dataset(20));
        systems.add(TestSystems.fccArgon(2, 5.26, 0.0, 1).toBuilder().optSampleId("big").build()); // 32 atoms
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SizeAwareSampler.builder(new InMemoryDataset(systems)).optMaxAtoms(20).build());
        assertTrue(e.getMessage().contains("big (32 atoms)"), e.getMessage());
        IllegalArgumentException edges = assertThrows(IllegalArgumentException.class,
                () -> SizeAwareSampler.builder(new InMemoryDataset(systems)).optMaxBatchSize(4).optMaxEdges(500, 9.5).build());
        assertTrue(edges.getMessage().contains("big (32 atoms, "), edges.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SizeAwareSampler.builder(new InMemoryDataset(systems)).build());
    }

    @Test
    void samplerPacksWithinAllLimits() {
        SizeAwareSampler sampler = SizeAwareSampler.builder(new InMemoryDataset(dataset(50)))
                .optMaxAtoms(40).optMaxBatchSize(6).optMaxEdges(400, 9.5).build();
        List<Integer> first = sampler.initialBatch();
        int atoms = 0;
        long edges = 0;
        for (int i : first) {
            atoms += sampler.dataset().atomCount(i);
            edges += sampler.edges(i);
        }
        assertTrue(first.size() <= 6 && atoms <= 40 && edges <= 400, first.size() + " samples, " + atoms + " atoms, " + edges + " edges");
        List<Integer> more = sampler.refill(15, 150, 3);
        int moreAtoms = more.stream().mapToInt(i -> sampler.dataset().atomCount(i)).sum();
        assertTrue(more.size() <= 3 && moreAtoms <= 15, more.size() + " samples, " + moreAtoms + " atoms");
        assertEquals(50 - first.size() - more.size(), sampler.remaining());
    }
}
