package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import org.fusedstage.model.Potential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Phase;

/**
 * The seed's {@code DemoDynamics}: a simple dt-driven integrator for demos and tests. Velocity
 * Verlet with a velocity damping factor applied after each step, so samples settle and converge;
 * with {@code damping = 0} it is plain NVE. Default convergence: fmax <= 0.05 eV/A.
 */
public class DemoDynamics extends Dynamics {

    private final double damping;

    /** Demo dynamics with time step {@code dt} fs and damping 0.02 per step. */
    public DemoDynamics(Potential potential, double dt) {
        this(builder(potential).optTimeStep(dt));
    }

    protected DemoDynamics(Builder b) {
        super(b);
        Preconditions.checkArgument(b.damping >= 0 && b.damping < 1, "damping must be in [0, 1), got %s", b.damping);
        this.damping = b.damping;
    }

    /** Starts a builder (default dt 1 fs, damping 0.02: near critical damping of argon lattice vibrations at 1 fs). */
    public static Builder builder(Potential potential) {
        return new Builder(potential);
    }

    /** Velocity Verlet whose second half kick is damped: v = (v + F dt/2m)(1 - damping). */
    static final StageProgram PROGRAM = buildProgram();

    private static StageProgram buildProgram() {
        Expr kicked = Expr.VELOCITIES.plus(Kinematics.halfKick());
        return Kinematics.kickDrift(StageProgram.builder())
                .assign(Phase.POST_UPDATE, Expr.VELOCITIES,
                        kicked.times(Expr.constant(1).minus(Expr.parameter("damping"))))
                .build();
    }

    @Override
    protected StageProgram program() {
        return PROGRAM;
    }

    @Override
    public StageParameters stepGraphParameters() {
        return StageParameters.demo(timeStep(), damping);
    }

    /** {@inheritDoc} */
    @Override
    public boolean isRelaxation() {
        return damping > 0;
    }

    /** Builder of {@link DemoDynamics}. */
    public static class Builder extends BaseBuilder<Builder> {
        private double damping = 0.02;

        protected Builder(Potential potential) {
            super(potential, 1.0);
            optFmax(ConvergenceHook.DEFAULT_FMAX);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Fraction of velocity removed after each step, in [0, 1). */
        public Builder optDamping(double damping) {
            this.damping = damping;
            return this;
        }

        /** Builds the dynamics. */
        public DemoDynamics build() {
            return new DemoDynamics(this);
        }
    }
}
