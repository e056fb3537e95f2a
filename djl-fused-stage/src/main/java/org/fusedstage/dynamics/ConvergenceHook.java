package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.Batch;

/**
 * Decides which samples of a stage have converged (all criteria hold) and moves them from
 * {@code sourceStatus} to {@code targetStatus}. Evaluated once per step (a stateful criterion such
 * as {@code energy_change} advances its state once).
 *
 * <p>Source and target are optional: a {@link FusedStage} fills them in from the stage's position
 * in the chain; a standalone dynamics uses its own status code and code + 1.
 */
public final class ConvergenceHook {

    /** The fmax of a relaxation given no criteria, eV/A: ASE's optimizers' default. */
    public static final double DEFAULT_FMAX = 0.05;

    private final ImmutableList<Criterion> criteria;
    private final Integer sourceStatus;
    private final Integer targetStatus;

    private ConvergenceHook(List<Criterion> criteria, Integer sourceStatus, Integer targetStatus) {
        Preconditions.checkArgument(!criteria.isEmpty(), "a convergence hook needs at least one criterion");
        this.criteria = ImmutableList.copyOf(criteria);
        this.sourceStatus = sourceStatus;
        this.targetStatus = targetStatus;
    }

    /** Converged when the largest force on any atom is at most {@code fmax} eV/A. */
    public static ConvergenceHook fromFmax(double fmax) {
        return builder().addCriterion(Criterion.FMAX, fmax).build();
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The criteria, all of which must hold. */
    public ImmutableList<Criterion> criteria() {
        return criteria;
    }

    /** The status the samples leave, if set explicitly. */
    public Integer sourceStatus() {
        return sourceStatus;
    }

    /** The status converged samples move to, if set explicitly. */
    public Integer targetStatus() {
        return targetStatus;
    }

    /** A copy with source and target set. */
    public ConvergenceHook withStatuses(int source, int target) {
        return new ConvergenceHook(criteria, source, target);
    }

    /**
     * Per sample of {@code mask}: whether every criterion holds (criteria on the energy change
     * advance: the current energy becomes the previous one). The same formulas as a step's
     * ({@link StageBookkeeping}).
     *
     * @return [B] boolean, false outside {@code mask}
     */
    public NDArray evaluate(Batch batch, Dynamics owner, StageMask mask) {
        return StageBookkeeping.evaluateCriteria(batch, owner, mask, this);
    }

    /**
     * Per sample of {@code mask}: whether the criteria that stage programs do not express (on other
     * batch fields, or with other reductions) all hold; null when there are none.
     */
    NDArray otherCriteria(Batch batch, Dynamics owner, StageMask mask) {
        NDArray all = null;
        for (Criterion c : criteria) {
            if (!c.isBuiltIn()) {
                NDArray met = value(batch, c).lte(c.threshold());
                all = (all == null ? mask.systems() : all).logicalAnd(met);
            }
        }
        return all;
    }

    private static NDArray value(Batch batch, Criterion c) {
        switch (c.key()) {
            default:
                if (!batch.has(c.key())) {
                    throw new IllegalArgumentException("convergence criterion '" + c.key()
                            + "' names no batch field; fields: " + batch.atomFieldNames() + " " + batch.systemFieldNames());
                }
                NDArray field = batch.get(c.key()).toType(batch.getDataType(), false);
                if (batch.isPerAtom(c.key())) {
                    return reduce(batch, field.getShape().dimension() == 1 ? field.abs() : rowNorm(field), c.reduction());
                }
                NDArray abs = field.abs();
                return abs.getShape().dimension() == 1 ? abs : abs.reshape(batch.numSystems(), -1).max(new int[] {1});
        }
    }

    private static NDArray rowNorm(NDArray vectors) {
        return Kinematics.rowSquares(vectors).sqrt();
    }

    private static NDArray reduce(Batch batch, NDArray perAtom, Criterion.Reduction reduction) {
        return switch (reduction) {
            case MAX -> batch.segments().max(perAtom);
            case MEAN -> batch.segments().mean(perAtom);
            case SUM -> batch.segments().sum(perAtom);
        };
    }

    @Override
    public String toString() {
        return "ConvergenceHook(criteria=" + criteria + ", source=" + sourceStatus + ", target=" + targetStatus + ")";
    }

    /** Builder of {@link ConvergenceHook}. */
    public static final class Builder {
        private final List<Criterion> criteria = new ArrayList<>();
        private Integer sourceStatus;
        private Integer targetStatus;

        private Builder() {}

        /** Adds a criterion {key <= threshold} (per-atom values reduced by MAX). */
        public Builder addCriterion(String key, double threshold) {
            criteria.add(Criterion.of(key, threshold));
            return this;
        }

        /** Adds a criterion. */
        public Builder addCriterion(Criterion criterion) {
            criteria.add(criterion);
            return this;
        }

        /** The status converged samples leave. */
        public Builder optSourceStatus(int status) {
            this.sourceStatus = status;
            return this;
        }

        /** The status converged samples move to. */
        public Builder optTargetStatus(int status) {
            this.targetStatus = status;
            return this;
        }

        /** Builds the hook. */
        public ConvergenceHook build() {
            return new ConvergenceHook(criteria, sourceStatus, targetStatus);
        }
    }
}
