package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;
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
        Preconditions.checkArgument(b.maxStep > 0, "maxstep must be > 0 A, got %s", b.maxStep);
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

    @Override
    protected void preUpdate(Batch batch, StageMask mask) {
        NDArray f = batch.forces();
        NDArray v = batch.get(stateName("velocity"));
        NDArray dt = batch.get(stateName("dt"));
        NDArray alpha = batch.get(stateName("alpha"));
        NDArray n = batch.get(stateName("n_positive"));

        NDArray power = batch.segments().sum(f.mul(v).sum(new int[] {1})); // F.v per sample
        NDArray vNorm = Kinematics.systemNorm(batch, v);
        NDArray fNorm = Kinematics.systemNorm(batch, f);
        NDArray started = n.gte(0);
        NDArray downhill = power.gt(0).logicalAnd(started);
        NDArray uphill = started.logicalAnd(downhill.logicalNot());
        NDArray accelerate = downhill.logicalAnd(n.gt(nMin));

        // Mixing for downhill samples; a zero force norm keeps v (no direction to mix towards).
        NDArray ratio = NDArrays.where(fNorm.gt(0), vNorm.div(fNorm), fNorm.zerosLike());
        NDArray a = Kinematics.perAtomColumn(batch, alpha);
        NDArray mixed = v.mul(a.neg().add(1)).add(f.mul(a.mul(Kinematics.perAtomColumn(batch, ratio))));
        NDArray newV = NDArrays.where(Kinematics.perAtomColumn(batch, downhill).broadcast(v.getShape()), mixed, v);
        newV = NDArrays.where(Kinematics.perAtomColumn(batch, uphill).broadcast(v.getShape()), v.zerosLike(), newV);

        NDArray newDt = NDArrays.where(accelerate, dt.mul(fInc).minimum(dtMax), dt);
        newDt = NDArrays.where(uphill, dt.mul(fDec), newDt);
        NDArray newAlpha = NDArrays.where(accelerate, alpha.mul(fAlpha), alpha);
        newAlpha = NDArrays.where(uphill, alpha.onesLike().mul(alphaStart), newAlpha);
        NDArray newN = NDArrays.where(downhill, n.add(1), n);
        newN = NDArrays.where(uphill.logicalOr(started.logicalNot()), n.zerosLike(), newN);

        // v += dt F (unit mass, as ASE); dr = dt v, clamped to maxstep over the whole sample.
        NDArray dtAtoms = Kinematics.perAtomColumn(batch, newDt);
        newV = newV.add(f.mul(dtAtoms).mul(Units.EV_PER_A_AMU_TO_A_PER_FS2));
        NDArray dr = Kinematics.clampPerSystem(batch, newV.mul(dtAtoms), maxStep);

        batch.set(stateName("velocity"), mask.select(newV, v));
        batch.set(Batch.POSITIONS, mask.select(batch.positions().add(dr), batch.positions()));
        batch.set(stateName("dt"), mask.select(newDt, dt));
        batch.set(stateName("alpha"), mask.select(newAlpha, alpha));
        batch.set(stateName("n_positive"), mask.select(newN, n));
    }

    @Override
    public java.util.Map<String, Double> stepGraphParameters() {
        java.util.Map<String, Double> p = new java.util.HashMap<>();
        p.put("kind", 3.0);
        p.put("dt", timeStep());
        p.put("dt_max", dtMax);
        p.put("n_min", (double) nMin);
        p.put("f_inc", fInc);
        p.put("f_dec", fDec);
        p.put("alpha_start", alphaStart);
        p.put("f_alpha", fAlpha);
        p.put("max_step", maxStep);
        return p;
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
            optFmax(0.05);
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
