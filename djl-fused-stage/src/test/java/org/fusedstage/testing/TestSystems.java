package org.fusedstage.testing;

import java.util.Random;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;

/** Structures used across tests: fcc argon crystals, clusters, triclinic cells. */
public final class TestSystems {

    /** Argon's fcc lattice constant near the LJ minimum, in A. */
    public static final double ARGON_LATTICE = 5.26;

    private TestSystems() {}

    /**
     * An fcc argon crystal of {@code reps^3} cubic cells (4 atoms each), atoms displaced by
     * Gaussian noise of width {@code noise} A.
     */
    public static AtomicSystem fccArgon(int reps, double lattice, double noise, long seed) {
        AtomicSystem crystal = Structures.fcc("Ar", lattice, reps);
        return Structures.rattle(crystal, noise, seed).toBuilder().optSampleId("fcc-" + reps + "-" + seed).build();
    }

    /** A random argon cluster in open boundaries, no two atoms closer than {@code minDistance}. */
    public static AtomicSystem argonCluster(int n, double radius, double minDistance, long seed) {
        Random random = new Random(seed);
        double[] positions = new double[3 * n];
        int placed = 0;
        while (placed < n) {
            double x = (2 * random.nextDouble() - 1) * radius;
            double y = (2 * random.nextDouble() - 1) * radius;
            double z = (2 * random.nextDouble() - 1) * radius;
            boolean ok = true;
            for (int j = 0; j < placed && ok; j++) {
                double dx = x - positions[3 * j];
                double dy = y - positions[3 * j + 1];
                double dz = z - positions[3 * j + 2];
                ok = dx * dx + dy * dy + dz * dz >= minDistance * minDistance;
            }
            if (ok) {
                positions[3 * placed] = x;
                positions[3 * placed + 1] = y;
                positions[3 * placed + 2] = z;
                placed++;
            }
        }
        return AtomicSystem.builder()
                .positions(positions)
                .atomicNumbers(filled(n, 18))
                .optSampleId("cluster-" + n + "-" + seed)
                .build();
    }

    /**
     * The primitive (one-atom) fcc argon cell, a triclinic cell far smaller than twice the
     * cutoff, with {@code extra} more atoms placed at random fractional positions.
     */
    public static AtomicSystem triclinicArgon(int extra, long seed) {
        double a = ARGON_LATTICE * (1 + extra) * 0.5;
        double[] cell = {0, a, a, a, 0, a, a, a, 0};
        Random random = new Random(seed);
        int n = 1 + extra;
        double[] positions = new double[3 * n];
        for (int i = 1; i < n; i++) {
            double[] f = {random.nextDouble(), random.nextDouble(), random.nextDouble()};
            for (int k = 0; k < 3; k++) {
                positions[3 * i + k] = f[0] * cell[k] + f[1] * cell[3 + k] + f[2] * cell[6 + k];
            }
        }
        return AtomicSystem.builder()
                .positions(positions)
                .atomicNumbers(filled(n, 18))
                .optCell(cell)
                .optPbc(true, true, true)
                .optSampleId("triclinic-" + n + "-" + seed)
                .build();
    }

    /** An int array filled with one value. */
    public static int[] filled(int n, int value) {
        int[] out = new int[n];
        java.util.Arrays.fill(out, value);
        return out;
    }
}
