package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import org.fusedstage.Units;
import org.fusedstage.data.Batch;

/**
 * Maxwell-Boltzmann velocities at a temperature, with zero net momentum per system, drawn from
 * the per-sample noise streams (so a sample gets the same velocities in any batch).
 */
public final class MaxwellBoltzmann {

    /** Purpose key of the velocity-initialisation stream, distinct from stage noise streams. */
    private static final long PURPOSE = 0x4D42L; // "MB"

    private MaxwellBoltzmann() {}

    /** The standard normal deviates [N,3] behind {@link #velocities} (fed to compiled step graphs). */
    public static NDArray standardNormals(Batch batch, long seed) {
        return standardNormals(batch, seed, null);
    }

    /** As {@link #standardNormals(Batch, long)}, drawn only for the marked systems (null: all; others get 0). */
    public static NDArray standardNormals(Batch batch, long seed, boolean[] systems) {
        return NoiseStreams.normal(batch, seed, PURPOSE, systems);
    }

    /**
     * Velocities [N,3] in A/fs for every sample: v = sqrt(kT/m) xi, minus the system's
     * centre-of-mass velocity.
     *
     * @param batch the batch
     * @param temperature K
     * @param seed the stream seed
     */
    public static NDArray velocities(Batch batch, double temperature, long seed) {
        return velocities(batch, temperature, seed, null);
    }

    /**
     * As {@link #velocities(Batch, double, long)}, drawn only for the marked systems (null: all);
     * the others get zero velocities. A drawn sample's velocities do not depend on the others.
     */
    public static NDArray velocities(Batch batch, double temperature, long seed, boolean[] systems) {
        NDArray xi = standardNormals(batch, seed, systems);
        NDArray masses = Kinematics.columnMasses(batch);
        NDArray sigma = masses.pow(-1).mul(Units.BOLTZMANN_EV_PER_K * temperature * Units.EV_PER_A_AMU_TO_A_PER_FS2).sqrt();
        NDArray v = xi.mul(sigma);
        // Remove the centre-of-mass velocity of each system: sum(m v) / sum(m).
        NDArray momentum = batch.segments().sum(v.mul(masses));
        NDArray totalMass = batch.segments().sum(batch.masses()).reshape(batch.numSystems(), 1);
        NDArray centre = batch.segments().toAtoms(momentum.div(totalMass));
        return v.sub(centre);
    }
}
