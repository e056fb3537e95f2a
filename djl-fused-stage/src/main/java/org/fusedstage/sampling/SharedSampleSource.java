package org.fusedstage.sampling;

import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Set;

/**
 * One sample source shared by several workers (one FusedStage per core, each on its own thread):
 * {@link #view()} gives each worker a {@link SampleSource} whose calls take turns on the shared one,
 * so every sample goes to exactly one worker. A worker's first batch is a first batch from what is
 * left when it starts.
 */
public final class SharedSampleSource {

    private final SampleSource shared;

    /** Shares {@code source} (which then must not be used directly). */
    public SharedSampleSource(SampleSource source) {
        this.shared = Preconditions.checkNotNull(source, "source");
    }

    /** A worker's view of the shared source. */
    public SampleSource view() {
        return new SampleSource() {
            @Override
            public BatchLimits limits() {
                synchronized (shared) {
                    return shared.limits();
                }
            }

            @Override
            public int slotCapacity() {
                synchronized (shared) {
                    return shared.slotCapacity();
                }
            }

            @Override
            public int atomCapacity() {
                synchronized (shared) {
                    return shared.atomCapacity();
                }
            }

            @Override
            public List<Entry> first() {
                synchronized (shared) {
                    return shared.first();
                }
            }

            @Override
            public List<Entry> next(long freeAtoms, long freeEdges, int freeSlots, boolean idle) {
                synchronized (shared) {
                    return shared.next(freeAtoms, freeEdges, freeSlots, idle);
                }
            }

            @Override
            public boolean exhausted() {
                synchronized (shared) {
                    return shared.exhausted();
                }
            }

            @Override
            public int remaining() {
                synchronized (shared) {
                    return shared.remaining();
                }
            }

            @Override
            public Set<String> evictions() {
                synchronized (shared) {
                    return shared.evictions();
                }
            }
        };
    }
}
