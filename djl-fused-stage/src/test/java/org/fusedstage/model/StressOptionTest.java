package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

/** optStress(false): the same energies and forces without the virial, and results without stress. */
class StressOptionTest {

    private static List<AtomicSystem> systems() {
        return List.of(TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.1, 1), TestSystems.triclinicArgon(3, 2));
    }

    @Test
    void pairPotentialsSkipTheStressAndKeepEnergiesAndForces() throws Exception {
        for (String zoo : List.of("lennard-jones", "morse-cu", "sutton-chen-cu")) {
            List<AtomicSystem> in = zoo.equals("lennard-jones") ? systems()
                    : List.of(org.fusedstage.data.Structures.rattle(org.fusedstage.data.Structures.fcc("Cu", 3.61, 2), 0.05, 3));
            try (TorchScriptPotential withStress = TorchScriptPotential.fromZoo(zoo);
                    TorchScriptPotential without = TorchScriptPotential.builder().optModelName(zoo).optStress(false).build();
                    NDManager manager = NDManager.newBaseManager();
                    Batch a = Batch.of(in, manager);
                    Batch b = Batch.of(in, manager)) {
                assertTrue(withStress.computesStress());
                assertFalse(without.computesStress(), zoo + " offers energy_forces");
                withStress.compute(a);
                without.compute(b);
                assertArrayEquals(a.energy().toDoubleArray(), b.energy().toDoubleArray(), zoo + ": energies");
                assertArrayEquals(a.forces().toDoubleArray(), b.forces().toDoubleArray(), zoo + ": forces");
                assertTrue(a.toSystems().get(0).stress().isPresent(), zoo + ": stress by default");
                assertFalse(b.toSystems().get(0).stress().isPresent(), zoo + ": no stress in results without it");
                // A stress computed before (here: by the other model) is not passed off as current.
                withStress.compute(b);
                assertTrue(b.toSystems().get(0).stress().isPresent());
                without.compute(b);
                assertFalse(b.toSystems().get(0).stress().isPresent());
                assertArrayEquals(new double[9 * in.size()], b.stress().toDoubleArray(), zoo + ": stale stress zeroed");
            }
        }
    }

    /**
     * A chain with the stress computed once, at graduation (the CLI's and the service's default):
     * a crystal leaves with the stress of the every-step run, a cluster (no stress defined) without
     * one; before the fix the cluster failed its whole batch ("No value present").
     */
    @Test
    void finalStressSkipsStructuresWithoutOne() throws Exception {
        AtomicSystem crystal = TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.1, 1).toBuilder().optSampleId("crystal").build();
        AtomicSystem cluster = TestSystems.argonCluster(4, 3.4, 3.4, 5).toBuilder().optSampleId("cluster").build();
        java.util.Map<String, AtomicSystem> finalStress = relaxed(false, crystal, cluster);
        java.util.Map<String, AtomicSystem> everyStep = relaxed(true, crystal, cluster);
        assertFalse(finalStress.get("cluster").stress().isPresent(), "a cluster has no stress");
        assertFalse(everyStep.get("cluster").stress().isPresent());
        double[] expected = everyStep.get("crystal").stress().orElseThrow();
        double[] got = finalStress.get("crystal").stress().orElseThrow();
        for (int k = 0; k < 9; k++) {
            org.junit.jupiter.api.Assertions.assertEquals(expected[k], got[k], 1e-12, "stress component " + k);
        }
    }

    /** The graduates of a short FIRE run, by sample id: stress in every step, or once at the end. */
    private static java.util.Map<String, AtomicSystem> relaxed(boolean stressEveryStep, AtomicSystem... systems) throws Exception {
        try (TorchScriptPotential model = TorchScriptPotential.builder().optModelName("lennard-jones")
                .optStress(stressEveryStep).build();
                NDManager manager = NDManager.newBaseManager();
                Batch batch = Batch.of(List.of(systems), manager)) {
            org.fusedstage.sinks.HostMemory sink = new org.fusedstage.sinks.HostMemory(systems.length);
            org.fusedstage.dynamics.FusedStage.builder()
                    .addSubStage(0, org.fusedstage.dynamics.FIRE.builder(model).optFmax(0.05).build())
                    .addSink(sink).optFinalStress(!stressEveryStep).build().run(batch);
            java.util.Map<String, AtomicSystem> out = new java.util.HashMap<>();
            for (AtomicSystem s : sink.read()) {
                out.put(s.sampleId().orElseThrow(), s);
            }
            org.junit.jupiter.api.Assertions.assertEquals(systems.length, out.size(), "every sample graduated");
            return out;
        }
    }

    @Test
    void compiledStepsLeaveTheStressOutToo() throws Exception {
        double[][] positions = new double[2][];
        double[][] energies = new double[2][];
        for (int k = 0; k < 2; k++) {
            try (TorchScriptPotential lj = TorchScriptPotential.builder().optModelName("lennard-jones").optStress(false).build();
                    NDManager manager = NDManager.newBaseManager();
                    Batch batch = Batch.of(systems(), manager);
                    org.fusedstage.dynamics.FusedStage fused = org.fusedstage.dynamics.FusedStage.builder()
                        .addSubStage(0, org.fusedstage.dynamics.FIRE.builder(lj).optFmax(1e-9).build())
                        .addSubStage(1, org.fusedstage.dynamics.Langevin.builder(lj).optNSteps(100).build())
                        .optCompileStep(k == 1).build()) {
                fused.prepare(batch);
                for (int i = 0; i < 5; i++) {
                    fused.step(batch).close();
                }
                assertFalse(batch.toSystems().get(0).stress().isPresent(), (k == 1 ? "compiled" : "eager") + ": no stress");
                positions[k] = batch.positions().toDoubleArray();
                energies[k] = batch.energy().toDoubleArray();
            }
        }
        assertArrayEquals(positions[0], positions[1], 1e-10, "positions, eager vs compiled");
        assertArrayEquals(energies[0], energies[1], 1e-10, "energies, eager vs compiled");
    }

    @Test
    void modulesWithoutTheMethodComputeTheStressAnyway() throws Exception {
        try (TorchScriptPotential nnp = TorchScriptPotential.builder().optModelName("nnp-demo-cu").optStress(false).build();
                NDManager manager = NDManager.newBaseManager();
                Batch batch = Batch.of(List.of(org.fusedstage.data.Structures.fcc("Cu", 3.61, 2)), manager)) {
            assertTrue(nnp.computesStress());
            nnp.compute(batch);
            assertTrue(batch.toSystems().get(0).stress().isPresent());
        }
    }
}
