package org.fusedstage.sinks;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;

/**
 * Keeps structures in JVM memory up to a fixed capacity. A write that does not fit fails whole
 * with {@link SinkFullException}: nothing is dropped silently.
 */
public final class HostMemory implements DataSink {

    private final int capacity;
    private final List<AtomicSystem> stored = new ArrayList<>();

    /** Creates a sink that holds at most {@code capacity} structures. */
    public HostMemory(int capacity) {
        Preconditions.checkArgument(capacity > 0, "capacity must be positive, got %s", capacity);
        this.capacity = capacity;
    }

    @Override
    public synchronized void write(List<AtomicSystem> systems) {
        if (stored.size() + systems.size() > capacity) {
            throw new SinkFullException("HostMemory sink full: holds " + stored.size() + " of " + capacity
                    + " structures, cannot take " + systems.size() + " more; nothing of this write was stored");
        }
        stored.addAll(systems);
    }

    @Override
    public synchronized long size() {
        return stored.size();
    }

    /** The capacity in structures. */
    public int capacity() {
        return capacity;
    }

    /** Everything written so far, in order. */
    public synchronized ImmutableList<AtomicSystem> read() {
        return ImmutableList.copyOf(stored);
    }

    /** Removes everything. */
    public synchronized void clear() {
        stored.clear();
    }
}
