package org.fusedstage.data;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * An extended-XYZ file as a dataset, read lazily: opening scans the file once
 * ({@link ExtxyzIndex}) and keeps only each frame's byte offset, line number, atom count and
 * sample id; {@link #get} seeks and parses one frame. Files larger than memory work.
 *
 * <p>A frame's id is its {@code sample_id} info value, else {@code <file name>:<frame ordinal>}.
 */
public final class ExtxyzDataset implements Dataset {

    private final Path file;
    private final long[] offsets;
    private final long[] lines;
    private final int[] atoms;
    private final String[] ids;
    private final long[] ends;

    private ExtxyzDataset(Path file, List<ExtxyzIndex.Frame> frames) {
        this.file = file;
        this.offsets = frames.stream().mapToLong(ExtxyzIndex.Frame::offset).toArray();
        this.lines = frames.stream().mapToLong(ExtxyzIndex.Frame::line).toArray();
        this.atoms = frames.stream().mapToInt(ExtxyzIndex.Frame::atoms).toArray();
        this.ids = frames.stream().map(ExtxyzIndex.Frame::id).toArray(String[]::new);
        this.ends = frames.stream().mapToLong(ExtxyzIndex.Frame::end).toArray();
    }

    /**
     * Indexes {@code file} (one sequential pass).
     *
     * @throws ExtxyzFormatException naming the first frame that cannot be read
     */
    public static ExtxyzDataset open(Path file) throws IOException {
        ExtxyzIndex index = ExtxyzIndex.scan(file, false);
        if (!index.problems().isEmpty()) {
            InputProblem first = index.problems().get(0);
            int colon = first.location().lastIndexOf(':');
            throw new ExtxyzFormatException(file.toString(), Long.parseLong(first.location().substring(colon + 1)), first.problem());
        }
        return new ExtxyzDataset(file, index.frames());
    }

    /**
     * Indexes {@code file}, keeping every frame that can be read: each frame that cannot (a bad
     * header or comment line, an atom count that does not match its lines, a zero-atom frame, a
     * duplicate id, a frame cut short at the end) is added to {@code problems}, and the frames after
     * it are still read. Null {@code problems} makes the first one an error.
     */
    public static ExtxyzDataset open(Path file, List<InputProblem> problems) throws IOException {
        if (problems == null) {
            return open(file);
        }
        ExtxyzIndex index = ExtxyzIndex.scan(file, false);
        problems.addAll(index.problems());
        return new ExtxyzDataset(file, index.frames());
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
        // Exactly the frame's bytes: what follows it (another frame, even a broken one) is not this frame's business.
        byte[] bytes = new byte[Math.toIntExact(ends[index] - offsets[index])];
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek(offsets[index]);
            raf.readFully(bytes);
        }
        try (ExtxyzReader reader = ExtxyzReader.of(new InputStreamReader(new java.io.ByteArrayInputStream(bytes),
                StandardCharsets.UTF_8.newDecoder()), file.toString(), lines[index] - 1)) {
            AtomicSystem s = reader.next();
            return s.sampleId().isPresent() ? s : s.toBuilder().optSampleId(ids[index]).build();
        }
    }
}
