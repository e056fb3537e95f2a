package org.fusedstage.sampling;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.fusedstage.data.Dataset;
import org.fusedstage.model.NeighborList;

/**
 * Draws samples from a {@link Dataset} into batches that respect a total atom budget
 * ({@code maxAtoms}), a total edge budget ({@code maxEdges}, pairs within a radius, both
 * directions) and a sample count ({@code maxBatchSize}); at least one of maxAtoms and
 * maxBatchSize is required.
 *
 * <p>Samples are binned by atom count. The first batch takes samples round-robin over the bins in
 * ascending size; each refill fills the free budget greedily from the largest bins that still fit.
 * A sample that can never fit (more atoms or edges than allowed) is reported by id with its size
 * when the sampler is built, before anything runs.
 */
public final class SizeAwareSampler implements SampleSource {

    private final Dataset dataset;
    private final BatchLimits limits;
    private final long[] edges;
    private final TreeMap<Integer, ArrayDeque<Integer>> bins = new TreeMap<>();
    private int remaining;

    private SizeAwareSampler(Builder b) {
        Preconditions.checkArgument(b.limits.maxAtoms() > 0 || b.limits.maxBatchSize() > 0,
                "give at least one of maxAtoms and maxBatchSize");
        this.dataset = b.dataset;
        this.limits = b.limits;
        this.edges = new long[dataset.size()];
        List<String> oversize = new ArrayList<>();
        for (int i = 0; i < dataset.size(); i++) {
            if (b.skip.contains(dataset.id(i))) {
                continue;
            }
            int atoms = dataset.atomCount(i);
            if (limits.maxEdges() > 0) {
                try {
                    edges[i] = NeighborList.countEdges(dataset.get(i), limits.edgeRadius());
                } catch (IOException e) {
                    throw new UncheckedIOException("reading sample " + dataset.id(i) + " to count its edges", e);
                }
            }
            if (!limits.fitsAlone(atoms, edges[i])) {
                oversize.add(dataset.id(i) + " (" + atoms + " atoms" + (limits.maxEdges() > 0 ? ", " + edges[i] + " edges" : "") + ")");
                continue;
            }
            bins.computeIfAbsent(atoms, k -> new ArrayDeque<>()).add(i);
            remaining++;
        }
        if (!oversize.isEmpty()) {
            throw new IllegalArgumentException(oversize.size() + " sample(s) can never fit a batch of "
                    + limits.describe() + ": "
                    + String.join(", ", oversize.subList(0, Math.min(20, oversize.size())))
                    + (oversize.size() > 20 ? ", ..." : ""));
        }
    }

    /** Starts a builder. */
    public static Builder builder(Dataset dataset) {
        return new Builder(dataset);
    }

    /** The dataset. */
    public Dataset dataset() {
        return dataset;
    }

    @Override
    public BatchLimits limits() {
        return limits;
    }

    /** Total atom budget (0 = none). */
    public int maxAtoms() {
        return limits.maxAtoms();
    }

    /** Total edge budget (0 = none). */
    public long maxEdges() {
        return limits.maxEdges();
    }

    /** Sample count budget (0 = none). */
    public int maxBatchSize() {
        return limits.maxBatchSize();
    }

    /** Edges of sample {@code index} within the edge radius (0 when maxEdges is unset). */
    public long edges(int index) {
        return edges[index];
    }

    /** Samples not yet drawn. */
    @Override
    public int remaining() {
        return remaining;
    }

    /** Whether every sample was drawn. */
    @Override
    public boolean exhausted() {
        return remaining == 0;
    }

    /** The largest sample, in atoms, still to come or already drawn. */
    public int largestSample() {
        int largest = 0;
        for (int i = 0; i < dataset.size(); i++) {
            largest = Math.max(largest, dataset.atomCount(i));
        }
        return largest;
    }

    /** The smallest sample, in atoms. */
    public int smallestSample() {
        int smallest = Integer.MAX_VALUE;
        for (int i = 0; i < dataset.size(); i++) {
            smallest = Math.min(smallest, dataset.atomCount(i));
        }
        return smallest;
    }

    /**
     * Slots from the limits, bounded by what the dataset can fill: a limit far above the data
     * ({@code --max-atoms 2147483647}) must not allocate for it.
     */
    @Override
    public int slotCapacity() {
        long slotLimit = limits.maxBatchSize() > 0 ? limits.maxBatchSize()
                : Math.max(1, limits.maxAtoms() / Math.max(1, smallestSample()));
        return (int) Math.max(1, Math.min(slotLimit, dataset.size()));
    }

    @Override
    public int atomCapacity() {
        long atomLimit = (long) slotCapacity() * largestSample();
        return (int) Math.min(Integer.MAX_VALUE, Math.min(limits.atomsLeft(0), atomLimit));
    }

    @Override
    public List<Entry> first() {
        return load(initialBatch());
    }

    @Override
    public List<Entry> next(long freeAtoms, long freeEdges, int freeSlots, boolean idle) {
        return load(refill(freeAtoms, freeEdges, freeSlots));
    }

    private List<Entry> load(List<Integer> indices) {
        List<Entry> out = new ArrayList<>(indices.size());
        for (int index : indices) {
            try {
                out.add(new Entry(dataset.get(index), edges[index]));
            } catch (IOException e) {
                throw new UncheckedIOException("loading sample " + dataset.id(index), e);
            }
        }
        return out;
    }

    /** The first batch: round-robin over bins in ascending size while everything fits. */
    public List<Integer> initialBatch() {
        List<Integer> picked = new ArrayList<>();
        long atoms = 0;
        long edgeSum = 0;
        boolean progress = true;
        while (progress) {
            progress = false;
            for (Map.Entry<Integer, ArrayDeque<Integer>> bin : new ArrayList<>(bins.entrySet())) {
                Integer next = bin.getValue().peekFirst();
                if (next == null || !limits.fits(picked.size() + 1, atoms + bin.getKey(), edgeSum + edges[next])) {
                    continue;
                }
                take(bin.getKey());
                picked.add(next);
                atoms += bin.getKey();
                edgeSum += edges[next];
                progress = true;
            }
        }
        return picked;
    }

    /**
     * Samples for freed room, largest bins first.
     *
     * @param freeAtoms atoms that may be added
     * @param freeEdges edges that may be added
     * @param freeSlots samples that may be added
     */
    public List<Integer> refill(long freeAtoms, long freeEdges, int freeSlots) {
        List<Integer> picked = new ArrayList<>();
        long atoms = 0;
        long edgeSum = 0;
        for (Integer size : new ArrayList<>(bins.descendingKeySet())) {
            ArrayDeque<Integer> bin = bins.get(size);
            while (bin != null && !bin.isEmpty() && picked.size() < freeSlots
                    && (limits.maxAtoms() <= 0 || atoms + size <= freeAtoms)
                    && (limits.maxEdges() <= 0 || edgeSum + edges[bin.peekFirst()] <= freeEdges)) {
                int next = bin.peekFirst();
                take(size);
                picked.add(next);
                atoms += size;
                edgeSum += edges[next];
                bin = bins.get(size);
            }
        }
        return picked;
    }

    private void take(int size) {
        ArrayDeque<Integer> bin = bins.get(size);
        bin.pollFirst();
        if (bin.isEmpty()) {
            bins.remove(size);
        }
        remaining--;
    }

    /** Builder of {@link SizeAwareSampler}. */
    public static final class Builder {
        private final Dataset dataset;
        private BatchLimits limits = BatchLimits.NONE;
        private final Set<String> skip = new HashSet<>();

        private Builder(Dataset dataset) {
            this.dataset = Preconditions.checkNotNull(dataset);
        }

        /** Largest total number of atoms in a batch. */
        public Builder optMaxAtoms(int maxAtoms) {
            limits = limits.withMaxAtoms(maxAtoms);
            return this;
        }

        /** Largest total number of edges (pairs within {@code radius} A, both directions) in a batch. */
        public Builder optMaxEdges(long maxEdges, double radius) {
            limits = limits.withMaxEdges(maxEdges, radius);
            return this;
        }

        /** Largest number of samples in a batch. */
        public Builder optMaxBatchSize(int maxBatchSize) {
            limits = limits.withMaxBatchSize(maxBatchSize);
            return this;
        }

        /** Sample ids to leave out (already finished in an earlier run: resume). */
        public Builder optSkip(Collection<String> ids) {
            skip.addAll(ids);
            return this;
        }

        /** Sizes every sample and builds the sampler. */
        public SizeAwareSampler build() {
            return new SizeAwareSampler(this);
        }
    }
}
