package org.fusedstage.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.model.Potential;

/**
 * Forces and stress of a potential against central finite differences of its energy: forces
 * -dE/dx for a few coordinates, stress (1/V) dE/d(strain) for all nine strain components (the
 * cell and the atoms deformed together).
 */
public final class FiniteDifferences {

    private FiniteDifferences() {}

    private static double energy(Potential potential, AtomicSystem s, NDManager manager) {
        try (Batch batch = Batch.of(List.of(s), manager)) {
            potential.compute(batch);
            return batch.energy().toDoubleArray()[0];
        }
    }

    /**
     * Checks forces (on the first {@code atoms} atoms, h = 1e-5 A) and, for cells periodic in 3D,
     * the stress (strain steps of 1e-6) to {@code tolerance} (eV/A and eV/A^3).
     */
    public static void check(Potential potential, AtomicSystem s, int atoms, double tolerance, String what) {
        try (NDManager manager = NDManager.newBaseManager(); Batch batch = Batch.of(List.of(s), manager)) {
            potential.compute(batch);
            AtomicSystem computed = batch.toSystems().get(0);
            double[] forces = computed.forces().orElseThrow();
            double h = 1e-5;
            for (int a = 0; a < Math.min(atoms, s.size()); a++) {
                for (int c = 0; c < 3; c++) {
                    double[] plus = s.positions().clone();
                    double[] minus = s.positions().clone();
                    plus[3 * a + c] += h;
                    minus[3 * a + c] -= h;
                    double fd = -(energy(potential, s.toBuilder().positions(plus).build(), manager)
                            - energy(potential, s.toBuilder().positions(minus).build(), manager)) / (2 * h);
                    assertEquals(fd, forces[3 * a + c], tolerance, what + ": force on atom " + a + " component " + c);
                }
            }
            if (!(s.pbc()[0] && s.pbc()[1] && s.pbc()[2])) {
                return;
            }
            double[] stress = computed.stress().orElseThrow();
            double[] cell = s.cell();
            double volume = Math.abs(cell[0] * (cell[4] * cell[8] - cell[5] * cell[7]) - cell[1] * (cell[3] * cell[8] - cell[5] * cell[6])
                    + cell[2] * (cell[3] * cell[7] - cell[4] * cell[6]));
            double e = 1e-6;
            for (int p = 0; p < 3; p++) {
                for (int q = 0; q < 3; q++) {
                    double up = energy(potential, strained(s, p, q, e), manager);
                    double down = energy(potential, strained(s, p, q, -e), manager);
                    double fd = (up - down) / (2 * e) / volume;
                    assertEquals(fd, stress[3 * p + q], tolerance, what + ": stress component " + p + q);
                }
            }
        }
    }

    /** Positions and cell rows mapped by (1 + eps e_p e_q^T): x_p += eps x_q. */
    private static AtomicSystem strained(AtomicSystem s, int p, int q, double eps) {
        double[] x = s.positions().clone();
        for (int a = 0; a < s.size(); a++) {
            x[3 * a + p] += eps * s.positions()[3 * a + q];
        }
        double[] cell = s.cell().clone();
        for (int row = 0; row < 3; row++) {
            cell[3 * row + p] += eps * s.cell()[3 * row + q];
        }
        return s.toBuilder().positions(x).optCell(cell).build();
    }
}
