package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static List<AtomicSystem> systems() {
        AtomicSystem withEverything = TestSystems.triclinicArgon(2, 7).toBuilder()
                .optVelocities(new double[] {0.01, -0.02, 0.003, 0.1, 0.2, 0.3, -1e-5, 2e-5, 3e-7})
                .optInfo("note", "triclinic")
                .optArray("tags", new PerAtomArray(PerAtomArray.Type.INTEGER, 1, new String[] {"1", "2", "3"}))
                .build();
        return List.of(TestSystems.fccArgon(1, 5.3, 0.2, 1), TestSystems.argonCluster(5, 4, 2.5, 2), withEverything);
    }

    @Test
    void hostMemoryWritesTheFieldInPlace() {
        try (Batch batch = Batch.of(systems().subList(0, 2), manager)) {
            NDArray before = batch.velocities();
            java.nio.ByteBuffer memory = batch.hostMemory(Batch.VELOCITIES);
            memory.asDoubleBuffer().put(3 * 4 + 1, 0.25); // atom 4 (first of system 1), y
            batch.markWritten(Batch.VELOCITIES);
            assertTrue(before == batch.velocities(), "no new array: the field is written where it is");
            double[] v = batch.velocities().toDoubleArray();
            assertEquals(0.25, v[13]);
            assertEquals(0.0, v[12]);
            assertArrayEquals(v, batch.hostDoubles(Batch.VELOCITIES));
            // markWritten records the velocities as known: the results carry them.
            assertEquals(0.25, batch.toSystems().get(1).velocities().orElseThrow()[1]);

            // A strided view set by a caller is first replaced by a contiguous copy with its values,
            // so a write reaches the field and not a temporary copy.
            double[] rows = new double[3 * batch.numAtoms()];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = i;
            }
            NDArray transposed = manager.create(rows, new Shape(3, batch.numAtoms())).transpose();
            batch.putAtomField("extra", transposed);
            double[] expected = batch.get("extra").toDoubleArray();
            batch.hostMemory("extra").asDoubleBuffer().put(0, -7.0);
            expected[0] = -7.0;
            assertArrayEquals(expected, batch.get("extra").toDoubleArray());
        }
    }

    @Test
    void flatLayoutFollowsTheSystems() {
        try (Batch batch = Batch.of(systems(), manager)) {
            assertEquals(3, batch.numSystems());
            assertEquals(4 + 5 + 3, batch.numAtoms());
            assertArrayEquals(new int[] {0, 4, 9, 12}, batch.ptrHost());
            assertArrayEquals(new long[] {0, 4, 9, 12}, batch.ptr().toLongArray());
            assertArrayEquals(new long[] {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2}, batch.batchIndex().toLongArray());
            assertEquals(new Shape(12, 3), batch.positions().getShape());
            assertEquals(new Shape(3, 3, 3), batch.cell().getShape());
            assertArrayEquals(new boolean[] {true, true, true, false, false, false, true, true, true}, batch.pbc().toBooleanArray());
            assertArrayEquals(new long[] {0, 0, 0}, batch.status().toLongArray());
            assertEquals(List.of("fcc-1-1", "cluster-5-2", "triclinic-3-7"), batch.sampleIds());
        }
    }

    @Test
    void systemsReadBackExactlyInFloat64() {
        List<AtomicSystem> in = systems();
        try (Batch batch = Batch.of(in, manager)) {
            assertEquals(in, batch.toSystems());
        }
    }

    @Test
    void float32KeepsFloat32PrecisionAndEverythingElse() {
        List<AtomicSystem> in = systems();
        try (Batch batch = Batch.builder(in).optDataType(DataType.FLOAT32).build(manager)) {
            assertEquals(DataType.FLOAT32, batch.positions().getDataType());
            List<AtomicSystem> out = batch.toSystems();
            for (int i = 0; i < in.size(); i++) {
                double[] expected = in.get(i).positions();
                double[] actual = out.get(i).positions();
                for (int k = 0; k < expected.length; k++) {
                    assertEquals((double) (float) expected[k], actual[k], 0.0);
                }
                assertEquals(in.get(i).info(), out.get(i).info());
                assertArrayEquals(in.get(i).atomicNumbers(), out.get(i).atomicNumbers());
            }
        }
    }

    @Test
    void setReplacesAndFreesTheOldArray() {
        try (Batch batch = Batch.of(systems(), manager)) {
            NDArray old = batch.forces();
            NDArray fresh = manager.ones(new Shape(12, 3), DataType.FLOAT64);
            batch.set(Batch.FORCES, fresh);
            assertTrue(old.isReleased());
            assertEquals(batch.getManager(), fresh.getManager());
            assertEquals(12.0 * 3, batch.forces().sum().getDouble());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> batch.set(Batch.FORCES, manager.ones(new Shape(11, 3))));
            assertTrue(e.getMessage().contains("field 'forces' has shape (12, 3)"), e.getMessage());
        }
    }

    @Test
    void extraFieldsAreCheckedAndOwned() {
        NDArray previous;
        try (Batch batch = Batch.of(systems(), manager)) {
            batch.putSystemField("fire_dt", manager.full(new Shape(3), 1.0f));
            previous = batch.positions().duplicate();
            batch.putAtomField("previous_positions", previous);
            assertTrue(batch.has("fire_dt"));
            assertTrue(batch.isPerAtom("previous_positions"));
            assertThrows(IllegalArgumentException.class, () -> batch.putSystemField("bad", manager.zeros(new Shape(4))));
            assertThrows(IllegalArgumentException.class, () -> batch.removeField(Batch.POSITIONS));
            batch.removeField("fire_dt");
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> batch.get("fire_dt"));
            assertTrue(missing.getMessage().contains("no field 'fire_dt'"), missing.getMessage());
        }
        assertTrue(previous.isReleased(), "closing the batch frees the fields it adopted");
    }

    @Test
    void rejectsEmptyAndDuplicateIds() {
        assertThrows(IllegalArgumentException.class, () -> Batch.of(List.of(), manager));
        AtomicSystem s = TestSystems.argonCluster(2, 3, 2, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Batch.of(List.of(s, s), manager));
        assertTrue(e.getMessage().contains("duplicate sample ids"), e.getMessage());
    }
}
