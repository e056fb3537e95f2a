package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;
import org.fusedstage.testing.FiniteDifferences;
import org.fusedstage.testing.Lammps;
import org.fusedstage.testing.Python;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ML-IAP neural network on SNAP descriptors ({@code Cu.nn.mliap.model}). Debian's LAMMPS has no
 * ML-IAP package, so the reference is an independent float64 evaluation of the model file in the
 * test (plain numpy, its own parser, on the descriptors that {@link SnapAgainstKimTest} checks
 * against LAMMPS+KIM), plus finite-difference forces and stress.
 */
class MliapNeuralNetworkTest {

    static final Path MODEL = Path.of(PotentialImporter.DEFAULT_POTENTIALS, "Cu.nn.mliap.model");

    @TempDir
    Path dir;

    private Path convert() throws Exception {
        Lammps.require(MODEL);
        return new PotentialImporter(EamAgainstLammpsTest.SCRIPTS, "/usr/bin/python3", dir.resolve("cache"))
                .importFile(MODEL, null, dir.resolve("Cu_nn"));
    }

    @Test
    void energyEqualsAnIndependentEvaluationOfTheFile() throws Exception {
        Path folder = convert();
        AtomicSystem crystal = Structures.rattle(Structures.fcc("Cu", 3.615, 2), 0.08, 4);
        double mine;
        try (NDManager manager = NDManager.newBaseManager();
                TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build();
                Batch batch = Batch.of(List.of(crystal), manager)) {
            potential.compute(batch);
            mine = batch.energy().toDoubleArray()[0];
        }
        Path structure = dir.resolve("structure.json");
        StringBuilder json = new StringBuilder("{\"positions\": [");
        double[] p = crystal.positions();
        for (int i = 0; i < p.length; i++) {
            json.append(i == 0 ? "" : ",").append(p[i]);
        }
        json.append("], \"cell\": [");
        for (int i = 0; i < 9; i++) {
            json.append(i == 0 ? "" : ",").append(crystal.cell()[i]);
        }
        json.append("], \"numbers\": [").append(String.join(",", java.util.Collections.nCopies(crystal.size(), "29")))
                .append("], \"cutoff\": 5.0}");
        Files.writeString(structure, json.toString());
        Path script = dir.resolve("reference.py");
        try (var in = getClass().getResourceAsStream("/mliap_nn_reference.py")) {
            Files.write(script, in.readAllBytes());
        }
        Python.assumeModule("torch");
        String out = Python.run("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                script.toString(), folder.resolve("Cu_nn.pt").toString(), MODEL.toString(), structure.toString());
        double reference = Double.parseDouble(out.trim());
        System.out.printf("ML-IAP nn Cu, 32 atoms: %.12f eV (FusedStage) vs %.12f eV (numpy)%n", mine, reference);
        assertEquals(reference, mine, 1e-10, "total energy");
        assertTrue(mine / crystal.size() < -3.5 && mine / crystal.size() > -4.5, "a copper-like energy per atom");
    }

    @Test
    void forcesAndStressAreTheEnergysDerivatives() throws Exception {
        Path folder = convert();
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            FiniteDifferences.check(potential, Structures.rattle(Structures.fcc("Cu", 3.615, 1), 0.1, 5), 4, 1e-6, "Cu nn");
        }
    }

    @Test
    void anSo3DescriptorIsRefusedWithItsReason() throws Exception {
        Path si = Path.of(PotentialImporter.DEFAULT_POTENTIALS, "Si.nn.mliap.model");
        Lammps.require(si);
        PotentialImporter importer = new PotentialImporter(EamAgainstLammpsTest.SCRIPTS, "/usr/bin/python3", dir.resolve("cache"));
        String message = assertThrows(IllegalArgumentException.class, () -> importer.importFile(si, null, dir.resolve("Si")))
                .getMessage();
        assertTrue(message.contains("SO3") && message.contains("Si.nn.mliap.descriptor:"), message);
    }
}
