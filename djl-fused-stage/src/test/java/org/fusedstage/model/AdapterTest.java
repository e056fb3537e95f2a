package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deployed-model conventions (NequIP dict, MACE LAMMPS export) give the same physics as the native model. */
class AdapterTest extends WithLennardJones {

    @TempDir
    Path dir;

    private static List<AtomicSystem> systems() {
        return List.of(TestSystems.fccArgon(2, 5.3, 0.1, 1), TestSystems.argonCluster(7, 4, 3, 2), TestSystems.triclinicArgon(3, 3));
    }

    private static void assertSamePhysics(TorchScriptPotential adapted) {
        try (Batch a = Batch.of(systems(), lj.manager); Batch b = Batch.of(systems(), lj.manager)) {
            lj.potential.compute(a);
            adapted.compute(b);
            assertArrayEquals(a.energy().toDoubleArray(), b.energy().toDoubleArray(), 1e-10);
            assertArrayEquals(a.forces().toDoubleArray(), b.forces().toDoubleArray(), 1e-10);
            assertArrayEquals(a.stress().toDoubleArray(), b.stress().toDoubleArray(), 1e-12);
        }
    }

    @Test
    void nequipDeploymentFromTheZoo() throws Exception {
        try (TorchScriptPotential p = TorchScriptPotential.fromZoo("nequip-interface-test")) {
            assertEquals(ModelInterface.NEQUIP, p.modelInterface());
            assertSamePhysics(p);
        }
    }

    @Test
    void nequipFileWithoutMetadataIsDetectedFromItsExtraFiles() throws Exception {
        Path file = dir.resolve("deployed.pth");
        try (TorchScriptPotential zoo = TorchScriptPotential.fromZoo("nequip-interface-test")) {
            Files.copy(zoo.getModelPath().resolve("nequip_style_lj.pt"), file);
        }
        try (TorchScriptPotential p = TorchScriptPotential.builder().optModelPath(file).build()) {
            assertEquals(ModelInterface.NEQUIP, p.modelInterface());
            assertEquals(8.5, p.metadata().cutoff(), "r_max extra file");
            assertEquals(java.util.Set.of(18), p.metadata().elements(), "type_names extra file");
            assertSamePhysics(p);
        }
    }

    @Test
    void maceLammpsExport() throws Exception {
        try (TorchScriptPotential p = TorchScriptPotential.fromZoo("mace-lammps-interface-test")) {
            assertEquals(ModelInterface.MACE_LAMMPS, p.modelInterface());
            assertSamePhysics(p);
        }
    }

    @Test
    void aModelOfAnotherConventionGetsAnErrorListingWhatIsExpected() throws Exception {
        Path file = dir.resolve("unknown.pt");
        try (TorchScriptPotential zoo = TorchScriptPotential.fromZoo("mace-lammps-interface-test")) {
            Files.copy(zoo.getModelPath().resolve("mace_lammps_style_lj.pt"), file);
        }
        // No metadata and no NequIP extra files: taken as native, and the first call fails clearly.
        try (TorchScriptPotential p = TorchScriptPotential.builder().optModelPath(file)
                .optMetadata(PotentialMetadata.builder("mystery").optCutoff(8.5).build()).build();
                Batch batch = Batch.of(systems(), lj.manager)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.compute(batch));
            assertTrue(e.getMessage().contains("does not follow the NATIVE convention"), e.getMessage());
            assertTrue(e.getMessage().contains("NequIP deployment") && e.getMessage().contains("MACE LAMMPS"), e.getMessage());
        }
    }
}
