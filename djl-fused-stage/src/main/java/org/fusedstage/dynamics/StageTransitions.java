package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostWork;

/**
 * How samples move along a chain: each stage's criteria and budget decide who leaves it (the
 * bookkeeping program's CONVERGE phase), and each stage resets the state of the samples that enter
 * it (ENTER). Used after every eager step, when a batch is prepared and when refilled samples are
 * admitted, so a sample enters a stage the same way in each case.
 */
final class StageTransitions {

    private final ChainPlan plan;

    StageTransitions(ChainPlan plan) {
        this.plan = plan;
    }

    /** Each sub-stage's mask of the samples it owns now, in chain order. */
    List<StageMask> masks(Batch batch) {
        return masks(batch, HostWork.peekLongs(batch.status()));
    }

    /** As {@link #masks(Batch)}, from a {@link HostWork#peekLongs} copy of the statuses (or null). */
    List<StageMask> masks(Batch batch, long[] peekedStatus) {
        List<StageMask> masks = new ArrayList<>(plan.subStages().size());
        for (FusedStage.SubStage s : plan.subStages()) {
            masks.add(s.dynamics().ownedSamples(batch, peekedStatus));
        }
        return masks;
    }

    /** Resets every sub-stage's state for the samples it owns (the start of a run). */
    void enterOwned(Batch batch) {
        for (FusedStage.SubStage s : plan.subStages()) {
            s.dynamics().enter(batch, s.dynamics().ownedSamples(batch));
        }
    }

    /**
     * Evaluates every stage's criteria and budgets on its samples (masks taken before any
     * migration, so a sample moves at most one stage per step), moves finished samples on and
     * resets the state of the stage each one enters.
     *
     * @param before the statuses before the step's migrations
     * @param was a {@link HostWork#peekLongs} copy of {@code before}, or null
     * @param occupied the codes known to hold samples (stages without any skip their no-op work)
     * @return per sub-stage, the samples that left it (null for a sub-stage without hooks to tell)
     */
    List<NDArray> migrate(Batch batch, java.util.function.Supplier<NDArray> before, long[] was, List<StageMask> masks,
            Occupancy occupied) {
        List<FusedStage.SubStage> subStages = plan.subStages();
        for (int i = 0; i < subStages.size(); i++) {
            FusedStage.SubStage s = subStages.get(i);
            if (!occupied.idle(s.code())) {
                s.dynamics().converge(batch, masks.get(i), plan.chainRow(i), s.convergence());
            }
        }
        List<NDArray> left = new ArrayList<>(subStages.size());
        for (FusedStage.SubStage s : subStages) {
            left.add(s.dynamics().hooks().isEmpty() ? null
                    : before.get().eq(s.code()).logicalAnd(batch.status().neq(s.code())));
        }
        // Where the statuses are cheap to read (the host), stages nobody enters skip their entry resets.
        long[] now = was == null ? null : HostWork.peekLongs(batch.status());
        if (was != null && Arrays.equals(was, now)) {
            return left; // nobody moved, so nobody enters a stage
        }
        for (FusedStage.SubStage s : subStages) {
            if (was != null && !anyEnters(was, now, s.code())) {
                continue;
            }
            boolean[] host = HostWork.enteredOnHost(was, now, s.code());
            NDArray status = batch.status();
            s.dynamics().enter(batch, StageMask.of(batch, status, host,
                    () -> status.eq(s.code()).logicalAnd(before.get().eq(s.code()).logicalNot())));
        }
        return left;
    }

    private static boolean anyEnters(long[] was, long[] now, int code) {
        for (int b = 0; b < now.length; b++) {
            if (now[b] == code && was[b] != code) {
                return true;
            }
        }
        return false;
    }
}
