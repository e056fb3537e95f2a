package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import org.fusedstage.Units;
import org.fusedstage.model.Potential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Phase;

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

    /**
     * BAOAB: half kick (B), half drift (A), the Ornstein-Uhlenbeck step v = c1 v + c2 sqrt(kT/m) xi
     * with c1 = exp(-friction dt) (O), half drift (A) before the forward pass, and the second half
     * kick (B) after it; Maxwell-Boltzmann velocities at the bath temperature for entering samples
     * when asked.
     */
    static final StageProgram PROGRAM = buildProgram();

    private static StageProgram buildProgram() {
        Expr dt = Kinematics.dt();
        Expr halfDrift = dt.times(0.5);
        Expr v = Expr.VELOCITIES.plus(Kinematics.halfKick()); // B
        Expr x = Expr.POSITIONS.plus(v.times(halfDrift)); // A
        Expr c1 = Expr.parameter("friction").negate().times(dt).exp();
        Expr c2 = Expr.constant(1).minus(c1.times(c1)).sqrt();
        Expr kT = Expr.parameter("temperature").times(Units.BOLTZMANN_EV_PER_K * Units.EV_PER_A_AMU_TO_A_PER_FS2);
        Expr thermal = Expr.noise(Expr.STAGE_NOISE).times(Expr.INVERSE_MASS.times(kT).sqrt().times(c2));
        Expr damped = v.times(c1).plus(thermal); // O
        return StageProgram.builder()
                .assign(Phase.PRE_UPDATE, Expr.VELOCITIES, damped)
                .assign(Phase.PRE_UPDATE, Expr.POSITIONS, x.plus(damped.times(halfDrift))) // A
                .assign(Phase.POST_UPDATE, Expr.VELOCITIES, Expr.VELOCITIES.plus(Kinematics.halfKick())) // B
                .assignIf(Phase.ENTER, Kinematics.drawsVelocities(), Expr.VELOCITIES, Kinematics.maxwellBoltzmannVelocities())
                .build();
    }

    @Override
    protected StageProgram program() {
        return PROGRAM;
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
