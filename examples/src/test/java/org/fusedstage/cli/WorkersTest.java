package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run --workers}: several FusedStages over one sampler write every sample exactly once,
 * with the results one worker gives (relaxation then Langevin MD, crystals of 32 and 108 atoms
 * of uneven difficulty), and the final stress equals the stress computed in every step.
 */
class WorkersTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void severalWorkersGiveEachSampleOnceWithTheResultsOfOne() throws Exception {
        Path input = dir.resolve("in.extxyz");
        ExtxyzWriter.writeAll(input, CliJobBench.crystals(18, "w", 31));
        Map<String, AtomicSystem> one = run(input, "one", "--workers", "1", "--stress", "every-step");
        Map<String, AtomicSystem> three = run(input, "three", "--workers", "3");
        assertEquals(18, one.size());
        assertEquals(one.keySet(), three.keySet());
        for (String id : one.keySet()) {
            AtomicSystem a = one.get(id);
            AtomicSystem b = three.get(id);
            for (String key : List.of("steps_stage0", "steps_stage1", "converged")) {
                assertEquals(a.info().get(key), b.info().get(key), id + " " + key);
            }
            assertEquals(a.energy().orElseThrow(), b.energy().orElseThrow(), 1e-10, id + " energy");
            assertClose(a.positions(), b.positions(), id + " positions");
            // Every-step stress (one worker) and final stress (the default) of the same structure.
            assertClose(a.stress().orElseThrow(), b.stress().orElseThrow(), id + " stress");
        }
    }

    private Map<String, AtomicSystem> run(Path input, String name, String... options) throws Exception {
        Path out = dir.resolve(name);
        List<String> args = new java.util.ArrayList<>(List.of("run", "--input", input.toString(), "--output", out.toString(),
                "--stage", "fire:fmax=0.05", "--stage", "nvt-langevin:steps=30,temperature=80,friction=0.01,dt=2.0"));
        args.addAll(List.of(options));
        assertEquals(0, FusedStageCli.execute(args.toArray(String[]::new)), String.join(" ", args));
        Map<String, AtomicSystem> byId = new HashMap<>();
        for (AtomicSystem s : ExtxyzReader.readAll(out.resolve("results.extxyz"))) {
            String id = s.sampleId().orElseThrow();
            assertTrue(byId.put(id, s) == null, "written twice: " + id);
        }
        return byId;
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], actual[k], 1e-10, what + " [" + k + "]");
        }
    }
}
