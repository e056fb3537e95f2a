package org.fusedstage.sampling;

import com.google.common.base.Preconditions;

/**
 * What one batch may hold at once, for every source of samples (a {@link SizeAwareSampler}, a
 * service's queue): atoms, edges (pairs within {@code edgeRadius} A, both directions) and samples;
 * 0 means no limit.
 *
 * @param maxAtoms total atoms
 * @param maxEdges total edges
 * @param edgeRadius radius of the edge count, A (0 when maxEdges is 0)
 * @param maxBatchSize samples
 */
public record BatchLimits(int maxAtoms, long maxEdges, double edgeRadius, int maxBatchSize) {

    /** No limit at all. */
    public static final BatchLimits NONE = new BatchLimits(0, 0, 0, 0);

    public BatchLimits {
        Preconditions.checkArgument(maxAtoms >= 0 && maxEdges >= 0 && maxBatchSize >= 0, "limits must not be negative");
        Preconditions.checkArgument(maxEdges == 0 || edgeRadius > 0, "edge radius must be positive, got %s", edgeRadius);
    }

    /** These limits with at most {@code maxAtoms} atoms. */
    public BatchLimits withMaxAtoms(int maxAtoms) {
        Preconditions.checkArgument(maxAtoms > 0, "maxAtoms must be positive, got %s", maxAtoms);
        return new BatchLimits(maxAtoms, maxEdges, edgeRadius, maxBatchSize);
    }

    /** These limits with at most {@code maxEdges} pairs within {@code radius} A. */
    public BatchLimits withMaxEdges(long maxEdges, double radius) {
        Preconditions.checkArgument(maxEdges > 0, "maxEdges must be positive, got %s", maxEdges);
        Preconditions.checkArgument(radius > 0, "edge radius must be positive, got %s", radius);
        return new BatchLimits(maxAtoms, maxEdges, radius, maxBatchSize);
    }

    /** These limits with at most {@code maxBatchSize} samples. */
    public BatchLimits withMaxBatchSize(int maxBatchSize) {
        Preconditions.checkArgument(maxBatchSize > 0, "maxBatchSize must be positive, got %s", maxBatchSize);
        return new BatchLimits(maxAtoms, maxEdges, edgeRadius, maxBatchSize);
    }

    /** Whether a batch of {@code count} samples with these atoms and edges is within the limits. */
    public boolean fits(int count, long atoms, long edges) {
        return (maxBatchSize <= 0 || count <= maxBatchSize) && (maxAtoms <= 0 || atoms <= maxAtoms)
                && (maxEdges <= 0 || edges <= maxEdges);
    }

    /** Whether a sample of this size fits an empty batch. */
    public boolean fitsAlone(int atoms, long edges) {
        return fits(1, atoms, edges);
    }

    /** Samples that may join a batch holding {@code used} ({@code Integer.MAX_VALUE} without a limit). */
    public int samplesLeft(int used) {
        return maxBatchSize > 0 ? maxBatchSize - used : Integer.MAX_VALUE;
    }

    /** Atoms that may join a batch holding {@code used} ({@code Long.MAX_VALUE} without a limit). */
    public long atomsLeft(long used) {
        return maxAtoms > 0 ? maxAtoms - used : Long.MAX_VALUE;
    }

    /** Edges that may join a batch holding {@code used} ({@code Long.MAX_VALUE} without a limit). */
    public long edgesLeft(long used) {
        return maxEdges > 0 ? maxEdges - used : Long.MAX_VALUE;
    }

    /** The limits in words, e.g. "at most 2048 atoms and 90000 edges (radius 9.5 A)". */
    public String describe() {
        return "at most " + (maxAtoms > 0 ? maxAtoms + " atoms" : "any atoms")
                + (maxEdges > 0 ? " and " + maxEdges + " edges (radius " + edgeRadius + " A)" : "");
    }
}
