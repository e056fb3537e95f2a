package org.fusedstage.dynamics;


import ai.djl.ndarray.NDArray;
import java.util.Map;
import org.fusedstage.data.Batch;

/**
 * Maxwell-Boltzmann velocities at a temperature, with zero net momentum per system, drawn from
 * the per-sample noise streams (so a sample gets the same velocities in any batch).
 */
public final class MaxwellBoltzmann {

    /** Purpose key of the velocity-initialisation stream, distinct from stage noise streams. */
    static final long PURPOSE = 0x4D42L; // "MB"

    private MaxwellBoltzmann() {}

    /**
     * The standard normal deviates behind {@link #velocities} on the host, written into {@code out}
     * ([N*3] row-major; fed to compiled step graphs), drawn only for the marked systems (null:
     * all; others get 0).
     */
    public static void hostStandardNormals(Batch batch, long seed, boolean[] systems, double[] out) {
        NoiseStreams.hostNormal(batch, seed, PURPOSE, systems, out);
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
        // The formula the stages draw entering samples' velocities with (one definition).
        return ProgramEvaluator.evaluate(Kinematics.maxwellBoltzmannVelocities(), batch, Map.of("mb_temperature", temperature),
                seed, systems);
    }
}
