package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.Structures;
import org.fusedstage.model.PotentialImporter;
import org.fusedstage.testing.Lammps;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code import-potential} and {@code --model eam:NAME} as a user runs them. */
class ImportPotentialCliTest {

    @TempDir
    Path dir;

    @BeforeEach
    void asTheLauncher() {
        System.setProperty("fusedstage.home", "..");
        System.setProperty("fusedstage.cache", dir.resolve("cache").toString());
    }

    @Test
    void importListsTheFileAndRunsWithIt() throws Exception {
        Path file = Path.of(PotentialImporter.DEFAULT_POTENTIALS, "CuNi.eam.alloy");
        Lammps.require(file);
        Path folder = dir.resolve("CuNi");
        Object[] imported = BadInputTest.cli("import-potential", file.toString(), "--output", folder.toString());
        assertEquals(0, (int) imported[0], (String) imported[1]);
        String listing = (String) imported[1];
        assertTrue(listing.contains("Ni,Cu") && listing.contains("CONTRIBUTOR: Berk Onat") && listing.contains("6.394332378"),
                listing);
        Path input = dir.resolve("alloy.extxyz");
        AtomicSystem crystal = Structures.rattle(Structures.fcc("Cu", 3.6, 2), 0.05, 1);
        ExtxyzWriter.writeAll(input, List.of(crystal.toBuilder().optSampleId("cu").build(),
                Structures.rattle(Structures.fcc("Ni", 3.52, 2), 0.05, 2).toBuilder().optSampleId("ni").build()));
        for (String model : new String[] {folder.toString(), "eam:CuNi"}) {
            for (boolean compile : new boolean[] {false, true}) {
                Path out = dir.resolve("run-" + model.replace(':', '-').replace('/', '_') + compile);
                Object[] run = compile
                        ? BadInputTest.cli("run", "--model", model, "--input", input.toString(), "--output", out.toString(),
                                "--stage", "fire:fmax=0.01", "--stage", "nve:steps=5", "--compile")
                        : BadInputTest.cli("run", "--model", model, "--input", input.toString(), "--output", out.toString(),
                                "--stage", "fire:fmax=0.01", "--stage", "nve:steps=5");
                assertEquals(0, (int) run[0], (String) run[1]);
                List<AtomicSystem> results = ExtxyzReader.readAll(out.resolve("results.extxyz"));
                assertEquals(2, results.size());
                assertTrue(results.stream().allMatch(s -> Boolean.TRUE.equals(s.info().get("converged"))));
            }
        }
        assertTrue(Files.isDirectory(dir.resolve("cache").resolve("eam-CuNi")), "eam:CuNi converted into the cache");
    }

    @Test
    void unknownNamesAndBadFilesGetOneLine() throws Exception {
        Object[] unknown = BadInputTest.cli("run", "--model", "eam:NoSuchMetal", "--output", dir.resolve("o").toString());
        assertEquals(2, (int) unknown[0]);
        assertTrue(((String) unknown[1]).contains("no EAM file 'NoSuchMetal'") && ((String) unknown[1]).contains(
                PotentialImporter.DEFAULT_POTENTIALS), (String) unknown[1]);
        Path bad = dir.resolve("broken.eam.fs");
        Files.writeString(bad, "c1\nc2\nc3\n1 Fe\n10 0.1 10 0.1 5.0\n26 55.8 2.85 bcc\n1 2 3\n");
        Object[] broken = BadInputTest.cli("import-potential", bad.toString(), "--output", dir.resolve("never").toString());
        assertEquals(2, (int) broken[0], (String) broken[1]);
        assertTrue(((String) broken[1]).contains("broken.eam.fs:7") && ((String) broken[1]).contains("truncated table"),
                (String) broken[1]);
        assertFalse(Files.exists(dir.resolve("never")));
    }
}
