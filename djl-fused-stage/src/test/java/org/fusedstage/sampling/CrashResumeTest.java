package org.fusedstage.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.sinks.ExtxyzSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run killed with SIGKILL mid-way and started again writes every sample exactly once. */
class CrashResumeTest {

    @TempDir
    Path dir;

    @Test
    void killedRunResumesWithExactlyOnceOutput() throws Exception {
        List<AtomicSystem> systems = InflightRunTest.dataset(120);
        Path input = dir.resolve("input.extxyz");
        Path output = dir.resolve("output.extxyz");
        ExtxyzWriter.writeAll(input, systems);

        Process first = start(input, output);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (frames(output) < 25 && first.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(first.isAlive(), "the first run must still be running when killed (it finished too early)");
        first.destroyForcibly(); // SIGKILL: no shutdown hooks, no flush
        first.waitFor();
        int before = frames(output);
        assertTrue(before >= 25 && before < 120, "killed after " + before + " samples");

        Process second = start(input, output);
        assertTrue(second.waitFor(300, TimeUnit.SECONDS), "the resumed run finishes");
        assertEquals(0, second.exitValue(), new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8));

        List<AtomicSystem> written = ExtxyzReader.readAll(output); // throws on any truncated frame
        Set<String> ids = new HashSet<>();
        for (AtomicSystem s : written) {
            assertTrue(ids.add(s.sampleId().orElseThrow()), "written twice: " + s.sampleId().get());
            assertEquals(40L, s.info().get("steps_stage1"), "complete record of " + s.sampleId().get());
        }
        Set<String> expected = new HashSet<>();
        systems.forEach(s -> expected.add(s.sampleId().orElseThrow()));
        assertEquals(expected, ids, "every sample exactly once");
    }

    @Test
    void resumeCutsAFrameTruncatedByAKill() throws IOException {
        Path file = dir.resolve("partial.extxyz");
        List<AtomicSystem> systems = InflightRunTest.dataset(3);
        ExtxyzWriter.writeAll(file, systems);
        String text = Files.readString(file);
        Files.writeString(file, text.substring(0, text.length() - 7)); // the last frame loses its tail
        try (ExtxyzSink sink = ExtxyzSink.resume(file)) {
            assertEquals(Set.of("s0000", "s0001"), sink.existingIds());
        }
        assertEquals(2, ExtxyzReader.readAll(file).size());
    }

    private static Process start(Path input, Path output) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                InflightJob.class.getName(), input.toString(), output.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return pb.start();
    }

    private static int frames(Path file) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        int count = 0;
        for (String line : Files.readAllLines(file)) {
            if (line.contains("Properties=")) {
                count++;
            }
        }
        return count;
    }
}
