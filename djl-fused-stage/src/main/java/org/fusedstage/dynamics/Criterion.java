package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;

/**
 * One convergence criterion: a sample meets it when its value of {@code key} is at most
 * {@code threshold}.
 *
 * <p>Keys: {@code fmax} (largest |F| over the sample's atoms, eV/A), {@code energy_change}
 * (|E_t - E_(t-1)| between consecutive steps in the stage, eV), or any batch field: per-system
 * fields compare their largest absolute entry, per-atom fields their per-atom magnitude (vector
 * norm for [N,3]) reduced over the sample's atoms by {@code reduction}.
 *
 * @param key the quantity
 * @param threshold the largest value that counts as converged
 * @param reduction how per-atom values are combined per sample
 */
public record Criterion(String key, double threshold, Reduction reduction) {

    /** Key of the largest force magnitude, eV/A. */
    public static final String FMAX = "fmax";
    /** Key of the energy change between consecutive steps, eV. */
    public static final String ENERGY_CHANGE = "energy_change";

    /** How per-atom values are combined into one value per sample. */
    public enum Reduction {
        /** Largest value. */
        MAX,
        /** Mean value. */
        MEAN,
        /** Sum. */
        SUM
    }

    /** Validates the criterion. */
    public Criterion {
        Preconditions.checkArgument(key != null && !key.isBlank(), "criterion key must not be blank");
        Preconditions.checkArgument(threshold >= 0 && Double.isFinite(threshold),
                "criterion '%s': threshold must be finite and >= 0, got %s", key, threshold);
        // Forces and energy changes are never exactly zero in floating point: a threshold of 0
        // would never end the stage.
        Preconditions.checkArgument(threshold > 0 || !(FMAX.equals(key) || ENERGY_CHANGE.equals(key)),
                "criterion '%s': threshold must be > 0 (a zero %s is never reached, so the stage would never end)", key, key);
        Preconditions.checkNotNull(reduction, "reduction");
    }

    /** A criterion with the MAX reduction. */
    /**
     * Whether the stage programs express this criterion ({@link #FMAX} or {@link #ENERGY_CHANGE}
     * per sample), so that compiled steps run it too; others are evaluated by the eager step only.
     */
    public boolean isBuiltIn() {
        return (FMAX.equals(key) || ENERGY_CHANGE.equals(key)) && reduction == Reduction.MAX;
    }

    public static Criterion of(String key, double threshold) {
        return new Criterion(key, threshold, Reduction.MAX);
    }
}
