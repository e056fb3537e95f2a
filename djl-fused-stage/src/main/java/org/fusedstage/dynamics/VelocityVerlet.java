package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import org.fusedstage.data.Batch;
import org.fusedstage.model.Potential;

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

    @Override
    protected void onEnter(Batch batch, StageMask entering) {
        if (initialTemperature >= 0) {
            NDArray v = MaxwellBoltzmann.velocities(batch, initialTemperature, seed, entering.systemsToDraw());
            batch.set(Batch.VELOCITIES, entering.select(v, batch.velocities()));
        }
    }

    @Override
    protected void preUpdate(Batch batch, StageMask mask) {
        halfKick(batch, mask);
        NDArray moved = batch.positions().add(batch.velocities().mul(timeStep()));
        batch.set(Batch.POSITIONS, mask.select(moved, batch.positions()));
    }

    @Override
    protected void postUpdate(Batch batch, StageMask mask) {
        halfKick(batch, mask);
    }

    private void halfKick(Batch batch, StageMask mask) {
        NDArray kicked = batch.velocities().add(batch.forces().mul(Kinematics.halfKickFactors(batch, timeStep())));
        batch.set(Batch.VELOCITIES, mask.select(kicked, batch.velocities()));
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
