package org.fusedstage.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;
import org.fusedstage.model.PotentialImporter;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.testing.Lammps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FIRE relaxation of a copper vacancy with Mishin's EAM against LAMMPS's conjugate-gradient
 * minimization of the same structure and file: relaxed energy and vacancy formation energy to
 * 1e-6 eV.
 */
class VacancyFormationTest {

    @TempDir
    Path dir;

    @Test
    void theRelaxedVacancyMatchesLammpsMinimize() throws Exception {
        Path file = Path.of(PotentialImporter.DEFAULT_POTENTIALS, "Cu_mishin1.eam.alloy");
        Lammps.require(file);
        Path folder = new PotentialImporter(Path.of("../model-zoo/src/main/python"), "/usr/bin/python3", dir.resolve("cache"))
                .importFile(file, null, dir.resolve("Cu_mishin1"));
        VacancyFormationExample.Result mine;
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            mine = VacancyFormationExample.formationEnergy(potential, "Cu", 3.615, 3, 1e-5);
        }
        AtomicSystem perfect = Structures.fcc("Cu", 3.615, 3);
        AtomicSystem vacancy = Structures.withoutFirstAtoms(perfect, 1);
        Path work = Files.createDirectories(dir.resolve("lammps"));
        double bulk = Lammps.evaluate(work, file, "eam/alloy", List.of("Cu"), List.of(perfect)).get(0).energy();
        double[] minimized = Lammps.minimize(work, file, "eam/alloy", List.of("Cu"), vacancy);
        assertTrue(minimized[1] < 1e-6, "LAMMPS converged: fmax " + minimized[1]);
        assertEquals(bulk, mine.perfect(), 1e-9, "perfect crystal");
        assertEquals(minimized[0], mine.relaxed(), 1e-6, "relaxed vacancy energy");
        double lammpsFormation = minimized[0] - 107.0 / 108.0 * bulk;
        System.out.printf("vacancy: FIRE %.9f eV (%d steps), LAMMPS cg %.9f eV; E_f %.9f vs %.9f eV%n", mine.relaxed(),
                mine.steps(), minimized[0], mine.formation(), lammpsFormation);
        assertEquals(lammpsFormation, mine.formation(), 1e-6, "vacancy formation energy");
        assertEquals(1.27, mine.formation(), 0.02, "Mishin et al. report 1.27 eV");
    }
}
