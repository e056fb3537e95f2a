package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.testing.LjFixture;
import org.fusedstage.testing.Python;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FIRE and steepest descent relax LJ argon; FIRE reproduces ASE's FIRE step for step. */
class OptimizerTest {

    private static LjFixture lj;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        lj = new LjFixture();
    }

    @AfterAll
    static void close() {
        lj.close();
    }

    private static List<AtomicSystem> relaxationSet() {
        return List.of(
                TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.15, 21),
                TestSystems.fccArgon(2, 5.30, 0.25, 22),
                TestSystems.argonCluster(13, 5.0, 3.3, 23),
                TestSystems.argonCluster(7, 4.0, 3.3, 24));
    }

    @Test
    void fireMatchesAseFireStepCountsAndEnergies() throws Exception {
        Python.assumeModule("ase");
        List<AtomicSystem> systems = relaxationSet();
        Path input = dir.resolve("start.extxyz");
        ExtxyzWriter.writeAll(input, systems);
        String out = Python.run(String.join("\n",
                "import sys, ase.io",
                "from ase.optimize import FIRE",
                "from ase.calculators.lj import LennardJones",
                "for a in ase.io.read(sys.argv[1], index=':'):",
                "    a.calc = LennardJones(epsilon=0.0104, sigma=3.405, rc=8.5, smooth=False)",
                "    opt = FIRE(a, logfile=None)",
                "    opt.run(fmax=0.01, steps=5000)",
                "    print(opt.nsteps, repr(a.get_potential_energy()))"), input.toString());
        String[] lines = out.trim().split("\n");

        FIRE fire = FIRE.builder(lj.potential).optFmax(0.01).build();
        try (Batch batch = Batch.of(systems, lj.manager)) {
            fire.run(batch, 5000);
            long[] steps = batch.get(fire.stateName("steps")).toLongArray();
            double[] energy = batch.energy().toDoubleArray();
            double[] fmax = batch.segments().max(batch.forces().mul(batch.forces()).sum(new int[] {1}).sqrt()).toDoubleArray();
            long[] status = batch.status().toLongArray();
            for (int i = 0; i < systems.size(); i++) {
                String[] ase = lines[i].trim().split("\\s+");
                long aseSteps = Long.parseLong(ase[0]);
                double aseEnergy = Double.parseDouble(ase[1]);
                System.out.printf("FIRE %s: %d steps (ASE %d), E = %.10f eV (ASE %.10f), fmax %.4f%n",
                        systems.get(i).sampleId().orElseThrow(), steps[i], aseSteps, energy[i], aseEnergy, fmax[i]);
                assertEquals(1, status[i], "sample " + i + " converged and moved on");
                assertTrue(fmax[i] < 0.01, "fmax " + fmax[i]);
                assertEquals(aseSteps, steps[i], "step count of sample " + i);
                assertEquals(aseEnergy, energy[i], 1e-8, "energy of sample " + i + " (eV)");
            }
        }
    }

    @Test
    void steepestDescentConverges() {
        List<AtomicSystem> systems = relaxationSet().subList(0, 2);
        SteepestDescent sd = SteepestDescent.builder(lj.potential).optStepSize(0.5).optFmax(0.01).build();
        try (Batch batch = Batch.of(systems, lj.manager)) {
            double[] before = batch.energy().toDoubleArray();
            sd.run(batch, 3000);
            double[] fmax = batch.segments().max(batch.forces().mul(batch.forces()).sum(new int[] {1}).sqrt()).toDoubleArray();
            long[] status = batch.status().toLongArray();
            for (int i = 0; i < systems.size(); i++) {
                assertEquals(1, status[i]);
                assertTrue(fmax[i] < 0.01, "fmax " + fmax[i]);
            }
            assertTrue(before.length == 2);
        }
    }

    @Test
    void alreadyRelaxedSamplesConvergeBeforeTheFirstStep() {
        AtomicSystem perfect = TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.0, 1);
        AtomicSystem perturbed = TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.2, 2);
        FIRE fire = new FIRE(lj.potential);
        try (Batch batch = Batch.of(List.of(perfect, perturbed), lj.manager)) {
            double[] start = batch.positions().toDoubleArray();
            fire.run(batch, 1);
            long[] steps = batch.get(fire.stateName("steps")).toLongArray();
            assertEquals(0, steps[0], "a perfect crystal has zero forces and never moves");
            assertEquals(1, steps[1]);
            double[] end = batch.positions().toDoubleArray();
            for (int k = 0; k < 96; k++) {
                assertEquals(start[k], end[k], 0.0);
            }
            List<Long> st = new ArrayList<>();
            for (long s : batch.status().toLongArray()) {
                st.add(s);
            }
            assertEquals(List.of(1L, 0L), st);
        }
    }
}
