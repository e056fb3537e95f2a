package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
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
 * Converted EAM files against LAMMPS itself (Debian's {@code lmp}), on thirteen structures each,
 * float64: |dE| <= 1e-9 eV/atom, |dF| <= 1e-8 eV/A, |dstress| <= 1e-9 eV/A^3 (or round-off, 1e-14
 * of the energy and 1e-13 of the largest force or stress, where values are so large that those
 * bounds are below double precision: a pair closer than the first grid spacing). Six files cover
 * the three formats and two alloys.
 */
class EamAgainstLammpsTest {

    static final Path POTENTIALS = Path.of(PotentialImporter.DEFAULT_POTENTIALS);
    static final Path SCRIPTS = Path.of("../model-zoo/src/main/python");

    @TempDir
    static Path dir;

    static NDManager manager;

    /**
     * A parameter file and how the tests use it.
     *
     * @param file name in the LAMMPS potentials folder
     * @param style LAMMPS pair style
     * @param elements element order for pair_coeff (the first is the host of the structures)
     * @param lattice an fcc lattice constant near the host's equilibrium, A
     */
    record Case(String file, String style, List<String> elements, double lattice) {
        @Override
        public String toString() {
            return file;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("Cu_u3.eam", "eam", List.of("Cu"), 3.615),
                new Case("Cu_mishin1.eam.alloy", "eam/alloy", List.of("Cu"), 3.615),
                new Case("CuNi.eam.alloy", "eam/alloy", List.of("Ni", "Cu"), 3.56),
                new Case("Al_zhou.eam.alloy", "eam/alloy", List.of("Al"), 4.05),
                new Case("Fe_mm.eam.fs", "eam/fs", List.of("Fe"), 3.6),
                new Case("CuZr_mm.eam.fs", "eam/fs", List.of("Cu", "Zr"), 3.7));
    }

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    /** Converts {@code file} into a folder under this class's temporary folder (once per file). */
    static Path convert(String file) throws Exception {
        return convert(dir, file);
    }

    /** Converts {@code file} into a folder under {@code dir} (once per file). */
    static Path convert(Path dir, String file) throws Exception {
        Lammps.require(POTENTIALS.resolve(file));
        Path out = dir.resolve("converted").resolve(file);
        if (!Files.isDirectory(out)) {
            new PotentialImporter(SCRIPTS, "/usr/bin/python3", dir.resolve("cache")).importFile(POTENTIALS.resolve(file), null, out);
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void energiesForcesAndStressEqualLammps(Case c) throws Exception {
        Path folder = convert(c.file());
        Map<String, AtomicSystem> structures = MetalStructures.all(c.elements(), c.lattice(), c.file().hashCode());
        assertTrue(structures.size() >= 12);
        List<AtomicSystem> systems = new ArrayList<>(structures.values());
        List<String> names = new ArrayList<>(structures.keySet());
        Path work = Files.createDirectories(dir.resolve("lammps-" + c.file()));
        List<Lammps.Result> reference = Lammps.evaluate(work, POTENTIALS.resolve(c.file()), c.style(), c.elements(), systems);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build();
                Batch batch = Batch.of(systems, manager)) {
            assertEquals(c.elements().size(), potential.metadata().elements().size());
            potential.compute(batch); // all thirteen in one batch
            ReferenceChecks.assertMatches(c.file(), names, batch.toSystems(), reference, 1e-9, 1e-8, 1e-9);
        }
    }

    @Test
    void aMixedElementBatchEqualsEachStructureAlone() throws Exception {
        Path folder = convert("CuZr_mm.eam.fs");
        List<AtomicSystem> systems = new ArrayList<>(MetalStructures.all(List.of("Cu", "Zr"), 3.7, 5).values()).subList(10, 13);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            ReferenceChecks.assertBatchEqualsSingles(potential, systems, 1e-12);
        }
    }

    @Test
    void badFilesNameFileAndLineAndLeaveNothingBehind() throws Exception {
        Lammps.require(POTENTIALS.resolve("Cu_mishin1.eam.alloy"));
        List<String> lines = Files.readAllLines(POTENTIALS.resolve("Cu_mishin1.eam.alloy"));
        PotentialImporter importer = new PotentialImporter(SCRIPTS, "/usr/bin/python3", dir.resolve("cache"));
        Path truncated = dir.resolve("cut.eam.alloy");
        Files.write(truncated, lines.subList(0, 300));
        Path out = dir.resolve("bad-output");
        String cut = assertThrows(IllegalArgumentException.class, () -> importer.importFile(truncated, null, out)).getMessage();
        assertTrue(cut.contains("cut.eam.alloy:300") && cut.contains("truncated table"), cut);
        assertFalse(Files.exists(out), "nothing half-written");
        List<String> wrongCount = new ArrayList<>(lines);
        wrongCount.set(3, "2 Cu");
        Path counts = dir.resolve("counts.eam.alloy");
        Files.write(counts, wrongCount);
        String count = assertThrows(IllegalArgumentException.class, () -> importer.importFile(counts, null, out)).getMessage();
        assertTrue(count.contains("counts.eam.alloy:4") && count.contains("announces 2 element(s) but names 1"), count);
        Path unknown = dir.resolve("Cu.potential");
        Files.write(unknown, lines);
        String format = assertThrows(IllegalArgumentException.class, () -> importer.importFile(unknown, null, out)).getMessage();
        assertTrue(format.contains("unknown format"), format);
        assertFalse(Files.exists(out), "nothing half-written");
    }
}
