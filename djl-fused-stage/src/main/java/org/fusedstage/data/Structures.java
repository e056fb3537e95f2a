package org.fusedstage.data;

import com.google.common.base.Preconditions;
import java.util.Random;

/** Builders of common structures, named after ASE's ({@code bulk}, {@code rattle}). */
public final class Structures {

    private static final double[][] FCC_BASIS = {{0, 0, 0}, {0, 0.5, 0.5}, {0.5, 0, 0.5}, {0.5, 0.5, 0}};

    private Structures() {}

    /**
     * A periodic fcc crystal of {@code reps^3} cubic unit cells (4 atoms each).
     *
     * @param symbol the element, e.g. "Ar"
     * @param lattice the cubic lattice constant in A
     * @param reps repetitions along each axis
     */
    public static AtomicSystem fcc(String symbol, double lattice, int reps) {
        Preconditions.checkArgument(reps >= 1, "reps must be >= 1, got %s", reps);
        Preconditions.checkArgument(lattice > 0, "lattice constant must be positive, got %s", lattice);
        int n = 4 * reps * reps * reps;
        double[] positions = new double[3 * n];
        int atom = 0;
        for (int i = 0; i < reps; i++) {
            for (int j = 0; j < reps; j++) {
                for (int k = 0; k < reps; k++) {
                    for (double[] b : FCC_BASIS) {
                        positions[3 * atom] = (i + b[0]) * lattice;
                        positions[3 * atom + 1] = (j + b[1]) * lattice;
                        positions[3 * atom + 2] = (k + b[2]) * lattice;
                        atom++;
                    }
                }
            }
        }
        double l = reps * lattice;
        String[] symbols = new String[n];
        java.util.Arrays.fill(symbols, symbol);
        return AtomicSystem.builder()
                .positions(positions)
                .symbols(symbols)
                .optCell(new double[] {l, 0, 0, 0, l, 0, 0, 0, l})
                .optPbc(true, true, true)
                .build();
    }

    /**
     * A copy without its first {@code count} atoms (vacancies), same cell and boundaries; the
     * remaining atoms keep their elements and masses.
     */
    public static AtomicSystem withoutFirstAtoms(AtomicSystem system, int count) {
        com.google.common.base.Preconditions.checkArgument(count >= 0 && count < system.size(),
                "can remove 0 to %s of %s atoms, not %s", system.size() - 1, system.size(), count);
        int n = system.size();
        return AtomicSystem.builder()
                .positions(java.util.Arrays.copyOfRange(system.positions(), 3 * count, 3 * n))
                .atomicNumbers(java.util.Arrays.copyOfRange(system.atomicNumbers(), count, n))
                .optMasses(java.util.Arrays.copyOfRange(system.masses(), count, n))
                .optCell(system.cell())
                .optPbc(system.pbc())
                .build();
    }

    /** A copy with every coordinate displaced by Gaussian noise of width {@code stdev} A (ASE's rattle). */
    public static AtomicSystem rattle(AtomicSystem system, double stdev, long seed) {
        Random random = new Random(seed);
        double[] positions = system.positions();
        for (int k = 0; k < positions.length; k++) {
            positions[k] += stdev * random.nextGaussian();
        }
        return system.toBuilder().positions(positions).build();
    }
}
