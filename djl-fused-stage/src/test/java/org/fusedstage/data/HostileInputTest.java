package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.fusedstage.model.NeighborList;
import org.fusedstage.sampling.ValidatedDataset;
import org.fusedstage.model.PotentialMetadata;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a hostile file or structure can do to the readers and the neighbor search: one reported problem, never a hang. */
class HostileInputTest {

    @TempDir
    Path dir;

    @Test
    void theCommentGrammarIsAsesAndRoundTripsThroughTheWriter() throws Exception {
        Map<String, String> kv = ExtxyzComment.parse("a = 1 b={x y} c=\"q \\\" r\" flag d='s t' e=[1, 2] f=\\=", "t", 1);
        assertEquals(Map.of("a", "1", "b", "x y", "c", "q \" r", "flag", "T", "d", "s t", "e", "1, 2", "f", "="), kv);
        assertEquals(List.of("a", "b", "c", "flag", "d", "e", "f"), new ArrayList<>(kv.keySet()), "order kept");
        for (String bad : new String[] {"sample_id=150 sample_id=5", "a=\"open", "=1", "a=", "a=b=c", "a={x"}) {
            assertThrows(ExtxyzFormatException.class, () -> ExtxyzComment.parse(bad, "t", 7), bad);
        }
        for (String id : new String[] {"three", "x y", "a\"b", "{}", "k=v", "it's", "back\\slash", "[1]", "tab\there"}) {
            String frame = ExtxyzWriter.formatFrame(TestSystems.fccArgon(1, 5.3, 0.0, 1).toBuilder().optSampleId(id).build());
            String comment = frame.lines().skip(1).findFirst().orElseThrow();
            assertEquals(id, ExtxyzComment.sampleId(comment, "t", 2), "written and read back: " + comment);
            try (ExtxyzReader reader = ExtxyzReader.of(new StringReader(frame), "t")) {
                assertEquals(id, reader.next().sampleId().orElseThrow());
            }
        }
    }

    @Test
    void tinyFilesWithHugeClaimsFailWithOneFormatError() throws Exception {
        Path claim = dir.resolve("claim.extxyz");
        Files.writeString(claim, "800000000\nProperties=species:S:1:pos:R:3\nAr 0 0 0\n"); // 48 bytes
        ExtxyzFormatException e = assertThrows(ExtxyzFormatException.class, () -> ExtxyzReader.readAll(claim));
        assertTrue(e.getMessage().contains("truncated frame"), e.getMessage());
        Path latin = dir.resolve("latin.extxyz");
        Files.write(latin, "1\nProperties=species:S:1:pos:R:3 note=caf\u00e9\nAr 0 0 0\n".getBytes(StandardCharsets.ISO_8859_1));
        ExtxyzFormatException utf = assertThrows(ExtxyzFormatException.class, () -> ExtxyzReader.readAll(latin));
        assertTrue(utf.getMessage().contains("not UTF-8"), utf.getMessage());
        StringBuilder props = new StringBuilder("species:S:1:pos:R:3");
        for (int c = 0; c < 200; c++) {
            props.append(":c").append(c).append(":R:1000");
        }
        Path wide = dir.resolve("wide.extxyz");
        Files.writeString(wide, "40000000\nProperties=" + props + "\nAr 0 0 0\n");
        ExtxyzFormatException columns = assertThrows(ExtxyzFormatException.class, () -> ExtxyzReader.readAll(wide));
        assertTrue(columns.getMessage().contains("columns"), columns.getMessage());
    }

    @Test
    void aSkewedButEquivalentCellGivesTheSameNeighbors() {
        AtomicSystem crystal = TestSystems.fccArgon(2, 5.26, 0.05, 3);
        double[] a = crystal.cell();
        double[] skewed = a.clone();
        for (int k = 0; k < 3; k++) {
            skewed[3 + k] = a[3 + k] + 300 * a[k]; // b' = b + 300 a: the same lattice
        }
        AtomicSystem same = crystal.toBuilder().optCell(skewed).build();
        double[] plain = distances(crystal);
        double[] reduced = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> distances(same));
        assertArrayEquals(plain, reduced, 1e-9, "every pair within the radius, at the same distance");
    }

    private static double[] distances(AtomicSystem s) {
        List<Double> r = new ArrayList<>();
        NeighborList.forEachPair(s, 7.0, (i, j, d) -> r.add(d));
        return r.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    @Test
    void cellsTooThinForTheRadiusAreRefusedNotSearchedForEver() {
        AtomicSystem needle = AtomicSystem.builder().positions(new double[3]).atomicNumbers(new int[] {18})
                .optCell(new double[] {1e-12, 0, 0, 0, 10, 0, 0, 0, 10}).optPbc(true, false, false).build();
        IllegalArgumentException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(IllegalArgumentException.class, () -> NeighborList.forEachPair(needle, 8.0, (i, j, d) -> { })));
        assertTrue(e.getMessage().contains("too thin"), e.getMessage());
        assertTrue(ValidatedDataset.problemOf(needle, java.util.Set.of(), 8.0).orElseThrow().contains("too thin"));
        IllegalArgumentException cutoff = assertThrows(IllegalArgumentException.class,
                () -> PotentialMetadata.builder("huge").optCutoff(1e6).build());
        assertTrue(cutoff.getMessage().contains("cutoff must be in (0, 1000.0]"), cutoff.getMessage());
    }

    @Test
    void resumeCutsOnlyAFrameCutShortAndRefusesForeignFiles() throws Exception {
        String a = ExtxyzWriter.formatFrame(TestSystems.fccArgon(1, 5.3, 0.0, 1).toBuilder().optSampleId("a").build());
        String b = ExtxyzWriter.formatFrame(TestSystems.fccArgon(1, 5.3, 0.0, 2).toBuilder().optSampleId("b").build());
        Path results = dir.resolve("results.extxyz");
        String cut = b.substring(0, b.length() - 3); // a kill in the middle of the last line: it still has 4 columns
        Files.writeString(results, a + cut);
        try (org.fusedstage.sinks.ExtxyzSink sink = org.fusedstage.sinks.ExtxyzSink.resume(results)) {
            assertEquals(java.util.Set.of("a"), sink.existingIds());
        }
        assertEquals(a, Files.readString(results), "the cut frame removed, the whole one kept");
        Path foreign = dir.resolve("foreign.extxyz");
        String broken = a.replace("sample_id=a", "sample_id=x sample_id=y") + b;
        Files.writeString(foreign, broken);
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> org.fusedstage.sinks.ExtxyzSink.resume(foreign));
        assertTrue(e.getMessage().contains("cannot be read"), e.getMessage());
        assertEquals(broken, Files.readString(foreign), "left as it is");
    }

    /**
     * Mutates the header or comment line of one frame of a ten-frame file, many times over: every
     * frame the mutation did not touch is still read, with its atoms, and the mutated frame costs
     * at most two reported problems.
     */
    @Test
    void headerAndCommentMutationsCostOnlyTheirFrame() throws Exception {
        List<String> frames = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            frames.add(ExtxyzWriter.formatFrame(TestSystems.fccArgon(1, 5.3, 0.05, i).toBuilder().optSampleId("f" + i).build()));
        }
        String[] junk = {"", "0", "-1", "1000000000", "99999999999", "x", "3 4", "\"", "{", "sample_id=f3", "=", "Properties=bad",
            "Properties=species:S:1:pos:R:2", "9", "1e9", "\t", "sample_id=a sample_id=b", "Lattice=\"1 2 3\""};
        Random random = new Random(18);
        for (int round = 0; round < 600; round++) {
            int victim = random.nextInt(10);
            List<String> lines = new ArrayList<>(List.of(frames.get(victim).split("\n", -1)));
            int line = random.nextInt(2); // 0: the atom count, 1: the comment line
            String j = junk[random.nextInt(junk.length)];
            switch (random.nextInt(4)) {
                case 0 -> lines.set(line, j);
                case 1 -> lines.set(line, lines.get(line) + " " + j);
                case 2 -> lines.remove(line);
                default -> lines.add(line, j);
            }
            List<String> mutated = new ArrayList<>(frames);
            mutated.set(victim, String.join("\n", lines));
            Path file = dir.resolve("fuzz-" + round + ".extxyz");
            Files.writeString(file, String.join("", mutated));
            List<InputProblem> problems = new ArrayList<>();
            ExtxyzDataset dataset = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> ExtxyzDataset.open(file, problems));
            List<String> ids = new ArrayList<>();
            for (int k = 0; k < dataset.size(); k++) {
                ids.add(dataset.id(k));
            }
            for (int k = 0; k < 10; k++) {
                if (k == victim) {
                    continue;
                }
                String id = "f" + k;
                int at = ids.indexOf(id);
                assertTrue(at >= 0, "round " + round + ": untouched frame " + id + " lost; problems " + problems + "\n" + lines);
                AtomicSystem read = dataset.get(at);
                try (ExtxyzReader reader = ExtxyzReader.of(new StringReader(frames.get(k)), "orig")) {
                    assertArrayEquals(reader.next().positions(), read.positions(), 0.0, "round " + round + ": " + id);
                }
            }
            assertTrue(problems.size() <= 2, "round " + round + ": one mutated frame, problems " + problems);
            Files.delete(file);
        }
    }
}
