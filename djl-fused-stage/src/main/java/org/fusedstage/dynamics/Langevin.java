package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;
import org.fusedstage.model.Potential;

/**
 * Langevin dynamics (NVT) with the BAOAB splitting (Leimkuhler and Matthews 2013): half kick,
 * half drift, Ornstein-Uhlenbeck velocity update, half drift before the forward pass; half kick
 * after it. Temperature in K, friction in 1/fs, time step in fs.
 *
 * <p>Noise comes from per-sample streams keyed by (seed, sample id, sample age), so a sample's
 * trajectory does not depend on its batch-mates. Samples entering the stage get
 * Maxwell-Boltzmann velocities at the target temperature unless disabled.
 */
public class Langevin extends Dynamics {

    private final double temperature;
    private final double friction;
    private final long seed;
    private final boolean initializeVelocities;

    /** Langevin at {@code temperature} K with {@code friction} 1/fs and time step {@code dt} fs. */
    public Langevin(Potential potential, double dt, double temperature, double friction) {
        this(builder(potential).optTimeStep(dt).optTemperature(temperature).optFriction(friction));
    }

    protected Langevin(Builder b) {
        super(b);
        Preconditions.checkArgument(b.temperature >= 0 && Double.isFinite(b.temperature),
                "temperature must be finite and >= 0 K, got %s", b.temperature);
        Preconditions.checkArgument(b.friction > 0 && Double.isFinite(b.friction), "friction must be finite and > 0 1/fs, got %s",
                b.friction);
        this.temperature = b.temperature;
        this.friction = b.friction;
        this.seed = b.seed;
        this.initializeVelocities = b.initializeVelocities;
    }

    /** Starts a builder (defaults: dt 1 fs, 300 K, friction 0.01 1/fs, seed 0). */
    public static Builder builder(Potential potential) {
        return new Builder(potential);
    }

    /** Target temperature in K. */
    public double temperature() {
        return temperature;
    }

    /** Friction in 1/fs. */
    public double friction() {
        return friction;
    }

    @Override
    protected void onEnter(Batch batch, StageMask entering) {
        if (initializeVelocities) {
            NDArray v = MaxwellBoltzmann.velocities(batch, temperature, seed, entering.systemsToDraw());
            batch.set(Batch.VELOCITIES, entering.select(v, batch.velocities()));
        }
    }

    @Override
    protected void preUpdate(Batch batch, StageMask mask) {
        double dt = timeStep();
        double[] masses = HostArrays.doubles(batch.masses()); // read once for both host-built arrays
        NDArray halfKick = Kinematics.halfKickFactors(batch, masses, dt);
        NDArray v = batch.velocities().add(batch.forces().mul(halfKick)); // B
        NDArray x = batch.positions().add(v.mul(0.5 * dt)); // A
        double c1 = Math.exp(-friction * dt);
        v = v.mul(c1).add(thermalKick(batch, mask, masses, Math.sqrt(1 - c1 * c1))); // O
        x = x.add(v.mul(0.5 * dt)); // A
        batch.set(Batch.VELOCITIES, mask.select(v, batch.velocities()));
        batch.set(Batch.POSITIONS, mask.select(x, batch.positions()));
    }

    /**
     * The O step's random velocities c2 sqrt(kT / m) xi in A/fs, [N,3], built on the host where
     * the noise is drawn (per-sample streams, see {@link NoiseStreams}). On a CPU only this stage's
     * samples draw (reading the mask costs microseconds there); on a GPU every sample draws.
     */
    private NDArray thermalKick(Batch batch, StageMask mask, double[] masses, double c2) {
        double[] kick = NoiseStreams.hostNormal(batch, seed, statusCode(), mask.systemsToDraw());
        double kT = Units.BOLTZMANN_EV_PER_K * temperature * Units.EV_PER_A_AMU_TO_A_PER_FS2; // amu A^2/fs^2
        for (int i = 0; i < masses.length; i++) {
            double scale = masses[i] > 0 ? c2 * Math.sqrt(kT / masses[i]) : 0;
            for (int k = 3 * i; k < 3 * i + 3; k++) {
                kick[k] *= scale;
            }
        }
        return HostArrays.create(batch.getManager(), kick, new Shape(masses.length, 3), batch.getDataType());
    }

    @Override
    protected void postUpdate(Batch batch, StageMask mask) {
        NDArray v = batch.velocities().add(batch.forces().mul(Kinematics.halfKickFactors(batch, timeStep()))); // B
        batch.set(Batch.VELOCITIES, mask.select(v, batch.velocities()));
    }

    @Override
    public StageParameters stepGraphParameters() {
        return StageParameters.langevin(timeStep(), temperature, friction,
                initializeVelocities ? temperature : StageParameters.UNUSED);
    }

    @Override
    public long stepGraphSeed() {
        return seed;
    }

    /** Builder of {@link Langevin}. */
    public static class Builder extends BaseBuilder<Builder> {
        private double temperature = 300;
        private double friction = 0.01;
        private long seed;
        private boolean initializeVelocities = true;

        protected Builder(Potential potential) {
            super(potential, 1.0);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Target temperature in K. */
        public Builder optTemperature(double kelvin) {
            this.temperature = kelvin;
            return this;
        }

        /** Friction coefficient in 1/fs. */
        public Builder optFriction(double perFs) {
            this.friction = perFs;
            return this;
        }

        /** Seed of the noise streams. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Whether entering samples get Maxwell-Boltzmann velocities (default true). */
        public Builder optInitializeVelocities(boolean initialize) {
            this.initializeVelocities = initialize;
            return this;
        }

        /** Builds the integrator. */
        public Langevin build() {
            return new Langevin(this);
        }
    }
}
