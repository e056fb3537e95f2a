package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Per-system reductions and broadcasts equal their definitions, for systems of different sizes in
 * an inflight batch whose free rows (the pool) belong to no system, in float64 and float32.
 */
class SegmentsTest {

    private static Batch inflight(NDManager manager, DataType type) {
        List<AtomicSystem> systems = List.of(Structures.fcc("Ar", 5.26, 1), Structures.fcc("Ar", 5.26, 2),
                Structures.fcc("Ar", 5.26, 1));
        return Batch.builder(systems).optDataType(type).optCapacity(4, 48).build(manager);
    }

    @Test
    void reductionsAndBroadcastsMatchTheirDefinitions() {
        for (DataType type : List.of(DataType.FLOAT64, DataType.FLOAT32)) {
            try (NDManager manager = NDManager.newBaseManager(); Batch batch = inflight(manager, type)) {
                int n = batch.numAtoms();
                int b = batch.numSystems();
                double[] values = new double[3 * n];
                for (int k = 0; k < values.length; k++) {
                    values[k] = Math.sin(7.0 * k) * 3; // mixed signs, distinct values
                }
                NDArray perAtom = HostArrays.create(manager, values, new Shape(n, 3), type);
                double[] sums = HostArrays.doubles(batch.segments().sum(perAtom));
                double[] maxima = HostArrays.doubles(batch.segments().max(perAtom));
                assertEquals(type, batch.segments().sum(perAtom).getDataType());
                int[][] members = batch.memberRows();
                double tolerance = type == DataType.FLOAT32 ? 1e-5 : 1e-12;
                for (int s = 0; s < b; s++) {
                    for (int c = 0; c < 3; c++) {
                        double sum = 0;
                        double max = Double.NEGATIVE_INFINITY;
                        for (int row : members[s]) {
                            double v = HostArrays.doubles(perAtom)[3 * row + c];
                            sum += v;
                            max = Math.max(max, v);
                        }
                        assertEquals(sum, sums[3 * s + c], tolerance, "sum of system " + s + ", column " + c);
                        assertEquals(max, maxima[3 * s + c], 0.0, "max of system " + s + ", column " + c);
                    }
                }
                assertTrue(members[b - 1].length == 0 && maxima[3 * (b - 1)] == Double.NEGATIVE_INFINITY,
                        "the pool slot has no atoms: its maximum is -inf");
                double[] norms = HostArrays.doubles(batch.segments().maxRowNorm(perAtom));
                for (int s = 0; s < b; s++) {
                    double largest = Double.NEGATIVE_INFINITY;
                    for (int row : members[s]) {
                        double[] v = HostArrays.doubles(perAtom);
                        largest = Math.max(largest, Math.sqrt(v[3 * row] * v[3 * row] + v[3 * row + 1] * v[3 * row + 1]
                                + v[3 * row + 2] * v[3 * row + 2]));
                    }
                    assertEquals(largest, norms[s], tolerance, "largest row norm of system " + s);
                }
                // Broadcasts: every atom row gets its slot's value (the pool rows the pool slot's).
                double[] perSystem = new double[b];
                boolean[] flags = new boolean[b];
                for (int s = 0; s < b; s++) {
                    perSystem[s] = 10 + s;
                    flags[s] = s % 2 == 1;
                }
                double[] spread = HostArrays.doubles(batch.segments().toAtoms(HostArrays.create(manager, perSystem, type)));
                boolean[] mask = batch.segments().toAtoms(flags, 3, manager).toBooleanArray();
                long[] slotOfRow = batch.batchIndex().toLongArray();
                for (int row = 0; row < n; row++) {
                    assertEquals(10 + slotOfRow[row], spread[row], 0.0, "row " + row);
                    for (int c = 0; c < 3; c++) {
                        assertEquals(slotOfRow[row] % 2 == 1, mask[3 * row + c], "mask row " + row);
                    }
                }
            }
        }
    }

    @Test
    void aNanAtomMakesItsSystemMaximumNan() {
        try (NDManager manager = NDManager.newBaseManager(); Batch batch = inflight(manager, DataType.FLOAT64)) {
            double[] values = new double[batch.numAtoms()];
            int[] rows = batch.atomRows(1);
            values[rows[3]] = Double.NaN;
            values[rows[5]] = 2.0; // after the NaN: must not replace it
            double[] maxima = batch.segments().max(manager.create(values)).toDoubleArray();
            assertTrue(Double.isNaN(maxima[1]), "system 1 holds a NaN");
            assertEquals(0.0, maxima[0], 0.0);
            assertEquals(0.0, maxima[2], 0.0);
        }
    }
}
