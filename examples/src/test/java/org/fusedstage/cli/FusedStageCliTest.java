package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: a run on an ASE-written file, and each documented user error. */
class FusedStageCliTest {

    @TempDir
    Path dir;

    /** Runs the CLI in-process; returns {exit code, stderr}. */
    private static Object[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            int code = FusedStageCli.execute(args);
            return new Object[] {code, captured.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(err);
        }
    }

    private static void assertUserError(String fragment, String... args) {
        Object[] result = run(args);
        String err = (String) result[1];
        assertEquals(2, (int) result[0], "user errors exit 2: " + List.of(args));
        assertTrue(err.contains(fragment), "'" + err + "' lacks '" + fragment + "'");
        assertEquals(1, err.strip().lines().count(), "one line, no stack trace: " + err);
    }

    @Test
    void userErrorsPrintOneLineAndExitNonZero() throws Exception {
        Path out = dir.resolve("out");
        assertUserError("unknown model 'no-such-model'", "run", "--model", "no-such-model", "--output", out.toString());
        assertUserError("does not exist", "run", "--input", dir.resolve("missing.extxyz").toString(), "--output", out.toString());
        assertUserError("unknown kind 'md'", "run", "--stage", "md:steps=10", "--output", out.toString());
        assertUserError("unknown key 'temp' for nvt-langevin", "run", "--stage", "nvt-langevin:temp=300", "--output", out.toString());
        assertUserError("can never fit", "run", "--max-atoms", "10", "--output", out.toString(), "--demo-size", "3");
        assertUserError("--device must be cpu or gpu", "run", "--device", "tpu", "--output", out.toString());
        if (!ai.djl.engine.Engine.getEngine("PyTorch").hasCapability(ai.djl.engine.StandardCapabilities.CUDA)) {
            // CPU build (default suite) or CUDA build without a GPU (scripts/test-cuda-build.sh): one line, nothing written.
            Path gpuOut = dir.resolve("gpu-out");
            assertUserError("--device gpu: no GPU: ", "run", "--device", "gpu", "--output", gpuOut.toString());
            assertFalse(Files.exists(gpuOut), "nothing written for a refused --device gpu");
        }
        assertUserError("Unknown option", "run", "--frobnicate");
        Files.createDirectories(out);
        Files.writeString(out.resolve("results.extxyz"), "1\nsample_id=x\nAr 0 0 0\n");
        assertUserError("add --resume", "run", "--output", out.toString(), "--demo-size", "3");
        Path bad = dir.resolve("bad.extxyz");
        Files.writeString(bad, "2\nProperties=species:S:1:pos:R:3\nAr 0 0 0\nAr 1 x 1\n");
        assertUserError("bad.extxyz:4", "run", "--input", bad.toString(), "--output", dir.resolve("o2").toString(),
                "--on-bad-input", "fail");
        Path copper = dir.resolve("cu.extxyz");
        Files.writeString(copper, "1\nsample_id=cu\nCu 0 0 0\n");
        assertUserError("element Cu is unknown to the model", "run", "--input", copper.toString(), "--output",
                dir.resolve("o3").toString(), "--on-bad-input", "fail");
        Path cuInput = dir.resolve("cu-crystal.extxyz");
        ExtxyzWriter.writeAll(cuInput, List.of(org.fusedstage.data.Structures.fcc("Cu", 3.61, 2).toBuilder().optSampleId("cu").build()));
        assertUserError("accepts dtype [float64] but the batch is float32", "run", "--model", "nnp-demo-cu", "--dtype", "float32",
                "--input", cuInput.toString(), "--output", dir.resolve("o4").toString());
        Object[] verbose = run("run", "--model", "no-such-model", "--output", out.toString(), "--verbose");
        assertTrue(((String) verbose[1]).lines().count() > 3, "--verbose adds the stack trace");
    }

    /** Chains that could never end, and inputs with nothing to run, are refused before any work. */
    @Test
    void refusedChainsAndEmptyInputsExitTwoWithoutOutputs() throws Exception {
        Path out = dir.resolve("never");
        assertUserError("neither a step budget nor convergence criteria", "run", "--stage", "nve:dt=1", "--output", out.toString(),
                "--demo-size", "2");
        assertUserError("neither a step budget nor convergence criteria", "run", "--stage", "nvt-langevin:temperature=80",
                "--output", out.toString(), "--demo-size", "2");
        assertUserError("must be > 0", "run", "--stage", "fire:max-steps=0,fmax=0", "--output", out.toString(), "--demo-size", "2");
        assertUserError("--on-unconverged must be continue, stop or reject", "run", "--on-unconverged", "maybe", "--output",
                out.toString(), "--demo-size", "2");
        Path junk = dir.resolve("junk.extxyz");
        Files.writeString(junk, "1\nsample_id=q\nQq 0 0 0\n");
        Path empty = dir.resolve("empty");
        assertUserError("no valid sample in", "run", "--input", junk.toString(), "--output", empty.toString());
        assertTrue(Files.exists(empty.resolve("invalid.csv")), "the reason is kept");
        assertTrue(!Files.exists(empty.resolve("results.extxyz")) && !Files.exists(empty.resolve("relaxation.png")),
                "no empty results or plots");
    }

    /** A relaxation capped by max-steps: converged=false in results; rejected ones leave with exit 3. */
    @Test
    void unconvergedRelaxationsAreFlaggedAndTheirFateIsTheUsersChoice() throws Exception {
        String[] chain = {"--stage", "fire:fmax=0.001,max-steps=3", "--stage", "nve:steps=2", "--demo-size", "4"};
        Path continued = dir.resolve("continue");
        Object[] result = run(concat(new String[] {"run", "--output", continued.toString()}, chain));
        assertEquals(0, (int) result[0], (String) result[1]);
        List<AtomicSystem> results = ExtxyzReader.readAll(continued.resolve("results.extxyz"));
        assertEquals(4, results.size());
        for (AtomicSystem s : results) {
            assertEquals(Boolean.FALSE, s.info().get("converged"));
            assertEquals(Boolean.FALSE, s.info().get("converged_stage0"));
            assertEquals(2L, s.info().get("steps_stage1"));
        }
        List<String> summary = Files.readAllLines(continued.resolve("summary.csv"));
        assertTrue(summary.get(0).endsWith(",converged,unconverged_stages"), summary.get(0));
        assertTrue(summary.get(1).endsWith(",false,stage0"), summary.get(1));

        Path rejected = dir.resolve("reject");
        result = run(concat(new String[] {"run", "--output", rejected.toString(), "--on-unconverged", "reject"}, chain));
        assertEquals(3, (int) result[0], "samples left out: exit 3");
        assertEquals(4, ExtxyzReader.readAll(rejected.resolve("rejects.extxyz")).size());
        assertEquals(0, ExtxyzReader.readAll(rejected.resolve("results.extxyz")).size());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Every command answers --help with its options and exits 0, without running anything. */
    @Test
    void everyCommandPrintsItsHelp() {
        for (String[] command : new String[][] {{"run", "--max-atoms="}, {"bench", "--only="}, {"models", "--help"},
            {"export-step", "--model="}}) {
            PrintStream out = System.out;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            int code;
            try {
                code = FusedStageCli.execute(command[0], "--help");
            } finally {
                System.setOut(out);
            }
            String help = captured.toString(StandardCharsets.UTF_8);
            assertEquals(0, code, command[0] + " --help");
            assertTrue(help.startsWith("Usage: fused-stage " + command[0]) && help.contains(command[1]), help);
        }
    }

    @Test
    void runOnAnAseFileWritesResultsThatAseReads() throws Exception {
        Path input = dir.resolve("ase.extxyz");
        boolean ase = hasAse();
        if (ase) {
            python("import ase.io, numpy as np\nfrom ase.build import bulk\nframes = []\n"
                    + "for i in range(6):\n    a = bulk('Ar', 'fcc', a=5.26, cubic=True).repeat(2)\n"
                    + "    a.rattle(0.05, seed=i)\n    a.info['sample_id'] = 'ase-%d' % i\n    frames.append(a)\n"
                    + "ase.io.write('" + input + "', frames, format='extxyz')\n");
        } else {
            Assumptions.assumeTrue(false, "python3-ase not installed");
        }
        Path out = dir.resolve("run");
        Object[] result = run("run", "--input", input.toString(), "--output", out.toString(), "--stage", "fire:fmax=0.1",
                "--stage", "nve:steps=5,dt=1", "--snapshot-every", "2", "--max-atoms", "64");
        assertEquals(0, (int) result[0], (String) result[1]);
        for (String file : List.of("results.extxyz", "summary.csv", "trajectory.extxyz", "relaxation.png", "md.png", "throughput.png")) {
            assertTrue(Files.size(out.resolve(file)) > 0, file);
        }
        List<AtomicSystem> results = ExtxyzReader.readAll(out.resolve("results.extxyz"));
        assertEquals(6, results.size());
        assertEquals(7, Files.readAllLines(out.resolve("summary.csv")).size());
        String ids = python("import ase.io\nframes = ase.io.read('" + out.resolve("results.extxyz")
                + "', index=':')\nprint(sorted(f.info['sample_id'] for f in frames), all(abs(f.get_forces()).max() < 1 for f in frames), frames[0].info['steps_stage1'])");
        assertEquals("['ase-0', 'ase-1', 'ase-2', 'ase-3', 'ase-4', 'ase-5'] True 5", ids.strip());
    }

    private static boolean hasAse() {
        try {
            python("import ase");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static String python(String script) throws Exception {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(out);
        }
        return out;
    }

    @Test
    void noStressLeavesTheStressOutOfTheResults() throws Exception {
        for (boolean noStress : new boolean[] {false, true}) {
            Path out = dir.resolve(noStress ? "without-stress" : "with-stress");
            List<String> args = new java.util.ArrayList<>(List.of("run", "--demo-size", "3", "--output", out.toString(),
                    "--stage", "fire:fmax=0.5", "--stage", "nve:steps=3"));
            if (noStress) {
                args.add("--no-stress");
            }
            Object[] result = run(args.toArray(new String[0]));
            assertEquals(0, (int) result[0], (String) result[1]);
            List<AtomicSystem> results = ExtxyzReader.readAll(out.resolve("results.extxyz"));
            assertEquals(3, results.size());
            for (AtomicSystem s : results) {
                assertEquals(!noStress, s.stress().isPresent(), (noStress ? "--no-stress" : "default") + ": stress of " + s.sampleId());
            }
        }
    }

    @Test
    void writesAreAseReadable() throws Exception {
        Path file = dir.resolve("x.extxyz");
        ExtxyzWriter.writeAll(file, RunCommand.demoDataset(2, 1));
        assertEquals(2, ExtxyzReader.readAll(file).size());
    }
}
