package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;
import org.fusedstage.data.Segments;
import org.fusedstage.model.Potential;

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

    @Override
    protected void initState(Batch batch) {
        Shape shape = new Shape(batch.numSystems());
        if (!batch.has(stateName("dt"))) {
            batch.putSystemField(stateName("dt"), batch.getManager().full(shape, (float) timeStep(), batch.getDataType()));
            batch.putSystemField(stateName("alpha"), batch.getManager().full(shape, (float) alphaStart, batch.getDataType()));
            batch.putSystemField(stateName("n_positive"), batch.getManager().full(shape, -1, DataType.INT64));
            batch.putAtomField(stateName("velocity"), batch.positions().zerosLike());
        }
    }

    @Override
    protected void onEnter(Batch batch, StageMask entering) {
        reset(batch, entering, stateName("dt"), timeStep());
        reset(batch, entering, stateName("alpha"), alphaStart);
        NDArray n = batch.get(stateName("n_positive"));
        batch.set(stateName("n_positive"), entering.select(n.onesLike().neg(), n));
        NDArray v = batch.get(stateName("velocity"));
        batch.set(stateName("velocity"), entering.select(v.zerosLike(), v));
    }

    private static void reset(Batch batch, StageMask entering, String name, double value) {
        NDArray current = batch.get(name);
        batch.set(name, entering.select(current.onesLike().mul(value), current));
    }

    /**
     * One FIRE step of the masked samples. Every per-atom update FIRE makes is a per-sample linear
     * combination of v and F: the new velocity is {@code cv v + cf F} and the displacement
     * {@code step (cv v + cf F)}, and every norm the rule needs (|v|, |F|, F.v and the clamped
     * |dr|) follows from three per-sample sums: v.v, F.F and F.v. So the rule runs on the host
     * over those sums ({@link #rule}) and the device applies its coefficients in five per-atom ops
     * and two masked selects (the step was ~100 masked ops on [B] and [N,3] arrays before; on a
     * CPU reading v and F costs less than one device reduction over them).
     */
    @Override
    protected void preUpdate(Batch batch, StageMask mask) {
        NDArray f = batch.forces();
        NDArray v = batch.get(stateName("velocity"));
        boolean[] owned = mask.hostSystems();
        double[] sums = systemSums(batch.memberRows(), HostArrays.doubles(v), HostArrays.doubles(f));
        double[] dt = HostArrays.doubles(batch.get(stateName("dt")));
        double[] alpha = HostArrays.doubles(batch.get(stateName("alpha")));
        long[] n = batch.get(stateName("n_positive")).toLongArray();

        double[] cv = new double[owned.length];
        double[] cf = new double[owned.length];
        double[] step = new double[owned.length]; // fs
        for (int s = 0; s < owned.length; s++) {
            if (owned[s]) {
                rule(s, sums[3 * s], sums[3 * s + 1], sums[3 * s + 2], dt, alpha, n, cv, cf, step);
            } else {
                cv[s] = 1; // unchanged (the selects below keep other stages' rows bit for bit)
            }
        }
        NDManager manager = batch.getManager();
        DataType type = batch.getDataType();
        batch.set(stateName("dt"), HostArrays.create(manager, dt, type));
        batch.set(stateName("alpha"), HostArrays.create(manager, alpha, type));
        batch.set(stateName("n_positive"), manager.create(n));
        Segments segments = batch.segments();
        NDArray newV = v.mul(segments.toAtomVectors(cv, type)).add(f.mul(segments.toAtomVectors(cf, type)));
        batch.set(stateName("velocity"), mask.select(newV, v));
        NDArray positions = batch.positions();
        batch.set(Batch.POSITIONS, mask.select(positions.add(newV.mul(segments.toAtomVectors(step, type))), positions));
    }

    /** Per system: v.v, F.F and F.v over its atoms, [B*3]. */
    private static double[] systemSums(int[][] members, double[] v, double[] f) {
        double[] sums = new double[3 * members.length];
        for (int s = 0; s < members.length; s++) {
            double vv = 0;
            double ff = 0;
            double fv = 0;
            for (int row : members[s]) {
                for (int k = 3 * row; k < 3 * row + 3; k++) {
                    vv += v[k] * v[k];
                    ff += f[k] * f[k];
                    fv += f[k] * v[k];
                }
            }
            sums[3 * s] = vv;
            sums[3 * s + 1] = ff;
            sums[3 * s + 2] = fv;
        }
        return sums;
    }

    /**
     * ASE's FIRE rule for sample {@code s}, from vv = v.v, ff = F.F and fv = F.v over its atoms
     * (v in A/fs at unit mass, F in eV/A): updates its dt, alpha and n in place and writes the
     * coefficients of its step (new v = cv v + cf F; dr = step (cv v + cf F), step in fs).
     */
    private void rule(int s, double vv, double ff, double fv, double[] dt, double[] alpha, long[] n, double[] cvOut,
            double[] cfOut, double[] stepOut) {
        boolean started = n[s] >= 0;
        boolean downhill = started && fv > 0;
        boolean uphill = started && !downhill;
        double cv = 1;
        double cf = 0;
        if (downhill) {
            // Mixing v = (1-a) v + a |v| F/|F|; a zero force norm gives no direction to mix towards.
            cv = 1 - alpha[s];
            cf = ff > 0 ? alpha[s] * Math.sqrt(vv) / Math.sqrt(ff) : 0;
            if (n[s] > nMin) {
                dt[s] = Math.min(dt[s] * fInc, dtMax);
                alpha[s] *= fAlpha;
            }
            n[s]++;
        } else if (uphill) {
            cv = 0;
            dt[s] *= fDec;
            alpha[s] = alphaStart;
            n[s] = 0;
        } else {
            n[s] = 0; // the first step: no mixing (ASE's v is None)
        }
        // v += dt F (unit mass, as ASE); dr = dt v, clamped to maxstep over the whole sample.
        cf += dt[s] * Units.EV_PER_A_AMU_TO_A_PER_FS2;
        double v2 = Math.max(0, cv * cv * vv + 2 * cv * cf * fv + cf * cf * ff); // |new v|^2
        double dr = dt[s] * Math.sqrt(v2);
        cvOut[s] = cv;
        cfOut[s] = cf;
        stepOut[s] = dr > maxStep ? dt[s] * maxStep / dr : dt[s];
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
