package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;
import org.fusedstage.testing.FiniteDifferences;
import org.fusedstage.testing.Lammps;
import org.fusedstage.testing.MetalStructures;
import org.fusedstage.testing.ReferenceChecks;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Converted SNAP files (Zuo et al., J. Phys. Chem. A 124, 731 (2020), linear and quadratic, Cu, Ni,
 * Mo, Si) against LAMMPS with the OpenKIM SNAP driver and the same models
 * (SNAP_ZuoChenLi_2019*), on fourteen structures each, float64: |dE| <= 1e-8 eV/atom,
 * |dF| <= 1e-7 eV/A, |dstress| <= 1e-8 eV/A^3 (or round-off relative to values that large).
 */
class SnapAgainstKimTest {

    static final Path POTENTIALS = Path.of(PotentialImporter.DEFAULT_POTENTIALS);

    @TempDir
    static Path dir;

    static NDManager manager;

    /**
     * A SNAP file, its OpenKIM twin and the structures' host.
     *
     * @param stem the file stem (X of X.snapcoeff)
     * @param kim the OpenKIM model with the same coefficients
     * @param element the element
     * @param lattice an fcc-equivalent lattice constant for the structures, A
     */
    record Case(String stem, String kim, String element, double lattice) {
        @Override
        public String toString() {
            return stem;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("Cu_Zuo_JPCA2020", "SNAP_ZuoChenLi_2019_Cu__MO_931672895580_000", "Cu", 3.615),
                new Case("Cu_Zuo_JPCA2020.quadratic", "SNAP_ZuoChenLi_2019quadratic_Cu__MO_265210066873_000", "Cu", 3.615),
                new Case("Ni_Zuo_JPCA2020", "SNAP_ZuoChenLi_2019_Ni__MO_365106510449_000", "Ni", 3.52),
                new Case("Ni_Zuo_JPCA2020.quadratic", "SNAP_ZuoChenLi_2019quadratic_Ni__MO_263593395744_000", "Ni", 3.52),
                new Case("Mo_Zuo_JPCA2020", "SNAP_ZuoChenLi_2019_Mo__MO_014123846623_000", "Mo", 3.98),
                new Case("Mo_Zuo_JPCA2020.quadratic", "SNAP_ZuoChenLi_2019quadratic_Mo__MO_692442138123_000", "Mo", 3.98),
                new Case("Si_Zuo_JPCA2020", "SNAP_ZuoChenLi_2019_Si__MO_869330304805_000", "Si", 3.62),
                new Case("Si_Zuo_JPCA2020.quadratic", "SNAP_ZuoChenLi_2019quadratic_Si__MO_721469752060_000", "Si", 3.62));
    }

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    /** Converts a SNAP file into a folder under {@code dir} (once per file). */
    static Path convert(Path dir, String stem) throws Exception {
        Lammps.require(POTENTIALS.resolve(stem + ".snapcoeff"));
        Path out = dir.resolve("converted").resolve(stem);
        if (!Files.isDirectory(out)) {
            new PotentialImporter(EamAgainstLammpsTest.SCRIPTS, "/usr/bin/python3", dir.resolve("cache"))
                    .importFile(POTENTIALS.resolve(stem + ".snapcoeff"), null, out);
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void energiesForcesAndStressEqualLammpsWithKim(Case c) throws Exception {
        Lammps.requireKim(c.kim());
        Path folder = convert(dir, c.stem());
        Map<String, AtomicSystem> structures = MetalStructures.all(List.of(c.element()), c.lattice(), c.stem().hashCode());
        List<AtomicSystem> systems = new ArrayList<>(structures.values());
        List<String> names = new ArrayList<>(structures.keySet());
        Path work = Files.createDirectories(dir.resolve("kim-" + c.stem()));
        List<Lammps.Result> reference = Lammps.evaluate(work, Lammps.Interactions.kim(c.kim(), List.of(c.element())),
                List.of(c.element()), systems);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build();
                Batch batch = Batch.of(systems, manager)) {
            potential.compute(batch);
            ReferenceChecks.assertMatches(c.stem(), names, batch.toSystems(), reference, 1e-8, 1e-7, 1e-8);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void forcesAndStressAreTheEnergysDerivatives(Case c) throws Exception {
        Path folder = convert(dir, c.stem());
        AtomicSystem cell = Structures.rattle(Structures.fcc(c.element(), c.lattice(), 1), 0.1, 3);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            FiniteDifferences.check(potential, cell, 4, 1e-6, c.stem());
        }
    }

    /**
     * NVE of 32 Cu atoms under the quadratic Zuo SNAP from 600 K: velocity Verlet conserves the
     * total energy up to its O(dt^2) oscillation, with no drift, when forces are the exact
     * derivative of a smooth energy (SNAP's cosine switch makes it smooth at the cutoff). Bounds:
     * spread < 1e-4 eV/atom at 1 fs (measured 1.8e-5 over 160 steps), four times smaller (3 to 5) at
     * 0.5 fs (measured 4.0), |mean of the last 30 steps - mean of the first 30| < 1e-5 eV/atom
     * (measured 3.4e-6, within the oscillation).
     */
    @Test
    void nveConservesEnergy() throws Exception {
        Path folder = convert(dir, "Cu_Zuo_JPCA2020.quadratic");
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            AtomicSystem crystal = Structures.rattle(Structures.fcc("Cu", 3.615, 2), 0.02, 3);
            ReferenceChecks.assertConservesEnergy("SNAP", potential, crystal, 160, 30, 1e-4, 1e-5);
        }
    }

    @Test
    void theCompiledStepEqualsTheEagerStep() throws Exception {
        Path folder = convert(dir, "Ni_Zuo_JPCA2020.quadratic");
        List<AtomicSystem> systems = List.of(Structures.rattle(Structures.fcc("Ni", 3.52, 2), 0.1, 1),
                Structures.rattle(Structures.fcc("Ni", 3.55, 2), 0.1, 2));
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            ReferenceChecks.assertCompiledEqualsEager(potential, systems, 5, 12);
        }
    }

    @Test
    void aBatchEqualsEachStructureAlone() throws Exception {
        Path folder = convert(dir, "Cu_Zuo_JPCA2020.quadratic");
        List<AtomicSystem> systems = new ArrayList<>(MetalStructures.all(List.of("Cu"), 3.615, 9).values()).subList(4, 8);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            ReferenceChecks.assertBatchEqualsSingles(potential, systems, 1e-12);
        }
    }
}
