package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A screening run survives bad structures and a blow-up, and loses nothing. */
class ReliabilityTest {

    @TempDir
    Path dir;

    @Test
    void badInputsAreReportedSkippedAndTheRestRunsExactlyOnce() throws Exception {
        List<AtomicSystem> good = RunCommand.demoDataset(6, 3);
        StringBuilder file = new StringBuilder();
        for (AtomicSystem s : good) {
            file.append(ExtxyzWriter.formatFrame(s));
        }
        // A sample that blows up in MD: masses so small (still positive) that F/m overflows.
        double[] tiny = new double[32];
        java.util.Arrays.fill(tiny, 1e-320);
        file.append(ExtxyzWriter.formatFrame(good.get(0).toBuilder().optSampleId("blows-up").optMasses(tiny).build()));
        String frame = "2\nLattice=\"6 0 0 0 6 0 0 0 6\" Properties=species:S:1:pos:R:3 sample_id=%s pbc=\"T T T\"\nAr 0 0 0\n%s\n";
        file.append(String.format(frame, "nan-coordinates", "Ar 1 NaN 1"));
        file.append(String.format(frame, "non-numeric", "Ar 1 one 1"));
        file.append(String.format(frame, "unknown-element", "Qq 3 3 3"));
        file.append(String.format(frame, "copper", "Cu 3 3 3"));
        file.append(String.format(frame, "overlap", "Ar 0.2 0.1 0"));
        file.append(String.format(frame.replace("6 0 0 0 6 0 0 0 6", "6 0 0 12 0 0 0 0 6"), "singular-cell", "Ar 3 3 3"));
        file.append(String.format(frame, "argon-0", "Ar 3 3 3")); // a valid two-atom sample
        file.append(ExtxyzWriter.formatFrame(good.get(1))); // duplicate id of a good sample
        file.append("5\nsample_id=truncated\nAr 0 0 0\n"); // cut short at the end of the file
        Path input = dir.resolve("screen.extxyz");
        Files.writeString(input, file.toString());
        Path out = dir.resolve("out");
        String[] args = {"run", "--input", input.toString(), "--output", out.toString(), "--stage", "nve:steps=6",
            "--max-atoms", "70"};
        assertEquals(3, FusedStageCli.execute(args), "samples left out: exit 3");

        Set<String> results = ids(ExtxyzReader.readAll(out.resolve("results.extxyz")));
        Set<String> expected = new TreeSet<>();
        good.forEach(s -> expected.add(s.sampleId().orElseThrow()));
        expected.add("argon-0");
        assertEquals(expected, results, "every good sample exactly once");
        List<AtomicSystem> rejects = ExtxyzReader.readAll(out.resolve("rejects.extxyz"));
        assertEquals(1, rejects.size());
        assertEquals("blows-up", rejects.get(0).sampleId().orElseThrow());
        assertEquals("last good step", rejects.get(0).info().get("state"), "quarantined with its last good state");
        assertTrue(rejects.get(0).info().get("reject_reason").toString().startsWith("non-finite"));

        String invalid = Files.readString(out.resolve("invalid.csv"));
        for (String expectedProblem : List.of("\"nan-coordinates\"", "non-finite value 'NaN'", "\"non-numeric\"", "is not a number",
                "unknown element 'Qq'", "element Cu is unknown to the model", "\"overlap\"", "apart (< 0.5 A)",
                "\"singular-cell\"", "cell is singular", "duplicate sample id", "truncated frame")) {
            assertTrue(invalid.contains(expectedProblem), "invalid.csv lacks " + expectedProblem + ":\n" + invalid);
        }

        // Resume: nothing is written twice, neither results nor rejects.
        List<String> resumeArgs = new ArrayList<>(List.of(args));
        resumeArgs.add("--resume");
        assertEquals(3, FusedStageCli.execute(resumeArgs.toArray(new String[0])), "the bad input is still left out");
        assertEquals(results.size(), ExtxyzReader.readAll(out.resolve("results.extxyz")).size());
        assertEquals(1, ExtxyzReader.readAll(out.resolve("rejects.extxyz")).size());
    }

    private static Set<String> ids(List<AtomicSystem> systems) {
        Set<String> ids = new TreeSet<>();
        for (AtomicSystem s : systems) {
            assertTrue(ids.add(s.sampleId().orElseThrow()), "duplicate " + s.sampleId().get());
        }
        return ids;
    }
}
