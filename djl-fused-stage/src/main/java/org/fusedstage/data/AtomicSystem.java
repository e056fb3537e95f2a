package org.fusedstage.data;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One atomic structure: positions (A), atomic numbers, masses (amu), cell (A), periodic
 * boundaries, optional velocities (A/fs), optional known energy (eV), forces (eV/A) and stress
 * (eV/A^3), extra per-atom arrays and an info map that holds the stable sample id.
 *
 * <p>Immutable and validated on construction: shapes agree, every number is finite, masses are
 * positive, atomic numbers are known elements and the lattice vectors of the periodic axes are
 * linearly independent. Arrays passed in or returned are copies.
 *
 * <p>The cell is three lattice vectors as rows, row-major ({@code cell[3*i + k]} is component k
 * of vector i), the ASE convention.
 */
public final class AtomicSystem {

    /** The info key under which the stable sample id is stored (also in extxyz files). */
    public static final String SAMPLE_ID_KEY = "sample_id";

    private static final double SINGULAR_CELL_TOLERANCE = 1e-10;

    private final double[] positions;
    private final int[] atomicNumbers;
    private final double[] masses;
    private final double[] cell;
    private final boolean[] pbc;
    private final double[] velocities;
    private final Double energy;
    private final double[] forces;
    private final double[] stress;
    private final ImmutableMap<String, PerAtomArray> arrays;
    private final ImmutableMap<String, Object> info;

    private AtomicSystem(Builder b) {
        Preconditions.checkArgument(b.positions != null, "positions are required");
        Preconditions.checkArgument(b.atomicNumbers != null, "atomic numbers are required");
        int n = b.atomicNumbers.length;
        Preconditions.checkArgument(n > 0, "a system needs at least one atom");
        checkLength("positions", b.positions, 3 * n, n);
        for (int i = 0; i < n; i++) {
            Preconditions.checkArgument(
                    Elements.isKnown(b.atomicNumbers[i]),
                    "atom %s: unknown atomic number %s",
                    i,
                    b.atomicNumbers[i]);
        }
        double[] m = b.masses;
        if (m == null) {
            m = new double[n];
            for (int i = 0; i < n; i++) {
                m[i] = Elements.standardMass(b.atomicNumbers[i]);
            }
        } else {
            checkLength("masses", m, n, n);
            for (int i = 0; i < n; i++) {
                Preconditions.checkArgument(
                        m[i] > 0 && Double.isFinite(m[i]),
                        "atom %s: mass must be positive and finite, got %s",
                        i,
                        (Object) m[i]);
            }
        }
        double[] c = b.cell == null ? new double[9] : b.cell;
        Preconditions.checkArgument(c.length == 9, "cell needs 9 values (3x3), got %s", c.length);
        checkFinite("cell", c);
        boolean[] p = b.pbc == null ? new boolean[3] : b.pbc;
        Preconditions.checkArgument(p.length == 3, "pbc needs 3 flags, got %s", p.length);
        checkPeriodicCell(c, p);
        if (b.velocities != null) {
            checkLength("velocities", b.velocities, 3 * n, n);
        }
        if (b.forces != null) {
            checkLength("forces", b.forces, 3 * n, n);
        }
        if (b.stress != null) {
            Preconditions.checkArgument(
                    b.stress.length == 9, "stress needs 9 values (3x3), got %s", b.stress.length);
            checkFinite("stress", b.stress);
        }
        if (b.energy != null) {
            Preconditions.checkArgument(
                    Double.isFinite(b.energy), "energy must be finite, got %s", b.energy);
        }
        for (Map.Entry<String, PerAtomArray> e : b.arrays.entrySet()) {
            Preconditions.checkArgument(
                    e.getValue().rows() == n,
                    "per-atom array '%s' has %s rows for %s atoms",
                    e.getKey(),
                    e.getValue().rows(),
                    n);
        }
        this.positions = b.positions.clone();
        this.atomicNumbers = b.atomicNumbers.clone();
        this.masses = m.clone();
        this.cell = c.clone();
        this.pbc = p.clone();
        this.velocities = b.velocities == null ? null : b.velocities.clone();
        this.energy = b.energy;
        this.forces = b.forces == null ? null : b.forces.clone();
        this.stress = b.stress == null ? null : b.stress.clone();
        this.arrays = ImmutableMap.copyOf(b.arrays);
        this.info = ImmutableMap.copyOf(b.info);
    }

    private static void checkLength(String name, double[] values, int expected, int atoms) {
        Preconditions.checkArgument(
                values.length == expected,
                "%s: expected %s values for %s atoms, got %s",
                name,
                expected,
                atoms,
                values.length);
        checkFinite(name, values);
    }

    private static void checkFinite(String name, double[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException(
                        name + ": non-finite value " + values[i] + " at index " + i
                                + (values.length % 3 == 0 ? " (atom/row " + i / 3 + ")" : ""));
            }
        }
    }

    /**
     * The lattice vectors of the periodic axes must span a non-degenerate space: their Gram
     * determinant relative to their lengths must not vanish.
     */
    private static void checkPeriodicCell(double[] c, boolean[] p) {
        int[] axes = new int[3];
        int k = 0;
        for (int i = 0; i < 3; i++) {
            if (p[i]) {
                axes[k++] = i;
            }
        }
        if (k == 0) {
            return;
        }
        double[][] gram = new double[k][k];
        double scale = 1;
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                for (int x = 0; x < 3; x++) {
                    gram[a][b] += c[3 * axes[a] + x] * c[3 * axes[b] + x];
                }
            }
            scale *= gram[a][a];
        }
        double det = determinant(gram);
        if (!(scale > 0) || det <= SINGULAR_CELL_TOLERANCE * scale) {
            throw new IllegalArgumentException(
                    "cell is singular on its periodic axes " + Arrays.toString(p)
                            + ": lattice vectors " + Arrays.toString(c)
                            + " are zero or linearly dependent");
        }
    }

    private static double determinant(double[][] g) {
        return switch (g.length) {
            case 1 -> g[0][0];
            case 2 -> g[0][0] * g[1][1] - g[0][1] * g[1][0];
            default -> g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1])
                    - g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0])
                    + g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
        };
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder pre-filled with this system, to derive a modified copy. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.positions = positions;
        b.atomicNumbers = atomicNumbers;
        b.masses = masses;
        b.cell = cell;
        b.pbc = pbc;
        b.velocities = velocities;
        b.energy = energy;
        b.forces = forces;
        b.stress = stress;
        b.arrays.putAll(arrays);
        b.info.putAll(info);
        return b;
    }

    /** Number of atoms. */
    public int size() {
        return atomicNumbers.length;
    }

    /** Positions in A, [N*3] row-major. */
    public double[] positions() {
        return positions.clone();
    }

    /** Atomic numbers [N]. */
    public int[] atomicNumbers() {
        return atomicNumbers.clone();
    }

    /** Masses in amu [N]. */
    public double[] masses() {
        return masses.clone();
    }

    /** Cell in A, 3 lattice vectors as rows, [9] row-major. */
    public double[] cell() {
        return cell.clone();
    }

    /** Periodic boundary flags per axis [3]. */
    public boolean[] pbc() {
        return pbc.clone();
    }

    /** Velocities in A/fs [N*3], if known. */
    public Optional<double[]> velocities() {
        return Optional.ofNullable(velocities).map(double[]::clone);
    }

    /** Potential energy in eV, if known. */
    public Optional<Double> energy() {
        return Optional.ofNullable(energy);
    }

    /** Forces in eV/A [N*3], if known. */
    public Optional<double[]> forces() {
        return Optional.ofNullable(forces).map(double[]::clone);
    }

    /** Stress in eV/A^3 [9] row-major, if known. */
    public Optional<double[]> stress() {
        return Optional.ofNullable(stress).map(double[]::clone);
    }

    /** Extra per-atom arrays by name. */
    public ImmutableMap<String, PerAtomArray> arrays() {
        return arrays;
    }

    /**
     * Per-structure info: strings, {@code Long}, {@code Double}, {@code Boolean}, or immutable
     * lists of these.
     */
    public ImmutableMap<String, Object> info() {
        return info;
    }

    /** The stable sample id, if one was given. */
    public Optional<String> sampleId() {
        Object id = info.get(SAMPLE_ID_KEY);
        return id == null ? Optional.empty() : Optional.of(id.toString());
    }

    /** Chemical formula in the order atoms appear first, e.g. "Ar32" or "CuAg3". */
    public String formula() {
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        for (int z : atomicNumbers) {
            counts.merge(z, 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder();
        counts.forEach((z, count) -> sb.append(Elements.symbolOf(z)).append(count == 1 ? "" : count));
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AtomicSystem s
                && Arrays.equals(positions, s.positions)
                && Arrays.equals(atomicNumbers, s.atomicNumbers)
                && Arrays.equals(masses, s.masses)
                && Arrays.equals(cell, s.cell)
                && Arrays.equals(pbc, s.pbc)
                && Arrays.equals(velocities, s.velocities)
                && java.util.Objects.equals(energy, s.energy)
                && Arrays.equals(forces, s.forces)
                && Arrays.equals(stress, s.stress)
                && arrays.equals(s.arrays)
                && info.equals(s.info);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(positions) + Arrays.hashCode(atomicNumbers);
    }

    @Override
    public String toString() {
        return "AtomicSystem(" + formula() + ", pbc=" + Arrays.toString(pbc)
                + sampleId().map(id -> ", id=" + id).orElse("") + ")";
    }

    /** Builder of {@link AtomicSystem}; {@code positions} and {@code atomicNumbers} are required. */
    public static final class Builder {
        private double[] positions;
        private int[] atomicNumbers;
        private double[] masses;
        private double[] cell;
        private boolean[] pbc;
        private double[] velocities;
        private Double energy;
        private double[] forces;
        private double[] stress;
        private final Map<String, PerAtomArray> arrays = new LinkedHashMap<>();
        private final Map<String, Object> info = new LinkedHashMap<>();

        private Builder() {}

        /** Positions in A, [N*3] row-major. */
        public Builder positions(double[] positions) {
            this.positions = positions;
            return this;
        }

        /** Atomic numbers [N]. */
        public Builder atomicNumbers(int[] atomicNumbers) {
            this.atomicNumbers = atomicNumbers;
            return this;
        }

        /** Element symbols [N], converted to atomic numbers. */
        public Builder symbols(String... symbols) {
            int[] z = new int[symbols.length];
            for (int i = 0; i < symbols.length; i++) {
                final int atom = i;
                z[i] = Elements.numberOf(symbols[i])
                        .orElseThrow(() -> new IllegalArgumentException(
                                "atom " + atom + ": unknown element symbol '" + symbols[atom] + "'"));
            }
            this.atomicNumbers = z;
            return this;
        }

        /** Masses in amu [N]; default: standard atomic weights. */
        public Builder optMasses(double[] masses) {
            this.masses = masses;
            return this;
        }

        /** Cell in A, lattice vectors as rows [9]; default: all zero (no cell). */
        public Builder optCell(double[] cell) {
            this.cell = cell;
            return this;
        }

        /** Periodic boundary flags [3]; default: open on every axis. */
        public Builder optPbc(boolean... pbc) {
            this.pbc = pbc;
            return this;
        }

        /** Velocities in A/fs [N*3]. */
        public Builder optVelocities(double[] velocities) {
            this.velocities = velocities;
            return this;
        }

        /** Known potential energy in eV. */
        public Builder optEnergy(Double energy) {
            this.energy = energy;
            return this;
        }

        /** Known forces in eV/A [N*3]. */
        public Builder optForces(double[] forces) {
            this.forces = forces;
            return this;
        }

        /** Known stress in eV/A^3 [9]. */
        public Builder optStress(double[] stress) {
            this.stress = stress;
            return this;
        }

        /** Adds (or replaces) an extra per-atom array. */
        public Builder optArray(String name, PerAtomArray array) {
            arrays.put(Preconditions.checkNotNull(name), Preconditions.checkNotNull(array));
            return this;
        }

        /** Removes an extra per-atom array, if present. */
        public Builder removeArray(String name) {
            arrays.remove(name);
            return this;
        }

        /** Adds (or replaces) an info entry; see {@link AtomicSystem#info()} for value types. */
        public Builder optInfo(String key, Object value) {
            Preconditions.checkNotNull(key, "info key");
            Preconditions.checkArgument(
                    value instanceof String
                            || value instanceof Long
                            || value instanceof Double
                            || value instanceof Boolean
                            || value instanceof ImmutableList,
                    "info '%s': unsupported value type %s",
                    key,
                    value == null ? "null" : value.getClass().getSimpleName());
            info.put(key, value);
            return this;
        }

        /** Sets the stable sample id (info key {@value AtomicSystem#SAMPLE_ID_KEY}). */
        public Builder optSampleId(String id) {
            Preconditions.checkArgument(id != null && !id.isBlank(), "sample id must not be blank");
            info.put(SAMPLE_ID_KEY, id);
            return this;
        }

        /** Validates and builds. */
        public AtomicSystem build() {
            return new AtomicSystem(this);
        }
    }
}
