package org.fusedstage.dynamics;

import java.util.HashSet;
import java.util.Set;

/**
 * The status codes present in a batch at the start of a step, when the run loop has just read
 * them: a stage with no samples skips its updates (all masked, so no-ops). Holds for one step,
 * since migrations change the occupancy. {@link #UNKNOWN} skips nothing.
 */
record Occupancy(Set<Long> codes) {

    /** Nothing known: every stage runs its (masked) updates. */
    static final Occupancy UNKNOWN = new Occupancy(null);

    /** The codes of {@code status}; {@link #UNKNOWN} for null. */
    static Occupancy of(long[] status) {
        if (status == null) {
            return UNKNOWN;
        }
        Set<Long> codes = new HashSet<>();
        for (long s : status) {
            codes.add(s);
        }
        return new Occupancy(codes);
    }

    /** Whether stage {@code code} is known to own no sample (its updates are no-ops). */
    boolean idle(int code) {
        return codes != null && !codes.contains((long) code);
    }

    /** Whether the codes are known. */
    boolean known() {
        return codes != null;
    }
}
