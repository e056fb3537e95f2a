package org.fusedstage.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One pass over an extended-XYZ file that finds its frames without parsing their atoms: each
 * frame's byte offset, line, atom count, sample id and end. Used by {@link ExtxyzDataset} (lazy
 * datasets) and by the sinks' {@code resume} (which frames a killed run completed).
 *
 * <p>A frame is accepted only if its comment line parses ({@link ExtxyzComment}), each of its
 * atom lines has the column count its {@code Properties} give, and the line after it is a frame
 * header (an integer on its own) or the end of the file. A bad frame is reported on its own and
 * the scan re-synchronises on the next frame header, so one bad header never costs the frames
 * after it. Streams the file (any size); holds at most one frame's lines at a time.
 */
public final class ExtxyzIndex {

    private static final Pattern HEADER = Pattern.compile("\\s*[-+]?\\d+\\s*");

    /**
     * A frame found by the scan.
     *
     * @param offset byte offset of its atom-count line
     * @param line 1-based number of that line
     * @param atoms its atom count
     * @param id its sample_id, else {@code <file name>:<frame ordinal>}
     * @param end byte offset just past its last line
     */
    public record Frame(long offset, long line, int atoms, String id, long end) {}

    private final List<Frame> frames;
    private final List<InputProblem> problems;
    private final long truncatedTail;

    private ExtxyzIndex(List<Frame> frames, List<InputProblem> problems, long truncatedTail) {
        this.frames = List.copyOf(frames);
        this.problems = List.copyOf(problems);
        this.truncatedTail = truncatedTail;
    }

    /** The good frames, in file order (a duplicate id keeps its first frame). */
    public List<Frame> frames() {
        return frames;
    }

    /** The frames that could not be read (bad header, comment or counts, duplicate id), one problem each. */
    public List<InputProblem> problems() {
        return problems;
    }

    /**
     * Byte offset where a frame cut short at the end of the file starts (a killed writer), or -1
     * when the file ends with a whole frame.
     */
    public long truncatedTail() {
        return truncatedTail;
    }

    /**
     * Scans {@code file}.
     *
     * @param requireNewline whether a frame's last line must end with a newline: true for files
     *     this library appends to (a line without one was cut by a kill, even if it looks whole),
     *     false for inputs (a hand-edited file may lack the final newline)
     */
    public static ExtxyzIndex scan(Path file, boolean requireNewline) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new Scanner(file, new LineCursor(in), requireNewline).run();
        }
    }

    /** A line with its position. */
    private record Line(String text, long offset, long number, long end, boolean terminated, boolean utf8) {
        boolean isHeader() {
            return HEADER.matcher(text).matches();
        }
    }

    /** The scan's state machine over the lines of one file. */
    private static final class Scanner {
        private final Path file;
        private final LineCursor cursor;
        private final List<Frame> frames = new ArrayList<>();
        private final List<InputProblem> problems = new ArrayList<>();
        private final Map<String, Long> seen = new HashMap<>();
        private long truncatedTail = -1;
        private int ordinal; // frame headers met so far: names frames without a sample_id

        private final boolean requireNewline;

        Scanner(Path file, LineCursor cursor, boolean requireNewline) {
            this.file = file;
            this.cursor = cursor;
            this.requireNewline = requireNewline;
        }

        /** Whether a line ends the file before its frame is whole. */
        private boolean cut(Line line) {
            return line == null || (requireNewline && !line.terminated());
        }

        ExtxyzIndex run() throws IOException {
            Line line;
            boolean lost = false; // inside lines that belong to no good frame (after a bad one)
            Line lostFrom = null;
            while ((line = cursor.next()) != null) {
                if (line.text().isBlank()) {
                    continue;
                }
                if (!line.isHeader()) {
                    if (!lost) {
                        lostFrom = line;
                        lost = true;
                    }
                    continue;
                }
                if (lost && lostFrom != null) {
                    problem(file.getFileName() + ":line " + lostFrom.number(), lostFrom,
                            "expected an atom count, got '" + abbreviate(lostFrom.text()) + "' (lines up to " + (line.number() - 1)
                                    + " belong to no frame)");
                }
                lostFrom = null;
                lost = !readFrame(line);
            }
            if (lost && lostFrom != null) {
                problem(file.getFileName() + ":line " + lostFrom.number(), lostFrom,
                        "expected an atom count, got '" + abbreviate(lostFrom.text()) + "' (the rest of the file belongs to no frame)");
            }
            return new ExtxyzIndex(frames, problems, truncatedTail);
        }

        /** Reads the frame whose header is {@code header}; false if it was bad (the caller re-synchronises). */
        private boolean readFrame(Line header) throws IOException {
            String name = file.getFileName() + ":" + ordinal++;
            long count;
            try {
                count = Long.parseLong(header.text().trim());
            } catch (NumberFormatException e) {
                count = -1;
            }
            if (count < 0 || count > Integer.MAX_VALUE) {
                problem(name, header, "atom count " + header.text().trim() + " is not a count");
                return false;
            }
            Line comment = cursor.next();
            if (cut(comment)) {
                truncated(header, name, "the file ends before the comment line of a frame of " + count + " atoms");
                return true;
            }
            Map<String, String> keys;
            int width;
            try {
                checkUtf8(comment);
                keys = ExtxyzComment.parse(comment.text(), file.toString(), comment.number());
                width = width(keys.getOrDefault("Properties", "species:S:1:pos:R:3"), comment);
            } catch (ExtxyzFormatException e) {
                problem(name, comment, e.problem());
                return false;
            }
            String id = keys.getOrDefault(AtomicSystem.SAMPLE_ID_KEY, name);
            for (long a = 0; a < count; a++) {
                Line row = cursor.next();
                if (cut(row)) {
                    truncated(header, id, "the file ends after " + a + " of " + count + " atom lines (truncated frame)");
                    return true;
                }
                int columns = columns(row);
                if (columns != width) {
                    cursor.unread(row); // it may be the next frame's header
                    problem(id, row, "atom line " + (a + 1) + " of " + count + " has " + columns + " columns, Properties give "
                            + width + (row.isHeader() ? " (the atom count " + count + " is larger than the frame)" : ""));
                    return false;
                }
                if (!row.utf8()) {
                    problem(id, row, "not UTF-8 text");
                    return false;
                }
            }
            long end = cursor.lastEnd;
            Line after = cursor.next();
            while (after != null && after.text().isBlank()) {
                after = cursor.next();
            }
            if (after != null) {
                cursor.unread(after);
                // Another atom line of this frame: its count is too small. (A line that is no atom line
                // is the broken header of the next frame: its own problem, not this frame's.)
                if (!after.isHeader() && columns(after) == width) {
                    problem(id, after, "line " + after.number() + " follows a frame of " + count
                            + " atoms but is no frame header (the atom count is smaller than the frame)");
                    return false;
                }
            }
            if (count == 0) {
                problem(id, header, "a frame of zero atoms (nothing to simulate)");
                return true;
            }
            Long first = seen.putIfAbsent(id, header.number());
            if (first != null) {
                problem(id, header, "duplicate sample id '" + id + "' (first at line " + first + "); this frame is left out");
                return true;
            }
            frames.add(new Frame(header.offset(), header.number(), (int) count, id, end));
            return true;
        }

        private static int columns(Line line) {
            return line.text().isBlank() ? 0 : line.text().trim().split("\\s+").length;
        }

        private void checkUtf8(Line line) throws ExtxyzFormatException {
            if (!line.utf8()) {
                throw new ExtxyzFormatException(file.toString(), line.number(), "not UTF-8 text");
            }
        }

        /** Sum of the column counts of a Properties value. */
        private int width(String properties, Line at) throws ExtxyzFormatException {
            String[] parts = properties.split(":");
            if (parts.length % 3 != 0) {
                throw new ExtxyzFormatException(file.toString(), at.number(),
                        "Properties must be NAME:TYPE:COUNT triples, got '" + abbreviate(properties) + "'");
            }
            long width = 0;
            for (int i = 2; i < parts.length; i += 3) {
                try {
                    int count = Integer.parseInt(parts[i]);
                    if (count < 1 || count > 1000) {
                        throw new NumberFormatException();
                    }
                    width += count;
                } catch (NumberFormatException e) {
                    throw new ExtxyzFormatException(file.toString(), at.number(),
                            "Properties: bad column count '" + abbreviate(parts[i]) + "' for '" + parts[i - 2] + "'");
                }
            }
            return (int) Math.min(width, Integer.MAX_VALUE);
        }

        private void truncated(Line header, String id, String problem) {
            truncatedTail = header.offset();
            problems.add(new InputProblem(id, file + ":" + header.number(), problem));
        }

        private void problem(String id, Line at, String problem) {
            problems.add(new InputProblem(id, file + ":" + at.number(), problem));
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** Reads lines of bytes with their byte offsets and numbers (UTF-8, LF or CRLF), with push-back. */
    private static final class LineCursor {
        private final InputStream in;
        private final Deque<Line> pushedBack = new ArrayDeque<>();
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private long position;
        private long number;
        long lastEnd; // end offset of the last line handed out

        LineCursor(InputStream in) {
            this.in = in;
        }

        void unread(Line line) {
            pushedBack.push(line);
        }

        /** Keeps at most {@link ExtxyzReader#MAX_LINE_LENGTH} bytes of a line: a longer one cannot be a valid frame line. */
        private void append(int from, int length) {
            int room = ExtxyzReader.MAX_LINE_LENGTH - buffer.size();
            if (room > 0) {
                buffer.write(chunk, from, Math.min(length, room));
            }
        }

        Line next() throws IOException {
            Line line = pushedBack.isEmpty() ? read() : pushedBack.pop();
            if (line != null) {
                lastEnd = line.end();
            }
            return line;
        }

        private final byte[] chunk = new byte[1 << 16];
        private int chunkPos;
        private int chunkLen;

        private Line read() throws IOException {
            buffer.reset();
            long start = position;
            boolean any = false;
            boolean terminated = false;
            boolean ascii = true;
            scan:
            while (true) {
                if (chunkPos == chunkLen) {
                    chunkLen = in.read(chunk, 0, chunk.length);
                    chunkPos = 0;
                    if (chunkLen <= 0) {
                        chunkLen = 0;
                        break;
                    }
                }
                int from = chunkPos;
                while (chunkPos < chunkLen) {
                    byte c = chunk[chunkPos++];
                    if (c == '\n') {
                        append(from, chunkPos - 1 - from);
                        position += chunkPos - from;
                        any = true;
                        terminated = true;
                        break scan;
                    }
                    ascii &= c >= 0;
                }
                append(from, chunkLen - from);
                position += chunkLen - from;
                any |= chunkLen > from;
            }
            if (!any) {
                return null;
            }
            number++;
            byte[] bytes = buffer.toByteArray();
            boolean utf8 = true;
            String text;
            if (ascii) {
                text = new String(bytes, StandardCharsets.ISO_8859_1); // the common case: no decoder needed
            } else {
                try {
                    text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
                } catch (CharacterCodingException e) {
                    text = new String(bytes, StandardCharsets.UTF_8);
                    utf8 = false;
                }
            }
            if (text.endsWith("\r")) {
                text = text.substring(0, text.length() - 1);
            }
            return new Line(text, start, number, position, terminated, utf8);
        }
    }
}
