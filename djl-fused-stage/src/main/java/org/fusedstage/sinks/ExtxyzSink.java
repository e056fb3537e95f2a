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
            long complete = completeFramesLength(file, ids);
            try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.WRITE)) {
                if (channel.size() > complete) {
                    org.slf4j.LoggerFactory.getLogger(ExtxyzSink.class).warn(
                            "{}: removing {} bytes of a frame cut short by an interrupted run", file, channel.size() - complete);
                    channel.truncate(complete);
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

    /** Byte length of the complete frames at the start of the file; collects their sample ids. */
    private static long completeFramesLength(Path file, java.util.Set<String> ids) throws IOException {
        byte[] data = java.nio.file.Files.readAllBytes(file);
        int pos = 0;
        long complete = 0;
        while (pos < data.length) {
            int frameStart = pos;
            int[] line = new int[2];
            if (!nextLine(data, pos, line)) {
                break;
            }
            String countText = new String(data, line[0], line[1] - line[0], java.nio.charset.StandardCharsets.UTF_8).trim();
            if (countText.isEmpty()) {
                pos = line[1] + 1;
                complete = pos;
                continue;
            }
            int atoms;
            try {
                atoms = Integer.parseInt(countText);
            } catch (NumberFormatException e) {
                break;
            }
            pos = line[1] + 1;
            if (!nextLine(data, pos, line)) {
                break;
            }
            String comment = new String(data, line[0], line[1] - line[0], java.nio.charset.StandardCharsets.UTF_8);
            pos = line[1] + 1;
            boolean whole = true;
            for (int a = 0; a < atoms && whole; a++) {
                whole = nextLine(data, pos, line);
                pos = line[1] + 1;
            }
            if (!whole) {
                pos = frameStart;
                break;
            }
            String id = org.fusedstage.data.ExtxyzDataset.sampleId(comment);
            if (id != null) {
                ids.add(id);
            }
            complete = pos;
        }
        return complete;
    }

    /** Finds the line starting at {@code from}; false if it has no terminating newline. */
    private static boolean nextLine(byte[] data, int from, int[] bounds) {
        for (int i = from; i < data.length; i++) {
            if (data[i] == '\n') {
                bounds[0] = from;
                bounds[1] = i;
                return true;
            }
        }
        return false;
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
