package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.Structures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input costs no good sample, never hangs, never crashes the run: files of ten valid argon
 * frames with one frame altered, run and resumed through the command line. Each case checks which
 * samples ran, which are in invalid.csv and why, the exit code, and that every valid sample is
 * written exactly once across a run and a resumed run.
 */
class BadInputTest {

    @TempDir
    Path dir;

    private static final String[] CHAIN = {"--stage", "fire:fmax=0.1,max-steps=50", "--stage", "nve:steps=2"};

    /** Ten valid frames (8-atom argon crystals), as text, one string per frame. */
    static List<String> tenFrames() {
        List<String> frames = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.26, 1), 0.05, i).toBuilder().optSampleId("ar-" + i).build();
            frames.add(ExtxyzWriter.formatFrame(s));
        }
        return frames;
    }

    /** Runs the CLI in-process: {exit code, stdout + stderr}. */
    static Object[] cli(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream both = new PrintStream(captured, true, StandardCharsets.UTF_8);
        System.setOut(both);
        System.setErr(both);
        try {
            int code = FusedStageCli.execute(args);
            return new Object[] {code, captured.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** Counts of each sample id in a results file. */
    private static Map<String, Integer> written(Path file) throws Exception {
        Map<String, Integer> counts = new TreeMap<>();
        if (Files.exists(file)) {
            for (AtomicSystem s : ExtxyzReader.readAll(file)) {
                counts.merge(s.sampleId().orElseThrow(), 1, Integer::sum);
            }
        }
        return counts;
    }

    /**
     * Writes the ten frames with frame {@code altered} changed, runs and resumes, and checks the
     * documented outcome: the other nine written once each (plus {@code extraGood}), exit 3, and
     * invalid.csv naming {@code reason}.
     */
    private void assertOnlyTheAlteredFrameIsLost(String name, int altered, UnaryOperator<String> change, String reason)
            throws Exception {
        assertOnlyTheAlteredFrameIsLost(name, altered, change, reason, StandardCharsets.UTF_8);
    }

    private void assertOnlyTheAlteredFrameIsLost(String name, int altered, UnaryOperator<String> change, String reason,
            java.nio.charset.Charset charset) throws Exception {
        List<String> frames = tenFrames();
        frames.set(altered, change.apply(frames.get(altered)));
        Path input = dir.resolve(name + ".extxyz");
        Files.writeString(input, String.join("", frames), charset);
        Path out = dir.resolve(name);
        List<String> args = new ArrayList<>(List.of("run", "--input", input.toString(), "--output", out.toString()));
        args.addAll(List.of(CHAIN));
        Object[] first = cli(args.toArray(new String[0]));
        assertEquals(3, (int) first[0], name + ": samples were lost, so not exit 0:\n" + first[1]);
        args.add("--resume");
        Object[] resumed = cli(args.toArray(new String[0]));
        assertEquals(3, (int) resumed[0], name + " resumed:\n" + resumed[1]);
        Map<String, Integer> counts = written(out.resolve("results.extxyz"));
        for (int i = 0; i < 10; i++) {
            if (i != altered) {
                assertEquals(1, counts.getOrDefault("ar-" + i, 0), name + ": ar-" + i + " exactly once in " + counts);
            }
        }
        assertFalse(counts.containsKey("ar-" + altered), name + ": the altered frame is not run");
        String invalid = Files.readString(out.resolve("invalid.csv"));
        assertEquals(2, invalid.lines().count(), name + ": exactly the altered frame is reported:\n" + invalid);
        assertTrue(invalid.contains(reason), name + ": invalid.csv lacks '" + reason + "':\n" + invalid);
    }

    private static String withCount(String frame, int count) {
        return count + frame.substring(frame.indexOf('\n'));
    }

    private static int count(String frame) {
        return Integer.parseInt(frame.substring(0, frame.indexOf('\n')).trim());
    }

    @Test
    void aBadFrameHeaderCostsOnlyItsFrame() throws Exception {
        for (int at : new int[] {0, 4, 9}) { // first, middle and last frame
            assertOnlyTheAlteredFrameIsLost("count-low-" + at, at, f -> withCount(f, count(f) - 1), "smaller than the frame");
            assertOnlyTheAlteredFrameIsLost("count-high-" + at, at, f -> withCount(f, count(f) + 1),
                    at == 9 ? "truncated frame" : "larger than the frame");
            assertOnlyTheAlteredFrameIsLost("count-huge-" + at, at, f -> withCount(f, 1_000_000_000),
                    at == 9 ? "truncated frame" : "larger than the frame");
        }
        // A zero-atom frame (ASE writes those) in place of frame 4: reported, nothing else lost.
        assertOnlyTheAlteredFrameIsLost("zero-atoms", 4, f -> "0\n" + f.lines().skip(1).findFirst().orElseThrow() + "\n",
                "zero atoms");
    }

    @Test
    void commentLinesAreReadByOneParserEverywhere() throws Exception {
        // Spaces around '=' and braces: ASE's grammar. The id written equals the id read back, so a
        // resumed run does not write these samples again.
        List<String> frames = tenFrames();
        frames.set(3, frames.get(3).replace("sample_id=ar-3", "sample_id = three"));
        frames.set(5, frames.get(5).replace("sample_id=ar-5", "sample_id={x y}"));
        Path input = dir.resolve("grammar.extxyz");
        Files.writeString(input, String.join("", frames));
        Path out = dir.resolve("grammar");
        List<String> args = new ArrayList<>(List.of("run", "--input", input.toString(), "--output", out.toString()));
        args.addAll(List.of(CHAIN));
        assertEquals(0, (int) cli(args.toArray(new String[0]))[0]);
        args.add("--resume");
        Object[] resumed = cli(args.toArray(new String[0]));
        assertEquals(0, (int) resumed[0], (String) resumed[1]);
        Map<String, Integer> counts = written(out.resolve("results.extxyz"));
        assertEquals(10, counts.size(), counts.toString());
        assertEquals(1, counts.get("three"));
        assertEquals(1, counts.get("x y"));
        assertTrue(counts.values().stream().allMatch(n -> n == 1), counts.toString());

        // A duplicated key: the frame is invalid, not indexed under one id and written under another.
        assertOnlyTheAlteredFrameIsLost("duplicate-key", 5, f -> f.replace("sample_id=ar-5", "sample_id=ar-9 sample_id=ar-5"),
                "appears twice");
    }

    @Test
    void cellsThatWouldHangTheSearchAreRefusedWithAReason() throws Exception {
        // One atom, periodic along x only, with a 1e-12 A axis: refused, the others run.
        assertOnlyTheAlteredFrameIsLost("thin-axis", 2, f -> "1\nLattice=\"1e-12 0 0 0 10 0 0 0 10\" "
                + "Properties=species:S:1:pos:R:3 sample_id=ar-2 pbc=\"T F F\"\nAr 0 0 0\n", "too thin");
        // One atom in a 0.03 A periodic cube (the structure that killed the service).
        assertOnlyTheAlteredFrameIsLost("tiny-cube", 7, f -> "1\nLattice=\"0.03 0 0 0 0.03 0 0 0 0.03\" "
                + "Properties=species:S:1:pos:R:3 sample_id=ar-7 pbc=\"T T T\"\nAr 0 0 0\n", "too thin");
    }

    @Test
    void malformedFilesEndInOneReportedProblemEach() throws Exception {
        // 200 property columns of width 1000 in a small file: one problem, not an out-of-memory trace.
        StringBuilder props = new StringBuilder("species:S:1:pos:R:3");
        for (int c = 0; c < 200; c++) {
            props.append(":c").append(c).append(":R:1000");
        }
        assertOnlyTheAlteredFrameIsLost("wide", 6, f -> "40000000\nProperties=" + props + " sample_id=ar-6\nAr 0 0 0\n",
                "columns");
        // Bytes that are not UTF-8 in an atom line.
        assertOnlyTheAlteredFrameIsLost("latin1", 1, f -> f.replaceFirst("\nAr ", "\n\u00ffAr "), "not UTF-8",
                StandardCharsets.ISO_8859_1); // the byte 0xFF: never valid UTF-8
    }

    @Test
    void stalePartialAndLinkedOutputsAreRefused() throws Exception {
        List<String> frames = tenFrames();
        Path input = dir.resolve("ok.extxyz");
        Files.writeString(input, String.join("", frames));
        Path out = dir.resolve("stale");
        Files.createDirectories(out);
        Files.writeString(out.resolve("rejects.extxyz"), "");
        Object[] fresh = cli("run", "--input", input.toString(), "--output", out.toString());
        assertEquals(2, (int) fresh[0]);
        assertTrue(((String) fresh[1]).contains("already holds rejects.extxyz"), (String) fresh[1]);

        Path linked = dir.resolve("linked");
        Files.createDirectories(linked);
        Path outside = dir.resolve("precious.csv");
        Files.writeString(outside, "keep me");
        Files.createSymbolicLink(linked.resolve("summary.csv"), outside);
        Object[] link = cli("run", "--input", input.toString(), "--output", linked.toString(), "--resume");
        assertEquals(2, (int) link[0]);
        assertTrue(((String) link[1]).contains("symbolic link"), (String) link[1]);
        assertEquals("keep me", Files.readString(outside), "nothing written through the link");

        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        Object[] notFolder = cli("run", "--input", input.toString(), "--output", file.toString());
        assertEquals(2, (int) notFolder[0]);
        assertTrue(((String) notFolder[1]).contains("is a file, not a folder"), (String) notFolder[1]);
    }

    @Test
    void optionsOutOfRangeAreRefusedAndHugeLimitsAreHarmless() throws Exception {
        Path input = dir.resolve("ok.extxyz");
        Files.writeString(input, String.join("", tenFrames()));
        String[][] refused = {
            {"--stage", "nvt-langevin:steps=5,temperature=Infinity", "must be finite"},
            {"--stage", "nve:steps=5,dt=1e300", "time step must be in (0, 100.0] fs"},
            {"--stage", "nvt-langevin:steps=5,temperature=-3", "temperature must be finite and >= 0"},
            {"--snapshot-every", "-1", "--snapshot-every must not be negative"},
            {"--max-edges", "-5", "--max-edges must not be negative"},
            {"--max-atoms", "0", "--max-atoms must be positive"},
        };
        for (String[] c : refused) {
            Object[] result = cli("run", "--input", input.toString(), "--output", dir.resolve("refused").toString(), c[0], c[1]);
            assertEquals(2, (int) result[0], String.join(" ", c) + ": " + result[1]);
            assertTrue(((String) result[1]).contains(c[2]), "'" + result[1] + "' lacks " + c[2]);
            assertFalse(Files.exists(dir.resolve("refused")), "no output folder for a refused run");
        }
        Object[] huge = cli("run", "--input", input.toString(), "--output", dir.resolve("huge").toString(), "--max-atoms",
                "2147483647", "--max-batch-size", "2147483647", "--stage", "nve:steps=2");
        assertEquals(0, (int) huge[0], (String) huge[1]);
        assertFalse(((String) huge[1]).contains("-2147483648"), (String) huge[1]);
        assertEquals(10, written(dir.resolve("huge").resolve("results.extxyz")).size());
    }

    @Test
    void resumeProgressCountsOnlyThisRunsSamples() throws Exception {
        List<String> frames = tenFrames();
        Path input = dir.resolve("progress.extxyz");
        Files.writeString(input, String.join("", frames.subList(0, 6)));
        Path out = dir.resolve("progress");
        assertEquals(0, (int) cli("run", "--input", input.toString(), "--output", out.toString(), "--stage", "nve:steps=2")[0]);
        Files.writeString(input, String.join("", frames));
        Object[] resumed = cli("run", "--input", input.toString(), "--output", out.toString(), "--stage", "nve:steps=2",
                "--resume");
        assertEquals(0, (int) resumed[0]);
        String text = (String) resumed[1];
        assertTrue(text.contains("4 samples to run (6 already in"), text);
        assertTrue(text.contains("4/4 samples done"), text);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)/(\\d+) samples done").matcher(text);
        while (m.find()) {
            assertTrue(Integer.parseInt(m.group(1)) <= Integer.parseInt(m.group(2)), m.group());
        }
        assertEquals(10, written(out.resolve("results.extxyz")).size());
    }

    @Test
    void errorLinesNameTheRootCause() {
        String full = FusedStageCli.message(new java.io.UncheckedIOException("writing finished samples to results.extxyz",
                new java.io.IOException("No space left on device")));
        assertEquals("writing finished samples to results.extxyz: no space left on device", full);
        String raised = FusedStageCli.message(new IllegalStateException("The following operation failed in the TorchScript "
                + "interpreter.\nTraceback of TorchScript (most recent call last):\n  File \"code/x.py\", line 3\n"
                + "builtins.ValueError: positions out of range"));
        assertTrue(raised.endsWith("builtins.ValueError: positions out of range"), raised);
    }
}
