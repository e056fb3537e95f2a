package org.fusedstage.data;

import com.google.common.collect.ImmutableList;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.Units;

/**
 * Streams structures from an extended-XYZ file as ASE writes them: {@code Lattice},
 * {@code Properties}, {@code pbc}, per-frame info ({@code energy}, {@code stress}, any key) and
 * per-atom columns ({@code species}/{@code Z}, {@code pos}, {@code masses}, {@code forces},
 * {@code momenta}, any other column as a {@link PerAtomArray}).
 *
 * <p>ASE stores velocities as {@code momenta} in amu A per ASE time unit; they are converted to
 * A/fs here. Any malformed content raises {@link ExtxyzFormatException} naming file, line and
 * problem. Reads one frame at a time, so files larger than memory can be streamed.
 */
public final class ExtxyzReader implements Closeable {

    private final BufferedReader in;
    private final String source;
    private long lineNumber;

    private ExtxyzReader(Reader in, String source) {
        this.in = in instanceof BufferedReader br ? br : new BufferedReader(in);
        this.source = source;
    }

    /** Opens a file for streaming. */
    public static ExtxyzReader open(Path file) throws IOException {
        return new ExtxyzReader(Files.newBufferedReader(file, StandardCharsets.UTF_8), file.toString());
    }

    /** Wraps a reader; {@code source} names it in error messages. */
    public static ExtxyzReader of(Reader reader, String source) {
        return new ExtxyzReader(reader, source);
    }

    /** Wraps a reader positioned after {@code linesBefore} lines of {@code source} (for error line numbers). */
    public static ExtxyzReader of(Reader reader, String source, long linesBefore) {
        ExtxyzReader r = new ExtxyzReader(reader, source);
        r.lineNumber = linesBefore;
        return r;
    }

    /** Reads every frame of a file. */
    public static List<AtomicSystem> readAll(Path file) throws IOException {
        try (ExtxyzReader reader = open(file)) {
            List<AtomicSystem> out = new ArrayList<>();
            for (AtomicSystem s = reader.next(); s != null; s = reader.next()) {
                out.add(s);
            }
            return out;
        }
    }

    /** The 1-based number of the last line read. */
    public long lineNumber() {
        return lineNumber;
    }

    /**
     * Reads the next frame.
     *
     * @return the structure, or null at the end of the file
     * @throws ExtxyzFormatException if the frame is malformed
     */
    public AtomicSystem next() throws IOException {
        String countLine = readLine();
        while (countLine != null && countLine.isBlank()) {
            countLine = readLine();
        }
        if (countLine == null) {
            return null;
        }
        long frameLine = lineNumber;
        int atoms;
        try {
            atoms = Integer.parseInt(countLine.trim());
        } catch (NumberFormatException e) {
            throw error(frameLine, "expected the atom count, got '" + abbreviate(countLine) + "'");
        }
        if (atoms < 0) {
            throw error(frameLine, "atom count must not be negative, got " + atoms);
        }
        String comment = readLine();
        if (comment == null) {
            throw error(frameLine + 1, "file ends before the comment line of a frame of " + atoms + " atoms");
        }
        Map<String, String> raw = ExtxyzComment.parse(comment, source, lineNumber);
        List<Column> columns = parseProperties(raw.getOrDefault("Properties", "species:S:1:pos:R:3"), lineNumber);
        int width = columns.stream().mapToInt(c -> c.count).sum();
        // Rows are collected as they are read: nothing is allocated for atoms the file does not hold.
        List<String[]> rows = new ArrayList<>(Math.min(atoms, 1 << 12));
        for (int a = 0; a < atoms; a++) {
            String row = readLine();
            if (row == null) {
                throw error(lineNumber + 1, "file ends after " + a + " of " + atoms + " atom lines (truncated frame)");
            }
            String[] fields = row.trim().split("\\s+");
            if (fields.length != width) {
                throw error(lineNumber, "expected " + width + " columns (Properties), got " + fields.length
                        + (a > 0 && fields.length == 1 ? " (the atom count " + atoms + " is larger than the frame)" : ""));
            }
            int f = 0;
            for (Column col : columns) {
                for (int k = 0; k < col.count; k++) {
                    checkType(col, fields[f++], lineNumber);
                }
            }
            rows.add(fields);
        }
        String[][] table = new String[columns.size()][];
        int first = 0;
        for (int c = 0; c < columns.size(); c++) {
            int count = columns.get(c).count;
            table[c] = new String[atoms * count];
            for (int a = 0; a < atoms; a++) {
                System.arraycopy(rows.get(a), first, table[c], a * count, count);
            }
            first += count;
        }
        try {
            return buildSystem(atoms, raw, columns, table, frameLine);
        } catch (IllegalArgumentException e) {
            throw error(frameLine, "invalid structure: " + e.getMessage());
        }
    }

    private AtomicSystem buildSystem(
            int atoms, Map<String, String> raw, List<Column> columns, String[][] table, long frameLine)
            throws ExtxyzFormatException {
        AtomicSystem.Builder b = AtomicSystem.builder();
        int[] numbers = null;
        double[] masses = null;
        double[] momenta = null;
        boolean hasPositions = false;
        for (int c = 0; c < columns.size(); c++) {
            Column col = columns.get(c);
            String[] values = table[c];
            switch (col.name) {
                case "species" -> {
                    if (numbers == null) {
                        numbers = new int[atoms];
                        for (int a = 0; a < atoms; a++) {
                            final String symbol = values[a];
                            final long line = frameLine + 2 + a;
                            numbers[a] = Elements.numberOf(symbol)
                                    .orElseThrow(() -> new IllegalArgumentException(
                                            "unknown element '" + symbol + "' on line " + line));
                        }
                    }
                }
                case "Z" -> {
                    numbers = new int[atoms];
                    for (int a = 0; a < atoms; a++) {
                        numbers[a] = Integer.parseInt(values[a]);
                    }
                }
                case "pos" -> {
                    b.positions(reals(values));
                    hasPositions = true;
                }
                case "masses" -> masses = reals(values);
                case "forces" -> b.optForces(reals(values));
                case "momenta" -> momenta = reals(values);
                case "velocities" -> b.optVelocities(reals(values));
                default -> b.optArray(col.name, new PerAtomArray(col.type, col.count, values));
            }
        }
        if (!hasPositions) {
            throw error(frameLine + 1, "Properties has no 'pos' column");
        }
        if (numbers == null) {
            throw error(frameLine + 1, "Properties has neither 'species' nor 'Z'");
        }
        b.atomicNumbers(numbers);
        if (masses != null) {
            b.optMasses(masses);
        }
        if (momenta != null) {
            double[] m = masses;
            if (m == null) {
                m = new double[atoms];
                for (int a = 0; a < atoms; a++) {
                    m[a] = Elements.isKnown(numbers[a]) ? Elements.standardMass(numbers[a]) : 1.0;
                }
            }
            double[] v = new double[3 * atoms];
            for (int i = 0; i < v.length; i++) {
                v[i] = momenta[i] / m[i / 3] / Units.ASE_TIME_UNIT_FS;
            }
            b.optVelocities(v);
        }
        long commentLine = frameLine + 1;
        boolean hasLattice = raw.containsKey("Lattice");
        if (hasLattice) {
            b.optCell(numbers(raw.get("Lattice"), 9, "Lattice", commentLine));
        }
        if (raw.containsKey("pbc")) {
            b.optPbc(parsePbc(raw.get("pbc"), commentLine));
        } else if (hasLattice) {
            b.optPbc(true, true, true);
        }
        for (Map.Entry<String, String> e : raw.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            switch (key) {
                case "Lattice", "pbc", "Properties" -> { }
                case "energy" -> b.optEnergy(numbers(value, 1, key, commentLine)[0]);
                case "stress" -> b.optStress(stress(value, commentLine));
                case AtomicSystem.SAMPLE_ID_KEY -> b.optSampleId(value);
                default -> b.optInfo(key, parseInfoValue(value));
            }
        }
        return b.build();
    }

    private double[] stress(String value, long line) throws ExtxyzFormatException {
        String[] parts = value.trim().split("\\s+");
        if (parts.length == 6) {
            double[] v = numbers(value, 6, "stress", line);
            // Voigt order xx yy zz yz xz xy.
            return new double[] {v[0], v[5], v[4], v[5], v[1], v[3], v[4], v[3], v[2]};
        }
        return numbers(value, 9, "stress", line);
    }

    private static double[] reals(String[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Double.parseDouble(values[i]);
        }
        return out;
    }

    private double[] numbers(String value, int expected, String key, long line) throws ExtxyzFormatException {
        String[] parts = value.trim().split("\\s+");
        if (parts.length != expected) {
            throw error(line, key + " needs " + expected + " numbers, got " + parts.length + ": '" + abbreviate(value) + "'");
        }
        double[] out = new double[expected];
        for (int i = 0; i < expected; i++) {
            try {
                out[i] = Double.parseDouble(parts[i]);
            } catch (NumberFormatException e) {
                throw error(line, key + ": '" + abbreviate(parts[i]) + "' is not a number");
            }
        }
        return out;
    }

    private boolean[] parsePbc(String value, long line) throws ExtxyzFormatException {
        String[] parts = value.trim().split("\\s+");
        if (parts.length != 3) {
            throw error(line, "pbc needs 3 flags, got '" + abbreviate(value) + "'");
        }
        boolean[] out = new boolean[3];
        for (int i = 0; i < 3; i++) {
            Boolean flag = parseBoolean(parts[i]);
            if (flag == null) {
                throw error(line, "pbc flag '" + abbreviate(parts[i]) + "' is not T or F");
            }
            out[i] = flag;
        }
        return out;
    }

    private static Boolean parseBoolean(String s) {
        return switch (s) {
            case "T", "True", "true", "TRUE" -> Boolean.TRUE;
            case "F", "False", "false", "FALSE" -> Boolean.FALSE;
            default -> null;
        };
    }

    /** Info values as ASE types them: integer, real, logical, lists of those, else text. */
    static Object parseInfoValue(String value) {
        String[] parts = value.trim().split("\\s+");
        if (parts.length > 1) {
            List<Object> items = new ArrayList<>();
            boolean allNumbers = true;
            for (String p : parts) {
                Object item = parseScalar(p);
                allNumbers &= item instanceof Long || item instanceof Double;
                items.add(item);
            }
            if (allNumbers) {
                boolean anyReal = items.stream().anyMatch(o -> o instanceof Double);
                return anyReal
                        ? ImmutableList.copyOf(items.stream().map(o -> ((Number) o).doubleValue()).toList())
                        : ImmutableList.copyOf(items);
            }
            return value;
        }
        return parseScalar(value.trim());
    }

    private static Object parseScalar(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException ignored) {
            // not an integer
        }
        try {
            double d = Double.parseDouble(s);
            if (!s.endsWith("d") && !s.endsWith("f") && !s.endsWith("D") && !s.endsWith("F")) {
                return d;
            }
        } catch (NumberFormatException ignored) {
            // not a number
        }
        Boolean b = parseBoolean(s);
        return b != null ? b : s;
    }

    private List<Column> parseProperties(String spec, long line) throws ExtxyzFormatException {
        String[] parts = spec.split(":");
        if (parts.length % 3 != 0) {
            throw error(line, "Properties must be NAME:TYPE:COUNT triples, got '" + abbreviate(spec) + "'");
        }
        List<Column> out = new ArrayList<>();
        for (int i = 0; i < parts.length; i += 3) {
            String name = parts[i];
            if (parts[i + 1].length() != 1) {
                throw error(line, "Properties: bad type '" + parts[i + 1] + "' for column '" + name + "'");
            }
            PerAtomArray.Type type;
            try {
                type = PerAtomArray.Type.fromCode(parts[i + 1].charAt(0));
            } catch (IllegalArgumentException e) {
                throw error(line, "Properties: " + e.getMessage() + " for column '" + name + "'");
            }
            int count;
            try {
                count = Integer.parseInt(parts[i + 2]);
            } catch (NumberFormatException e) {
                throw error(line, "Properties: bad column count '" + parts[i + 2] + "' for '" + name + "'");
            }
            if (count < 1 || count > 1000) {
                throw error(line, "Properties: column count " + count + " for '" + name + "' is out of range");
            }
            String canonical = "positions".equals(name) ? "pos" : "symbols".equals(name) ? "species" : name;
            out.add(new Column(canonical, type, count));
        }
        return out;
    }

    private void checkType(Column col, String value, long line) throws ExtxyzFormatException {
        switch (col.type) {
            case REAL -> {
                try {
                    double d = Double.parseDouble(value);
                    if (!Double.isFinite(d)) {
                        throw error(line, "column '" + col.name + "': non-finite value '" + abbreviate(value) + "'");
                    }
                } catch (NumberFormatException e) {
                    throw error(line, "column '" + col.name + "': '" + abbreviate(value) + "' is not a number");
                }
            }
            case INTEGER -> {
                try {
                    Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw error(line, "column '" + col.name + "': '" + abbreviate(value) + "' is not an integer");
                }
            }
            case LOGICAL -> {
                if (parseBoolean(value) == null) {
                    throw error(line, "column '" + col.name + "': '" + abbreviate(value) + "' is not T or F");
                }
            }
            case STRING -> { }
        }
    }

    /** The longest line read (characters): a longer one is an error, not an out-of-memory failure. */
    static final int MAX_LINE_LENGTH = 1 << 24;

    private final char[] chunk = new char[1 << 13];
    private int chunkPos;
    private int chunkLen;

    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder();
        boolean any = false;
        try {
            while (true) {
                if (chunkPos == chunkLen) {
                    chunkLen = in.read(chunk, 0, chunk.length); // whole chunks: no per-character lock
                    chunkPos = 0;
                    if (chunkLen <= 0) {
                        chunkLen = 0;
                        break;
                    }
                }
                int from = chunkPos;
                while (chunkPos < chunkLen && chunk[chunkPos] != '\n') {
                    chunkPos++;
                }
                line.append(chunk, from, chunkPos - from);
                any = true;
                if (line.length() > MAX_LINE_LENGTH) {
                    throw error(lineNumber + 1, "line longer than " + MAX_LINE_LENGTH + " characters");
                }
                if (chunkPos < chunkLen) {
                    chunkPos++; // the newline
                    break;
                }
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw error(lineNumber + 1, "not UTF-8 text (" + e.getClass().getSimpleName() + ")");
        }
        if (!any) {
            return null;
        }
        lineNumber++;
        int n = line.length();
        return n > 0 && line.charAt(n - 1) == '\r' ? line.substring(0, n - 1) : line.toString();
    }

    private ExtxyzFormatException error(long line, String problem) {
        return new ExtxyzFormatException(source, line, problem);
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private record Column(String name, PerAtomArray.Type type, int count) { }
}
