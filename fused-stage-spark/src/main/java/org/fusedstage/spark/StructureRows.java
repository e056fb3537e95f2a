package org.fusedstage.spark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.fusedstage.data.AtomicSystem;

/**
 * The DataFrame schemas of structures and results, and the conversion of rows to and from
 * {@link AtomicSystem}. Names follow ASE; per-atom vectors are flat, row-major arrays (atom a's x,
 * y, z at 3a, 3a+1, 3a+2), which Parquet stores compactly.
 *
 * <p>Structure columns: {@code id} (string, unique), {@code numbers} (array of int, atomic
 * numbers), {@code positions} (array of double, 3N, A), {@code cell} (array of double, 9, lattice
 * vectors as rows, A; null or zeros for no cell), {@code pbc} (array of boolean, 3; null = no
 * periodicity), {@code velocities} (3N, A/fs, nullable), {@code masses} (N, amu, nullable),
 * {@code info} (map of string to string, nullable; the extxyz comment's key=value pairs).
 *
 * <p>Outcome columns (what a run writes) add {@code energy} (eV), {@code forces} (3N, eV/A),
 * {@code stress} (9, eV/A^3, null when the run leaves it out), {@code stage_steps} (array of long,
 * steps each stage took), {@code stage_converged} (array of boolean), {@code converged} (every
 * stage converged), {@code source} (where an input came from: file and line), {@code problem} (why
 * a structure was left out or rejected; null for results) and {@code outcome} ("result",
 * "rejected" or "invalid").
 */
public final class StructureRows {

    /** Outcome of a structure that ran through the chain. */
    public static final String RESULT = "result";
    /** Outcome of a structure the run took out (a blow-up, or unconverged under on-unconverged=reject). */
    public static final String REJECTED = "rejected";
    /** Outcome of an input that could not run (unreadable, unknown element, overlapping atoms, ...). */
    public static final String INVALID = "invalid";

    /** The structure columns. */
    public static final StructType STRUCTURE = new StructType(new StructField[] {
        DataTypes.createStructField("id", DataTypes.StringType, false),
        DataTypes.createStructField("numbers", DataTypes.createArrayType(DataTypes.IntegerType, false), true),
        DataTypes.createStructField("positions", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
        DataTypes.createStructField("cell", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
        DataTypes.createStructField("pbc", DataTypes.createArrayType(DataTypes.BooleanType, false), true),
        DataTypes.createStructField("velocities", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
        DataTypes.createStructField("masses", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
        DataTypes.createStructField("info", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType, false), true),
    });

    /** Structure columns plus where each came from and why it cannot run (null when it can): what readers give. */
    public static final StructType INPUT = STRUCTURE
            .add("source", DataTypes.StringType, true)
            .add("problem", DataTypes.StringType, true);

    /** What a run gives: input columns (final structures), energies, forces, per-stage outcome, outcome. */
    public static final StructType OUTCOME = INPUT
            .add("energy", DataTypes.DoubleType, true)
            .add("forces", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("stress", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("stage_steps", DataTypes.createArrayType(DataTypes.LongType, false), true)
            .add("stage_converged", DataTypes.createArrayType(DataTypes.BooleanType, false), true)
            .add("converged", DataTypes.BooleanType, true)
            .add("outcome", DataTypes.StringType, false);

    private static final int STRUCTURE_COLUMNS = STRUCTURE.size();

    private StructureRows() {}

    /** The structure columns of {@code s} (its sample id, else {@code fallbackId}) with source and problem. */
    public static Row inputRow(AtomicSystem s, String fallbackId, String source, String problem) {
        Object[] v = new Object[INPUT.size()];
        fillStructure(v, s, fallbackId);
        v[STRUCTURE_COLUMNS] = source;
        v[STRUCTURE_COLUMNS + 1] = problem;
        return RowFactory.create(v);
    }

    /** An input that could not be read into a structure at all. */
    public static Row unreadableRow(String id, String source, String problem) {
        Object[] v = new Object[INPUT.size()];
        v[0] = id;
        v[STRUCTURE_COLUMNS] = source;
        v[STRUCTURE_COLUMNS + 1] = problem;
        return RowFactory.create(v);
    }

    /**
     * An outcome row: the structure as the run left it (or as it came, for an invalid input),
     * with the per-stage steps and convergence of {@code stages} stages read from its info.
     */
    public static Row outcomeRow(AtomicSystem s, String fallbackId, String source, String problem, String outcome, int stages) {
        Object[] v = new Object[OUTCOME.size()];
        fillStructure(v, s, fallbackId);
        int c = STRUCTURE_COLUMNS;
        v[c++] = source;
        v[c++] = problem;
        v[c++] = s.energy().orElse(null);
        v[c++] = s.forces().orElse(null);
        v[c++] = s.stress().orElse(null);
        if (!outcome.equals(INVALID)) {
            long[] steps = new long[stages];
            boolean[] converged = new boolean[stages];
            for (int k = 0; k < stages; k++) {
                Object n = s.info().get("steps_stage" + k);
                steps[k] = n instanceof Number number ? number.longValue() : 0;
                converged[k] = Boolean.TRUE.equals(s.info().get("converged_stage" + k));
            }
            v[c] = steps;
            v[c + 1] = converged;
            v[c + 2] = s.info().get("converged") instanceof Boolean b ? b : null;
        }
        v[OUTCOME.size() - 1] = outcome;
        return RowFactory.create(v);
    }

    /** An outcome row of an input row that cannot run: its columns as they came, with the problem. */
    public static Row invalidRow(Row input, String problem) {
        Object[] v = new Object[OUTCOME.size()];
        for (int i = 0; i < STRUCTURE_COLUMNS + 1; i++) {
            v[i] = input.get(i);
        }
        v[STRUCTURE_COLUMNS + 1] = problem;
        v[OUTCOME.size() - 1] = INVALID;
        return RowFactory.create(v);
    }

    /**
     * The structure in a row that has the structure columns (by name), with energy, forces and
     * stress where the row has them.
     *
     * @throws IllegalArgumentException naming the column that cannot make a structure
     */
    @SuppressWarnings("unchecked")
    public static AtomicSystem toSystem(Row row) {
        String id = row.getAs("id");
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("no id");
        }
        AtomicSystem.Builder b = AtomicSystem.builder().optSampleId(id);
        int[] numbers = ints(required(row, "numbers"));
        b.atomicNumbers(numbers).positions(doubles(required(row, "positions")));
        double[] cell = doubles(row.getAs("cell"));
        if (cell != null) {
            b.optCell(cell);
        }
        Object pbcColumn = row.getAs("pbc");
        if (pbcColumn != null) {
            List<Object> pbc = pbcColumn instanceof boolean[] p ? List.of(p[0], p[1], p[2]) : list(pbcColumn);
            if (pbc.size() != 3 || pbc.contains(null)) {
                throw new IllegalArgumentException("pbc needs 3 values, got " + pbc);
            }
            b.optPbc((Boolean) pbc.get(0), (Boolean) pbc.get(1), (Boolean) pbc.get(2));
        }
        double[] velocities = doubles(row.getAs("velocities"));
        if (velocities != null) {
            b.optVelocities(velocities);
        }
        double[] masses = doubles(row.getAs("masses"));
        if (masses != null) {
            b.optMasses(masses);
        }
        Object infoColumn = row.getAs("info");
        Map<String, String> info = infoColumn == null ? null : infoColumn instanceof Map<?, ?> m ? cast(m)
                : scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Map<String, String>) infoColumn);
        if (info != null) {
            info.forEach((k, val) -> {
                if (!k.equals(AtomicSystem.SAMPLE_ID_KEY)) {
                    b.optInfo(k, val);
                }
            });
        }
        if (has(row, "energy") && row.getAs("energy") != null) {
            b.optEnergy(row.getAs("energy"));
        }
        if (has(row, "forces") && row.getAs("forces") != null) {
            b.optForces(doubles(row.getAs("forces")));
        }
        if (has(row, "stress") && row.getAs("stress") != null) {
            b.optStress(doubles(row.getAs("stress")));
        }
        return b.build();
    }

    private static void fillStructure(Object[] v, AtomicSystem s, String fallbackId) {
        v[0] = s.sampleId().orElse(fallbackId);
        v[1] = s.atomicNumbers();
        v[2] = s.positions();
        v[3] = s.cell();
        boolean[] pbc = s.pbc();
        v[4] = pbc;
        v[5] = s.velocities().orElse(null);
        v[6] = s.masses();
        Map<String, String> info = new LinkedHashMap<>();
        s.info().forEach((k, val) -> {
            if (!k.equals(AtomicSystem.SAMPLE_ID_KEY)) {
                info.put(k, String.valueOf(val));
            }
        });
        v[7] = scala.jdk.javaapi.CollectionConverters.asScala(info); // the row encoder takes Scala maps
    }

    private static boolean has(Row row, String column) {
        return row.schema() != null && java.util.Arrays.asList(row.schema().fieldNames()).contains(column);
    }

    private static Object required(Row row, String column) {
        Object value = row.getAs(column);
        if (value == null) {
            throw new IllegalArgumentException("no " + column);
        }
        return value;
    }

    /** A double array column as Spark hands it out (a Scala sequence) or as a row built here holds it (double[]). */
    static double[] doubles(Object column) {
        if (column == null) {
            return null;
        }
        if (column instanceof double[] d) {
            return d.clone();
        }
        List<Object> list = list(column);
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object x = list.get(i);
            if (x == null) {
                throw new IllegalArgumentException("null value in an array of numbers");
            }
            out[i] = ((Number) x).doubleValue();
        }
        return out;
    }

    private static int[] ints(Object column) {
        if (column instanceof int[] d) {
            return d.clone();
        }
        List<Object> list = list(column);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object x = list.get(i);
            if (x == null) {
                throw new IllegalArgumentException("null atomic number");
            }
            out[i] = ((Number) x).intValue();
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> cast(Map<?, ?> map) {
        return (Map<String, String>) map;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object column) {
        if (column instanceof scala.collection.Seq<?> seq) {
            return new ArrayList<>((List<Object>) scala.jdk.javaapi.CollectionConverters.asJava(seq));
        }
        if (column instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw new IllegalArgumentException("expected an array, got " + column.getClass().getSimpleName());
    }
}
