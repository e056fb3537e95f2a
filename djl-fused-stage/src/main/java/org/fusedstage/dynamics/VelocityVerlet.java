package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import org.fusedstage.model.Potential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Phase;

/**
 * Velocity Verlet (NVE): half kick and drift before the forward pass, second half kick after it.
 * Time step in fs. Optionally draws Maxwell-Boltzmann velocities when a sample enters the stage.
 */
public class VelocityVerlet extends Dynamics {

    private final double initialTemperature;
    private final long seed;

    /** Velocity Verlet with time step {@code dt} fs, keeping the velocities samples bring. */
    public VelocityVerlet(Potential potential, double dt) {
        this(builder(potential).optTimeStep(dt));
    }

    protected VelocityVerlet(Builder builder) {
        super(builder);
        this.initialTemperature = builder.initialTemperature;
        this.seed = builder.seed;
    }

    /** Starts a builder (default dt 1 fs). */
    public static Builder builder(Potential potential) {
        return new Builder(potential);
    }

    /**
     * Velocity Verlet: v += F dt/2m, x += v dt before the forward pass, v += F dt/2m after it;
     * Maxwell-Boltzmann velocities for entering samples when asked.
     */
    static final StageProgram PROGRAM = buildProgram();

    private static StageProgram buildProgram() {
        Expr kicked = Expr.VELOCITIES.plus(Kinematics.halfKick());
        return Kinematics.kickDrift(StageProgram.builder())
                .assign(Phase.POST_UPDATE, Expr.VELOCITIES, kicked)
                .assignIf(Phase.ENTER, Kinematics.drawsVelocities(), Expr.VELOCITIES, Kinematics.maxwellBoltzmannVelocities())
                .build();
    }

    @Override
    protected StageProgram program() {
        return PROGRAM;
    }

    @Override
    public StageParameters stepGraphParameters() {
        return StageParameters.velocityVerlet(timeStep(), initialTemperature >= 0 ? initialTemperature : StageParameters.UNUSED);
    }

    @Override
    public long stepGraphSeed() {
        return seed;
    }

    /** Builder of {@link VelocityVerlet}. */
    public static class Builder extends BaseBuilder<Builder> {
        private double initialTemperature = -1;
        private long seed;

        protected Builder(Potential potential) {
            super(potential, 1.0);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Draw Maxwell-Boltzmann velocities at this temperature (K) when a sample enters. */
        public Builder optInitialTemperature(double kelvin) {
            Preconditions.checkArgument(kelvin >= 0 && Double.isFinite(kelvin), "initial temperature must be finite and >= 0 K, got %s",
                    kelvin);
            this.initialTemperature = kelvin;
            return this;
        }

        /** Seed of the velocity streams. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Builds the integrator. */
        public VelocityVerlet build() {
            return new VelocityVerlet(this);
        }
    }
}
