package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import org.fusedstage.model.Potential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Phase;

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

    /** dr = step_size F, scaled down per sample so that its norm over the sample is at most max_step. */
    static final StageProgram PROGRAM = buildProgram();

    private static StageProgram buildProgram() {
        Expr dr = Expr.FORCES.times(Expr.parameter("step_size"));
        Expr norm = Expr.dot(dr, dr).sqrt();
        Expr maxStep = Expr.parameter("max_step");
        Expr scale = Expr.where(norm.greaterThan(maxStep), maxStep.dividedBy(norm), Expr.constant(1));
        return StageProgram.builder()
                .assign(Phase.PRE_UPDATE, Expr.POSITIONS, Expr.POSITIONS.plus(dr.times(scale)))
                .build();
    }

    @Override
    protected StageProgram program() {
        return PROGRAM;
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
