package org.fusedstage.sinks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzWriter;

/**
 * Appends structures to an extended-XYZ file (readable by ASE), flushed after every write so a
 * crash loses at most the write in progress.
 */
public final class ExtxyzSink implements DataSink {

    private final Path file;
    private final ExtxyzWriter writer;
    private final java.util.Set<String> existingIds;
    private long count;

    /** Opens {@code file} for appending (created if missing). */
    public ExtxyzSink(Path file) throws IOException {
        this(file, java.util.Set.of());
    }

    private ExtxyzSink(Path file, java.util.Set<String> existingIds) throws IOException {
        this.file = file;
        this.existingIds = java.util.Set.copyOf(existingIds);
        this.writer = ExtxyzWriter.append(file);
    }

    /**
     * Reopens the output of a run that may have been killed at any moment: a frame cut short by
     * the kill (a missing line or a line without its newline) is removed, and the ids of the
     * complete frames are returned by {@link #existingIds()} so the run can skip them.
     */
    public static ExtxyzSink resume(Path file) throws IOException {
        java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        if (java.nio.file.Files.exists(file)) {
            // The same scan as input files (streamed, any size): whole frames and a frame cut short at the end.
            org.fusedstage.data.ExtxyzIndex index = org.fusedstage.data.ExtxyzIndex.scan(file, true);
            List<org.fusedstage.data.InputProblem> problems = new java.util.ArrayList<>(index.problems());
            if (index.truncatedTail() >= 0) {
                problems.remove(problems.size() - 1); // the cut frame: removed below
            }
            if (!problems.isEmpty()) {
                throw new IOException(file + " holds " + problems.size() + " frame(s) that cannot be read, so it was not "
                        + "written by an interrupted run of this program and is left as it is: " + problems.get(0));
            }
            index.frames().forEach(f -> ids.add(f.id()));
            if (index.truncatedTail() >= 0) {
                try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    org.slf4j.LoggerFactory.getLogger(ExtxyzSink.class).warn(
                            "{}: removing {} bytes of a frame cut short by an interrupted run", file,
                            channel.size() - index.truncatedTail());
                    channel.truncate(index.truncatedTail());
                }
            }
        }
        ExtxyzSink sink = new ExtxyzSink(file, ids);
        sink.count = ids.size();
        return sink;
    }

    /** Sample ids already in the file when it was resumed. */
    public java.util.Set<String> existingIds() {
        return existingIds;
    }

    @Override
    public synchronized void write(List<AtomicSystem> systems) throws IOException {
        StringBuilder text = new StringBuilder();
        for (AtomicSystem s : systems) {
            text.append(ExtxyzWriter.formatFrame(s)); // format all first: a bad frame writes nothing
        }
        writer.writeRaw(text.toString());
        writer.flush();
        count += systems.size();
    }

    @Override
    public synchronized long size() {
        return count;
    }

    /** The file written to. */
    public Path file() {
        return file;
    }

    @Override
    public synchronized void close() throws IOException {
        writer.close();
    }

    @Override
    public String toString() {
        return "ExtxyzSink(" + file + ")";
    }
}
