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
 * normal deviates come from the ziggurat method (Marsaglia and Tsang 2000, 256 layers), which
 * needs one 64-bit draw and no transcendental function for about 99 % of its deviates: the
 * Box-Muller transform it replaced (a log, a square root, a sine and a cosine per pair) was half
 * of a Langevin stage's host work (150 us of 300 us for 2000 atoms). Layer, sign and abscissa
 * come from disjoint bits of the draw (the low 9 bits and the high 53), so they are independent.
 * Generated on the host and copied to the batch device in one transfer per step; the same numbers
 * are fed to compiled step graphs.
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
        double[] values = new double[3 * batch.numAtoms()];
        hostNormal(batch, seed, purpose, systems, values);
        return HostArrays.create(batch.getManager(), values, new Shape(batch.numAtoms(), 3), batch.getDataType());
    }

    /**
     * The deviates of {@link #normal(Batch, long, long, boolean[])} on the host, written into
     * {@code out} ([N*3] row-major, every entry written): for a caller that keeps its own array
     * (a step graph's reused input). A sample's rows are drawn straight into place, no layout copy.
     */
    public static void hostNormal(Batch batch, long seed, long purpose, boolean[] systems, double[] out) {
        com.google.common.base.Preconditions.checkArgument(out.length == 3 * batch.numAtoms(),
                "%s values for %s atoms", out.length, batch.numAtoms());
        java.util.Arrays.fill(out, 0); // rows of samples that do not draw, and of vacant slots
        int[][] members = batch.memberRows();
        long[] keys = batch.sampleKeys();
        long[] ages = batch.ages();
        double[] scattered = null;
        for (int s = 0; s < members.length; s++) {
            int[] rows = members[s];
            int n = rows.length;
            if (n == 0 || (systems != null && !systems[s])) {
                continue;
            }
            long stream = streamSeed(seed, keys[s], ages[s], purpose);
            if (rows[n - 1] - rows[0] == n - 1) { // ascending, so consecutive rows
                fill(out, 3 * rows[0], 3 * (rows[0] + n), stream);
                continue;
            }
            scattered = scattered != null && scattered.length >= 3 * n ? scattered : new double[3 * n];
            fill(scattered, 0, 3 * n, stream);
            for (int i = 0; i < n; i++) {
                System.arraycopy(scattered, 3 * i, out, 3 * rows[i], 3);
            }
        }
    }

    /**
     * The deviates for the rows of {@code layout}, three per row, into {@code out}: a sample's
     * stream where it draws ({@code draw} null: every sample), zeros where it does not. A sample's
     * rows are consecutive in a layout, so its stream goes straight in.
     */
    static void fill(Batch batch, long seed, long purpose, boolean[] draw, SampleRows layout, double[] out) {
        long[] keys = batch.sampleKeys();
        long[] ages = batch.ages();
        for (int s = 0; s < layout.numSamples(); s++) {
            if (draw == null || draw[s]) {
                fill(out, 3 * layout.from(s), 3 * layout.to(s), streamSeed(seed, keys[s], ages[s], purpose));
            } else {
                java.util.Arrays.fill(out, 3 * layout.from(s), 3 * layout.to(s), 0);
            }
        }
    }

    // The ziggurat: 256 layers of equal area V under f(x) = exp(-x^2/2), layer 0 being the base
    // strip [0, V/f(R)) with the tail beyond R. EDGE[i] is the right edge of layer i (EDGE[1] = R,
    // EDGE[256] = 0), HEIGHT[i] = f(EDGE[i]). Constants for 256 layers (Marsaglia and Tsang 2000).
    private static final int LAYERS = 256;
    private static final double R = 3.6541528853610088;
    private static final double V = 4.92867323399e-3;
    private static final double[] EDGE = new double[LAYERS + 1];
    private static final double[] HEIGHT = new double[LAYERS + 1];

    static {
        EDGE[0] = V / gauss(R);
        EDGE[1] = R;
        for (int i = 1; i < LAYERS - 1; i++) {
            EDGE[i + 1] = Math.sqrt(-2 * Math.log(V / EDGE[i] + gauss(EDGE[i])));
        }
        EDGE[LAYERS] = 0;
        for (int i = 0; i <= LAYERS; i++) {
            HEIGHT[i] = gauss(EDGE[i]);
        }
    }

    private static double gauss(double x) {
        return Math.exp(-0.5 * x * x);
    }

    /** Fills values[from, to) with standard normal deviates of one stream. */
    static void fill(double[] values, int from, int to, long state) {
        long s = state;
        for (int i = from; i < to; i++) {
            double z;
            while (true) {
                s += GOLDEN_GAMMA;
                long bits = mix(s);
                int layer = (int) bits & (LAYERS - 1);
                double x = ((bits >>> 11) * 0x1.0p-53) * EDGE[layer]; // [0, edge)
                if (x < EDGE[layer + 1]) { // inside the layer's rectangle under the curve: ~99 %
                    z = x;
                } else if (layer == 0) { // the tail beyond R (Marsaglia 1964)
                    double a;
                    double b;
                    do {
                        s += GOLDEN_GAMMA;
                        a = -Math.log(toUnitOpen(mix(s))) / R;
                        s += GOLDEN_GAMMA;
                        b = -Math.log(toUnitOpen(mix(s)));
                    } while (b + b < a * a);
                    z = R + a;
                } else { // the wedge between the rectangle and the curve
                    s += GOLDEN_GAMMA;
                    double y = HEIGHT[layer] + (mix(s) >>> 11) * 0x1.0p-53 * (HEIGHT[layer + 1] - HEIGHT[layer]);
                    if (y >= gauss(x)) {
                        continue;
                    }
                    z = x;
                }
                // Bit 8 of the draw is the sign, moved into the sign bit: a branch on it would be
                // mispredicted half the time (68 us vs 27 us for 5868 deviates).
                values[i] = Double.longBitsToDouble(Double.doubleToRawLongBits(z) ^ ((bits & LAYERS) << 55));
                break;
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
