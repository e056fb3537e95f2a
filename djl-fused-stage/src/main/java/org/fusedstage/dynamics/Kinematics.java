package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.Shape;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;

/** Shared unit-aware building blocks of the integrators. */
final class Kinematics {

    private Kinematics() {}

    /** Accelerations F / m in A/fs^2, [N,3]. */
    static NDArray accelerations(Batch batch) {
        return batch.forces().div(columnMasses(batch)).mul(Units.EV_PER_A_AMU_TO_A_PER_FS2);
    }

    /** Masses as a column [N,1] for broadcasting against [N,3]. */
    static NDArray columnMasses(Batch batch) {
        return batch.masses().reshape(new Shape(batch.numAtoms(), 1));
    }

    /** Per-system values [B] as a per-atom column [N,1]. */
    static NDArray perAtomColumn(Batch batch, NDArray perSystem) {
        return batch.segments().toAtoms(perSystem).reshape(new Shape(batch.numAtoms(), 1));
    }

    /** Norm of a per-atom vector field taken over each whole system, sqrt(sum_atoms |x|^2), [B]. */
    static NDArray systemNorm(Batch batch, NDArray vectors) {
        return batch.segments().sum(vectors.mul(vectors).sum(new int[] {1})).sqrt();
    }

    /** Scales each system's displacement [N,3] so its norm over the system is at most maxStep A. */
    static NDArray clampPerSystem(Batch batch, NDArray displacement, double maxStep) {
        NDArray norm = systemNorm(batch, displacement);
        NDArray scale = NDArrays.where(norm.gt(maxStep), norm.pow(-1).mul(maxStep), norm.onesLike());
        return displacement.mul(perAtomColumn(batch, scale));
    }

    /** Kinetic energy per system in eV, [B]. */
    static NDArray kineticEnergy(Batch batch) {
        NDArray v = batch.velocities();
        NDArray mv2 = v.mul(v).sum(new int[] {1}).mul(batch.masses());
        return batch.segments().sum(mv2).mul(0.5 * Units.AMU_A2_PER_FS2_TO_EV);
    }

    /** Instantaneous temperature per system in K, with 3N degrees of freedom as ASE counts them. */
    static NDArray temperature(Batch batch) {
        NDArray dof = batch.segments().atomCounts().mul(3).toType(batch.getDataType(), false);
        return kineticEnergy(batch).mul(2.0 / Units.BOLTZMANN_EV_PER_K).div(dof);
    }
}
