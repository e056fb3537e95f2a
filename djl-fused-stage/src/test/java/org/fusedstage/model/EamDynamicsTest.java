package org.fusedstage.model;


import java.nio.file.Path;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;
import org.fusedstage.testing.ReferenceChecks;
import org.junit.jupiter.api.Test;

/** A converted EAM potential in dynamics: energy conservation, and the compiled step graph equal to the eager step. */
class EamDynamicsTest {

    @org.junit.jupiter.api.io.TempDir
    static Path dir;

    /**
     * NVE of 108 Cu atoms (Mishin's EAM) from 600 K for 2 ps. Velocity Verlet is symplectic and of
     * second order: the total energy oscillates with an amplitude proportional to dt^2 and does not
     * drift, as long as the forces are the exact derivative of the energy and continuous. LAMMPS's
     * splines make the energy C1 (value and slope continuous at every grid point), so both hold:
     * at dt = 1 fs the spread is bounded by 5e-5 eV/atom (measured 2.0e-5, against a kinetic energy
     * of about 0.08 eV/atom), halving dt divides it by about four (3 to 5), and the mean of the last
     * 200 steps is within 5e-6 eV/atom of the first 200 (measured 2.7e-7).
     */
    @Test
    void nveConservesEnergy() throws Exception {
        Path folder = EamAgainstLammpsTest.convert(dir, "Cu_mishin1.eam.alloy");
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            AtomicSystem crystal = Structures.rattle(Structures.fcc("Cu", 3.615, 3), 0.02, 3);
            ReferenceChecks.assertConservesEnergy("EAM", potential, crystal, 2000, 200, 5e-5, 5e-6);
        }
    }

    @Test
    void theCompiledStepEqualsTheEagerStep() throws Exception {
        Path folder = EamAgainstLammpsTest.convert(dir, "CuNi.eam.alloy");
        List<AtomicSystem> systems = List.of(Structures.rattle(Structures.fcc("Ni", 3.52, 2), 0.1, 1),
                Structures.rattle(Structures.fcc("Cu", 3.615, 2), 0.1, 2));
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            ReferenceChecks.assertCompiledEqualsEager(potential, systems, 10, 40);
        }
    }
}
