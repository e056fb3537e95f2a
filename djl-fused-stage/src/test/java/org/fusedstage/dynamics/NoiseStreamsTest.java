package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

/**
 * The noise streams' deviates are standard normal: moments, the whole distribution (a
 * Kolmogorov-Smirnov test against the normal CDF), both tails (the ziggurat's tail and wedge
 * paths) and no correlation between neighbours. Fixed seeds: the figures are deterministic, and
 * each bound is several standard errors wide for a correct generator.
 */
class NoiseStreamsTest {

    private static final int STREAMS = 200;
    private static final int PER_STREAM = 10_000;

    private static double[] deviates() {
        double[] all = new double[STREAMS * PER_STREAM];
        for (int k = 0; k < STREAMS; k++) {
            NoiseStreams.fill(all, k * PER_STREAM, (k + 1) * PER_STREAM, NoiseStreams.streamSeed(7, 1000 + k, k % 13, 2));
        }
        return all;
    }

    @Test
    void momentsAreStandardNormal() {
        double[] z = deviates();
        int n = z.length;
        double mean = Arrays.stream(z).sum() / n;
        double m2 = 0;
        double m3 = 0;
        double m4 = 0;
        double lag = 0;
        for (int i = 0; i < n; i++) {
            double d = z[i] - mean;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
            if (i + 1 < n) {
                lag += d * (z[i + 1] - mean);
            }
        }
        m2 /= n;
        double skew = m3 / n / Math.pow(m2, 1.5);
        double kurtosis = m4 / n / (m2 * m2);
        double se = 1 / Math.sqrt(n);
        assertEquals(0, mean, 5 * se, "mean");
        assertEquals(1, m2, 5 * Math.sqrt(2) * se, "variance");
        assertEquals(0, skew, 5 * Math.sqrt(6) * se, "skewness");
        assertEquals(3, kurtosis, 5 * Math.sqrt(24) * se, "kurtosis");
        assertEquals(0, lag / (n - 1) / m2, 5 * se, "correlation of neighbouring deviates");
    }

    @Test
    void distributionMatchesTheNormalCdf() {
        double[] z = deviates();
        Arrays.sort(z);
        int n = z.length;
        double largestGap = 0;
        for (int i = 0; i < n; i++) {
            double cdf = normalCdf(z[i]);
            largestGap = Math.max(largestGap, Math.max(cdf - (double) i / n, (i + 1.0) / n - cdf));
        }
        // Kolmogorov-Smirnov: a correct generator exceeds 1.95 / sqrt(n) with probability 0.1 %.
        assertTrue(largestGap < 1.95 / Math.sqrt(n), "KS distance " + largestGap + " vs " + 1.95 / Math.sqrt(n));
        // Both tails beyond 2 and beyond the ziggurat's base (3.654...), within 5 standard errors.
        for (double cut : new double[] {2.0, 3.6541528853610088, 4.0}) {
            double p = 2 * (1 - normalCdf(cut));
            long beyond = Arrays.stream(z).filter(x -> Math.abs(x) > cut).count();
            double sd = Math.sqrt(n * p * (1 - p));
            assertEquals(n * p, beyond, 5 * sd, "deviates beyond +-" + cut);
            long positive = Arrays.stream(z).filter(x -> x > cut).count();
            assertEquals(beyond / 2.0, positive, 5 * Math.sqrt(beyond / 4.0) + 1, "positive deviates beyond " + cut);
        }
    }

    private static final double TABLE_STEP = 1e-3;
    private static final double[] HALF_CDF = halfCdfTable(); // Phi(k h) - 1/2 for k h in [0, 9]

    /** Phi(x - 1/2) on a grid, by Simpson's rule on each grid interval (error far below 1e-12). */
    private static double[] halfCdfTable() {
        double[] table = new double[(int) (9 / TABLE_STEP) + 1];
        for (int k = 1; k < table.length; k++) {
            double a = (k - 1) * TABLE_STEP;
            table[k] = table[k - 1] + TABLE_STEP / 6 * (density(a) + 4 * density(a + TABLE_STEP / 2) + density(a + TABLE_STEP));
        }
        return table;
    }

    /** Phi(x), interpolated linearly in the table (error below 1e-7). */
    private static double normalCdf(double x) {
        double at = Math.min(Math.abs(x), 9 - 2 * TABLE_STEP) / TABLE_STEP;
        int k = (int) at;
        double half = HALF_CDF[k] + (at - k) * (HALF_CDF[k + 1] - HALF_CDF[k]);
        return x >= 0 ? 0.5 + half : 0.5 - half;
    }

    private static double density(double x) {
        return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    }

    /**
     * The host deviates fed to step graphs: a sample's numbers are the same wherever its rows sit
     * (an inflight batch whose refilled slot holds scattered rows, against a fresh batch), and
     * samples that do not draw get zeros.
     */
    @Test
    void aSamplesDeviatesDoNotDependOnWhereItsRowsSit() {
        AtomicSystem a = TestSystems.fccArgon(1, 5.3, 0.1, 1); // 4 atoms
        AtomicSystem b = TestSystems.argonCluster(6, 4, 3, 2);
        AtomicSystem c = TestSystems.fccArgon(2, 5.3, 0.1, 3); // 32 atoms: a's 4 rows and 28 of the pool's
        AtomicSystem d = TestSystems.argonCluster(3, 3, 3, 4);
        try (NDManager manager = NDManager.newBaseManager();
                Batch inflight = Batch.builder(List.of(a, b)).optCapacity(3, 50).build(manager);
                Batch fresh = Batch.of(List.of(c, b, d), manager)) {
            inflight.replace(Set.of(), Map.of(0, c, 2, d), 0);
            assertFalse(inflight.isContiguous());
            assertArrayEquals(fresh.ages(), Arrays.copyOf(inflight.ages(), 3), "same ages");
            double[] scattered = new double[3 * inflight.numAtoms()];
            double[] packed = new double[3 * fresh.numAtoms()];
            boolean[] notB = {true, false, true, false};
            NoiseStreams.hostNormal(inflight, 11, 2, notB, scattered);
            NoiseStreams.hostNormal(fresh, 11, 2, null, packed);
            for (int slot = 0; slot < 3; slot++) {
                int[] rows = inflight.atomRows(slot);
                int[] freshRows = fresh.atomRows(slot);
                for (int i = 0; i < rows.length; i++) {
                    for (int k = 0; k < 3; k++) {
                        double expected = slot == 1 ? 0 : packed[3 * freshRows[i] + k];
                        assertEquals(expected, scattered[3 * rows[i] + k], 0.0, "slot " + slot + ", atom " + i);
                    }
                }
            }
            assertTrue(Arrays.stream(packed).allMatch(Double::isFinite) && Arrays.stream(packed).anyMatch(v -> v != 0));
        }
    }
}
