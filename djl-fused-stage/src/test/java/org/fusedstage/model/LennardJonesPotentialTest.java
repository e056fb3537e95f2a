package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.repository.zoo.ModelNotFoundException;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The zoo's TorchScript Lennard-Jones against an independent Java reference and finite differences. */
class LennardJonesPotentialTest {

    private static final ReferenceLennardJones REFERENCE = new ReferenceLennardJones(0.0104, 3.405, 8.5);

    private static TorchScriptPotential potential;
    private static NDManager manager;

    @BeforeAll
    static void load() throws Exception {
        potential = TorchScriptPotential.fromZoo("lennard-jones");
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
        potential.close();
    }

    private static List<AtomicSystem> mixedSystems() {
        return List.of(
                TestSystems.argonCluster(13, 6.0, 3.0, 1),
                TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.1, 2), // 10.5 A box < 2 rc
                TestSystems.triclinicArgon(0, 3), // one-atom primitive cell
                TestSystems.triclinicArgon(5, 4),
                TestSystems.fccArgon(1, 5.4, 0.05, 5), // 4 atoms, 5.4 A box
                TestSystems.argonCluster(1, 1.0, 1.0, 6)); // a lone atom: zero energy and force
    }

    @Test
    void metadataComesFromTheZoo() {
        PotentialMetadata m = potential.metadata();
        assertEquals(8.5, m.cutoff());
        assertEquals(java.util.Set.of(18), m.elements());
        assertTrue(m.providesForces());
        assertTrue(m.providesStress());
    }

    @Test
    void energiesAndForcesMatchReferenceInOneBatchedCall() {
        List<AtomicSystem> systems = mixedSystems();
        try (Batch batch = Batch.of(systems, manager)) {
            long before = potential.forwardCount();
            potential.compute(batch);
            assertEquals(before + 1, potential.forwardCount());
            List<AtomicSystem> out = batch.toSystems();
            for (int i = 0; i < systems.size(); i++) {
                double[] ref = REFERENCE.energyAndForces(systems.get(i));
                AtomicSystem s = out.get(i);
                assertEquals(ref[0], s.energy().orElseThrow(), 1e-10 * Math.max(1, Math.abs(ref[0])), "energy of " + s);
                double[] forces = s.forces().orElseThrow();
                for (int k = 0; k < forces.length; k++) {
                    assertEquals(ref[1 + k], forces[k], 1e-10, "force component " + k + " of " + s);
                }
            }
        }
    }

    @Test
    void singleSystemGivesSameResultAsInsideBatch() {
        List<AtomicSystem> systems = mixedSystems();
        try (Batch all = Batch.of(systems, manager)) {
            potential.compute(all);
            double[] batchedEnergy = all.energy().toDoubleArray();
            for (int i = 0; i < systems.size(); i++) {
                try (Batch one = Batch.of(List.of(systems.get(i)), manager)) {
                    potential.compute(one);
                    assertEquals(batchedEnergy[i], one.energy().toDoubleArray()[0], 1e-12);
                }
            }
        }
    }

    @Test
    void forcesAreMinusTheEnergyGradient() {
        AtomicSystem system = TestSystems.triclinicArgon(3, 11);
        double h = 1e-5;
        double[] positions = system.positions();
        double[] forces;
        try (Batch batch = Batch.of(List.of(system), manager)) {
            potential.compute(batch);
            forces = batch.forces().toDoubleArray();
        }
        for (int k = 0; k < positions.length; k++) {
            double[] plus = positions.clone();
            double[] minus = positions.clone();
            plus[k] += h;
            minus[k] -= h;
            double numeric = -(energy(system.toBuilder().positions(plus).build())
                    - energy(system.toBuilder().positions(minus).build())) / (2 * h);
            assertEquals(numeric, forces[k], 1e-7, "component " + k);
        }
    }

    @Test
    void stressIsTheStrainDerivativeOverVolume() {
        AtomicSystem system = TestSystems.fccArgon(1, 5.3, 0.1, 12);
        double[] stress;
        try (Batch batch = Batch.of(List.of(system), manager)) {
            potential.compute(batch);
            stress = batch.stress().toDoubleArray();
        }
        double[] cell = system.cell();
        double volume = cell[0] * cell[4] * cell[8];
        double h = 1e-6;
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                double numeric = (energy(strained(system, a, b, h)) - energy(strained(system, a, b, -h))) / (2 * h) / volume;
                assertEquals(numeric, stress[3 * a + b], 1e-8, "stress[" + a + "][" + b + "]");
            }
        }
    }

    private static AtomicSystem strained(AtomicSystem s, int a, int b, double e) {
        double[] pos = s.positions();
        double[] cell = s.cell();
        for (double[] rows : new double[][] {pos, cell}) {
            for (int r = 0; r < rows.length / 3; r++) {
                rows[3 * r + b] += e * rows[3 * r + a];
            }
        }
        return s.toBuilder().positions(pos).optCell(cell).build();
    }

    @Test
    void float32BatchAgreesWithFloat64() {
        List<AtomicSystem> systems = mixedSystems();
        try (Batch f64 = Batch.of(systems, manager);
                Batch f32 = Batch.builder(systems).optDataType(DataType.FLOAT32).build(manager)) {
            potential.compute(f64);
            potential.compute(f32);
            assertEquals(DataType.FLOAT32, f32.forces().getDataType());
            double[] e64 = f64.energy().toDoubleArray();
            float[] e32 = f32.energy().toFloatArray();
            for (int i = 0; i < e64.length; i++) {
                assertEquals(e64[i], e32[i], 1e-4 * Math.max(1, Math.abs(e64[i])));
            }
        }
    }

    @Test
    void energyOnlyModelGetsForcesFromJavaAutograd() throws Exception {
        List<AtomicSystem> systems = mixedSystems();
        try (TorchScriptPotential energyOnly = TorchScriptPotential.fromZoo("lennard-jones-energy-only");
                Batch a = Batch.of(systems, manager);
                Batch b = Batch.of(systems, manager)) {
            assertTrue(!energyOnly.metadata().providesForces());
            potential.compute(a);
            energyOnly.compute(b);
            energyOnly.compute(b); // twice: no gradient accumulates between calls
            assertArrayEquals(a.energy().toDoubleArray(), b.energy().toDoubleArray(), 1e-12);
            assertArrayEquals(a.forces().toDoubleArray(), b.forces().toDoubleArray(), 1e-12);
        }
    }

    @Test
    void userFileLoadsByPathWithSidecarMetadata() throws Exception {
        try (TorchScriptPotential byPath = TorchScriptPotential.builder()
                        .optModelPath(potential.getModelPath().resolve("lennard_jones.pt"))
                        .build();
                Batch batch = Batch.of(mixedSystems(), manager)) {
            assertEquals(8.5, byPath.metadata().cutoff());
            byPath.compute(batch);
            double ref = REFERENCE.energyAndForces(mixedSystems().get(1))[0];
            assertEquals(ref, batch.energy().toDoubleArray()[1], 1e-10);
        }
    }

    @Test
    void unknownModelNameAndMissingFileAreClearErrors() {
        ModelNotFoundException unknown = assertThrows(
                ModelNotFoundException.class, () -> TorchScriptPotential.fromZoo("no-such-model"));
        assertTrue(unknown.getMessage().contains("no-such-model"), unknown.getMessage());
        ModelNotFoundException missing = assertThrows(ModelNotFoundException.class, () -> TorchScriptPotential.builder()
                .optModelPath(java.nio.file.Path.of("/nonexistent/model.pt"))
                .build());
        assertTrue(missing.getMessage().contains("/nonexistent/model.pt"), missing.getMessage());
    }

    @Test
    void elementsTheModelDoesNotKnowAreRefused() {
        AtomicSystem copper = AtomicSystem.builder().positions(new double[] {0, 0, 0, 2.5, 0, 0}).symbols("Cu", "Ar").build();
        try (Batch batch = Batch.of(List.of(copper), manager)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> potential.validate(batch));
            assertTrue(e.getMessage().contains("Cu"), e.getMessage());
        }
    }

    private static double energy(AtomicSystem s) {
        try (Batch batch = Batch.of(List.of(s), manager)) {
            potential.compute(batch);
            return batch.energy().toDoubleArray()[0];
        }
    }
}
