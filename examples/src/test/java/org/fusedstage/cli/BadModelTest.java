package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models that return the wrong types or raise: one clear line without --verbose, no outputs left behind. */
class BadModelTest {

    @TempDir
    static Path dir;

    private static final String SOURCE = String.join("\n",
            "import sys, torch",
            "from typing import Tuple",
            "class IntEnergy(torch.nn.Module):",
            "    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor,",
            "                pbc: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:",
            "        return torch.zeros(cell.shape[0], dtype=torch.int64), torch.zeros_like(positions)",
            "class Raises(torch.nn.Module):",
            "    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor,",
            "                pbc: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:",
            "        if positions.shape[0] > 0:",
            "            raise ValueError('positions out of range')",
            "        return torch.zeros(cell.shape[0], dtype=positions.dtype), positions",
            "for name, module in (('int_energy', IntEnergy()), ('raises', Raises())):",
            "    torch.jit.script(module).save(sys.argv[1] + '/' + name + '/' + name + '.pt')",
            "");

    @BeforeAll
    static void exportModels() throws Exception {
        for (String name : new String[] {"int_energy", "raises"}) {
            Files.createDirectories(dir.resolve(name));
            Files.writeString(dir.resolve(name).resolve("metadata.properties"), "name=" + name + "\ncutoff=5.0\nelements=Ar\n");
        }
        Path script = dir.resolve("make.py"); // TorchScript needs the source in a file
        Files.writeString(script, SOURCE);
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean ok = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        Assumptions.assumeTrue(ok || !out.contains("No module named 'torch'"), "python3-torch is not installed");
        assertTrue(ok, out);
    }

    private static void assertRefused(String model, String fragment) {
        Path out = dir.resolve("out-" + model);
        Object[] result = BadInputTest.cli("run", "--model", dir.resolve(model).toString(), "--output", out.toString(),
                "--demo-size", "3", "--stage", "nve:steps=2");
        String text = (String) result[1];
        assertEquals(2, (int) result[0], text);
        String error = text.lines().filter(l -> l.startsWith("fused-stage:")).findFirst().orElseThrow();
        assertTrue(error.contains(fragment), error);
        assertFalse(text.contains("\tat "), "no stack trace without --verbose: " + text);
        assertFalse(Files.exists(out.resolve("results.extxyz")), "no empty results left behind");
    }

    @Test
    void aModelReturningIntegerEnergiesIsRefused() {
        assertRefused("int_energy", "returned energy of type int64 for a float64 batch");
    }

    @Test
    void aModelThatRaisesShowsItsMessage() {
        assertRefused("raises", "model 'raises' raised: ValueError: positions out of range");
    }
}
