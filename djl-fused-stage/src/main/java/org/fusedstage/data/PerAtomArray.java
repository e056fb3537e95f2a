package org.fusedstage.data;

import com.google.common.base.Preconditions;
import java.util.Arrays;

/**
 * An extra per-atom array carried by a structure (for example ASE's {@code tags} or
 * {@code initial_charges}): a type, a column count and {@code atoms * columns} values, row-major.
 * Immutable.
 */
public final class PerAtomArray {

    /** Column types of the extxyz {@code Properties} key. */
    public enum Type {
        /** Floating point ("R"). */
        REAL('R'),
        /** Integer ("I"). */
        INTEGER('I'),
        /** Logical ("L"). */
        LOGICAL('L'),
        /** String ("S"). */
        STRING('S');

        private final char code;

        Type(char code) {
            this.code = code;
        }

        /** The extxyz type letter. */
        public char code() {
            return code;
        }

        /** Parses an extxyz type letter. */
        public static Type fromCode(char code) {
            for (Type t : values()) {
                if (t.code == Character.toUpperCase(code)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown extxyz column type '" + code + "'");
        }
    }

    private final Type type;
    private final int columns;
    private final String[] values;

    /**
     * Creates an array from values in their canonical text form (numbers as Java prints them).
     *
     * @param type the column type
     * @param columns columns per atom (1 or more)
     * @param values atoms * columns values, row-major
     */
    public PerAtomArray(Type type, int columns, String[] values) {
        Preconditions.checkArgument(columns >= 1, "columns must be >= 1, got %s", columns);
        Preconditions.checkArgument(
                values.length % columns == 0,
                "%s values do not fill rows of %s columns",
                values.length,
                columns);
        this.type = Preconditions.checkNotNull(type);
        this.columns = columns;
        this.values = values.clone();
    }

    /** Creates a real-valued array. */
    public static PerAtomArray ofReals(int columns, double[] values) {
        String[] text = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            text[i] = Double.toString(values[i]);
        }
        return new PerAtomArray(Type.REAL, columns, text);
    }

    /** The column type. */
    public Type type() {
        return type;
    }

    /** Columns per atom. */
    public int columns() {
        return columns;
    }

    /** Number of atoms (rows). */
    public int rows() {
        return values.length / columns;
    }

    /** The value of atom {@code row}, column {@code column}, as text. */
    public String get(int row, int column) {
        return values[row * columns + column];
    }

    /** All values as doubles (REAL and INTEGER arrays). */
    public double[] toDoubles() {
        Preconditions.checkState(
                type == Type.REAL || type == Type.INTEGER, "a %s array is not numeric", type);
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Double.parseDouble(values[i]);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PerAtomArray other
                && type == other.type
                && columns == other.columns
                && Arrays.equals(values, other.values);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * type.hashCode() + columns) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "PerAtomArray(" + type + "x" + columns + ", rows=" + rows() + ")";
    }
}
