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
    private long count;

    /** Opens {@code file} for appending (created if missing). */
    public ExtxyzSink(Path file) throws IOException {
        this.file = file;
        this.writer = ExtxyzWriter.append(file);
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
