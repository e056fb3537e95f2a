package org.fusedstage.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
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
 * {@code status [B]} int64); {@code ptr [B+1]} int64 holds the first atom of each system. Stages
 * add named per-system or per-atom fields for their own state (FIRE's dt, step counters...).
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

    private static final Set<String> CORE_ATOM_FIELDS =
            Set.of(POSITIONS, VELOCITIES, FORCES, MASSES, ATOMIC_NUMBERS, BATCH);
    private static final Set<String> CORE_SYSTEM_FIELDS = Set.of(ENERGY, STRESS, CELL, PBC, STATUS);

    private final NDManager manager;
    private final DataType dataType;
    private final int[] ptr;
    private final List<String> sampleIds;
    private final List<ImmutableMap<String, Object>> infos;
    private final List<ImmutableMap<String, PerAtomArray>> extraArrays;
    private final NDArray ptrArray;
    private Segments segments;
    // Helpers tied to this batch's arrays (neighbor lists...), closed with it.
    private final Map<String, AutoCloseable> attachments = new LinkedHashMap<>();
    // Bumped when positions jump discontinuously (new samples in slots): cached geometry rebuilds.
    private long structureVersion;
    // Steps each sample has taken since it entered the batch: keys its random streams, so noise
    // does not depend on batch-mates or on when the sample was loaded.
    private final long[] ages;
    private final Map<String, NDArray> atomFields = new LinkedHashMap<>();
    private final Map<String, NDArray> systemFields = new LinkedHashMap<>();
    // Which systems carry known values (from their input or from a later set), per system.
    private final boolean[] hasVelocities;
    private final boolean[] hasEnergy;
    private final boolean[] hasForces;
    private final boolean[] hasStress;

    private Batch(List<AtomicSystem> systems, NDManager parent, Device device, DataType dataType) {
        Preconditions.checkArgument(!systems.isEmpty(), "a batch needs at least one system");
        Preconditions.checkArgument(
                dataType == DataType.FLOAT32 || dataType == DataType.FLOAT64,
                "dtype must be float32 or float64, got %s",
                dataType);
        this.dataType = dataType;
        int b = systems.size();
        ptr = new int[b + 1];
        for (int i = 0; i < b; i++) {
            ptr[i + 1] = ptr[i] + systems.get(i).size();
        }
        int n = ptr[b];
        double[] positions = new double[3 * n];
        double[] velocities = new double[3 * n];
        double[] forces = new double[3 * n];
        double[] masses = new double[n];
        long[] numbers = new long[n];
        long[] batchIndex = new long[n];
        double[] energy = new double[b];
        double[] stress = new double[9 * b];
        double[] cell = new double[9 * b];
        boolean[] pbc = new boolean[3 * b];
        List<String> ids = new ArrayList<>(b);
        List<ImmutableMap<String, Object>> infoList = new ArrayList<>(b);
        List<ImmutableMap<String, PerAtomArray>> arraysList = new ArrayList<>(b);
        hasVelocities = new boolean[b];
        hasEnergy = new boolean[b];
        hasForces = new boolean[b];
        hasStress = new boolean[b];
        for (int i = 0; i < b; i++) {
            AtomicSystem s = systems.get(i);
            int start = ptr[i];
            System.arraycopy(s.positions(), 0, positions, 3 * start, 3 * s.size());
            System.arraycopy(s.masses(), 0, masses, start, s.size());
            int[] z = s.atomicNumbers();
            for (int a = 0; a < z.length; a++) {
                numbers[start + a] = z[a];
                batchIndex[start + a] = i;
            }
            System.arraycopy(s.cell(), 0, cell, 9 * i, 9);
            System.arraycopy(s.pbc(), 0, pbc, 3 * i, 3);
            hasVelocities[i] = copyIfPresent(s.velocities().orElse(null), velocities, 3 * start);
            hasForces[i] = copyIfPresent(s.forces().orElse(null), forces, 3 * start);
            hasStress[i] = copyIfPresent(s.stress().orElse(null), stress, 9 * i);
            hasEnergy[i] = s.energy().isPresent();
            energy[i] = s.energy().orElse(0.0);
            ids.add(s.sampleId().orElse(Integer.toString(i)));
            infoList.add(s.info());
            arraysList.add(s.arrays());
        }
        Preconditions.checkArgument(
                ids.stream().distinct().count() == ids.size(), "duplicate sample ids in %s", ids);
        this.sampleIds = new ArrayList<>(ids);
        this.ages = new long[b];
        this.infos = infoList;
        this.extraArrays = arraysList;
        this.manager = parent.newSubManager(device);
        manager.setName("batch");
        atomFields.put(POSITIONS, real(positions, new Shape(n, 3)));
        atomFields.put(VELOCITIES, real(velocities, new Shape(n, 3)));
        atomFields.put(FORCES, real(forces, new Shape(n, 3)));
        atomFields.put(MASSES, real(masses, new Shape(n)));
        atomFields.put(ATOMIC_NUMBERS, manager.create(numbers, new Shape(n)));
        atomFields.put(BATCH, manager.create(batchIndex, new Shape(n)));
        systemFields.put(ENERGY, real(energy, new Shape(b)));
        systemFields.put(STRESS, real(stress, new Shape(b, 3, 3)));
        systemFields.put(CELL, real(cell, new Shape(b, 3, 3)));
        systemFields.put(PBC, manager.create(pbc, new Shape(b, 3)));
        systemFields.put(STATUS, manager.zeros(new Shape(b), DataType.INT64));
        ptrArray = manager.create(Arrays.stream(ptr).asLongStream().toArray());
        // The batch owns its arrays, also when it is built inside a caller's NDScope.
        NDScope.unregister(ptrArray);
        atomFields.values().forEach(NDScope::unregister);
        systemFields.values().forEach(NDScope::unregister);
    }

    private static boolean copyIfPresent(double[] source, double[] target, int offset) {
        if (source == null) {
            return false;
        }
        System.arraycopy(source, 0, target, offset, source.length);
        return true;
    }

    private NDArray real(double[] values, Shape shape) {
        NDArray array = manager.create(values, shape);
        if (dataType == DataType.FLOAT64) {
            return array;
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

    /** Number of systems B. */
    public int numSystems() {
        return ptr.length - 1;
    }

    /** Number of atoms N over all systems. */
    public int numAtoms() {
        return ptr[ptr.length - 1];
    }

    /** Number of atoms of system {@code i}. */
    public int atomCount(int i) {
        return ptr[i + 1] - ptr[i];
    }

    /** First-atom offsets [B+1] on the host (the device copy is field {@link #PTR}). */
    public int[] ptrHost() {
        return ptr.clone();
    }

    /** Stable sample ids in batch order. */
    public List<String> sampleIds() {
        return List.copyOf(sampleIds);
    }

    /** Steps taken by each sample since it entered this batch (host side). */
    public long[] ages() {
        return ages.clone();
    }

    /** Counts one more step for every sample (called once per step by the driver of the run). */
    public void advanceAges() {
        for (int i = 0; i < ages.length; i++) {
            ages[i]++;
        }
    }

    /** Stable 64-bit keys of the sample ids, for per-sample random streams. */
    public long[] sampleKeys() {
        long[] keys = new long[sampleIds.size()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = com.google.common.hash.Hashing.murmur3_128()
                    .hashString(sampleIds.get(i), java.nio.charset.StandardCharsets.UTF_8)
                    .asLong();
        }
        return keys;
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

    /** First-atom offsets [B+1], int64, on the batch device. */
    public NDArray ptr() {
        return ptrArray;
    }

    /** Per-system reductions for this batch's layout (built on first use). */
    public Segments segments() {
        if (segments == null) {
            segments = new Segments(manager, ptr, batchIndex());
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
        adopt(fields, name, value);
        switch (name) {
            case FORCES -> Arrays.fill(hasForces, true);
            case ENERGY -> Arrays.fill(hasEnergy, true);
            case STRESS -> Arrays.fill(hasStress, true);
            case VELOCITIES -> Arrays.fill(hasVelocities, true);
            default -> { }
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
            old.close();
        }
    }

    /** Reads every system back to the host, with energy, forces and stress where known. */
    public List<AtomicSystem> toSystems() {
        double[] positions = toDoubles(positions());
        double[] velocities = toDoubles(velocities());
        double[] forces = toDoubles(forces());
        double[] energy = toDoubles(energy());
        double[] stress = toDoubles(stress());
        double[] masses = toDoubles(masses());
        double[] cell = toDoubles(cell());
        long[] numbers = atomicNumbers().toLongArray();
        boolean[] pbc = pbc().toBooleanArray();
        List<AtomicSystem> out = new ArrayList<>(numSystems());
        for (int i = 0; i < numSystems(); i++) {
            int start = ptr[i];
            int end = ptr[i + 1];
            int[] z = new int[end - start];
            for (int a = 0; a < z.length; a++) {
                z[a] = (int) numbers[start + a];
            }
            AtomicSystem.Builder b = AtomicSystem.builder()
                    .positions(Arrays.copyOfRange(positions, 3 * start, 3 * end))
                    .atomicNumbers(z)
                    .optMasses(Arrays.copyOfRange(masses, start, end))
                    .optCell(Arrays.copyOfRange(cell, 9 * i, 9 * i + 9))
                    .optPbc(Arrays.copyOfRange(pbc, 3 * i, 3 * i + 3));
            if (hasVelocities[i]) {
                b.optVelocities(Arrays.copyOfRange(velocities, 3 * start, 3 * end));
            }
            if (hasForces[i]) {
                b.optForces(Arrays.copyOfRange(forces, 3 * start, 3 * end));
            }
            if (hasEnergy[i]) {
                b.optEnergy(energy[i]);
            }
            if (hasStress[i]) {
                b.optStress(Arrays.copyOfRange(stress, 9 * i, 9 * i + 9));
            }
            extraArrays.get(i).forEach(b::optArray);
            infos.get(i).forEach(b::optInfo);
            b.optSampleId(sampleIds.get(i));
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

        /** Builds the batch with a child manager of {@code manager}. */
        public Batch build(NDManager manager) {
            return new Batch(systems, manager, device == null ? manager.getDevice() : device, dataType);
        }
    }
}
