package org.fusedstage.dynamics;

import java.util.IdentityHashMap;
import java.util.Map;
import org.fusedstage.data.Batch;
import org.fusedstage.program.Expr;
import org.fusedstage.program.Expr.Op;

/**
 * The host values of a batch's per-atom expressions that depend on masses and stage parameters
 * only (1/m, Langevin's kick and thermal factors), kept between phases and steps: each is made
 * again only when the stage's rows or the batch's structure (a refill) changed. Made anew they
 * were five passes over the atoms per Langevin step, ~50 us of a 2000-atom step. One per batch
 * (a {@link Batch#attachment}), used by the thread that steps it.
 */
final class MassTerms implements AutoCloseable {

    private static final String KEY = "host-mass-terms";

    private record Entry(long structureVersion, Object masses, boolean[] samples, double[] values, int width) {}

    /** Kept values: {@code width} numbers per row of the layout. */
    record Values(double[] values, int width) {}

    private final Map<Dynamics, Map<Expr, Entry>> byStage = new IdentityHashMap<>();

    /** The batch's cache. */
    static MassTerms of(Batch batch) {
        return batch.attachment(KEY, MassTerms::new);
    }

    /**
     * Whether {@code e} is a per-atom value of masses, parameters and constants alone (with at
     * least one mass), so that it stays the same while the rows and the masses do.
     */
    static boolean isMassTerm(Expr e) {
        return KINDS.computeIfAbsent(e, x -> x.level() == Expr.Level.ATOM && onlyMassesAndParameters(x));
    }

    // Each expression's answer, made once (programs are built once and evaluated every step).
    private static final Map<Expr, Boolean> KINDS = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private static boolean onlyMassesAndParameters(Expr e) {
        switch (e.op()) {
            case CONSTANT, PARAMETER, MASS, INVERSE_MASS:
                return true;
            case STATE, FIELD, SAMPLES, OTHER_CRITERIA, NOISE, DOT, MAX_NORM, CENTER:
                return false;
            default:
                for (Expr a : e.args()) {
                    if (!onlyMassesAndParameters(a)) {
                        return false;
                    }
                }
                return true;
        }
    }

    /**
     * The values kept for {@code e} of {@code stage} over the rows of {@code samples} (a layout
     * is fixed by its samples while the structure version stays), or null.
     */
    Values get(Dynamics stage, Expr e, Batch batch, boolean[] samples) {
        Map<Expr, Entry> kept = byStage.get(stage);
        Entry entry = kept == null ? null : kept.get(e);
        if (entry == null || entry.structureVersion() != batch.structureVersion() || entry.masses() != batch.masses()
                || !java.util.Arrays.equals(entry.samples(), samples)) {
            return null;
        }
        return new Values(entry.values(), entry.width());
    }

    /** Keeps a copy of {@code values} for {@code e} of {@code stage} over the rows of {@code samples}. */
    void put(Dynamics stage, Expr e, Batch batch, boolean[] samples, double[] values, int width) {
        byStage.computeIfAbsent(stage, s -> new IdentityHashMap<>())
                .put(e, new Entry(batch.structureVersion(), batch.masses(), samples.clone(), values.clone(), width));
    }

    @Override
    public void close() {
        byStage.clear();
    }
}
