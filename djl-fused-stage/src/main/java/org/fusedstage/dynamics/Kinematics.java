package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;

/** Shared unit-aware building blocks of the integrators. */
final class Kinematics {

    private Kinematics() {}

    // ---------------------------------------------------------------- formulas of the stage programs

    /** The stage's time step, fs. */
    static Expr dt() {
        return Expr.parameter("dt");
    }

    /** The velocity change over half a step from the current forces, A/fs: F dt / 2m. */
    static Expr halfKick() {
        return Expr.FORCES.times(Expr.INVERSE_MASS.times(dt().times(0.5 * Units.EV_PER_A_AMU_TO_A_PER_FS2)));
    }

    /**
     * The first half of a velocity Verlet step, before the forward pass: v += F dt/2m, then
     * x += v dt with the kicked v.
     */
    static StageProgram.Builder kickDrift(StageProgram.Builder program) {
        Expr kicked = Expr.VELOCITIES.plus(halfKick());
        return program.assign(StageProgram.Phase.PRE_UPDATE, Expr.VELOCITIES, kicked)
                .assign(StageProgram.Phase.PRE_UPDATE, Expr.POSITIONS, Expr.POSITIONS.plus(kicked.times(dt())));
    }

    /**
     * Maxwell-Boltzmann velocities at the stage parameter {@code mb_temperature} (K), A/fs: v =
     * sqrt(kT/m) xi from the velocity streams, minus each sample's centre-of-mass velocity.
     */
    static Expr maxwellBoltzmannVelocities() {
        Expr kT = Expr.parameter("mb_temperature").times(Units.BOLTZMANN_EV_PER_K * Units.EV_PER_A_AMU_TO_A_PER_FS2);
        Expr v = Expr.noise(Expr.VELOCITY_NOISE).times(Expr.INVERSE_MASS.times(kT).sqrt());
        return Expr.centered(v, Expr.MASS);
    }

    /** Whether the stage draws Maxwell-Boltzmann velocities for entering samples (a scalar flag). */
    static Expr drawsVelocities() {
        return Expr.parameter("mb_temperature").atLeast(0);
    }

    /**
     * |x|^2 of each row of [N,3] vectors, [N]. A product with a column of ones: libtorch's sum over
     * the last axis of an [N,3] array is ~10x slower on a CPU (187 vs 14 us at N = 6912).
     */
    static NDArray rowSquares(NDArray vectors) {
        try (NDArray ones = vectors.getManager().ones(new Shape(3, 1), vectors.getDataType())) {
            return vectors.mul(vectors).matMul(ones).reshape(vectors.getShape().get(0));
        }
    }

    /** Masses as a column [N,1] for broadcasting against [N,3]. */
    static NDArray columnMasses(Batch batch) {
        return batch.masses().reshape(new Shape(batch.numAtoms(), 1));
    }

    /** Kinetic energy per system in eV, [B]. */
    static NDArray kineticEnergy(Batch batch) {
        NDArray v = batch.velocities();
        NDArray mv2 = rowSquares(v).mul(batch.masses());
        return batch.segments().sum(mv2).mul(0.5 * Units.AMU_A2_PER_FS2_TO_EV);
    }

    /** Instantaneous temperature per system in K, with 3N degrees of freedom as ASE counts them. */
    static NDArray temperature(Batch batch) {
        NDArray dof = batch.segments().atomCounts().mul(3).toType(batch.getDataType(), false);
        return kineticEnergy(batch).mul(2.0 / Units.BOLTZMANN_EV_PER_K).div(dof);
    }
}
