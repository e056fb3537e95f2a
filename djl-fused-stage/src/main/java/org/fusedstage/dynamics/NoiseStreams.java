package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;

/**
 * Gaussian noise from independent per-sample streams keyed by (seed, sample id, the sample's
 * age in steps, purpose). A sample's noise therefore does not depend on which samples share its
 * batch, on its slot, or on when it was loaded: the same sample gives the same trajectory alone,
 * in any batch, and in inflight runs.
 *
 * <p>Each stream is a SplitMix64 generator (Steele, Lea and Flood 2014) seeded by mixing the key;
 * normal deviates come from the Box-Muller transform. Generated on the host and copied to the
 * batch device in one transfer per step; the same numbers are fed to compiled step graphs.
 */
public final class NoiseStreams {

    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private NoiseStreams() {}

    /**
     * Standard normal deviates [N,3] in the batch dtype and device, one stream per sample.
     *
     * @param batch the batch (sample keys, ages and layout are read on the host)
     * @param seed the user's seed
     * @param purpose distinguishes independent uses within one step (e.g. the stage's status code)
     */
    public static NDArray normal(Batch batch, long seed, long purpose) {
        return normal(batch, seed, purpose, null);
    }

    /**
     * As {@link #normal(Batch, long, long)}, drawing only for the systems marked in {@code systems}
     * (others get zeros; null draws for all). A sample's numbers do not depend on which others draw.
     */
    public static NDArray normal(Batch batch, long seed, long purpose, boolean[] systems) {
        double[] values = hostNormal(batch, seed, purpose, systems);
        return HostArrays.create(batch.getManager(), values, new Shape(batch.numAtoms(), 3), batch.getDataType());
    }

    /** The deviates of {@link #normal(Batch, long, long, boolean[])} on the host, [N*3] row-major. */
    static double[] hostNormal(Batch batch, long seed, long purpose, boolean[] systems) {
        long[] keys = batch.sampleKeys();
        long[] ages = batch.ages();
        int[][] rows = batch.memberRows();
        double[] values = new double[3 * batch.numAtoms()];
        double[] stream = new double[0];
        for (int i = 0; i < keys.length; i++) {
            if (systems != null && !systems[i]) {
                continue;
            }
            if (stream.length < 3 * rows[i].length) {
                stream = new double[3 * rows[i].length];
            }
            fill(stream, 0, 3 * rows[i].length, streamSeed(seed, keys[i], ages[i], purpose));
            for (int a = 0; a < rows[i].length; a++) {
                System.arraycopy(stream, 3 * a, values, 3 * rows[i][a], 3);
            }
        }
        return values;
    }

    /** Fills values[from, to) with standard normal deviates of one stream. */
    static void fill(double[] values, int from, int to, long state) {
        long s = state;
        for (int i = from; i < to; i += 2) {
            s += GOLDEN_GAMMA;
            double u1 = toUnitOpen(mix(s));
            s += GOLDEN_GAMMA;
            double u2 = toUnitOpen(mix(s));
            double radius = Math.sqrt(-2.0 * Math.log(u1));
            double angle = 2.0 * Math.PI * u2;
            values[i] = radius * Math.cos(angle);
            if (i + 1 < to) {
                values[i + 1] = radius * Math.sin(angle);
            }
        }
    }

    static long streamSeed(long seed, long sampleKey, long age, long purpose) {
        long h = mix(seed ^ GOLDEN_GAMMA);
        h = mix(h ^ sampleKey);
        h = mix(h ^ (age * 0xD1B54A32D192ED03L));
        return mix(h ^ (purpose * 0xAEF17502108EF2D9L));
    }

    /** SplitMix64 finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Maps 53 random bits to (0, 1]. */
    private static double toUnitOpen(long bits) {
        return ((bits >>> 11) + 1) * 0x1.0p-53;
    }
}
