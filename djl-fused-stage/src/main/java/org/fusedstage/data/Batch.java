package org.fusedstage.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Many atomic systems in one flat layout on one device, as MLIP codes (PyG, torch-sim,
 * nvalchemi) lay them out: the atoms of all systems are concatenated.
 *
 * <p>Per-atom fields have N rows ({@code positions [N,3]} A, {@code velocities [N,3]} A/fs,
 * {@code forces [N,3]} eV/A, {@code masses [N]} amu, {@code atomic_numbers [N]} int64,
 * {@code batch [N]} int64 system index); per-system fields have B rows ({@code energy [B]} eV,
 * {@code stress [B,3,3]} eV/A^3, {@code cell [B,3,3]} A, {@code pbc [B,3]} boolean,
 * {@code status [B]} int64); {@code ptr [B+1]} int64 holds the first atom of each system (for
 * contiguous batches; see below). Stages
 * add named per-system or per-atom fields for their own state (FIRE's dt, step counters...).
 *
 * <p>An inflight batch ({@link Builder#optCapacity}) has a fixed number of slots and atom rows:
 * {@link #replace} puts new samples into slots in place, writing only their rows, with free rows
 * parked in a pool slot of status {@link Status#VACANT} that takes part in no physics. Per-atom fields
 * are then addressed through {@link #atomRows(int)}.
 *
 * <p>A batch owns its arrays through its own {@link NDManager} (a child of the one it was built
 * with) and frees all of them on {@link #close()}. {@link #set} takes ownership of a new array and
 * frees the one it replaces.
 */
public final class Batch implements AutoCloseable {

    /** Positions [N,3] in A. */
    public static final String POSITIONS = "positions";
    /** Velocities [N,3] in A/fs. */
    public static final String VELOCITIES = "velocities";
    /** Forces [N,3] in eV/A. */
    public static final String FORCES = "forces";
    /** Masses [N] in amu. */
    public static final String MASSES = "masses";
    /** Atomic numbers [N], int64. */
    public static final String ATOMIC_NUMBERS = "atomic_numbers";
    /** System index of each atom [N], int64. */
    public static final String BATCH = "batch";
    /** First atom of each system [B+1], int64. */
    public static final String PTR = "ptr";
    /** Potential energy [B] in eV. */
    public static final String ENERGY = "energy";
    /** Stress [B,3,3] in eV/A^3. */
    public static final String STRESS = "stress";
    /** Cell [B,3,3] in A, lattice vectors as rows. */
    public static final String CELL = "cell";
    /** Periodic boundary flags [B,3], boolean. */
    public static final String PBC = "pbc";
    /** Status code [B], int64: selects the stage that updates each sample. */
    public static final String STATUS = "status";

    /** Status of an empty slot of an inflight batch, and of its pool of free atom rows. */

    private static final Set<String> CORE_ATOM_FIELDS =
            Set.of(POSITIONS, VELOCITIES, FORCES, MASSES, ATOMIC_NUMBERS, BATCH);
    private static final Set<String> CORE_SYSTEM_FIELDS = Set.of(ENERGY, STRESS, CELL, PBC, STATUS);

    private final NDManager manager;
    private final DataType dataType;
    // Atom rows of each slot (sorted). Fixed batches are contiguous; inflight batches keep free
    // rows in a pool slot and refill slots in place, so a slot's rows need not be contiguous.
    private final SlotPool slots; // which atom rows each slot holds (host)
    private final SampleLedger ledger;
    private NDArray ptrArray;
    private Segments segments;
    // Helpers tied to this batch's arrays (neighbor lists...), closed with it.
    private final Map<String, AutoCloseable> attachments = new LinkedHashMap<>();
    // Bumped when positions jump discontinuously (new samples in slots): cached geometry rebuilds.
    private long structureVersion;
    private long[] slotVersions;
    // Steps each sample has taken since it entered this batch: keys its random streams, so noise
    // does not depend on batch-mates or on when the sample was loaded.
    private final Map<String, NDArray> atomFields = new LinkedHashMap<>();
    private final Map<String, NDArray> systemFields = new LinkedHashMap<>();
    // Which systems carry known values (from their input or from a later set), per system.
    // False until someone sets the status field: a run then starts every sample at its entry status.
    private boolean statusAssigned;
    // Arrays this batch made itself, so contiguous in libtorch's memory: on a CPU they are read and
    // written in place through that memory (hostMemory). An array a caller set may be a strided
    // view; it is replaced by such a copy the first time its memory is asked for. Each maps to its
    // memory once asked (null before): asking libtorch costs four JNI calls, ~5 us, and the host
    // stage programs ask a dozen times per step.
    private final Map<NDArray, ByteBuffer> ownLayout = new java.util.IdentityHashMap<>();

    private Batch(List<AtomicSystem> systems, NDManager parent, Device device, DataType dataType,
            int slotCapacity, int atomCapacity) {
        Preconditions.checkArgument(!systems.isEmpty(), "a batch needs at least one system");
        Preconditions.checkArgument(
                dataType == DataType.FLOAT32 || dataType == DataType.FLOAT64,
                "dtype must be float32 or float64, got %s",
                dataType);
        this.dataType = dataType;
        int k = systems.size();
        this.slots = new SlotPool(systems.stream().mapToInt(AtomicSystem::size).toArray(), slotCapacity, atomCapacity);
        int b = slots.numSlots();
        int n = slots.numAtoms();
        double[] positions = new double[3 * n];
        double[] velocities = new double[3 * n];
        double[] forces = new double[3 * n];
        double[] masses = new double[n];
        Arrays.fill(masses, 1.0); // pool atoms: any positive mass
        long[] numbers = new long[n];
        Arrays.fill(numbers, systems.get(0).atomicNumbers()[0]); // pool atoms: a valid element
        long[] batchIndex = slots.slotOfRows();
        double[] energy = new double[b];
        double[] stress = new double[9 * b];
        double[] cell = new double[9 * b];
        boolean[] pbc = new boolean[3 * b];
        long[] status = new long[b];
        ledger = new SampleLedger(b);
        for (int i = 0; i < b; i++) {
            if (i >= k) {
                status[i] = Status.VACANT;
                continue;
            }
            AtomicSystem s = systems.get(i);
            int start = slots.rows(i).length == 0 ? 0 : slots.rows(i)[0];
            System.arraycopy(s.positions(), 0, positions, 3 * start, 3 * s.size());
            System.arraycopy(s.masses(), 0, masses, start, s.size());
            int[] z = s.atomicNumbers();
            for (int a = 0; a < z.length; a++) {
                numbers[start + a] = z[a];
            }
            System.arraycopy(s.cell(), 0, cell, 9 * i, 9);
            System.arraycopy(s.pbc(), 0, pbc, 3 * i, 3);
            copyIfPresent(s.velocities().orElse(null), velocities, 3 * start);
            copyIfPresent(s.forces().orElse(null), forces, 3 * start);
            copyIfPresent(s.stress().orElse(null), stress, 9 * i);
            energy[i] = s.energy().orElse(0.0);
            ledger.admit(i, s, s.sampleId().orElse(Integer.toString(i)), true);
        }
        List<String> ids = ledger.occupiedIds();
        Preconditions.checkArgument(
                ids.stream().distinct().count() == ids.size(), "duplicate sample ids in %s", ids);
        this.slotVersions = new long[b];
        this.manager = parent.newSubManager(device);
        manager.setName("batch");
        atomFields.put(POSITIONS, real(positions, new Shape(n, 3)));
        atomFields.put(VELOCITIES, real(velocities, new Shape(n, 3)));
        atomFields.put(FORCES, real(forces, new Shape(n, 3)));
        atomFields.put(MASSES, real(masses, new Shape(n)));
        atomFields.put(ATOMIC_NUMBERS, owned(manager.create(numbers, new Shape(n))));
        atomFields.put(BATCH, owned(manager.create(batchIndex, new Shape(n))));
        systemFields.put(ENERGY, real(energy, new Shape(b)));
        systemFields.put(STRESS, real(stress, new Shape(b, 3, 3)));
        systemFields.put(CELL, real(cell, new Shape(b, 3, 3)));
        systemFields.put(PBC, owned(manager.create(pbc, new Shape(b, 3))));
        systemFields.put(STATUS, owned(manager.create(status, new Shape(b))));
        // The batch owns its arrays, also when it is built inside a caller's NDScope.
        atomFields.values().forEach(NDScope::unregister);
        systemFields.values().forEach(NDScope::unregister);
        atomFields.values().forEach(a -> ownLayout.put(a, null));
        systemFields.values().forEach(a -> ownLayout.put(a, null));
    }

    private static void copyIfPresent(double[] source, double[] target, int offset) {
        if (source != null) {
            System.arraycopy(source, 0, target, offset, source.length);
        }
    }

    private NDArray real(double[] values, Shape shape) {
        NDArray array = manager.create(values, shape);
        if (dataType == DataType.FLOAT64) {
            return owned(array);
        }
        NDArray converted = array.toType(dataType, true);
        array.close();
        return converted;
    }

    /**
     * Builds a batch on the CPU in float64.
     *
     * @param systems the systems, in batch order
     * @param manager the parent manager; the batch creates a child of it
     * @return the batch
     */
    public static Batch of(List<AtomicSystem> systems, NDManager manager) {
        return builder(systems).build(manager);
    }

    /** Starts a builder for a batch of {@code systems}. */
    public static Builder builder(List<AtomicSystem> systems) {
        return new Builder(systems);
    }

    /** The manager that owns every array of this batch. */
    public NDManager getManager() {
        return manager;
    }

    /** The device of the batch arrays. */
    public Device getDevice() {
        return manager.getDevice();
    }

    /** The floating-point type of the real-valued fields. */
    public DataType getDataType() {
        return dataType;
    }

    /** Number of system slots B (the rows of per-system fields), including vacant ones. */
    public int numSystems() {
        return slots.numSlots();
    }

    /** Number of atom rows N (the rows of per-atom fields), including free ones. */
    public int numAtoms() {
        return slots.numAtoms();
    }

    /** Number of atoms of slot {@code i}. */
    public int atomCount(int i) {
        return slots.rows(i).length;
    }

    /** The atom rows of slot {@code i}, in the sample's atom order. */
    public int[] atomRows(int i) {
        return slots.rows(i).clone();
    }

    /**
     * Atom rows of every slot that takes part in physics: the pool of free rows of an inflight
     * batch appears empty, so reductions and neighbor searches skip it.
     */
    public int[][] memberRows() {
        return slots.memberRows();
    }

    /** Whether slot {@code i} holds a sample. */
    public boolean isOccupied(int i) {
        return ledger.id(i) != null;
    }

    /** Whether every slot's atoms are contiguous rows in slot order (true for fixed batches). */
    public boolean isContiguous() {
        return slots.isContiguous();
    }

    /**
     * First-atom offsets [B+1] on the host, for contiguous batches.
     *
     * @throws IllegalStateException for an inflight batch whose slots were refilled out of order
     */
    public int[] ptrHost() {
        Preconditions.checkState(isContiguous(), "slots of this inflight batch are not contiguous: use atomRows(i)");
        int[] ptr = new int[numSystems() + 1];
        for (int i = 0; i < numSystems(); i++) {
            ptr[i + 1] = ptr[i] + atomCount(i);
        }
        return ptr;
    }

    /** Stable sample ids per slot (null for a vacant slot). */
    public List<String> sampleIds() {
        return java.util.Collections.unmodifiableList(Arrays.asList(ledger.ids()));
    }

    /** Steps taken by each sample since it entered this batch (host side). */
    public long[] ages() {
        return ledger.ages();
    }

    /** Counts one more step for every sample (called once per step by the driver of the run). */
    public void advanceAges() {
        ledger.advanceAges();
    }

    /** Sets the age of these slots back to 0: samples whose first step is still to come. */
    public void restartAges(java.util.Collection<Integer> slots) {
        ledger.restartAges(slots);
    }

    /** Stable 64-bit keys of the sample ids, for per-sample random streams (0 for a vacant slot). */
    public long[] sampleKeys() {
        return ledger.keys();
    }

    /** Positions [N,3] in A. */
    public NDArray positions() {
        return get(POSITIONS);
    }

    /** Velocities [N,3] in A/fs. */
    public NDArray velocities() {
        return get(VELOCITIES);
    }

    /** Forces [N,3] in eV/A (as last computed). */
    public NDArray forces() {
        return get(FORCES);
    }

    /** Masses [N] in amu. */
    public NDArray masses() {
        return get(MASSES);
    }

    /** Atomic numbers [N], int64. */
    public NDArray atomicNumbers() {
        return get(ATOMIC_NUMBERS);
    }

    /** System index per atom [N], int64. */
    public NDArray batchIndex() {
        return get(BATCH);
    }

    /** Potential energy [B] in eV (as last computed). */
    public NDArray energy() {
        return get(ENERGY);
    }

    /** Stress [B,3,3] in eV/A^3 (as last computed, zero when the model has none). */
    public NDArray stress() {
        return get(STRESS);
    }

    /** Cell [B,3,3] in A. */
    public NDArray cell() {
        return get(CELL);
    }

    /** Periodic flags [B,3]. */
    public NDArray pbc() {
        return get(PBC);
    }

    /** Status codes [B], int64. */
    public NDArray status() {
        return get(STATUS);
    }

    /** First-atom offsets [B+1], int64, on the batch device (contiguous batches only). */
    public NDArray ptr() {
        if (ptrArray == null) {
            ptrArray = manager.create(Arrays.stream(ptrHost()).asLongStream().toArray());
            NDScope.unregister(ptrArray);
        }
        return ptrArray;
    }

    /** The slot holding the pool of free atom rows, or -1 for a fixed batch. */
    public int poolSlot() {
        return slots.poolSlot();
    }

    /** Number of free atom rows in the pool (0 for a fixed batch). */
    public int freeAtoms() {
        return slots.freeAtoms();
    }

    /**
     * Empties slots and puts new samples into slots, in place: writes only the rows of the slots
     * that change (their atoms go back to the pool or come from it), so the cost does not depend
     * on the samples that stay. New samples get {@code entryStatus}, zero energy/forces until the
     * next forward pass, age 0; stages reset their own state through their {@code enter}.
     *
     * @param vacate slots whose samples leave without a replacement (they become {@link Status#VACANT})
     * @param assignments slot -> new sample
     * @param entryStatus the status of the new samples
     */
    public void replace(java.util.Collection<Integer> vacate, Map<Integer, AtomicSystem> assignments, int entryStatus) {
        java.util.Set<Integer> changedSlots = new java.util.TreeSet<>(vacate);
        changedSlots.addAll(assignments.keySet());
        // Validate everything before touching any state: a refused refill changes nothing.
        int needed = assignments.values().stream().mapToInt(AtomicSystem::size).sum();
        slots.checkRefill(changedSlots, needed);
        java.util.Set<String> present = new java.util.HashSet<>();
        for (int i = 0; i < numSystems(); i++) {
            if (ledger.id(i) != null && !changedSlots.contains(i)) {
                present.add(ledger.id(i));
            }
        }
        Map<Integer, Integer> sizes = new LinkedHashMap<>();
        for (Map.Entry<Integer, AtomicSystem> e : assignments.entrySet()) {
            String id = e.getValue().sampleId()
                    .orElseThrow(() -> new IllegalArgumentException("a refilled sample needs a sample id"));
            Preconditions.checkArgument(present.add(id), "sample id '%s' is already in the batch", id);
            sizes.put(e.getKey(), e.getValue().size());
        }
        SlotPool.Refill refill = slots.refill(changedSlots, sizes);
        changedSlots.forEach(ledger::vacate);
        // Host copies of what changes: every released or newly taken row, every changed slot.
        int poolSlot = slots.poolSlot();
        List<Integer> touchedRows = new ArrayList<>(refill.released());
        java.util.Map<Integer, double[]> rowValues = new java.util.HashMap<>(); // row -> p(3) v(3) m
        java.util.Map<Integer, long[]> rowInts = new java.util.HashMap<>(); // row -> z, batch
        for (int row : refill.released()) {
            rowValues.put(row, new double[] {0, 0, 0, 0, 0, 0, 1.0});
            rowInts.put(row, new long[] {-1, poolSlot});
        }
        for (Map.Entry<Integer, AtomicSystem> e : assignments.entrySet()) {
            int slot = e.getKey();
            AtomicSystem s = e.getValue();
            int[] taken = refill.taken().get(slot);
            double[] p = s.positions();
            double[] v = s.velocities().orElse(new double[3 * s.size()]);
            double[] m = s.masses();
            int[] z = s.atomicNumbers();
            for (int a = 0; a < taken.length; a++) {
                int row = taken[a];
                if (!rowValues.containsKey(row)) {
                    touchedRows.add(row);
                }
                rowValues.put(row, new double[] {p[3 * a], p[3 * a + 1], p[3 * a + 2], v[3 * a], v[3 * a + 1], v[3 * a + 2], m[a]});
                rowInts.put(row, new long[] {z[a], slot});
            }
            ledger.admit(slot, s, s.sampleId().orElseThrow(), false);
        }
        writeRows(touchedRows, rowValues, rowInts);
        writeSlots(changedSlots, assignments, entryStatus);
        if (segments != null) {
            segments.close();
            segments = null;
        }
        if (ptrArray != null) {
            ptrArray.close();
            ptrArray = null;
        }
        java.util.Set<Integer> touchedSlots = new java.util.TreeSet<>(changedSlots);
        touchedSlots.add(poolSlot);
        markSlotsChanged(touchedSlots);
    }

    private void writeRows(List<Integer> touched, Map<Integer, double[]> values, Map<Integer, long[]> ints) {
        int k = touched.size();
        if (k == 0) {
            return;
        }
        long[] index = new long[k];
        double[] p = new double[3 * k];
        double[] v = new double[3 * k];
        double[] m = new double[k];
        long[] z = new long[k];
        long[] slot = new long[k];
        long[] oldZ = null;
        for (int i = 0; i < k; i++) {
            int row = touched.get(i);
            index[i] = row;
            double[] val = values.get(row);
            System.arraycopy(val, 0, p, 3 * i, 3);
            System.arraycopy(val, 3, v, 3 * i, 3);
            m[i] = val[6];
            long[] in = ints.get(row);
            z[i] = in[0];
            slot[i] = in[1];
        }
        try (NDScope scope = new NDScope()) {
            NDArray rowIndex = manager.create(index);
            ai.djl.ndarray.index.NDIndex at = new ai.djl.ndarray.index.NDIndex("{}", rowIndex);
            for (int i = 0; i < k; i++) {
                if (z[i] < 0) { // a released row keeps its element so the model still accepts it
                    if (oldZ == null) {
                        oldZ = atomicNumbers().get(rowIndex).toLongArray();
                    }
                    z[i] = oldZ[i];
                }
            }
            positions().set(at, real(p, new Shape(k, 3)));
            velocities().set(at, real(v, new Shape(k, 3)));
            forces().set(at, real(new double[3 * k], new Shape(k, 3)));
            masses().set(at, real(m, new Shape(k)));
            atomicNumbers().set(at, manager.create(z));
            batchIndex().set(at, manager.create(slot));
        }
    }

    private void writeSlots(java.util.Set<Integer> slots, Map<Integer, AtomicSystem> assignments, int entryStatus) {
        int k = slots.size();
        long[] index = new long[k];
        double[] cell = new double[9 * k];
        boolean[] pbc = new boolean[3 * k];
        long[] status = new long[k];
        int i = 0;
        for (int slot : slots) {
            index[i] = slot;
            AtomicSystem s = assignments.get(slot);
            if (s != null) {
                System.arraycopy(s.cell(), 0, cell, 9 * i, 9);
                System.arraycopy(s.pbc(), 0, pbc, 3 * i, 3);
                status[i] = entryStatus;
            } else {
                status[i] = Status.VACANT;
            }
            i++;
        }
        try (NDScope scope = new NDScope()) {
            ai.djl.ndarray.index.NDIndex at = new ai.djl.ndarray.index.NDIndex("{}", manager.create(index));
            cell().set(at, real(cell, new Shape(k, 3, 3)));
            pbc().set(at, manager.create(pbc, new Shape(k, 3)));
            status().set(at, manager.create(status));
            energy().set(at, real(new double[k], new Shape(k)));
            stress().set(at, real(new double[9 * k], new Shape(k, 3, 3)));
        }
    }

    /** Per-system reductions for this batch's layout (built on first use). */
    public Segments segments() {
        if (segments == null) {
            segments = new Segments(manager, memberRows(), numAtoms(), batchIndex());
        }
        return segments;
    }

    /**
     * Returns the helper stored under {@code key}, creating it on first use; it is closed with the
     * batch.
     */
    @SuppressWarnings("unchecked")
    public <T extends AutoCloseable> T attachment(String key, java.util.function.Supplier<T> create) {
        return (T) attachments.computeIfAbsent(key, k -> create.get());
    }

    /** A counter that changes whenever positions change discontinuously (e.g. a refill). */
    public long structureVersion() {
        return structureVersion;
    }

    /** Records a discontinuous change of positions, so cached neighbor lists rebuild. */
    public void markStructureChanged() {
        structureVersion++;
        for (int i = 0; i < slotVersions.length; i++) {
            slotVersions[i] = structureVersion;
        }
    }

    /** Records that only these slots changed (a refill), so neighbor lists refresh only them. */
    public void markSlotsChanged(java.util.Collection<Integer> slots) {
        structureVersion++;
        for (int slot : slots) {
            slotVersions[slot] = structureVersion;
        }
    }

    /** Per slot, the structure version at which it last changed. */
    public long[] slotVersions() {
        return slotVersions.clone();
    }

    /** Whether a field (core or extra) exists. */
    public boolean has(String name) {
        return atomFields.containsKey(name) || systemFields.containsKey(name);
    }

    /** Whether {@code name} is a per-atom field. */
    public boolean isPerAtom(String name) {
        return atomFields.containsKey(name);
    }

    /** Returns a field by name. */
    public NDArray get(String name) {
        NDArray a = atomFields.get(name);
        if (a == null) {
            a = systemFields.get(name);
        }
        if (a == null) {
            throw new IllegalArgumentException(
                    "batch has no field '" + name + "'; fields: per-atom " + atomFields.keySet()
                            + ", per-system " + systemFields.keySet());
        }
        return a;
    }

    /**
     * Replaces an existing field. The batch takes ownership of {@code value} and frees the array it
     * replaces (do not keep references to it).
     *
     * @param name the field name
     * @param value an array whose first dimension matches the field (N or B) and whose shape
     *     equals the current one
     */
    public void set(String name, NDArray value) {
        Map<String, NDArray> fields = atomFields.containsKey(name) ? atomFields : systemFields;
        NDArray old = get(name);
        Preconditions.checkArgument(
                old.getShape().equals(value.getShape()),
                "field '%s' has shape %s, got %s",
                name,
                old.getShape(),
                value.getShape());
        Preconditions.checkArgument(old.getDataType() == value.getDataType(), "field '%s' is %s, got %s", name,
                old.getDataType(), value.getDataType());
        adopt(fields, name, value);
        ledger.fieldSet(name);
        statusAssigned |= name.equals(STATUS);
    }

    /** Sets every slot's status code from the host ({@code status.length} = {@link #numSystems()}). */
    public void setStatus(long[] status) {
        Preconditions.checkArgument(status.length == numSystems(), "%s status codes for %s slots", status.length,
                numSystems());
        try (NDScope scope = new NDScope()) {
            set(STATUS, owned(manager.create(status)));
        }
        ownLayout.put(get(STATUS), null); // made here: contiguous, in libtorch's memory
    }

    /**
     * Whether the statuses were set explicitly ({@code set(STATUS, ...)}) since the batch was
     * built. A batch whose statuses were never set starts every sample at the entry status of the
     * stage that runs it; explicit statuses are honoured.
     */
    public boolean statusAssigned() {
        return statusAssigned;
    }

    /**
     * Records that the latest forward pass computed no stress: the stress field is zeroed (once,
     * if any sample carried one) and results and snapshots carry no stress.
     */
    public void clearStress() {
        if (ledger.anyStress()) {
            adopt(systemFields, STRESS, stress().zerosLike());
            ledger.forgetStress();
        }
    }

    /**
     * Adds (or replaces) a named per-atom field for stage state; its first dimension must be N.
     */
    public void putAtomField(String name, NDArray value) {
        Preconditions.checkArgument(
                !systemFields.containsKey(name), "'%s' is already a per-system field", name);
        Preconditions.checkArgument(
                value.getShape().dimension() >= 1 && value.getShape().get(0) == numAtoms(),
                "per-atom field '%s' needs %s rows, got shape %s",
                name,
                numAtoms(),
                value.getShape());
        adopt(atomFields, name, value);
    }

    /**
     * Adds (or replaces) a named per-system field for stage state; its first dimension must be B.
     */
    public void putSystemField(String name, NDArray value) {
        Preconditions.checkArgument(
                !atomFields.containsKey(name), "'%s' is already a per-atom field", name);
        Preconditions.checkArgument(
                value.getShape().dimension() >= 1 && value.getShape().get(0) == numSystems(),
                "per-system field '%s' needs %s rows, got shape %s",
                name,
                numSystems(),
                value.getShape());
        adopt(systemFields, name, value);
    }

    /** Removes an extra field (core fields cannot be removed). */
    public void removeField(String name) {
        Preconditions.checkArgument(
                !CORE_ATOM_FIELDS.contains(name) && !CORE_SYSTEM_FIELDS.contains(name),
                "core field '%s' cannot be removed",
                name);
        NDArray old = atomFields.remove(name);
        if (old == null) {
            old = systemFields.remove(name);
        }
        if (old != null) {
            ownLayout.remove(old);
            old.close();
        }
    }

    /** Names of the per-system fields. */
    public Set<String> systemFieldNames() {
        return Set.copyOf(systemFields.keySet());
    }

    /** Names of the per-atom fields. */
    public Set<String> atomFieldNames() {
        return Set.copyOf(atomFields.keySet());
    }

    private void adopt(Map<String, NDArray> fields, String name, NDArray value) {
        Preconditions.checkArgument(
                value.getDevice().equals(getDevice()),
                "field '%s' is on %s, the batch on %s",
                name,
                value.getDevice(),
                getDevice());
        value.attach(manager);
        NDScope.unregister(value); // kept beyond the step scope that may have created it
        NDArray old = fields.put(name, value);
        if (old != null && old != value) {
            ownLayout.remove(old);
            old.close();
        }
    }

    /**
     * The memory of field {@code name} on the host, to read or write in place (CPU batches): a
     * native-order view of the array's own storage, valid until the field is replaced (it is not
     * by writes through it). Writes change the field at once, without a new array or a copy of
     * the rows not written; call {@link #markWritten} after writing.
     *
     * @throws IllegalStateException on a batch that is not on a CPU
     */
    public ByteBuffer hostMemory(String name) {
        Preconditions.checkState(getDevice().getDeviceType().equals(Device.Type.CPU),
                "host memory of field '%s' is only for CPU batches; this one is on %s", name, getDevice());
        NDArray array = get(name);
        if (!ownLayout.containsKey(array)) {
            array = ownCopy(array);
            adopt(atomFields.containsKey(name) ? atomFields : systemFields, name, array);
            ownLayout.put(array, null);
        }
        return ownMemory(array);
    }

    /** The memory of one of the batch's own arrays, a fresh view (position 0, native order) of the one asked once. */
    private ByteBuffer ownMemory(NDArray array) {
        ByteBuffer memory = ownLayout.computeIfAbsent(array, a -> a.toByteBuffer(true));
        return memory.duplicate().order(ByteOrder.nativeOrder());
    }

    /**
     * {@code array} moved into libtorch's own memory. DJL's {@code create} of a Java array wraps a
     * Java direct buffer (from_blob) that only the returned NDArray keeps alive; a field must not
     * be such an array, because a step graph may return a view of its input as the field's next
     * value: once the batch closes the old array, the buffer can be freed under that view (seen as
     * heap corruption in compiled runs). A clone owns its storage, and views keep it alive.
     */
    private static NDArray owned(NDArray wrapsJavaMemory) {
        NDArray copy = wrapsJavaMemory.duplicate();
        wrapsJavaMemory.close();
        return copy;
    }

    /** A contiguous copy of {@code array} in libtorch's memory (same values, dtype and shape). */
    private NDArray ownCopy(NDArray array) {
        Shape shape = array.getShape();
        return switch (array.getDataType()) {
            case FLOAT64, FLOAT32 -> HostArrays.create(manager, HostArrays.doubles(array), shape, array.getDataType());
            case INT64 -> owned(manager.create(array.toLongArray(), shape));
            case BOOLEAN -> owned(manager.create(array.toBooleanArray(), shape));
            default -> throw new IllegalArgumentException("field of type " + array.getDataType() + " has no host memory form");
        };
    }

    /** Records that field {@code name} was written through {@link #hostMemory} (as {@link #set} records a new value). */
    public void markWritten(String name) {
        ledger.fieldSet(name);
        statusAssigned |= name.equals(STATUS);
    }

    /**
     * Field {@code name} as float64 on the host (integers converted, flags 1 and 0): for a float or
     * int64 field on a CPU a copy straight out of its memory (no intermediate buffers), else a read.
     */
    public double[] hostDoubles(String name) {
        return hostDoubles(name, double[]::new);
    }

    /**
     * {@link #hostDoubles(String)}, copied into an array from {@code allocate} (given the length)
     * where the field's memory is read directly, so that a caller can reuse its arrays.
     */
    public double[] hostDoubles(String name, java.util.function.IntFunction<double[]> allocate) {
        NDArray array = get(name);
        double[] read = readInPlace(array, memory -> {
            double[] out = allocate.apply(Math.toIntExact(array.size()));
            HostArrays.read(memory, array.getDataType(), out);
            return out;
        });
        return read != null ? read : HostArrays.doubles(array);
    }

    /**
     * Rows {@code rows} (ascending batch rows) of per-atom field {@code name} as float64, one row
     * after another ({@code width} numbers each: the field's second dimension, or 1), in an array
     * from {@code allocate} (given the length): what a stage reads of its own samples.
     */
    public double[] hostRows(String name, int[] rows, java.util.function.IntFunction<double[]> allocate) {
        NDArray array = get(name);
        Preconditions.checkArgument(atomFields.containsKey(name), "'%s' is not a per-atom field", name);
        int width = Math.toIntExact(array.size() / Math.max(1, numAtoms()));
        double[] out = allocate.apply(rows.length * width);
        if (readInPlace(array, memory -> {
            HostArrays.readRows(memory, array.getDataType(), rows, width, out);
            return out;
        }) == null) {
            double[] all = HostArrays.doubles(array);
            for (int k = 0; k < rows.length; k++) {
                System.arraycopy(all, rows[k] * width, out, k * width, width);
            }
        }
        return out;
    }

    /**
     * What {@code reader} makes of the memory of a float or int64 array on a CPU; null (nothing
     * read) for other arrays. The batch's own arrays are read in place; another (a
     * model's output) is read in place where it is contiguous, else from a contiguous copy that
     * lives only during the read: a copy into a new direct buffer and then a Java array cost 17 us
     * per read of 2000 atoms' forces.
     */
    private <T> T readInPlace(NDArray array, java.util.function.Function<ByteBuffer, T> reader) {
        DataType type = array.getDataType();
        boolean readable = type == DataType.FLOAT64 || type == DataType.FLOAT32 || type == DataType.INT64;
        if (!readable || !getDevice().getDeviceType().equals(Device.Type.CPU)) {
            return null;
        }
        if (ownLayout.containsKey(array)) {
            return reader.apply(ownMemory(array));
        }
        try (NDScope scope = new NDScope()) { // frees the contiguous copy toByteBuffer makes of a strided array
            return reader.apply(array.toByteBuffer(true).order(ByteOrder.nativeOrder()));
        }
    }

    /**
     * Reads every occupied slot back to the host, in slot order, with energy, forces and stress
     * where known.
     */
    public List<AtomicSystem> toSystems() {
        List<Integer> occupied = new ArrayList<>();
        for (int i = 0; i < numSystems(); i++) {
            if (isOccupied(i)) {
                occupied.add(i);
            }
        }
        return systems(occupied);
    }

    /** Reads the given occupied slots back to the host. */
    public List<AtomicSystem> systems(List<Integer> slotsToRead) {
        double[] positions = toDoubles(positions());
        double[] velocities = toDoubles(velocities());
        double[] forces = toDoubles(forces());
        double[] energy = toDoubles(energy());
        double[] stress = toDoubles(stress());
        double[] masses = toDoubles(masses());
        double[] cell = toDoubles(cell());
        long[] numbers = atomicNumbers().toLongArray();
        boolean[] pbc = pbc().toBooleanArray();
        List<AtomicSystem> out = new ArrayList<>(slotsToRead.size());
        for (int i : slotsToRead) {
            Preconditions.checkArgument(isOccupied(i), "slot %s is vacant", i);
            int[] r = slots.rows(i);
            int[] z = new int[r.length];
            double[] p = new double[3 * r.length];
            double[] v = new double[3 * r.length];
            double[] f = new double[3 * r.length];
            double[] m = new double[r.length];
            for (int a = 0; a < r.length; a++) {
                z[a] = (int) numbers[r[a]];
                m[a] = masses[r[a]];
                System.arraycopy(positions, 3 * r[a], p, 3 * a, 3);
                System.arraycopy(velocities, 3 * r[a], v, 3 * a, 3);
                System.arraycopy(forces, 3 * r[a], f, 3 * a, 3);
            }
            AtomicSystem.Builder b = AtomicSystem.builder()
                    .positions(p)
                    .atomicNumbers(z)
                    .optMasses(m)
                    .optCell(Arrays.copyOfRange(cell, 9 * i, 9 * i + 9))
                    .optPbc(Arrays.copyOfRange(pbc, 3 * i, 3 * i + 3));
            if (ledger.knowsVelocities(i)) {
                b.optVelocities(v);
            }
            if (ledger.knowsForces(i)) {
                b.optForces(f);
            }
            if (ledger.knowsEnergy(i)) {
                b.optEnergy(energy[i]);
            }
            // The stress is defined for cells periodic in all three directions only (as ASE's
            // calculators): a slab, wire or cluster is written without one, never with zeros.
            if (ledger.knowsStress(i) && pbc[3 * i] && pbc[3 * i + 1] && pbc[3 * i + 2]) {
                b.optStress(Arrays.copyOfRange(stress, 9 * i, 9 * i + 9));
            }
            ledger.extraArrays(i).forEach(b::optArray);
            ledger.info(i).forEach(b::optInfo);
            b.optSampleId(ledger.id(i));
            out.add(b.build());
        }
        return out;
    }

    private static double[] toDoubles(NDArray array) {
        if (array.getDataType() == DataType.FLOAT64) {
            return array.toDoubleArray();
        }
        try (NDArray converted = array.toType(DataType.FLOAT64, true)) {
            return converted.toDoubleArray();
        }
    }

    @Override
    public void close() {
        for (AutoCloseable a : attachments.values()) {
            try {
                a.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + a, e);
            }
        }
        attachments.clear();
        manager.close();
    }

    @Override
    public String toString() {
        return "Batch(systems=" + numSystems() + ", atoms=" + numAtoms() + ", dtype=" + dataType
                + ", device=" + getDevice() + ", extra=" + extraFieldNames() + ")";
    }

    private List<String> extraFieldNames() {
        List<String> names = new ArrayList<>();
        atomFields.keySet().stream().filter(k -> !CORE_ATOM_FIELDS.contains(k)).forEach(names::add);
        systemFields.keySet().stream().filter(k -> !CORE_SYSTEM_FIELDS.contains(k)).forEach(names::add);
        return ImmutableList.copyOf(names);
    }

    /** Builder of {@link Batch}: device and dtype are optional (CPU, float64). */
    public static final class Builder {
        private final List<AtomicSystem> systems;
        private Device device;
        private DataType dataType = DataType.FLOAT64;
        private int slotCapacity;
        private int atomCapacity;

        private Builder(List<AtomicSystem> systems) {
            this.systems = List.copyOf(systems);
        }

        /** The device; default: the manager's device. */
        public Builder optDevice(Device device) {
            this.device = device;
            return this;
        }

        /** Float32 or float64 (default). */
        public Builder optDataType(DataType dataType) {
            this.dataType = dataType;
            return this;
        }

        /**
         * Makes an inflight batch: {@code slots} system slots and {@code atoms} atom rows, the
         * given systems in the first slots, the remaining rows in a pool from which
         * {@link Batch#replace} refills slots in place.
         */
        public Builder optCapacity(int slots, int atoms) {
            Preconditions.checkArgument(slots >= 1 && atoms >= 1, "capacity must be positive, got %s slots, %s atoms",
                    slots, atoms);
            this.slotCapacity = slots;
            this.atomCapacity = atoms;
            return this;
        }

        /** Builds the batch with a child manager of {@code manager}. */
        public Batch build(NDManager manager) {
            return new Batch(systems, manager, device == null ? manager.getDevice() : device, dataType,
                    slotCapacity, atomCapacity);
        }
    }
}
