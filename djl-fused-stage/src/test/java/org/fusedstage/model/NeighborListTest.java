package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;

/** The Verlet list against brute force: tiny, skewed and open cells, atoms far outside their cell. */
class NeighborListTest extends WithLennardJones {

    private static List<AtomicSystem> awkward() {
        Random random = new Random(5);
        List<AtomicSystem> out = new ArrayList<>();
        out.add(TestSystems.triclinicArgon(0, 1)); // one atom, primitive fcc cell
        // A strongly skewed cell.
        double[] skewed = {4.0, 0, 0, 3.7, 1.6, 0, 3.5, 1.2, 1.9};
        out.add(AtomicSystem.builder().positions(new double[] {0.1, 0.2, 0.3, 2.0, 0.9, 0.8}).symbols("Ar", "Ar")
                .optCell(skewed).optPbc(true, true, true).optSampleId("skewed").build());
        // Periodic along x only (a wire), with atoms far outside the cell along x.
        out.add(AtomicSystem.builder().positions(new double[] {-23.0, 0, 0, 31.5, 1.0, 0.5, 3.0, 2.5, -1.0})
                .symbols("Ar", "Ar", "Ar").optCell(new double[] {6.0, 0, 0, 0, 0, 0, 0, 0, 0})
                .optPbc(true, false, false).optSampleId("wire").build());
        out.add(TestSystems.argonCluster(9, 5, 2.5, 7));
        double[] p = new double[3 * 5];
        for (int k = 0; k < p.length; k++) {
            p[k] = 40 * random.nextDouble() - 20; // way outside the 7 A cell
        }
        out.add(AtomicSystem.builder().positions(p).symbols("Ar", "Ar", "Ar", "Ar", "Ar")
                .optCell(new double[] {7, 0, 0, 0, 7, 0, 0, 0, 7}).optPbc(true, true, true).optSampleId("unwrapped").build());
        // Cells wider than the radius, where the search skips images that cannot reach the cell:
        // a rattled 108-atom crystal and a skewed cell with atoms at random, some outside it.
        out.add(TestSystems.fccArgon(3, TestSystems.ARGON_LATTICE, 0.3, 11));
        double[] wide = {14, 0, 0, 5, 13, 0, -3, 4, 12};
        double[] q = new double[3 * 30];
        for (int a = 0; a < 30; a++) {
            double f0 = 1.4 * random.nextDouble() - 0.2;
            double f1 = random.nextDouble();
            double f2 = random.nextDouble();
            for (int k = 0; k < 3; k++) {
                q[3 * a + k] = f0 * wide[k] + f1 * wide[3 + k] + f2 * wide[6 + k];
            }
        }
        String[] argon = new String[30];
        java.util.Arrays.fill(argon, "Ar");
        out.add(AtomicSystem.builder().positions(q).symbols(argon).optCell(wide).optPbc(true, true, true)
                .optSampleId("wide-skewed").build());
        // Pairs just inside the 9 A search radius, lying along the normal the search prunes along
        // (its window must not lose them): open boundaries, and through a periodic image.
        out.add(AtomicSystem.builder().positions(new double[] {0, 0, 0, 8.999999, 0, 0, 0, 3, 0}).symbols("Ar", "Ar", "Ar")
                .optSampleId("aligned-open").build());
        out.add(AtomicSystem.builder().positions(new double[] {0.5, 1, 1, 11.500001, 1, 1})
                .symbols("Ar", "Ar").optCell(new double[] {20, 0, 0, 0, 20, 0, 0, 0, 20}).optPbc(true, true, true)
                .optSampleId("aligned-image").build());
        return out;
    }

    @Test
    void edgesMatchBruteForceIncludingSmallAndSkewedCells() {
        double radius = 9.0;
        List<AtomicSystem> systems = awkward();
        try (Batch batch = Batch.of(systems, lj.manager)) {
            NeighborList nl = new NeighborList(batch, 8.0, 1.0);
            nl.update(batch);
            List<List<String>> found = vectorKeys(nl, batch, false);
            for (int s = 0; s < systems.size(); s++) {
                List<String> expected = bruteForce(systems.get(s), radius);
                java.util.Collections.sort(expected);
                assertEquals(expected, found.get(s), "system " + systems.get(s).sampleId().get());
                assertEquals(expected.size(), NeighborList.countEdges(systems.get(s), radius), "host count");
                assertEquals(expected.size(), nl.edgeCounts()[s]);
            }
        }
    }

    /**
     * The half list holds each pair once: with the reverse of every edge added it is exactly the
     * full list, and its cartesian translations give the same edge vectors as shift . cell. Also
     * after an in-place refill.
     */
    @Test
    void halfListHoldsEachPairOnceWithCartesianTranslations() {
        List<AtomicSystem> systems = awkward();
        try (Batch batch = Batch.builder(systems).optCapacity(systems.size(), 200).build(lj.manager)) {
            for (int round = 0; round < 2; round++) {
                if (round == 1) {
                    batch.replace(java.util.Set.of(), java.util.Map.of(1, TestSystems.triclinicArgon(2, 4),
                            3, TestSystems.fccArgon(1, 5.26, 0.1, 3)), 0);
                }
                NeighborList full = new NeighborList(batch, 8.0, 1.0);
                full.update(batch);
                NeighborList half = NeighborList.of(batch, 8.0, 1.0, true);
                half.update(batch);
                List<List<String>> fullKeys = vectorKeys(full, batch, false);
                List<List<String>> halfKeys = vectorKeys(half, batch, true);
                long[] halfCounts = half.edgeCounts();
                for (int s = 0; s < fullKeys.size(); s++) {
                    assertEquals(fullKeys.get(s), withReverses(halfKeys.get(s)), "round " + round + ", slot " + s);
                    assertEquals(fullKeys.get(s).size(), 2 * halfCounts[s], "each pair once, slot " + s);
                }
                full.close();
            }
        }
    }

    /**
     * Sorted keys "i,j,d" (indices within the system) of every edge, per slot, with d from
     * cartesian translations or from shift . cell.
     */
    private static List<List<String>> vectorKeys(NeighborList nl, Batch batch, boolean cartesian) {
        long[] edges = nl.edgeIndex().toLongArray();
        int e = edges.length / 2;
        double[] shifts = nl.shifts().toDoubleArray();
        double[] translations = nl.translations().toDoubleArray();
        double[] positions = batch.positions().toDoubleArray();
        double[] cells = batch.cell().toDoubleArray();
        long[] system = batch.batchIndex().toLongArray();
        List<List<String>> out = new ArrayList<>();
        for (int s = 0; s < batch.numSystems(); s++) {
            out.add(new ArrayList<>());
        }
        for (int k = 0; k < e; k++) {
            int i = (int) edges[k];
            int j = (int) edges[e + k];
            int s = (int) system[i];
            double[] d = new double[3];
            for (int x = 0; x < 3; x++) {
                d[x] = positions[3 * j + x] - positions[3 * i + x];
                if (cartesian) {
                    d[x] += translations[x * e + k];
                } else {
                    for (int axis = 0; axis < 3; axis++) {
                        d[x] += shifts[3 * k + axis] * cells[9 * s + 3 * axis + x];
                    }
                }
            }
            int offset = batch.atomRows(s)[0];
            out.get(s).add(key(i - offset, j - offset, d));
        }
        out.forEach(java.util.Collections::sort);
        return out;
    }

    private static List<String> withReverses(List<String> keys) {
        List<String> out = new ArrayList<>(keys);
        for (String k : keys) {
            String[] p = k.split(",");
            out.add(p[1] + "," + p[0] + "," + -Long.parseLong(p[2]) + "," + -Long.parseLong(p[3]) + ","
                    + -Long.parseLong(p[4]));
        }
        java.util.Collections.sort(out);
        return out;
    }

    /** A fixed rebuild schedule (no device reads) with a wide skin gives the same relaxation. */
    @Test
    void scheduledRebuildsGiveTheSameTrajectory() throws Exception {
        AtomicSystem s = TestSystems.fccArgon(2, 5.3, 0.2, 9);
        double[][] results = new double[2][];
        for (int k = 0; k < 2; k++) {
            try (TorchScriptPotential p = TorchScriptPotential.builder().optModelName("lennard-jones")
                    .optSkin(k == 0 ? 1.0 : 2.0).optRebuildEvery(k == 0 ? 0 : 10).build();
                    Batch batch = Batch.of(List.of(s), lj.manager)) {
                org.fusedstage.dynamics.FIRE fire = org.fusedstage.dynamics.FIRE.builder(p).optFmax(0.01).build();
                fire.run(batch, 500);
                results[k] = batch.positions().toDoubleArray();
                if (k == 1) {
                    assertEquals(fire.stepCount() / 10 + 1, p.neighborList(batch).rebuilds(), 1, "rebuilt on schedule");
                }
            }
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(results[0], results[1], 1e-10);
    }

    /** After an in-place refill only the refilled slots are searched again; the list equals a full rebuild. */
    @Test
    void refillRefreshesOnlyTheChangedSlots() {
        List<AtomicSystem> first = List.of(TestSystems.fccArgon(1, 5.3, 0.1, 1), TestSystems.argonCluster(5, 4, 3, 2),
                TestSystems.triclinicArgon(2, 3));
        try (Batch batch = Batch.builder(first).optCapacity(4, 60).build(lj.manager)) {
            NeighborList nl = new NeighborList(batch, 8.0, 1.0);
            nl.update(batch);
            batch.replace(java.util.Set.of(), java.util.Map.of(1, TestSystems.fccArgon(2, 5.26, 0.1, 7), 3,
                    TestSystems.argonCluster(4, 3, 3, 8)), 0);
            nl.update(batch);
            assertEquals(2, nl.rebuilds(), "one full build, one partial");
            NeighborList fresh = new NeighborList(batch, 8.0, 1.0);
            fresh.update(batch);
            assertEquals(sortedEdges(fresh, batch), sortedEdges(nl, batch));
            org.junit.jupiter.api.Assertions.assertArrayEquals(fresh.edgeCounts(), nl.edgeCounts());
            fresh.close();
        }
    }

    /**
     * An atom that moves more than half the skin gets its system searched again, alone: the pairs
     * within the cutoff then equal a fresh build's (beyond it a Verlet list may keep more), and the
     * other systems' reference positions stay (a later small move of theirs, more than half the
     * skin from the first build in total, triggers a search).
     */
    @Test
    void movedSystemsAreSearchedAgainOneByOne() {
        List<AtomicSystem> systems = List.of(TestSystems.fccArgon(1, 5.3, 0.1, 1), TestSystems.argonCluster(5, 4, 3, 2),
                TestSystems.triclinicArgon(2, 3));
        try (Batch batch = Batch.of(systems, lj.manager)) {
            NeighborList nl = NeighborList.of(batch, 8.0, 1.0, true);
            nl.update(batch);
            moveAtom(batch, batch.atomRows(0)[0], 0.3); // below half the skin: nothing to do
            nl.update(batch);
            assertEquals(1, nl.rebuilds());
            moveAtom(batch, batch.atomRows(1)[2], 0.8);
            nl.update(batch);
            assertEquals(2, nl.rebuilds(), "system 1 searched again");
            assertEquals(withinCutoff(vectorKeys(fresh(batch), batch, true)), withinCutoff(vectorKeys(nl, batch, true)));
            moveAtom(batch, batch.atomRows(0)[0], 0.3); // 0.6 A from system 0's own last search
            nl.update(batch);
            assertEquals(3, nl.rebuilds(), "system 0 kept its reference positions");
            assertEquals(withinCutoff(vectorKeys(fresh(batch), batch, true)), withinCutoff(vectorKeys(nl, batch, true)));
        }
    }

    private static List<List<String>> withinCutoff(List<List<String>> keys) {
        List<List<String>> out = new ArrayList<>();
        for (List<String> system : keys) {
            out.add(system.stream().filter(k -> {
                String[] p = k.split(",");
                double x = Long.parseLong(p[2]) * 1e-6;
                double y = Long.parseLong(p[3]) * 1e-6;
                double z = Long.parseLong(p[4]) * 1e-6;
                return x * x + y * y + z * z < 8.0 * 8.0;
            }).toList());
        }
        return out;
    }

    private static NeighborList fresh(Batch batch) {
        NeighborList nl = new NeighborList(batch, 8.0, 1.0, true);
        nl.update(batch);
        return nl;
    }

    private static void moveAtom(Batch batch, int row, double dx) {
        double[] p = batch.positions().toDoubleArray();
        p[3 * row] += dx;
        batch.set(Batch.POSITIONS, batch.getManager().create(p, batch.positions().getShape()));
    }

    private static List<String> sortedEdges(NeighborList nl, Batch batch) {
        long[] e = nl.edgeIndex().toLongArray();
        double[] sh = nl.shifts().toDoubleArray();
        int n = e.length / 2;
        List<String> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            out.add(e[k] + "," + e[n + k] + "," + sh[3 * k] + "," + sh[3 * k + 1] + "," + sh[3 * k + 2]);
        }
        java.util.Collections.sort(out);
        return out;
    }

    private static String key(int i, int j, double[] d) {
        return i + "," + j + "," + Math.round(d[0] * 1e6) + "," + Math.round(d[1] * 1e6) + "," + Math.round(d[2] * 1e6);
    }

    /**
     * Every translation within a generous range on the raw (unwrapped) coordinates: 30 cells for
     * the small awkward systems, 4 for the wide ones (cells above 11 A, atoms within 0.2 cells).
     */
    private static List<String> bruteForce(AtomicSystem s, double radius) {
        double[] r = s.positions();
        double[] c = s.cell();
        boolean[] pbc = s.pbc();
        int range = s.size() > 20 ? 4 : 30;
        List<String> out = new ArrayList<>();
        for (int u = pbc[0] ? -range : 0; u <= (pbc[0] ? range : 0); u++) {
            for (int v = pbc[1] ? -range : 0; v <= (pbc[1] ? range : 0); v++) {
                for (int w = pbc[2] ? -range : 0; w <= (pbc[2] ? range : 0); w++) {
                    for (int i = 0; i < s.size(); i++) {
                        for (int j = 0; j < s.size(); j++) {
                            double[] d = new double[3];
                            for (int x = 0; x < 3; x++) {
                                d[x] = r[3 * j + x] - r[3 * i + x] + u * c[x] + v * c[3 + x] + w * c[6 + x];
                            }
                            double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                            if (r2 < radius * radius && !(i == j && u == 0 && v == 0 && w == 0)) {
                                out.add(key(i, j, d));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }
}
