package org.fusedstage.hooks;

import ai.djl.ndarray.NDArray;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;

/**
 * Per-system observables read back to the host in one place, for hooks that report: energy (eV),
 * largest force on an atom (eV/A) and kinetic energy (eV), each [B].
 *
 * @param energy potential energy per system
 * @param fmax largest |F| over each system's atoms
 * @param kinetic kinetic energy per system
 */
public record SystemObservables(double[] energy, double[] fmax, double[] kinetic) {

    /** Reads the observables of every slot of the batch. */
    public static SystemObservables read(Batch batch) {
        NDArray f = batch.forces();
        NDArray v = batch.velocities();
        double[] fmax = HostArrays.doubles(batch.segments().maxRowNorm(f));
        double[] mv2 = HostArrays.doubles(batch.segments().sum(v.mul(v).sum(new int[] {1}).mul(batch.masses())));
        double[] kinetic = new double[mv2.length];
        for (int i = 0; i < mv2.length; i++) {
            kinetic[i] = 0.5 * mv2[i] * Units.AMU_A2_PER_FS2_TO_EV;
        }
        return new SystemObservables(HostArrays.doubles(batch.energy()), fmax, kinetic);
    }
}
