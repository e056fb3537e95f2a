package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;

/** In-place refill of an inflight batch: slots change, the rest stays, physics is unchanged. */
class InflightBatchTest extends WithLennardJones {

    @Test
    void replaceWritesNewSamplesIntoFreedRowsAndKeepsTheOthers() {
        AtomicSystem a = TestSystems.fccArgon(1, 5.3, 0.1, 1); // 4 atoms
        AtomicSystem b = TestSystems.argonCluster(6, 4, 3, 2);
        AtomicSystem c = TestSystems.fccArgon(2, 5.3, 0.1, 3); // 32 atoms
        AtomicSystem d = TestSystems.argonCluster(3, 3, 3, 4);
        try (Batch batch = Batch.builder(List.of(a, b)).optCapacity(3, 50).build(lj.manager)) {
            assertEquals(4, batch.numSystems(), "3 slots + the pool");
            assertEquals(50, batch.numAtoms());
            assertEquals(40, batch.freeAtoms());
            assertArrayEquals(new long[] {0, 0, Status.VACANT, Status.VACANT}, batch.status().toLongArray());
            lj.potential.compute(batch);
            double energyB = batch.energy().toDoubleArray()[1];

            // a leaves, c (32 atoms) takes its slot, d fills the empty slot 2.
            batch.replace(Set.of(), Map.of(0, c, 2, d), 0);
            assertEquals(50 - 6 - 32 - 3, batch.freeAtoms());
            assertArrayEquals(new long[] {0, 0, 0, Status.VACANT}, batch.status().toLongArray());
            assertFalse(batch.isContiguous());
            List<AtomicSystem> out = batch.toSystems();
            assertEquals(List.of(c.sampleId().get(), b.sampleId().get(), d.sampleId().get()),
                    out.stream().map(s -> s.sampleId().orElseThrow()).toList());
            assertArrayEquals(c.positions(), out.get(0).positions(), 0.0);
            assertArrayEquals(b.positions(), out.get(1).positions(), 0.0);
            assertArrayEquals(d.positions(), out.get(2).positions(), 0.0);
            long[] index = batch.batchIndex().toLongArray();
            for (int slot = 0; slot < batch.numSystems(); slot++) {
                for (int row : batch.atomRows(slot)) {
                    assertEquals(slot, index[row], "row " + row);
                }
            }

            lj.potential.compute(batch);
            double[] energies = batch.energy().toDoubleArray();
            assertEquals(energyB, energies[1], 1e-12, "the sample that stayed is unchanged");
            try (Batch fresh = Batch.of(List.of(c, b, d), lj.manager)) {
                lj.potential.compute(fresh);
                double[] expected = fresh.energy().toDoubleArray();
                assertEquals(expected[0], energies[0], 1e-10);
                assertEquals(expected[2], energies[2], 1e-10);
                assertEquals(0.0, energies[3], 0.0, "the pool has no neighbors and no energy");
            }

            // Vacate slot 1; its rows return to the pool.
            batch.replace(Set.of(1), Map.of(), 0);
            assertArrayEquals(new long[] {0, Status.VACANT, 0, Status.VACANT}, batch.status().toLongArray());
            assertEquals(50 - 32 - 3, batch.freeAtoms());
            assertTrue(batch.sampleIds().get(1) == null);
        }
    }

    @Test
    void refillRefusesWhatDoesNotFit() {
        try (Batch batch = Batch.builder(List.of(TestSystems.argonCluster(4, 3, 2, 1))).optCapacity(2, 10).build(lj.manager)) {
            IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class,
                    () -> batch.replace(Set.of(), Map.of(1, TestSystems.argonCluster(7, 4, 2, 2)), 0));
            assertTrue(tooBig.getMessage().contains("need 7 atom rows but only 6 are free"), tooBig.getMessage());
            IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class,
                    () -> batch.replace(Set.of(), Map.of(1, TestSystems.argonCluster(4, 3, 2, 1)), 0));
            assertTrue(duplicate.getMessage().contains("already in the batch"), duplicate.getMessage());
        }
    }
}
