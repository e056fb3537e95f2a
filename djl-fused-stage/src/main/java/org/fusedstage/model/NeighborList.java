package org.fusedstage.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;

/**
 * A Verlet neighbor list for a batch: every ordered pair (i, j) of atoms of the same system with
 * |r_j - r_i + s . cell| < cutoff + skin, as {@code edge_index [2,E]} (int64, rows i and j) and
 * integer lattice translations {@code shifts [E,3]} (in the batch dtype). Periodic (triclinic)
 * and open boundaries, also cells smaller than twice the cutoff (several images of one atom).
 *
 * <p>A system's edges are searched again only when one of its atoms moved more than half the skin
 * since its last search (positions are read back once per update), or when its slot
 * got a new sample (refill); the other systems keep theirs. Translations are kept
 * as integers so that edge vectors follow the atoms between rebuilds even when atoms leave the
 * cell: the search wraps atoms into the cell and folds the wrap into each edge's shift.
 *
 * <p>A half list ({@link #of(Batch, double, double, boolean)}) keeps every pair once: (i, j) with
 * i before j in its system, and of an atom's periodic images of itself the translation whose first
 * non-zero component is positive. Pair potentials then visit each pair once.
 *
 * <p>The search runs on the host over atom pairs and lattice translations, O(S M^2) for a system of
 * M atoms and S translations, paid at rebuilds only: positions come back once per search, and a
 * plain Java loop beats the dozens of small device ops of a dense search on DJL (which has no
 * cell-list primitives) by far at these sizes.
 */
public final class NeighborList implements AutoCloseable {

    private final double cutoff;
    private final double skin;
    private final boolean halfList;
    private final NDManager manager;
    private NDArray edgeIndex;
    private NDArray shifts;
    private NDArray translations; // cartesian [3,E], computed at each build
    // Host buffers behind the device arrays (on a CPU the arrays alias them), one per kind.
    private final java.nio.ByteBuffer[] staging = new java.nio.ByteBuffer[3];
    private DataType dataType;
    // Host copy of the list, one segment per slot: searches replace a slot's segment, then the
    // device arrays are rebuilt from all segments in one upload.
    private Segment[] segments;
    private double[] referencePositions; // [N*3] positions at each slot's last search
    private double[] previousPositions; // [N*3] positions at the previous update (one step's motion)
    private long[] previousVersions;
    private long builtForVersion = -1;
    private long[] builtSlotVersions;
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
     * Rebuild on a fixed schedule instead: every {@code k} updates (and refilled slots when the
     * batch changes), with no displacement check, so updates between rebuilds read no device data
     * back (GPU runs). Choose a skin that no atom crosses in k steps. 0 restores the displacement check.
     */
    public void setRebuildEvery(int k) {
        Preconditions.checkArgument(k >= 0, "rebuild interval must be >= 0, got %s", k);
        this.rebuildEvery = k;
    }

    /**
     * Rebuilds if the batch changed or an atom moved more than half the skin minus a margin: a
     * compiled step moves atoms after this check, so it keeps room for one step's motion. The
     * margin of a system is three times its largest atom displacement in the previous step plus
     * 0.02 A, at most {@code margin} A (which also applies when there is no previous step).
     */
    public void update(Batch batch, double margin) {
        updatesSinceBuild++;
        boolean scheduled = rebuildEvery > 0 && updatesSinceBuild >= rebuildEvery;
        if (layoutChanged(batch) || scheduled) {
            search(batch, allSlots(batch), batch.hostDoubles(Batch.POSITIONS));
            updatesSinceBuild = 0;
            return;
        }
        if (rebuildEvery > 0 && builtForVersion == batch.structureVersion()) {
            return; // a fixed schedule reads nothing back between rebuilds
        }
        // Slots that got a new sample (refill) and slots with an atom that moved more than half
        // the skin minus the margin since their search are searched again; the others keep theirs.
        // Slots more than 70 % of the way there join such a search, so that searches (and the
        // uploads of the list that follow them) come in fewer, larger groups.
        double[] positions = batch.hostDoubles(Batch.POSITIONS);
        long[] versions = batch.slotVersions();
        int[][] members = batch.memberRows();
        boolean[] refilled = new boolean[members.length];
        double[] fraction = new double[members.length];
        boolean anyDue = false;
        for (int slot = 0; slot < members.length; slot++) {
            refilled[slot] = versions[slot] != builtSlotVersions[slot];
            if (refilled[slot] || rebuildEvery > 0) {
                anyDue |= refilled[slot];
                continue;
            }
            double slotMargin = margin;
            if (margin > 0 && previousPositions != null && versions[slot] == previousVersions[slot]) {
                slotMargin = Math.min(margin, 3 * Math.sqrt(largestDisplacement2(members[slot], positions, previousPositions)) + 0.02);
            }
            double half = Math.max(1e-9, skin / 2 - slotMargin);
            fraction[slot] = Math.sqrt(largestDisplacement2(members[slot], positions, referencePositions)) / half;
            anyDue |= !(fraction[slot] <= 1); // NaN positions force a search too
        }
        if (anyDue) {
            int[] stale = new int[members.length];
            int count = 0;
            for (int slot = 0; slot < members.length; slot++) {
                if (refilled[slot] || !(fraction[slot] <= 0.7)) {
                    stale[count++] = slot;
                }
            }
            search(batch, java.util.Arrays.copyOf(stale, count), positions);
        }
        previousPositions = positions;
        previousVersions = versions;
        builtForVersion = batch.structureVersion();
    }

    /** Whether the host copy does not fit the batch's slots and rows (before the first build too). */
    private boolean layoutChanged(Batch batch) {
        return segments == null || segments.length != batch.numSystems() || referencePositions.length != 3 * batch.numAtoms();
    }

    /** The largest squared displacement of the atoms at {@code rows} between two position arrays (NaN if any is NaN). */
    private static double largestDisplacement2(int[] rows, double[] positions, double[] from) {
        double largest = 0;
        for (int row : rows) {
            double dx = positions[3 * row] - from[3 * row];
            double dy = positions[3 * row + 1] - from[3 * row + 1];
            double dz = positions[3 * row + 2] - from[3 * row + 2];
            double d2 = dx * dx + dy * dy + dz * dz;
            if (!(d2 <= largest)) {
                largest = d2; // NaN sticks
                if (Double.isNaN(d2)) {
                    return d2;
                }
            }
        }
        return largest;
    }

    private static int[] allSlots(Batch batch) {
        return java.util.stream.IntStream.range(0, batch.numSystems()).toArray();
    }

    /** Edge index [2,E], int64: row 0 the central atom i, row 1 the neighbor j. */
    public NDArray edgeIndex() {
        Preconditions.checkState(segments != null, "the neighbor list has not been built yet: call update(batch)");
        if (edgeIndex == null) {
            edgeIndex = upload(0, 2, DataType.INT64, total -> new Shape(2, total), (buffer, segment, at, total) -> {
                java.nio.LongBuffer longs = buffer.asLongBuffer();
                longs.put(at, segment.i, 0, segment.size);
                longs.put(total + at, segment.j, 0, segment.size);
            });
        }
        return edgeIndex;
    }

    /** Integer lattice translations [E,3] (batch dtype): the edge vector is r_j - r_i + shift . cell. */
    public NDArray shifts() {
        Preconditions.checkState(segments != null, "the neighbor list has not been built yet: call update(batch)");
        if (shifts == null) {
            shifts = upload(1, 3, dataType, total -> new Shape(total, 3),
                    (buffer, segment, at, total) -> HostArrays.write(buffer, 3 * at, segment.shifts, 0, 3 * segment.size, dataType));
        }
        return shifts;
    }

    /**
     * Cartesian translation of every edge, {@code [3,E]} in A (row k holds component k): the edge
     * vector is r_j - r_i + translations[:, e]. Computed from the shifts and the batch's cells once
     * per build, so cells must not change between builds (no dynamics here changes them).
     */
    public NDArray translations() {
        Preconditions.checkState(segments != null, "the neighbor list has not been built yet: call update(batch)");
        if (translations == null) {
            translations = upload(2, 3, dataType, total -> new Shape(3, total), (buffer, segment, at, total) -> {
                for (int k = 0; k < 3; k++) {
                    HostArrays.write(buffer, k * total + at, segment.translations, k * segment.size, segment.size, dataType);
                }
            });
        }
        return translations;
    }

    /** Number of edges per system at the last build (with skin), [B]. */
    public long[] edgeCounts() {
        long[] counts = new long[segments.length];
        for (int s = 0; s < counts.length; s++) {
            counts[s] = segments[s].size;
        }
        return counts;
    }

    /** How many updates searched some system again (a first build, a refill, atoms that moved). */
    public int rebuilds() {
        return rebuilds;
    }

    /** The cutoff plus skin used for the search, in A. */
    public double searchRadius() {
        return cutoff + skin;
    }

    /**
     * Searches the given slots again on the host (positions {@code positions}, [N*3]), resets their
     * reference positions and drops the device arrays, which the getters upload again on demand. A
     * plain loop over atom pairs and lattice translations costs far less than the dozens of small
     * device ops of a dense search.
     */
    private void search(Batch batch, int[] slots, double[] positions) {
        int[][] members = batch.memberRows();
        double[] cells = HostArrays.doubles(batch.cell());
        boolean[] pbc = batch.pbc().toBooleanArray();
        if (layoutChanged(batch)) {
            segments = new Segment[members.length];
            referencePositions = positions.clone();
        }
        for (int slot : slots) {
            double[] cell = java.util.Arrays.copyOfRange(cells, 9 * slot, 9 * slot + 9);
            Segment segment = searchSystem(members[slot], positions, cell, java.util.Arrays.copyOfRange(pbc, 3 * slot, 3 * slot + 3));
            segment.translate(cell);
            segments[slot] = segment;
            for (int row : members[slot]) {
                System.arraycopy(positions, 3 * row, referencePositions, 3 * row, 3);
            }
        }
        for (int slot = 0; slot < segments.length; slot++) {
            if (segments[slot] == null) {
                segments[slot] = new Segment();
            }
        }
        dataType = batch.getDataType();
        invalidate();
        builtForVersion = batch.structureVersion();
        builtSlotVersions = batch.slotVersions();
        rebuilds++;
    }

    /** Writes one segment's part of a device array into {@code buffer}, its edges starting at edge {@code at}. */
    @FunctionalInterface
    private interface SegmentWriter {
        void write(java.nio.ByteBuffer buffer, Segment segment, int at, int total);
    }

    /**
     * One device array from all segments, built on first use after a search (a step uploads only
     * what its model reads). The segments are written straight into a direct buffer kept for
     * this kind of array ({@code kind}: 0 edge index, 1 shifts, 2 translations) and reused at
     * every build. On a CPU the array is that buffer (libtorch's from_blob): no copy, and no new
     * 10-30 MB direct buffer per search, which made uploads 14 % of a 512 x 32 step. The buffer is
     * written again only after {@link #invalidate} closed the array over it; on a GPU the array is
     * a device copy.
     */
    private NDArray upload(int kind, int valuesPerEdge, DataType type, java.util.function.IntFunction<Shape> shape,
            SegmentWriter writer) {
        int total = 0;
        for (Segment segment : segments) {
            total += segment.size;
        }
        int bytes = Math.max(1, valuesPerEdge * total * type.getNumOfBytes());
        java.nio.ByteBuffer buffer = staging[kind];
        if (buffer == null || buffer.capacity() < bytes) {
            // Room to grow by a quarter before the next allocation.
            buffer = java.nio.ByteBuffer.allocateDirect(bytes + bytes / 4).order(java.nio.ByteOrder.nativeOrder());
            staging[kind] = buffer;
        }
        buffer.clear();
        int at = 0;
        for (Segment segment : segments) {
            writer.write(buffer, segment, at, total);
            at += segment.size;
        }
        buffer.limit(valuesPerEdge * total * type.getNumOfBytes());
        NDArray array = manager.create(buffer, shape.apply(total), type);
        // The list outlives the caller's step scope: its manager owns the array.
        NDScope.unregister(array);
        return array;
    }

    /** Drops the device arrays after a search; the getters upload them again on demand. */
    private void invalidate() {
        for (NDArray a : new NDArray[] {edgeIndex, shifts, translations}) {
            if (a != null) {
                a.close();
            }
        }
        edgeIndex = null;
        shifts = null;
        translations = null;
    }

    /** The edges of one system on the host: rows i, j, integer shifts [n*3], translations [3*n] (component-major). */
    private static final class Segment {
        final long[] i;
        final long[] j;
        final double[] shifts;
        double[] translations = new double[0];
        final int size;

        /** No edges (a slot never searched). */
        Segment() {
            this(new Pairs(0), new int[0]);
        }

        /** The pairs found in one system, its atoms mapped to their batch rows {@code rows}. */
        Segment(Pairs pairs, int[] rows) {
            size = pairs.size;
            i = new long[size];
            j = new long[size];
            for (int e = 0; e < size; e++) {
                i[e] = rows[pairs.i[e]];
                j[e] = rows[pairs.j[e]];
            }
            shifts = java.util.Arrays.copyOf(pairs.shifts, 3 * size);
        }

        /** T = shift . cell per edge (cell rows a_k: T = sum_k s_k a_k). */
        void translate(double[] cell) {
            translations = new double[3 * size];
            for (int e = 0; e < size; e++) {
                for (int x = 0; x < 3; x++) {
                    translations[x * size + e] = shifts[3 * e] * cell[x] + shifts[3 * e + 1] * cell[3 + x]
                            + shifts[3 * e + 2] * cell[6 + x];
                }
            }
        }
    }

    /** The edges of one system (atoms at batch rows {@code rows}). */
    private Segment searchSystem(int[] rows, double[] positions, double[] cell, boolean[] pbc) {
        double[] local = new double[3 * rows.length];
        for (int a = 0; a < rows.length; a++) {
            System.arraycopy(positions, 3 * rows[a], local, 3 * a, 3);
        }
        Pairs pairs = Pairs.acquire();
        try {
            visitPairs(local, cell, pbc, cutoff + skin, halfList, pairs);
            return new Segment(pairs, rows);
        } finally {
            pairs.release();
        }
    }

    /**
     * The pairs {@link #visitPairs} found: atoms i and j (indices into its positions), integer
     * lattice shifts [3 per pair] and squared distances. A final class rather than a callback per
     * pair: the search serves three callers, and a call site that sees several callbacks is not
     * inlined (the search of a 108-atom cell took 0.56 ms so, 0.33 ms with one callback).
     */
    private static final class Pairs {
        // One per thread, reused by every search: it grows to the largest structure once.
        private static final ThreadLocal<Pairs> SPARE = ThreadLocal.withInitial(() -> new Pairs(1024));

        int[] i;
        int[] j;
        double[] shifts;
        double[] r2;
        int size;

        private boolean inUse;

        /**
         * This thread's buffer, empty, until {@link #release}; a new one while it is in use (a
         * visitor of {@link #forEachPair} that searches again).
         */
        static Pairs acquire() {
            Pairs pairs = SPARE.get();
            if (pairs.inUse) {
                return new Pairs(1024);
            }
            pairs.inUse = true;
            pairs.size = 0;
            return pairs;
        }

        void release() {
            inUse = false;
        }

        Pairs(int capacity) {
            int c = Math.max(16, capacity);
            i = new int[c];
            j = new int[c];
            shifts = new double[3 * c];
            r2 = new double[c];
        }

        /** Room for {@code extra} more pairs. */
        void reserve(int extra) {
            if (size + extra > i.length) {
                int capacity = Math.max(2 * i.length, size + extra);
                i = java.util.Arrays.copyOf(i, capacity);
                j = java.util.Arrays.copyOf(j, capacity);
                shifts = java.util.Arrays.copyOf(shifts, 3 * capacity);
                r2 = java.util.Arrays.copyOf(r2, capacity);
            }
        }

        /** Adds a pair; call {@link #reserve} first (the search reserves a row of candidates at a time). */
        void add(int atomI, int atomJ, double s0, double s1, double s2, double d2) {
            i[size] = atomI;
            j[size] = atomJ;
            shifts[3 * size] = s0;
            shifts[3 * size + 1] = s1;
            shifts[3 * size + 2] = s2;
            r2[size] = d2;
            size++;
        }
    }

    /**
     * Visits every pair (i, j, lattice shift) of one system closer than {@code radius}, on the host:
     * positions {@code p} [n*3] (overwritten: wrapped into the cell on periodic axes, so that the
     * image counts ceil(radius |b_axis|) cover every pair), cell rows {@code cell} [9]. The wrap
     * w = floor(fractional coordinate) is folded into each shift (t - w_j + w_i), so shifts apply to
     * the unwrapped positions. The search finds each pair once, as a half list keeps it: i before
     * j, and an atom's image of itself only for translations whose first non-zero component is
     * positive; a full list then adds each pair's other direction (j, i, -shift), which halves
     * the distance checks (and the time) of its search.
     */
    private static void visitPairs(double[] p, double[] original, boolean[] pbc, double radius, boolean half, Pairs found) {
        // A skewed cell (e.g. a second vector hundreds of times the first) describes the same
        // lattice as a reduced one that needs far fewer images: search in the reduced cell and
        // express each shift in the original cell's vectors again.
        long[] m = reduction(original, pbc);
        double[] cell = m == null ? original : times(m, original);
        int from = found.size;
        int n = p.length / 3;
        double[] safe = new double[9];
        for (int axis = 0; axis < 3; axis++) {
            for (int k = 0; k < 3; k++) {
                safe[3 * axis + k] = pbc[axis] ? cell[3 * axis + k] : (axis == k ? 1 : 0);
            }
        }
        double[] reciprocal = reciprocalRows(safe);
        int[] images = imageCounts(reciprocal, pbc, radius);
        double[] wrap = new double[3 * n];
        double[] fractional = new double[3 * n]; // of the wrapped positions, in [0, 1) on periodic axes
        double[] spacing = new double[3]; // distance between lattice planes of each axis
        for (int axis = 0; axis < 3; axis++) {
            spacing[axis] = 1 / Math.sqrt(reciprocal[3 * axis] * reciprocal[3 * axis]
                    + reciprocal[3 * axis + 1] * reciprocal[3 * axis + 1] + reciprocal[3 * axis + 2] * reciprocal[3 * axis + 2]);
        }
        for (int a = 0; a < n; a++) {
            for (int axis = 0; axis < 3; axis++) {
                if (!pbc[axis]) {
                    continue;
                }
                double frac = p[3 * a] * reciprocal[3 * axis] + p[3 * a + 1] * reciprocal[3 * axis + 1]
                        + p[3 * a + 2] * reciprocal[3 * axis + 2];
                double w = Math.floor(frac);
                wrap[3 * a + axis] = w;
                fractional[3 * a + axis] = frac - w;
                for (int k = 0; k < 3; k++) {
                    p[3 * a + k] -= w * cell[3 * axis + k];
                }
            }
        }
        double r2max = radius * radius;
        // Coordinates as separate rows and distances in a pass of their own: the JIT vectorizes
        // that pass; the hits (a few % of the checks) are picked out in a second one.
        double[] px = new double[n];
        double[] py = new double[n];
        double[] pz = new double[n];
        for (int a = 0; a < n; a++) {
            px[a] = p[3 * a];
            py[a] = p[3 * a + 1];
            pz[a] = p[3 * a + 2];
        }
        double[] r2 = new double[n];
        for (int u = -images[0]; u <= images[0]; u++) {
            for (int v = -images[1]; v <= images[1]; v++) {
                for (int w = -images[2]; w <= images[2]; w++) {
                    boolean zero = u == 0 && v == 0 && w == 0;
                    boolean selfImage = !zero && isPositive(new int[] {u, v, w});
                    double tx = u * cell[0] + v * cell[3] + w * cell[6];
                    double ty = u * cell[1] + v * cell[4] + w * cell[7];
                    double tz = u * cell[2] + v * cell[5] + w * cell[8];
                    int[] t = {u, v, w};
                    for (int i = 0; i < n; i++) {
                        if (outOfReach(fractional, 3 * i, t, pbc, spacing, radius)) {
                            continue; // the image of atom i is too far from the whole cell
                        }
                        double xi = px[i] - tx;
                        double yi = py[i] - ty;
                        double zi = pz[i] - tz;
                        for (int j = i; j < n; j++) {
                            double dx = px[j] - xi;
                            double dy = py[j] - yi;
                            double dz = pz[j] - zi;
                            r2[j] = dx * dx + dy * dy + dz * dz;
                        }
                        found.reserve(n - i);
                        for (int j = i; j < n; j++) {
                            if (r2[j] < r2max && (i != j || selfImage)) {
                                found.add(i, j, u - wrap[3 * j] + wrap[3 * i], v - wrap[3 * j + 1] + wrap[3 * i + 1],
                                        w - wrap[3 * j + 2] + wrap[3 * i + 2], r2[j]);
                            }
                        }
                    }
                }
            }
        }
        if (!half) { // the other direction of every pair: (j, i, -shift)
            found.reserve(found.size - from);
            for (int e = from, end = found.size; e < end; e++) {
                found.add(found.j[e], found.i[e], -found.shifts[3 * e], -found.shifts[3 * e + 1], -found.shifts[3 * e + 2],
                        found.r2[e]);
            }
        }
        if (m != null) { // shifts in the original cell's vectors again: s . M
            double[] sh = found.shifts;
            for (int e = from; e < found.size; e++) {
                double s0 = sh[3 * e];
                double s1 = sh[3 * e + 1];
                double s2 = sh[3 * e + 2];
                sh[3 * e] = s0 * m[0] + s1 * m[3] + s2 * m[6];
                sh[3 * e + 1] = s0 * m[1] + s1 * m[4] + s2 * m[7];
                sh[3 * e + 2] = s0 * m[2] + s1 * m[5] + s2 * m[8];
            }
        }
    }

    /** Translations searched at most per structure: beyond, the cell is too thin for the radius. */
    static final double MAX_TRANSLATIONS = 1e6;

    /**
     * Lattice translations needed per periodic axis, ceil(radius |b_axis|), bounded: a cell whose
     * search would need more than {@link #MAX_TRANSLATIONS} translations is refused, naming its
     * lattice plane spacings, instead of searching for ever.
     *
     * @throws IllegalArgumentException when the cell is too thin for the radius
     */
    private static int[] imageCounts(double[] reciprocal, boolean[] pbc, double radius) {
        int[] images = new int[3];
        double translations = 1;
        double[] spacing = new double[3];
        for (int axis = 0; axis < 3; axis++) {
            double norm = Math.sqrt(reciprocal[3 * axis] * reciprocal[3 * axis]
                    + reciprocal[3 * axis + 1] * reciprocal[3 * axis + 1] + reciprocal[3 * axis + 2] * reciprocal[3 * axis + 2]);
            spacing[axis] = 1 / norm;
            if (pbc[axis]) {
                double count = Math.ceil(radius * norm);
                translations *= 2 * count + 1;
                images[axis] = Double.isFinite(count) && count < Integer.MAX_VALUE ? (int) count : Integer.MAX_VALUE;
            }
        }
        if (!(translations <= MAX_TRANSLATIONS)) {
            throw new IllegalArgumentException(String.format(
                    "the cell is too thin for the neighbor search radius %.4g A: lattice plane spacings %s A would need %.3g "
                            + "periodic images (at most %.0e)", radius, spacingText(spacing, pbc), translations, MAX_TRANSLATIONS));
        }
        return images;
    }

    private static String spacingText(double[] spacing, boolean[] pbc) {
        StringBuilder sb = new StringBuilder();
        for (int axis = 0; axis < 3; axis++) {
            if (pbc[axis]) {
                sb.append(sb.length() == 0 ? "" : ", ").append(String.format("%.3g", spacing[axis]));
            }
        }
        return sb.toString();
    }

    /**
     * Checks that a structure's periodic images can be searched within {@code radius}.
     *
     * @throws IllegalArgumentException naming the problem when they cannot
     */
    public static void checkSearchable(double[] cell, boolean[] pbc, double radius) {
        long[] m = reduction(cell, pbc);
        double[] reduced = m == null ? cell : times(m, cell);
        double[] safe = new double[9];
        for (int axis = 0; axis < 3; axis++) {
            for (int k = 0; k < 3; k++) {
                safe[3 * axis + k] = pbc[axis] ? reduced[3 * axis + k] : (axis == k ? 1 : 0);
            }
        }
        imageCounts(reciprocalRows(safe), pbc, radius);
    }

    /**
     * The integer unimodular matrix M (rows) that reduces the periodic cell vectors pairwise
     * (Lagrange-Gauss: subtract the nearest integer multiple of another vector until none
     * shortens), so that M * cell spans the same lattice with short, nearly orthogonal vectors;
     * null when the cell is reduced already.
     */
    static long[] reduction(double[] cell, boolean[] pbc) {
        double[] r = cell.clone();
        long[] m = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        boolean any = false;
        for (int round = 0; round < 200; round++) {
            boolean changed = false;
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    if (i == j || !pbc[i] || !pbc[j]) {
                        continue;
                    }
                    double jj = r[3 * j] * r[3 * j] + r[3 * j + 1] * r[3 * j + 1] + r[3 * j + 2] * r[3 * j + 2];
                    double ij = r[3 * i] * r[3 * j] + r[3 * i + 1] * r[3 * j + 1] + r[3 * i + 2] * r[3 * j + 2];
                    double k = jj > 0 ? Math.rint(ij / jj) : 0;
                    if (k != 0 && Math.abs(ij / jj) > 0.5 + 1e-9) {
                        for (int c = 0; c < 3; c++) {
                            r[3 * i + c] -= k * r[3 * j + c];
                            m[3 * i + c] -= (long) k * m[3 * j + c];
                        }
                        changed = true;
                    }
                }
            }
            any |= changed;
            if (!changed) {
                break;
            }
        }
        return any ? m : null;
    }

    /** M * cell for row-major 3x3 matrices. */
    private static double[] times(long[] m, double[] cell) {
        double[] out = new double[9];
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 3; k++) {
                out[3 * i + k] = m[3 * i] * cell[k] + m[3 * i + 1] * cell[3 + k] + m[3 * i + 2] * cell[6 + k];
            }
        }
        return out;
    }

    /**
     * Whether the point with fractional coordinates f - t (f at {@code fractional[at..at+2]}) lies
     * farther than {@code radius} from every point of the cell: its distance to the slab between
     * two lattice planes of one periodic axis bounds its distance to the cell from below. Skips
     * most images of atoms near the far side of the cell (2-3x fewer pair checks in 108-atom cells).
     */
    private static boolean outOfReach(double[] fractional, int at, int[] t, boolean[] pbc, double[] spacing, double radius) {
        double reach = radius + 1e-9; // rounding of the fractional coordinates stays far below this
        for (int axis = 0; axis < 3; axis++) {
            if (!pbc[axis] || t[axis] == 0) {
                continue;
            }
            double g = fractional[at + axis] - t[axis];
            double outside = g < 0 ? -g : g > 1 ? g - 1 : 0;
            if (outside * spacing[axis] > reach) {
                return true;
            }
        }
        return false;
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
        Pairs pairs = Pairs.acquire();
        try {
            visitPairs(system.positions(), system.cell(), system.pbc(), radius, false, pairs);
            for (int e = 0; e < pairs.size; e++) {
                visitor.visit(pairs.i[e], pairs.j[e], Math.sqrt(pairs.r2[e]));
            }
        } finally {
            pairs.release();
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
