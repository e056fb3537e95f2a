package org.fusedstage.sinks;

import java.io.IOException;
import java.util.List;
import org.fusedstage.data.AtomicSystem;

/** Where structures go: snapshots of a running batch, graduated samples, rejects. */
public interface DataSink extends AutoCloseable {

    /**
     * Writes structures, all or none.
     *
     * @throws SinkFullException if they do not fit; nothing was written
     * @throws IOException if storage fails
     */
    void write(List<AtomicSystem> systems) throws IOException;

    /** Number of structures written so far. */
    long size();

    /** Flushes and releases resources; the default does nothing. */
    @Override
    default void close() throws IOException {}
}
