package org.fusedstage.sampling;

import java.util.List;
import java.util.Set;
import org.fusedstage.data.AtomicSystem;

/**
 * Where inflight mode ({@code FusedStage.run(SampleSource)}) takes new
 * samples from: a finite {@link SizeAwareSampler} over a dataset, or a live queue of requests
 * ({@code FusedStageService}). Called only from the thread that runs the
 * FusedStage.
 */
public interface SampleSource {

    /**
     * A sample to put into a free slot.
     *
     * @param system the structure, with a sample id unique among the samples in the batch
     * @param edges its pairs within the source's edge radius, both directions (0 when maxEdges is unset)
     */
    record Entry(AtomicSystem system, long edges) {}

    /** What the batch may hold at once. */
    BatchLimits limits();

    /** Slots the batch is built with (the most samples it can ever hold at once). */
    int slotCapacity();

    /** Atom rows the batch is built with. */
    int atomCapacity();

    /**
     * The samples of a new batch; a live source may block here until one arrives.
     *
     * @return the first samples, or an empty list when the source has nothing now or ever
     */
    List<Entry> first();

    /**
     * Samples for freed room.
     *
     * @param freeAtoms atoms that may be added
     * @param freeEdges edges that may be added
     * @param freeSlots samples that may be added
     * @param idle whether no sample is running: a live source may then block until one arrives
     *     (or until it is finished), so an idle batch sleeps instead of spinning
     */
    List<Entry> next(long freeAtoms, long freeEdges, int freeSlots, boolean idle);

    /** Whether no sample will ever come again. */
    boolean exhausted();

    /** Samples still waiting (for progress logs). */
    int remaining();

    /**
     * Ids of running samples to take out of the batch at this refill, without writing them to any
     * sink (cancelled requests); the default takes none. Their slots are refilled like a graduate's.
     */
    default Set<String> evictions() {
        return Set.of();
    }
}
