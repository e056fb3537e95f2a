package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import org.fusedstage.data.Batch;
import org.fusedstage.model.Potential;

/**
 * Plain steepest descent: dr = stepSize * F (A per eV/A), clamped so the displacement norm of a
 * sample is at most {@code maxStep} A. Default convergence: fmax <= 0.05 eV/A.
 */
public class SteepestDescent extends Dynamics {

    private final double stepSize;
    private final double maxStep;

    /** Steepest descent with step size 0.01 A^2/eV and max step 0.2 A. */
    public SteepestDescent(Potential potential) {
        this(builder(potential));
    }

    protected SteepestDescent(Builder b) {
        super(b);
        Preconditions.checkArgument(b.stepSize > 0 && Double.isFinite(b.stepSize), "step size must be finite and > 0, got %s",
                b.stepSize);
        Preconditions.checkArgument(b.maxStep > 0 && Double.isFinite(b.maxStep), "max step must be finite and > 0 A, got %s",
                b.maxStep);
        this.stepSize = b.stepSize;
        this.maxStep = b.maxStep;
    }

    /** Starts a builder. */
    public static Builder builder(Potential potential) {
        return new Builder(potential);
    }

    @Override
    protected void preUpdate(Batch batch, StageMask mask) {
        NDArray dr = Kinematics.clampPerSystem(batch, batch.forces().mul(stepSize), maxStep);
        batch.set(Batch.POSITIONS, mask.select(batch.positions().add(dr), batch.positions()));
    }

    @Override
    public StageParameters stepGraphParameters() {
        return StageParameters.steepestDescent(timeStep(), stepSize, maxStep);
    }

    /** {@inheritDoc} */
    @Override
    public boolean isRelaxation() {
        return true;
    }

    /** Builder of {@link SteepestDescent}. */
    public static class Builder extends BaseBuilder<Builder> {
        private double stepSize = 0.01;
        private double maxStep = 0.2;

        protected Builder(Potential potential) {
            super(potential, 1.0);
            optFmax(ConvergenceHook.DEFAULT_FMAX);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Displacement per unit force, A^2/eV. */
        public Builder optStepSize(double stepSize) {
            this.stepSize = stepSize;
            return this;
        }

        /** Largest displacement norm per step and sample, A. */
        public Builder optMaxStep(double angstrom) {
            this.maxStep = angstrom;
            return this;
        }

        /** Builds the optimizer. */
        public SteepestDescent build() {
            return new SteepestDescent(this);
        }
    }
}
