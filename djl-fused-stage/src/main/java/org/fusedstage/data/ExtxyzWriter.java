package org.fusedstage.data;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.fusedstage.Units;

/**
 * Writes structures as extended XYZ that ASE reads back with every field: {@code Lattice},
 * {@code pbc}, {@code Properties} with {@code species}, {@code pos}, {@code masses}, and where
 * known {@code momenta} (ASE's velocity storage, in amu A per ASE time unit), {@code forces} and
 * extra per-atom arrays; per-frame {@code energy}, {@code stress} (3x3) and every info entry.
 *
 * <p>Numbers are written in Java's shortest round-trip form, so a file read back gives the same
 * doubles.
 */
public final class ExtxyzWriter implements Closeable, Flushable {

    private final Writer out;

    private ExtxyzWriter(Writer out) {
        this.out = out instanceof BufferedWriter ? out : new BufferedWriter(out);
    }

    /** Creates (or truncates) a file. */
    public static ExtxyzWriter create(Path file) throws IOException {
        return new ExtxyzWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8));
    }

    /** Opens a file for appending, creating it if needed. */
    public static ExtxyzWriter append(Path file) throws IOException {
        return new ExtxyzWriter(Files.newBufferedWriter(
                file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    /** Wraps a writer. */
    public static ExtxyzWriter of(Writer writer) {
        return new ExtxyzWriter(writer);
    }

    /** Writes all systems to a new file. */
    public static void writeAll(Path file, List<AtomicSystem> systems) throws IOException {
        try (ExtxyzWriter w = create(file)) {
            for (AtomicSystem s : systems) {
                w.write(s);
            }
        }
    }

    /** Writes one frame. */
    public void write(AtomicSystem s) throws IOException {
        out.write(formatFrame(s));
    }

    /** Writes pre-formatted frames (see {@link #formatFrame}). */
    public void writeRaw(String frames) throws IOException {
        out.write(frames);
    }

    /** Formats one frame as text (including the final newline). */
    public static String formatFrame(AtomicSystem s) {
        int n = s.size();
        double[] velocities = s.velocities().orElse(null);
        double[] forces = s.forces().orElse(null);
        double[] masses = s.masses();
        StringBuilder header = new StringBuilder();
        double[] cell = s.cell();
        boolean[] pbc = s.pbc();
        if (pbc[0] || pbc[1] || pbc[2] || !allZero(cell)) {
            header.append("Lattice=\"").append(join(cell)).append("\" ");
        }
        StringBuilder props = new StringBuilder("species:S:1:pos:R:3:masses:R:1");
        if (velocities != null) {
            props.append(":momenta:R:3");
        }
        if (forces != null) {
            props.append(":forces:R:3");
        }
        for (Map.Entry<String, PerAtomArray> e : s.arrays().entrySet()) {
            props.append(':').append(e.getKey()).append(':').append(e.getValue().type().code())
                    .append(':').append(e.getValue().columns());
        }
        header.append("Properties=").append(props);
        s.energy().ifPresent(e -> header.append(" energy=").append(e));
        s.stress().ifPresent(st -> header.append(" stress=\"").append(join(st)).append('"'));
        for (Map.Entry<String, Object> e : s.info().entrySet()) {
            header.append(' ').append(ExtxyzComment.quote(e.getKey())).append('=').append(formatInfo(e.getValue()));
        }
        header.append(" pbc=\"").append(flag(pbc[0])).append(' ').append(flag(pbc[1])).append(' ')
                .append(flag(pbc[2])).append('"');

        StringBuilder sb = new StringBuilder();
        sb.append(n).append('\n').append(header).append('\n');
        double[] positions = s.positions();
        int[] z = s.atomicNumbers();
        for (int a = 0; a < n; a++) {
            sb.append(Elements.symbolOf(z[a]));
            appendRow(sb, positions, a, 3);
            sb.append(' ').append(masses[a]);
            if (velocities != null) {
                for (int k = 0; k < 3; k++) {
                    // ASE momenta: m v with v in A per ASE time unit.
                    sb.append(' ').append(masses[a] * velocities[3 * a + k] * Units.ASE_TIME_UNIT_FS);
                }
            }
            if (forces != null) {
                appendRow(sb, forces, a, 3);
            }
            for (PerAtomArray array : s.arrays().values()) {
                for (int k = 0; k < array.columns(); k++) {
                    sb.append(' ').append(array.get(a, k));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, double[] values, int row, int width) {
        for (int k = 0; k < width; k++) {
            sb.append(' ').append(values[row * width + k]);
        }
    }

    private static String formatInfo(Object value) {
        if (value instanceof Boolean b) {
            return flag(b);
        }
        if (value instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("\"");
            for (int i = 0; i < list.size(); i++) {
                sb.append(i == 0 ? "" : " ").append(formatInfo(list.get(i)));
            }
            return sb.append('"').toString();
        }
        String text = value.toString();
        // Strings go through the comment parser's own quoting, so every reader gets them back unchanged.
        return value instanceof String ? ExtxyzComment.quote(text) : text;
    }

    private static String flag(boolean b) {
        return b ? "T" : "F";
    }

    private static boolean allZero(double[] values) {
        for (double v : values) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }

    private static String join(double[] values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            sb.append(i == 0 ? "" : " ").append(values[i]);
        }
        return sb.toString();
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
