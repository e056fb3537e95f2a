package org.fusedstage.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;

/**
 * The structures a converted potential is checked on, in LAMMPS's cell orientation: fcc, bcc and
 * hcp crystals, a vacancy, a (111) surface slab, a cluster, a triclinic cell, a cell smaller than
 * twice the cutoff, a close pair (density beyond the table), a pair closer than the first grid
 * spacing, and random alloys (or strained cells for one element).
 */
public final class MetalStructures {

    private MetalStructures() {}

    /**
     * Fourteen named structures.
     *
     * @param elements the potential's elements (the first is the host)
     * @param fccLattice an fcc lattice constant near the host's equilibrium, A
     * @param seed random seed
     */
    public static Map<String, AtomicSystem> all(List<String> elements, double fccLattice, long seed) {
        String host = elements.get(0);
        double a = fccLattice;
        Map<String, AtomicSystem> out = new LinkedHashMap<>();
        out.put("fcc", Structures.rattle(Structures.fcc(host, a, 3), 0.05, seed));
        out.put("bcc", Structures.rattle(bcc(host, a * Math.cbrt(0.5), 4), 0.05, seed + 1));
        out.put("hcp", Structures.rattle(hcp(host, a / Math.sqrt(2), 3, 2, 2), 0.05, seed + 2));
        out.put("diamond", Structures.rattle(diamond(host, a * 1.5, 2), 0.05, seed + 6));
        out.put("vacancy", Structures.withoutFirstAtoms(Structures.fcc(host, a, 3), 1));
        out.put("slab111", slab111(host, a, 3, 6));
        out.put("cluster", cluster(host, a, 6.0));
        out.put("triclinic", Structures.rattle(triclinic(host, a), 0.05, seed + 3));
        out.put("small-cell", Structures.rattle(Structures.fcc(host, a, 1), 0.03, seed + 4));
        out.put("close-pair", pairAt(Structures.fcc(host, a, 2), 1.2));
        out.put("closer-than-grid", pairAt(Structures.fcc(host, a, 2), 2e-4));
        Random random = new Random(seed + 5);
        for (double fraction : new double[] {0.25, 0.5, 0.75}) {
            AtomicSystem crystal = Structures.rattle(Structures.fcc(host, a * (1 + 0.04 * (fraction - 0.5)), 3), 0.04,
                    seed + (long) (fraction * 100));
            if (elements.size() > 1) {
                String[] symbols = new String[crystal.size()];
                for (int i = 0; i < symbols.length; i++) {
                    symbols[i] = random.nextDouble() < fraction ? elements.get(1 + random.nextInt(elements.size() - 1)) : host;
                }
                crystal = crystal.toBuilder().symbols(symbols).build();
                out.put("alloy-" + (int) (fraction * 100), crystal);
            } else {
                out.put("strained-" + (int) (fraction * 100), crystal);
            }
        }
        return out;
    }

    /** Cubic diamond (8 atoms per cell). */
    private static AtomicSystem diamond(String symbol, double a, int reps) {
        AtomicSystem fcc = Structures.fcc(symbol, a, reps);
        double[] p = fcc.positions();
        List<double[]> points = new ArrayList<>();
        for (int i = 0; i < fcc.size(); i++) {
            points.add(new double[] {p[3 * i], p[3 * i + 1], p[3 * i + 2]});
            points.add(new double[] {p[3 * i] + a / 4, p[3 * i + 1] + a / 4, p[3 * i + 2] + a / 4});
        }
        return of(symbol, points, fcc.cell(), true);
    }

    private static AtomicSystem bcc(String symbol, double b, int reps) {
        List<double[]> points = new ArrayList<>();
        for (int i = 0; i < reps; i++) {
            for (int j = 0; j < reps; j++) {
                for (int k = 0; k < reps; k++) {
                    points.add(new double[] {i * b, j * b, k * b});
                    points.add(new double[] {(i + 0.5) * b, (j + 0.5) * b, (k + 0.5) * b});
                }
            }
        }
        double l = reps * b;
        return of(symbol, points, new double[] {l, 0, 0, 0, l, 0, 0, 0, l}, true);
    }

    /** Orthohexagonal hcp cell (4 atoms) repeated; c/a ideal. */
    private static AtomicSystem hcp(String symbol, double ah, int nx, int ny, int nz) {
        double c = ah * Math.sqrt(8.0 / 3.0);
        double by = ah * Math.sqrt(3);
        double[][] basis = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 1.0 / 6, 0.5}, {0, 2.0 / 3, 0.5}};
        List<double[]> points = new ArrayList<>();
        for (int i = 0; i < nx; i++) {
            for (int j = 0; j < ny; j++) {
                for (int k = 0; k < nz; k++) {
                    for (double[] f : basis) {
                        points.add(new double[] {(i + f[0]) * ah, (j + f[1]) * by, (k + f[2]) * c});
                    }
                }
            }
        }
        return of(symbol, points, new double[] {nx * ah, 0, 0, 0, ny * by, 0, 0, 0, nz * c}, true);
    }

    /** A (111) slab: close-packed layers in ABC order, periodic in plane, open along z. */
    private static AtomicSystem slab111(String symbol, double a, int n, int layers) {
        double ah = a / Math.sqrt(2);
        double d = a / Math.sqrt(3);
        double[][] shifts = {{0, 0}, {1.0 / 3, 1.0 / 3}, {2.0 / 3, 2.0 / 3}};
        List<double[]> points = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            double[] s = shifts[layer % 3];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double u = i + s[0];
                    double v = j + s[1];
                    points.add(new double[] {(u + 0.5 * v) * ah, v * ah * Math.sqrt(3) / 2, 5 + layer * d});
                }
            }
        }
        return of(symbol, points, new double[] {n * ah, 0, 0, 0.5 * n * ah, n * ah * Math.sqrt(3) / 2, 0, 0, 0,
            layers * d + 10}, false).toBuilder().optPbc(true, true, false).build();
    }

    private static AtomicSystem cluster(String symbol, double a, double radius) {
        AtomicSystem crystal = Structures.fcc(symbol, a, 4);
        double[] p = crystal.positions();
        double[] center = {2 * a, 2 * a, 2 * a};
        List<double[]> points = new ArrayList<>();
        for (int i = 0; i < crystal.size(); i++) {
            double dx = p[3 * i] - center[0];
            double dy = p[3 * i + 1] - center[1];
            double dz = p[3 * i + 2] - center[2];
            if (dx * dx + dy * dy + dz * dz <= radius * radius) {
                points.add(new double[] {dx + 15, dy + 15, dz + 15});
            }
        }
        return of(symbol, points, new double[] {30, 0, 0, 0, 30, 0, 0, 0, 30}, false);
    }

    /** The 2x2x2 fcc points in a sheared, lower-triangular cell of the same volume. */
    private static AtomicSystem triclinic(String symbol, double a) {
        AtomicSystem crystal = Structures.fcc(symbol, a, 2);
        double l = 2 * a;
        double[] cell = {l, 0, 0, 0.25 * l, l, 0, -0.2 * l, 0.15 * l, l};
        double[] p = crystal.positions();
        List<double[]> points = new ArrayList<>();
        for (int i = 0; i < crystal.size(); i++) {
            double[] f = {p[3 * i] / l, p[3 * i + 1] / l, p[3 * i + 2] / l};
            points.add(new double[] {f[0] * cell[0] + f[1] * cell[3] + f[2] * cell[6], f[1] * cell[4] + f[2] * cell[7],
                f[2] * cell[8]});
        }
        return of(symbol, points, cell, true);
    }

    /** Moves atom 1 to distance r (A) from atom 0 along x. */
    private static AtomicSystem pairAt(AtomicSystem s, double r) {
        double[] p = s.positions().clone();
        p[3] = p[0] + r;
        p[4] = p[1];
        p[5] = p[2];
        return s.toBuilder().positions(p).build();
    }

    private static AtomicSystem of(String symbol, List<double[]> points, double[] cell, boolean periodic) {
        double[] positions = new double[3 * points.size()];
        for (int i = 0; i < points.size(); i++) {
            System.arraycopy(points.get(i), 0, positions, 3 * i, 3);
        }
        String[] symbols = new String[points.size()];
        java.util.Arrays.fill(symbols, symbol);
        return AtomicSystem.builder().positions(positions).symbols(symbols).optCell(cell)
                .optPbc(periodic, periodic, periodic).build();
    }
}
