package org.fusedstage.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;

/**
 * A Verlet neighbor list for a batch: every ordered pair (i, j) of atoms of the same system with
 * |r_j - r_i + s . cell| < cutoff + skin, as {@code edge_index [2,E]} (int64, rows i and j) and
 * integer lattice translations {@code shifts [E,3]} (in the batch dtype). Periodic (triclinic)
 * and open boundaries, also cells smaller than twice the cutoff (several images of one atom).
 *
 * <p>Rebuilt only when some atom moved more than half the skin since the last build (one scalar
 * read back per update), or when the batch's structure changed (refill). Translations are kept
 * as integers so that edge vectors follow the atoms between rebuilds even when atoms leave the
 * cell: the search wraps atoms into the cell and folds the wrap into each edge's shift.
 *
 * <p>A half list ({@link #of(Batch, double, double, boolean)}) keeps every pair once: (i, j) with
 * i before j in its system, and of an atom's periodic images of itself the translation whose first
 * non-zero component is positive. Pair potentials then visit each pair once.
 *
 * <p>The search is a padded dense search in blocks of systems (DJL has no cell-list primitives);
 * it costs O(B S M^2) for B systems of at most M atoms and S translations, paid at rebuilds only.
 */
public final class NeighborList implements AutoCloseable {

    /** Largest number of pair entries one search block may hold. */
    private static final long MAX_BLOCK_ENTRIES = 2_000_000;

    private final double cutoff;
    private final double skin;
    private final boolean halfList;
    private final NDManager manager;
    private NDArray edgeIndex;
    private NDArray shifts;
    private NDArray translations; // cartesian [3,E], computed at each build
    private NDArray referencePositions;
    private long builtForVersion = -1;
    private long[] builtSlotVersions;
    private long[] edgeCounts;
    private int rebuilds;
    private int rebuildEvery;
    private int updatesSinceBuild;

    /**
     * Creates an empty list.
     *
     * @param batch the batch it belongs to (its manager owns the list's arrays)
     * @param cutoff the interaction cutoff in A
     * @param skin the Verlet skin in A
     */
    public NeighborList(Batch batch, double cutoff, double skin) {
        this(batch, cutoff, skin, false);
    }

    /**
     * Creates an empty list.
     *
     * @param batch the batch it belongs to (its manager owns the list's arrays)
     * @param cutoff the interaction cutoff in A
     * @param skin the Verlet skin in A
     * @param halfList keep each pair once instead of both directions
     */
    public NeighborList(Batch batch, double cutoff, double skin, boolean halfList) {
        Preconditions.checkArgument(cutoff > 0 && Double.isFinite(cutoff), "cutoff must be positive, got %s", cutoff);
        Preconditions.checkArgument(skin >= 0, "skin must be >= 0, got %s", skin);
        this.cutoff = cutoff;
        this.skin = skin;
        this.halfList = halfList;
        this.manager = batch.getManager().newSubManager();
    }

    /** The list for {@code batch} with this cutoff and skin, created on first use and closed with the batch. */
    public static NeighborList of(Batch batch, double cutoff, double skin) {
        return of(batch, cutoff, skin, false);
    }

    /** The full or half list for {@code batch} with this cutoff and skin, created on first use and closed with the batch. */
    public static NeighborList of(Batch batch, double cutoff, double skin, boolean halfList) {
        return batch.attachment("neighbor-list:" + cutoff + ":" + skin + (halfList ? ":half" : ""),
                () -> new NeighborList(batch, cutoff, skin, halfList));
    }

    /** Whether this list keeps each pair once (see the class comment). */
    public boolean isHalfList() {
        return halfList;
    }

    /** Rebuilds if the batch changed or an atom moved more than half the skin. */
    public void update(Batch batch) {
        update(batch, 0);
    }

    /**
     * Rebuild on a fixed schedule instead: every {@code k} updates (and when the batch changes),
     * with no displacement check, so an update never reads device data back (GPU runs). Choose a
     * skin that no atom crosses in k steps. 0 restores the displacement check.
     */
    public void setRebuildEvery(int k) {
        Preconditions.checkArgument(k >= 0, "rebuild interval must be >= 0, got %s", k);
        this.rebuildEvery = k;
    }

    /**
     * Rebuilds if the batch changed or an atom moved more than half the skin minus {@code margin}
     * A: a compiled step moves atoms after this check, so it keeps room for one step's motion.
     */
    public void update(Batch batch, double margin) {
        updatesSinceBuild++;
        // A refill changes a few slots: refresh those first (this also resets their reference
        // positions), then apply the usual staleness rule to everything.
        if (builtForVersion != batch.structureVersion() && builtSlotVersions != null
                && builtSlotVersions.length == batch.numSystems()) {
            int[] changed = changedSlots(batch.slotVersions());
            if (changed.length < batch.numSystems()) {
                rebuildSlots(batch, changed);
            }
        }
        boolean stale = rebuildEvery > 0 ? updatesSinceBuild >= rebuildEvery : movedTooFar(batch, margin);
        if (builtForVersion != batch.structureVersion() || stale) {
            rebuild(batch);
            updatesSinceBuild = 0;
        }
    }

    /** Edge index [2,E], int64: row 0 the central atom i, row 1 the neighbor j. */
    public NDArray edgeIndex() {
        return edgeIndex;
    }

    /** Integer lattice translations [E,3] (batch dtype): the edge vector is r_j - r_i + shift . cell. */
    public NDArray shifts() {
        return shifts;
    }

    /**
     * Cartesian translation of every edge, {@code [3,E]} in A (row k holds component k): the edge
     * vector is r_j - r_i + translations[:, e]. Computed from the shifts and the batch's cells once
     * per build, so cells must not change between builds (no dynamics here changes them).
     */
    public NDArray translations() {
        Preconditions.checkState(edgeIndex != null, "the neighbor list has not been built yet: call update(batch)");
        return translations;
    }

    /** Number of edges per system at the last build (with skin), [B]. */
    public long[] edgeCounts() {
        return edgeCounts.clone();
    }

    /** How many times the list was built. */
    public int rebuilds() {
        return rebuilds;
    }

    /** The cutoff plus skin used for the search, in A. */
    public double searchRadius() {
        return cutoff + skin;
    }

    private int[] changedSlots(long[] versions) {
        return java.util.stream.IntStream.range(0, versions.length).filter(s -> versions[s] != builtSlotVersions[s]).toArray();
    }

    private boolean movedTooFar(Batch batch, double margin) {
        if (referencePositions == null) {
            return true;
        }
        try (NDArray d = batch.positions().sub(referencePositions);
                NDArray d2 = d.mul(d).sum(new int[] {1});
                NDArray max = d2.max();
                NDArray asDouble = max.toType(DataType.FLOAT64, false)) {
            double half = Math.max(0, skin / 2 - margin);
            return !(asDouble.getDouble() <= half * half); // NaN positions force a rebuild too
        }
    }

    private void rebuild(Batch batch) {
        int[] all = new int[batch.numSystems()];
        for (int s = 0; s < all.length; s++) {
            all[s] = s;
        }
        Found found = search(batch, all);
        edgeCounts = found.counts;
        try (NDScope scope = new NDScope()) {
            replace(found.edges, found.shifts, batch.positions().duplicate(), batch);
        }
        builtForVersion = batch.structureVersion();
        builtSlotVersions = batch.slotVersions();
        rebuilds++;
    }

    /**
     * Refreshes only the edges of slots whose sample changed (a refill): the other slots keep their
     * edges and reference positions, so a refill costs a search over the new samples only.
     */
    private void rebuildSlots(Batch batch, int[] changed) {
        Found found = search(batch, changed);
        try (NDScope scope = new NDScope()) {
            NDManager m = batch.getManager();
            boolean[] isChanged = new boolean[batch.numSystems()];
            for (int s : changed) {
                isChanged[s] = true;
            }
            NDArray changedSlots = m.create(isChanged);
            NDArray keep = changedSlots.get(batch.batchIndex().get(edgeIndex.get(0))).logicalNot();
            NDArray keptEdges = NDArrays.stack(new NDList(edgeIndex.get(0).get(keep), edgeIndex.get(1).get(keep)));
            NDArray keptShifts = shifts.get(keep);
            NDArray edges = keptEdges.concat(found.edges, 1);
            NDArray allShifts = keptShifts.concat(found.shifts, 0);
            NDArray changedAtoms = changedSlots.get(batch.batchIndex()).reshape(batch.numAtoms(), 1)
                    .broadcast(new Shape(batch.numAtoms(), 3));
            NDArray reference = NDArrays.where(changedAtoms, batch.positions(), referencePositions);
            replace(edges, allShifts, reference, batch);
        }
        found.edges.close();
        found.shifts.close();
        for (int s : changed) {
            edgeCounts[s] = found.counts[s];
        }
        builtForVersion = batch.structureVersion();
        builtSlotVersions = batch.slotVersions();
        rebuilds++;
    }

    /** Edges found by a search (owned by the current NDScope's caller) and per-slot counts. */
    private record Found(NDArray edges, NDArray shifts, long[] counts) {}

    /** Searches the pairs of the given slots only; other slots are left out. */
    private Found search(Batch batch, int[] order) {
        int b = order.length;
        int n = batch.numAtoms();
        int[][] allMembers = batch.memberRows();
        int[][] members = new int[b][];
        for (int k = 0; k < b; k++) {
            members[k] = allMembers[order[k]];
        }
        double[] allCells = batch.cell().toType(DataType.FLOAT64, false).toDoubleArray();
        boolean[] allPbc = batch.pbc().toBooleanArray();
        double[] cell = new double[9 * b];
        boolean[] pbc = new boolean[3 * b];
        for (int k = 0; k < b; k++) {
            System.arraycopy(allCells, 9 * order[k], cell, 9 * k, 9);
            System.arraycopy(allPbc, 3 * order[k], pbc, 3 * k, 3);
        }
        double radius = cutoff + skin;

        // Host geometry of the cells: reciprocal vectors (rows b_i with a_i . b_k = delta_ik) and
        // image counts ceil(radius * |b_i|) on periodic axes.
        double[] reciprocal = new double[9 * b];
        int[] images = new int[3 * b];
        int[] maxImages = new int[3];
        for (int s = 0; s < b; s++) {
            double[] safe = new double[9];
            for (int axis = 0; axis < 3; axis++) {
                for (int k = 0; k < 3; k++) {
                    safe[3 * axis + k] = pbc[3 * s + axis] ? cell[9 * s + 3 * axis + k] : (axis == k ? 1 : 0);
                }
            }
            double[] r = reciprocalRows(safe);
            System.arraycopy(r, 0, reciprocal, 9 * s, 9);
            for (int axis = 0; axis < 3; axis++) {
                if (pbc[3 * s + axis]) {
                    double norm = Math.sqrt(r[3 * axis] * r[3 * axis] + r[3 * axis + 1] * r[3 * axis + 1] + r[3 * axis + 2] * r[3 * axis + 2]);
                    images[3 * s + axis] = (int) Math.ceil(radius * norm);
                    maxImages[axis] = Math.max(maxImages[axis], images[3 * s + axis]);
                }
            }
        }
        List<int[]> translations = new ArrayList<>();
        translations.add(new int[] {0, 0, 0});
        for (int u = -maxImages[0]; u <= maxImages[0]; u++) {
            for (int v = -maxImages[1]; v <= maxImages[1]; v++) {
                for (int w = -maxImages[2]; w <= maxImages[2]; w++) {
                    if (u != 0 || v != 0 || w != 0) {
                        translations.add(new int[] {u, v, w});
                    }
                }
            }
        }
        int nShifts = translations.size();
        int maxAtoms = 0;
        for (int[] r : members) {
            maxAtoms = Math.max(maxAtoms, r.length);
        }
        maxAtoms = Math.max(maxAtoms, 1);
        double[] offsets = new double[b * nShifts * 3];
        boolean[] applies = new boolean[b * nShifts];
        double[] shiftValues = new double[nShifts * 3];
        for (int t = 0; t < nShifts; t++) {
            int[] tr = translations.get(t);
            for (int k = 0; k < 3; k++) {
                shiftValues[3 * t + k] = tr[k];
            }
            for (int s = 0; s < b; s++) {
                boolean ok = Math.abs(tr[0]) <= images[3 * s] && Math.abs(tr[1]) <= images[3 * s + 1]
                        && Math.abs(tr[2]) <= images[3 * s + 2];
                applies[s * nShifts + t] = ok;
                for (int k = 0; k < 3; k++) {
                    offsets[(s * nShifts + t) * 3 + k] = tr[0] * cell[9 * s + k] + tr[1] * cell[9 * s + 3 + k] + tr[2] * cell[9 * s + 6 + k];
                }
            }
        }
        long[] paddedIndex = new long[b * maxAtoms];
        boolean[] valid = new boolean[b * maxAtoms];
        for (int s = 0; s < b; s++) {
            for (int k = 0; k < maxAtoms; k++) {
                boolean inside = k < members[s].length;
                paddedIndex[s * maxAtoms + k] = inside ? members[s][k] : n;
                valid[s * maxAtoms + k] = inside;
            }
        }

        NDArray newEdges;
        NDArray newShifts;
        long[] counts = new long[batch.numSystems()];
        try (NDScope scope = new NDScope()) {
            NDManager m = batch.getManager();
            DataType dtype = batch.getDataType();
            NDArray positions = batch.positions();
            // Wrap atoms into their cell on periodic axes: w = floor(frac), q = r - w . cell.
            // Every slot's reciprocal basis (the wrap runs over all atoms, searched slots or not).
            int total = batch.numSystems();
            double[] allReciprocal = new double[9 * total];
            for (int s = 0; s < total; s++) {
                double[] safe = new double[9];
                for (int axis = 0; axis < 3; axis++) {
                    for (int k = 0; k < 3; k++) {
                        safe[3 * axis + k] = allPbc[3 * s + axis] ? allCells[9 * s + 3 * axis + k] : (axis == k ? 1 : 0);
                    }
                }
                System.arraycopy(reciprocalRows(safe), 0, allReciprocal, 9 * s, 9);
            }
            NDArray reciprocalT = m.create(allReciprocal, new Shape(total, 3, 3)).transpose(0, 2, 1).toType(dtype, false);
            NDArray cells = batch.cell();
            NDArray batchIndex = batch.batchIndex();
            NDArray frac = positions.reshape(n, 1, 3).matMul(reciprocalT.get(batchIndex)).reshape(n, 3);
            NDArray periodic = batch.pbc().get(batchIndex);
            NDArray wrap = NDArrays.where(periodic, frac.floor(), frac.zerosLike());
            NDArray wrapped = positions.sub(wrap.reshape(n, 1, 3).matMul(cells.get(batchIndex)).reshape(n, 3));
            NDArray far = m.full(new Shape(1, 3), 1e30f, dtype); // padding rows never pair up
            NDArray padded = wrapped.concat(far, 0).get(m.create(paddedIndex, new Shape(b, maxAtoms)));
            NDArray validArray = m.create(valid, new Shape(b, maxAtoms));
            NDArray offsetArray = m.create(offsets, new Shape(b, nShifts, 3)).toType(dtype, false);
            NDArray appliesArray = m.create(applies, new Shape(b, nShifts));
            NDArray shiftTable = m.create(shiftValues, new Shape(nShifts, 3)).toType(dtype, false);
            NDArray paddedIndexArray = m.create(paddedIndex);
            // Pairs kept: not i == j under the zero translation (index 0); order [i, j, s].
            boolean[] pairFilter = new boolean[maxAtoms * maxAtoms * nShifts];
            java.util.Arrays.fill(pairFilter, true);
            for (int i = 0; i < maxAtoms; i++) {
                pairFilter[(i * maxAtoms + i) * nShifts] = false;
            }
            if (halfList) {
                // One direction per pair: i < j, or i == j with a positive translation.
                for (int i = 0; i < maxAtoms; i++) {
                    for (int j = 0; j <= i; j++) {
                        for (int t = 0; t < nShifts; t++) {
                            pairFilter[(i * maxAtoms + j) * nShifts + t] = i == j && isPositive(translations.get(t));
                        }
                    }
                }
            }
            NDArray keptPairs = m.create(pairFilter, new Shape(1, maxAtoms, maxAtoms, nShifts));
            NDArray translationNorm2 = offsetArray.mul(offsetArray).sum(new int[] {2}); // [B, S]
            long perSystem = (long) nShifts * maxAtoms * maxAtoms;
            int block = (int) Math.max(1, MAX_BLOCK_ENTRIES / Math.max(1, perSystem));
            List<NDArray> iParts = new ArrayList<>();
            List<NDArray> jParts = new ArrayList<>();
            List<NDArray> sParts = new ArrayList<>();
            double radius2 = radius * radius;
            for (int first = 0; first < b; first += block) {
                int last = Math.min(b, first + block);
                int nb = last - first;
                NDArray p = padded.get(first + ":" + last);
                NDArray off = offsetArray.get(first + ":" + last);
                // |q_j - q_i + T|^2 = |D|^2 + 2 D.T + |T|^2 with D = q_j - q_i: one batched matmul
                // over all translations instead of a [.., S, 3] difference tensor.
                NDArray d = p.reshape(nb, 1, maxAtoms, 3).sub(p.reshape(nb, maxAtoms, 1, 3)).reshape(nb, (long) maxAtoms * maxAtoms, 3);
                NDArray dT = d.matMul(off.transpose(0, 2, 1)); // [nb, M*M, S]
                NDArray r2 = d.mul(d).sum(new int[] {2}).reshape(nb, (long) maxAtoms * maxAtoms, 1)
                        .add(dT.mul(2))
                        .add(translationNorm2.get(first + ":" + last).reshape(nb, 1, nShifts))
                        .reshape(nb, maxAtoms, maxAtoms, nShifts);
                NDArray v = validArray.get(first + ":" + last);
                NDArray mask = r2.lt(radius2)
                        .logicalAnd(v.reshape(nb, maxAtoms, 1, 1))
                        .logicalAnd(v.reshape(nb, 1, maxAtoms, 1))
                        .logicalAnd(keptPairs)
                        .logicalAnd(appliesArray.get(first + ":" + last).reshape(nb, 1, 1, nShifts));
                NDArray hits = mask.nonzero(); // [K, 4]: system (in block), i, j, translation
                if (hits.getShape().get(0) == 0) {
                    continue;
                }
                NDArray sys = hits.get(":, 0").add(first);
                NDArray tIndex = hits.get(":, 3");
                NDArray atomI = paddedIndexArray.get(sys.mul(maxAtoms).add(hits.get(":, 1")));
                NDArray atomJ = paddedIndexArray.get(sys.mul(maxAtoms).add(hits.get(":, 2")));
                long[] systems = sys.toLongArray();
                for (long s : systems) {
                    counts[order[(int) s]]++;
                }
                iParts.add(atomI);
                jParts.add(atomJ);
                // Integer shift of the unwrapped positions: s_T - w_j + w_i.
                sParts.add(shiftTable.get(tIndex).sub(wrap.get(atomJ)).add(wrap.get(atomI)));
            }
            if (iParts.isEmpty()) {
                newEdges = m.zeros(new Shape(2, 0), DataType.INT64);
                newShifts = m.zeros(new Shape(0, 3), dtype);
            } else {
                NDArray allI = NDArrays.concat(new NDList(iParts));
                NDArray allJ = NDArrays.concat(new NDList(jParts));
                newEdges = NDArrays.stack(new NDList(allI, allJ));
                newShifts = NDArrays.concat(new NDList(sParts));
            }
            // The caller takes ownership of the results (they outlive this search's scope).
            NDScope.unregister(newEdges, newShifts);
        }
        return new Found(newEdges, newShifts, counts);
    }

    private void replace(NDArray edges, NDArray newShifts, NDArray reference, Batch batch) {
        // T = shift . cell of the edge's system, transposed to [3,E]; reshape copies the transposed
        // view into a contiguous array, so models index rows without strides.
        long e = newShifts.getShape().get(0);
        NDArray cellOfEdge = batch.cell().get(batch.batchIndex().get(edges.get(0)));
        NDArray newTranslations = newShifts.reshape(e, 1, 3).matMul(cellOfEdge).reshape(e, 3).transpose().flatten()
                .reshape(3, e);
        for (NDArray a : new NDArray[] {edges, newShifts, reference, newTranslations}) {
            a.attach(manager);
            NDScope.unregister(a);
        }
        if (edgeIndex != null) {
            edgeIndex.close();
            shifts.close();
            referencePositions.close();
            translations.close();
        }
        edgeIndex = edges;
        shifts = newShifts;
        referencePositions = reference;
        translations = newTranslations;
    }

    /**
     * Counts the ordered pairs (both directions) of one structure closer than {@code radius}, on
     * the host, by brute force over the needed lattice translations. The sampler uses it to size
     * batches by edges before any structure is on the device.
     */
    public static long countEdges(AtomicSystem system, double radius) {
        long[] count = new long[1];
        forEachPair(system, radius, (i, j, r) -> count[0]++);
        return count[0];
    }

    /** Receives one ordered pair: atoms i and j of the structure at distance r (A). */
    @FunctionalInterface
    public interface PairVisitor {
        /** Called once per ordered pair within the radius. */
        void visit(int i, int j, double r);
    }

    /**
     * Visits every ordered pair (i, j, lattice image) of one structure closer than {@code radius}
     * on the host, periodic images included (atoms are wrapped into the cell first).
     */
    public static void forEachPair(AtomicSystem system, double radius, PairVisitor visitor) {
        double[] cell = system.cell();
        boolean[] pbc = system.pbc();
        double[] safe = new double[9];
        for (int axis = 0; axis < 3; axis++) {
            for (int k = 0; k < 3; k++) {
                safe[3 * axis + k] = pbc[axis] ? cell[3 * axis + k] : (axis == k ? 1 : 0);
            }
        }
        double[] reciprocal = reciprocalRows(safe);
        int[] images = new int[3];
        for (int axis = 0; axis < 3; axis++) {
            if (pbc[axis]) {
                double norm = Math.sqrt(reciprocal[3 * axis] * reciprocal[3 * axis]
                        + reciprocal[3 * axis + 1] * reciprocal[3 * axis + 1] + reciprocal[3 * axis + 2] * reciprocal[3 * axis + 2]);
                images[axis] = (int) Math.ceil(radius * norm);
            }
        }
        // Wrap into the cell on periodic axes so the image counts cover every pair.
        double[] p = system.positions();
        int n = system.size();
        for (int a = 0; a < n; a++) {
            for (int axis = 0; axis < 3; axis++) {
                if (!pbc[axis]) {
                    continue;
                }
                double frac = p[3 * a] * reciprocal[3 * axis] + p[3 * a + 1] * reciprocal[3 * axis + 1] + p[3 * a + 2] * reciprocal[3 * axis + 2];
                double w = Math.floor(frac);
                for (int k = 0; k < 3; k++) {
                    p[3 * a + k] -= w * cell[3 * axis + k];
                }
            }
        }
        double r2max = radius * radius;
        for (int u = -images[0]; u <= images[0]; u++) {
            for (int v = -images[1]; v <= images[1]; v++) {
                for (int w = -images[2]; w <= images[2]; w++) {
                    double tx = u * cell[0] + v * cell[3] + w * cell[6];
                    double ty = u * cell[1] + v * cell[4] + w * cell[7];
                    double tz = u * cell[2] + v * cell[5] + w * cell[8];
                    boolean zero = u == 0 && v == 0 && w == 0;
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < n; j++) {
                            if (zero && i == j) {
                                continue;
                            }
                            double dx = p[3 * j] - p[3 * i] + tx;
                            double dy = p[3 * j + 1] - p[3 * i + 1] + ty;
                            double dz = p[3 * j + 2] - p[3 * i + 2] + tz;
                            double r2 = dx * dx + dy * dy + dz * dz;
                            if (r2 < r2max) {
                                visitor.visit(i, j, Math.sqrt(r2));
                            }
                        }
                    }
                }
            }
        }
    }

    /** Whether the first non-zero component of a lattice translation is positive. */
    private static boolean isPositive(int[] translation) {
        for (int component : translation) {
            if (component != 0) {
                return component > 0;
            }
        }
        return false;
    }

    /** Rows b_i of the reciprocal basis of a cell with rows a_i: b_i = (a_j x a_k) / V. */
    static double[] reciprocalRows(double[] a) {
        double[] out = new double[9];
        double volume = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
        for (int i = 0; i < 3; i++) {
            int j = (i + 1) % 3;
            int k = (i + 2) % 3;
            out[3 * i] = (a[3 * j + 1] * a[3 * k + 2] - a[3 * j + 2] * a[3 * k + 1]) / volume;
            out[3 * i + 1] = (a[3 * j + 2] * a[3 * k] - a[3 * j] * a[3 * k + 2]) / volume;
            out[3 * i + 2] = (a[3 * j] * a[3 * k + 1] - a[3 * j + 1] * a[3 * k]) / volume;
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
