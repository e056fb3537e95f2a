package org.fusedstage.model;

import org.fusedstage.data.AtomicSystem;

/**
 * An independent, plain double-precision Lennard-Jones (shifted at the cutoff) used to check the
 * TorchScript model: sums over every lattice translation up to a generous range found by brute
 * force, with no code shared with the model.
 */
final class ReferenceLennardJones {

    final double epsilon;
    final double sigma;
    final double cutoff;

    ReferenceLennardJones(double epsilon, double sigma, double cutoff) {
        this.epsilon = epsilon;
        this.sigma = sigma;
        this.cutoff = cutoff;
    }

    /** Energy (eV) and forces (eV/A): result[0] is the energy, result[1..3N] the forces. */
    double[] energyAndForces(AtomicSystem s) {
        double[] r = s.positions();
        double[] cell = s.cell();
        boolean[] pbc = s.pbc();
        int n = s.size();
        int[] range = new int[3];
        for (int axis = 0; axis < 3; axis++) {
            if (pbc[axis]) {
                // Plane spacing along axis: volume / |a_j x a_k|; one extra image for safety.
                double[] aj = row(cell, (axis + 1) % 3);
                double[] ak = row(cell, (axis + 2) % 3);
                double[] cross = {aj[1] * ak[2] - aj[2] * ak[1], aj[2] * ak[0] - aj[0] * ak[2], aj[0] * ak[1] - aj[1] * ak[0]};
                double[] ai = row(cell, axis);
                double volume = Math.abs(ai[0] * cross[0] + ai[1] * cross[1] + ai[2] * cross[2]);
                double spacing = volume / Math.sqrt(cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]);
                range[axis] = (int) Math.ceil(cutoff / spacing) + 1;
            }
        }
        double sr6c = Math.pow(sigma / cutoff, 6);
        double shift = 4 * epsilon * (sr6c * sr6c - sr6c);
        double energy = 0;
        double[] forces = new double[3 * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int u = -range[0]; u <= range[0]; u++) {
                    for (int v = -range[1]; v <= range[1]; v++) {
                        for (int w = -range[2]; w <= range[2]; w++) {
                            if (i == j && u == 0 && v == 0 && w == 0) {
                                continue;
                            }
                            double[] d = new double[3];
                            for (int k = 0; k < 3; k++) {
                                d[k] = r[3 * j + k] + u * cell[k] + v * cell[3 + k] + w * cell[6 + k] - r[3 * i + k];
                            }
                            double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                            if (r2 >= cutoff * cutoff) {
                                continue;
                            }
                            double sr6 = Math.pow(sigma * sigma / r2, 3);
                            energy += 0.5 * (4 * epsilon * (sr6 * sr6 - sr6) - shift);
                            // dE/dr / r for the pair; force on i is +dEdr/r * d (d points i -> j).
                            double dEdrOverR = 4 * epsilon * (-12 * sr6 * sr6 + 6 * sr6) / r2;
                            for (int k = 0; k < 3; k++) {
                                forces[3 * i + k] += dEdrOverR * d[k];
                            }
                        }
                    }
                }
            }
        }
        double[] out = new double[1 + 3 * n];
        out[0] = energy;
        System.arraycopy(forces, 0, out, 1, 3 * n);
        return out;
    }

    private static double[] row(double[] cell, int i) {
        return new double[] {cell[3 * i], cell[3 * i + 1], cell[3 * i + 2]};
    }
}
