package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import org.fusedstage.Units;
import org.fusedstage.model.Potential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Phase;

/**
 * FIRE, the Fast Inertial Relaxation Engine (Bitzek et al., PRL 97, 170201, 2006), exactly as
 * ASE's {@code ase.optimize.FIRE} steps it, per sample: mixing v = (1-a) v + a |v| F/|F| while
 * P = F.v > 0 (dt grows by finc and a shrinks by fa after Nmin such steps), else v = 0, dt *= fdec,
 * a = astart; then v += dt F, dr = dt v clamped to {@code maxstep} (A, norm over the sample).
 *
 * <p>ASE's defaults converted from its time unit (10.18 fs) to fs: dt 0.1 -> 1.018 fs, dtmax 1.0
 * -> 10.18 fs; Nmin 5, finc 1.1, fdec 0.5, astart 0.1, fa 0.99, maxstep 0.2 A. Like ASE, FIRE
 * ignores atomic masses (unit mass of 1 amu), so it reproduces ASE's trajectories and step
 * counts. The first step of a sample does no mixing (ASE's {@code v is None} branch).
 *
 * <p>Per-sample state in the batch: {@code dt} (fs), {@code alpha}, {@code n_positive} (steps
 * since the last uphill move, -1 before the first step) and FIRE's own per-atom {@code velocity}
 * (A/fs at unit mass). Like ASE's optimizer, FIRE leaves the sample's physical velocities alone, so
 * a following MD stage starts from the velocities the sample came with. Default convergence:
 * fmax <= 0.05 eV/A.
 */
public class FIRE extends Dynamics {

    private final double dtMax;
    private final int nMin;
    private final double fInc;
    private final double fDec;
    private final double alphaStart;
    private final double fAlpha;
    private final double maxStep;

    /** FIRE with ASE's defaults, converged at fmax <= 0.05 eV/A. */
    public FIRE(Potential potential) {
        this(builder(potential));
    }

    protected FIRE(Builder b) {
        super(b);
        Preconditions.checkArgument(b.maxStep > 0 && Double.isFinite(b.maxStep), "maxstep must be finite and > 0 A, got %s",
                b.maxStep);
        Preconditions.checkArgument(b.dtMax >= timeStep(), "dtmax %s fs is below dt %s fs", b.dtMax, timeStep());
        this.dtMax = b.dtMax;
        this.nMin = b.nMin;
        this.fInc = b.fInc;
        this.fDec = b.fDec;
        this.alphaStart = b.alphaStart;
        this.fAlpha = b.fAlpha;
        this.maxStep = b.maxStep;
    }

    /** Starts a builder with ASE's defaults (in fs) and fmax 0.05 eV/A. */
    public static Builder builder(Potential potential) {
        return new Builder(potential);
    }

    // FIRE's per-sample state: time step (fs), mixing, downhill steps (-1 before the first step)
    // and its own per-atom velocity (A/fs at unit mass).
    private static final Expr DT = Expr.sampleState("dt", Expr.Type.REAL);
    private static final Expr ALPHA = Expr.sampleState("alpha", Expr.Type.REAL);
    private static final Expr N_POSITIVE = Expr.sampleState("n_positive", Expr.Type.INTEGER);
    private static final Expr VELOCITY = Expr.atomState("velocity");

    /**
     * ASE's FIRE rule. Every per-atom update is a per-sample linear combination of v and F: the new
     * velocity is {@code cv v + cf F} and the displacement {@code step (cv v + cf F)}, and every norm
     * the rule needs (|v|, |F|, F.v and the clamped |dr|) follows from three per-sample sums: v.v,
     * F.F and F.v. (On a CPU the rule then runs on the host over those sums, and the device applies
     * its coefficients in a few per-atom ops.)
     */
    static final StageProgram PROGRAM = buildProgram();

    private static StageProgram buildProgram() {
        Expr f = Expr.FORCES;
        Expr vv = Expr.dot(VELOCITY, VELOCITY);
        Expr ff = Expr.dot(f, f);
        Expr fv = Expr.dot(f, VELOCITY);
        Expr started = N_POSITIVE.atLeast(Expr.integer(0)); // the first step does no mixing (ASE's v is None)
        Expr downhill = started.and(fv.greaterThan(0));
        Expr uphill = started.and(downhill.not());
        Expr accelerate = downhill.and(N_POSITIVE.greaterThan(Expr.parameter("n_min")));
        // Mixing v = (1-a) v + a |v| F/|F|; a zero force norm gives no direction to mix towards.
        Expr ratio = Expr.where(ff.greaterThan(0), vv.sqrt().dividedBy(ff.sqrt()), Expr.constant(0));
        Expr cv = Expr.where(downhill, Expr.constant(1).minus(ALPHA), Expr.where(uphill, Expr.constant(0), Expr.constant(1)));
        Expr mixing = Expr.where(downhill, ALPHA.times(ratio), Expr.constant(0));
        Expr dt = Expr.where(accelerate, DT.times(Expr.parameter("f_inc")).min(Expr.parameter("dt_max")),
                Expr.where(uphill, DT.times(Expr.parameter("f_dec")), DT));
        Expr alpha = Expr.where(accelerate, ALPHA.times(Expr.parameter("f_alpha")),
                Expr.where(uphill, Expr.parameter("alpha_start"), ALPHA));
        Expr n = Expr.where(downhill, N_POSITIVE.plus(Expr.integer(1)), Expr.integer(0));
        // v += dt F (unit mass, as ASE); dr = dt v, clamped to maxstep over the whole sample.
        Expr cf = mixing.plus(dt.times(Units.EV_PER_A_AMU_TO_A_PER_FS2));
        Expr speed2 = cv.times(cv).times(vv).plus(Expr.constant(2).times(cv).times(cf).times(fv)).plus(cf.times(cf).times(ff))
                .max(0); // |new v|^2
        Expr dr = dt.times(speed2.sqrt());
        Expr maxStep = Expr.parameter("max_step");
        Expr step = Expr.where(dr.greaterThan(maxStep), dt.times(maxStep).dividedBy(dr), dt);
        Expr v = VELOCITY.times(cv).plus(f.times(cf));
        return StageProgram.builder()
                .state(DT).state(ALPHA).state(N_POSITIVE).state(VELOCITY)
                .assign(Phase.PRE_UPDATE, VELOCITY, v)
                .assign(Phase.PRE_UPDATE, Expr.POSITIONS, Expr.POSITIONS.plus(v.times(step)))
                .assign(Phase.PRE_UPDATE, DT, dt)
                .assign(Phase.PRE_UPDATE, ALPHA, alpha)
                .assign(Phase.PRE_UPDATE, N_POSITIVE, n)
                .assign(Phase.ENTER, DT, Expr.parameter("dt"))
                .assign(Phase.ENTER, ALPHA, Expr.parameter("alpha_start"))
                .assign(Phase.ENTER, N_POSITIVE, Expr.integer(-1))
                .assign(Phase.ENTER, VELOCITY, Expr.constant(0))
                .build();
    }

    @Override
    protected StageProgram program() {
        return PROGRAM;
    }

    @Override
    public StageParameters stepGraphParameters() {
        return StageParameters.fire(timeStep(), dtMax, nMin, fInc, fDec, alphaStart, fAlpha, maxStep);
    }

    /** {@inheritDoc} */
    @Override
    public boolean isRelaxation() {
        return true;
    }

    /** Builder of {@link FIRE}; defaults are ASE's, converted to fs. */
    public static class Builder extends BaseBuilder<Builder> {
        private double dtMax = 1.0 * Units.ASE_TIME_UNIT_FS;
        private int nMin = 5;
        private double fInc = 1.1;
        private double fDec = 0.5;
        private double alphaStart = 0.1;
        private double fAlpha = 0.99;
        private double maxStep = 0.2;

        protected Builder(Potential potential) {
            super(potential, 0.1 * Units.ASE_TIME_UNIT_FS);
            optFmax(ConvergenceHook.DEFAULT_FMAX);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Largest time step in fs (ASE: 1.0 ASE units = 10.18 fs). */
        public Builder optDtMax(double fs) {
            this.dtMax = fs;
            return this;
        }

        /** Downhill steps before dt may grow (ASE: 5). */
        public Builder optNMin(int nMin) {
            this.nMin = nMin;
            return this;
        }

        /** Growth factor of dt (ASE: 1.1). */
        public Builder optFInc(double fInc) {
            this.fInc = fInc;
            return this;
        }

        /** Shrink factor of dt after an uphill step (ASE: 0.5). */
        public Builder optFDec(double fDec) {
            this.fDec = fDec;
            return this;
        }

        /** Initial mixing parameter (ASE: 0.1). */
        public Builder optAlphaStart(double alphaStart) {
            this.alphaStart = alphaStart;
            return this;
        }

        /** Decay of the mixing parameter (ASE: 0.99). */
        public Builder optFAlpha(double fAlpha) {
            this.fAlpha = fAlpha;
            return this;
        }

        /** Largest displacement norm per step and sample, in A (ASE: 0.2). */
        public Builder optMaxStep(double angstrom) {
            this.maxStep = angstrom;
            return this;
        }

        /** Builds the optimizer. */
        public FIRE build() {
            return new FIRE(this);
        }
    }
}
