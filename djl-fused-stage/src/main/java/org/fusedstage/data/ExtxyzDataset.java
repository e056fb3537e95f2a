package org.fusedstage.data;

import com.google.common.base.Preconditions;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An extended-XYZ file as a dataset, read lazily: opening scans the file once and keeps only each
 * frame's byte offset, line number, atom count and sample id; {@link #get} seeks and parses one
 * frame. Files larger than memory work.
 *
 * <p>A frame's id is its {@code sample_id} info value, else {@code <file name>:<frame index>}.
 * Duplicate ids and malformed frame headers fail at open with the file and line.
 */
public final class ExtxyzDataset implements Dataset {

    private static final Pattern SAMPLE_ID = Pattern.compile("(?:^|\\s)sample_id=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S+)");

    private final Path file;
    private final long[] offsets;
    private final long[] lines;
    private final int[] atoms;
    private final String[] ids;

    private ExtxyzDataset(Path file, long[] offsets, long[] lines, int[] atoms, String[] ids) {
        this.file = file;
        this.offsets = offsets;
        this.lines = lines;
        this.atoms = atoms;
        this.ids = ids;
    }

    /** Indexes {@code file} (one sequential pass); any malformed frame header fails. */
    public static ExtxyzDataset open(Path file) throws IOException {
        return open(file, null);
    }

    /**
     * Indexes {@code file}, tolerating what a long screening run should survive: a frame cut short
     * at the end of the file, a duplicate id (the later frame is left out) or an unreadable atom
     * count (indexing stops there). Each is added to {@code problems}; null makes them errors.
     */
    public static ExtxyzDataset open(Path file, List<InputProblem> problems) throws IOException {
        List<Long> offsets = new ArrayList<>();
        List<Long> lines = new ArrayList<>();
        List<Integer> atoms = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        Map<String, Long> seen = new HashMap<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            LineCursor cursor = new LineCursor(in);
            indexFrames(file, cursor, offsets, lines, atoms, ids, seen, problems);
        }
        return new ExtxyzDataset(file, offsets.stream().mapToLong(Long::longValue).toArray(),
                lines.stream().mapToLong(Long::longValue).toArray(), atoms.stream().mapToInt(Integer::intValue).toArray(),
                ids.toArray(new String[0]));
    }

    private static void indexFrames(Path file, LineCursor cursor, List<Long> offsets, List<Long> lines, List<Integer> atoms,
            List<String> ids, Map<String, Long> seen, List<InputProblem> problems) throws IOException {
        try {
            scanFrames(file, cursor, offsets, lines, atoms, ids, seen, problems == null, problems);
        } catch (ExtxyzFormatException e) {
            if (problems == null) {
                throw e;
            }
            problems.add(new InputProblem(file.getFileName() + ":frame " + offsets.size(), e.getSource() + ":" + e.getLine(),
                    e.getMessage().substring(e.getMessage().indexOf(": ", e.getSource().length()) + 2)
                            + " (the rest of the file is not read)"));
        }
    }

    private static void scanFrames(Path file, LineCursor cursor, List<Long> offsets, List<Long> lines, List<Integer> atoms,
            List<String> ids, Map<String, Long> seen, boolean strict, List<InputProblem> duplicates) throws IOException {
        {
            String line;
            while ((line = cursor.next()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                long offset = cursor.lineStart;
                long lineNumber = cursor.lineNumber;
                int count;
                try {
                    count = Integer.parseInt(line.trim());
                } catch (NumberFormatException e) {
                    throw new ExtxyzFormatException(file.toString(), lineNumber, "expected the atom count, got '" + abbreviate(line) + "'");
                }
                if (count <= 0) {
                    throw new ExtxyzFormatException(file.toString(), lineNumber, "atom count must be positive, got " + count);
                }
                String comment = cursor.next();
                if (comment == null) {
                    throw new ExtxyzFormatException(file.toString(), lineNumber + 1, "file ends before the comment line");
                }
                for (int a = 0; a < count; a++) {
                    if (cursor.next() == null) {
                        throw new ExtxyzFormatException(file.toString(), cursor.lineNumber + 1,
                                "file ends after " + a + " of " + count + " atom lines (truncated frame)");
                    }
                }
                String id = sampleId(comment);
                if (id == null) {
                    id = file.getFileName() + ":" + offsets.size();
                }
                Long previous = seen.putIfAbsent(id, lineNumber);
                if (previous != null) {
                    if (strict) {
                        throw new ExtxyzFormatException(file.toString(), lineNumber,
                                "duplicate sample id '" + id + "' (first at line " + previous + ")");
                    }
                    duplicates.add(new InputProblem(id, file + ":" + lineNumber,
                            "duplicate sample id (first at line " + previous + "); this frame is left out"));
                    continue;
                }
                offsets.add(offset);
                lines.add(lineNumber);
                atoms.add(count);
                ids.add(id);
            }
        }
    }

    /**
     * The {@code sample_id} value of an extxyz comment line (quotes and escapes removed), or null.
     * Reads the id without parsing the frame, for indexing and for resuming output files.
     */
    public static String sampleId(String comment) {
        Matcher m = SAMPLE_ID.matcher(comment);
        if (!m.find()) {
            return null;
        }
        String value = m.group(1);
        if (value.startsWith("\"")) {
            value = value.substring(1, value.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        return value;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** The file. */
    public Path file() {
        return file;
    }

    @Override
    public int size() {
        return offsets.length;
    }

    @Override
    public String id(int index) {
        return ids[index];
    }

    @Override
    public int atomCount(int index) {
        return atoms[index];
    }

    @Override
    public AtomicSystem get(int index) throws IOException {
        Preconditions.checkElementIndex(index, offsets.length, "frame");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek(offsets[index]);
            ExtxyzReader reader = ExtxyzReader.of(
                    new InputStreamReader(Channels.newInputStream(raf.getChannel()), StandardCharsets.UTF_8),
                    file.toString(), lines[index] - 1);
            AtomicSystem s = reader.next();
            return s.sampleId().isPresent() ? s : s.toBuilder().optSampleId(ids[index]).build();
        }
    }

    /** Reads lines of bytes, tracking each line's byte offset and number (UTF-8, LF or CRLF). */
    private static final class LineCursor {
        private final InputStream in;
        private long position;
        long lineStart;
        long lineNumber;
        private final java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream();

        LineCursor(InputStream in) {
            this.in = in;
        }

        String next() throws IOException {
            buffer.reset();
            lineStart = position;
            int c;
            boolean any = false;
            while ((c = in.read()) != -1) {
                position++;
                any = true;
                if (c == '\n') {
                    break;
                }
                buffer.write(c);
            }
            if (!any) {
                return null;
            }
            lineNumber++;
            String s = buffer.toString(StandardCharsets.UTF_8);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }
    }
}
