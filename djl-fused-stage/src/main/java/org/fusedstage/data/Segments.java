package org.fusedstage.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * Per-system reductions of per-atom values (sum, max, mean) and per-system to per-atom
 * broadcasts for one batch layout, with no host syncs.
 *
 * <p>DJL exposes no segment reductions or scatter-add; this uses a padded gather: an index
 * {@code [B, M]} (M = largest system) points at each system's atom rows (which need not be
 * contiguous; the pool of an inflight batch counts as empty), padding points at one extra
 * row appended to the values (0 for sums, -inf for maxima), so a reduction over the second axis
 * is a per-system reduction. The index is built once per layout on the host.
 */
public final class Segments implements AutoCloseable {

    private final NDManager manager;
    private final NDArray paddedIndex; // [B, M] int64, padding = N
    private final NDArray batchIndex; // [N] int64, owned by the batch
    private final NDArray atomCounts; // [B] float64
    private final int[][] rows; // host copy of each system's atom rows
    private final int numAtoms;

    Segments(NDManager parent, int[][] rows, int n, NDArray batchIndex) {
        this.manager = parent.newSubManager();
        int b = rows.length;
        int m = 1;
        for (int[] r : rows) {
            m = Math.max(m, r.length);
        }
        long[] index = new long[b * m];
        double[] counts = new double[b];
        for (int i = 0; i < b; i++) {
            counts[i] = rows[i].length;
            for (int k = 0; k < m; k++) {
                index[i * m + k] = k < rows[i].length ? rows[i][k] : n;
            }
        }
        this.paddedIndex = manager.create(index, new Shape(b, m));
        this.atomCounts = manager.create(counts);
        this.batchIndex = batchIndex;
        this.rows = rows;
        this.numAtoms = n;
        // Lives as long as the batch layout, also when first used inside a step scope.
        NDScope.unregister(paddedIndex, atomCounts);
    }

    /** Sum over each system's atoms: [N, ...] -> [B, ...]. */
    public NDArray sum(NDArray perAtom) {
        return gatherPadded(perAtom, 0f).sum(new int[] {1});
    }

    /** Maximum over each system's atoms: [N, ...] -> [B, ...]. */
    public NDArray max(NDArray perAtom) {
        return gatherPadded(perAtom, Float.NEGATIVE_INFINITY).max(new int[] {1});
    }

    /** Mean over each system's atoms: [N, ...] -> [B, ...]. */
    public NDArray mean(NDArray perAtom) {
        NDArray sums = sum(perAtom);
        long[] dims = new long[sums.getShape().dimension()];
        Arrays.fill(dims, 1);
        dims[0] = sums.getShape().get(0);
        return sums.div(atomCounts.toType(perAtom.getDataType(), false).reshape(new Shape(dims)));
    }

    /** Per-system values [B, ...] repeated for each of its atoms: [N, ...]. */
    public NDArray toAtoms(NDArray perSystem) {
        return perSystem.get(batchIndex);
    }

    /**
     * Per-system values given on the host, repeated over each atom's three components: a
     * contiguous [N,3] array (rows outside every system get 0). Built on the host and copied in
     * once, it costs less than a device gather plus a broadcast multiply per use.
     */
    public NDArray toAtomVectors(double[] perSystem, DataType dataType) {
        double[] values = new double[3 * numAtoms];
        for (int s = 0; s < rows.length; s++) {
            for (int row : rows[s]) {
                java.util.Arrays.fill(values, 3 * row, 3 * row + 3, perSystem[s]);
            }
        }
        return HostArrays.create(manager(), values, new Shape(numAtoms, 3), dataType);
    }

    private NDManager manager() {
        return batchIndex.getManager();
    }

    /** Number of atoms per system [B], float64. */
    public NDArray atomCounts() {
        return atomCounts;
    }

    private NDArray gatherPadded(NDArray perAtom, float padValue) {
        Shape padShape = new Shape(1).addAll(perAtom.getShape().slice(1));
        try (NDArray pad = perAtom.getManager().full(padShape, padValue, perAtom.getDataType());
                NDArray extended = perAtom.concat(pad, 0)) {
            return extended.get(paddedIndex);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
