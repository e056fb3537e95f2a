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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.Structures;
import org.fusedstage.spark.StructureRows;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code spark-run} on local[2] writes, per structure, what {@code run} writes for the same input and chain. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SparkRunCliTest {

    private static final String[] CHAIN = {"--stage", "fire:fmax=0.05,max-steps=500", "--stage",
        "nvt-langevin:steps=30,temperature=70,friction=0.02,dt=2.0", "--seed", "5"};

    private static String[] args(String... first) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(CHAIN));
        return all.toArray(String[]::new);
    }

    private static int quiet(String... args) {
        PrintStream out = System.out;
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            return FusedStageCli.execute(args);
        } finally {
            System.setOut(out);
        }
    }

    @Test
    void sparkRunWritesWhatRunWrites(@TempDir Path dir) throws Exception {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 240; i++) {
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.22 + 0.01 * (i % 9), i % 5 == 0 ? 3 : 2),
                    0.03 + 0.02 * (i % 7), 77L + i);
            systems.add(s.toBuilder().optSampleId("c-" + i).build());
        }
        Path shards = Files.createDirectories(dir.resolve("shards"));
        ExtxyzWriter.writeAll(shards.resolve("a.extxyz"), systems.subList(0, 20));
        ExtxyzWriter.writeAll(shards.resolve("b.extxyz"), systems.subList(20, 240));
        Path all = dir.resolve("all.extxyz");
        ExtxyzWriter.writeAll(all, systems);

        assertEquals(0, quiet(args("run", "--input", all.toString(), "--output", dir.resolve("run").toString())));
        String out = dir.resolve("spark").toString();
        assertEquals(0, quiet(args("spark-run", "--input", shards.toString(), "--output", out, "--master", "local[2]",
                "--partitions", "3", "--extxyz")));

        Map<String, AtomicSystem> expected = new HashMap<>();
        for (AtomicSystem s : ExtxyzReader.readAll(dir.resolve("run/results.extxyz"))) {
            expected.put(s.sampleId().orElseThrow(), s);
        }
        assertEquals(systems.size(), expected.size());
        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
        try {
            List<Row> rows = spark.read().parquet(out + "/outcomes").collectAsList();
            assertEquals(systems.size(), rows.size());
            for (Row row : rows) {
                String id = row.getAs("id");
                AtomicSystem e = expected.remove(id);
                assertEquals(StructureRows.RESULT, row.getAs("outcome"), id);
                AtomicSystem a = StructureRows.toSystem(row);
                assertClose(e.positions(), a.positions(), id);
                assertClose(e.velocities().orElseThrow(), a.velocities().orElseThrow(), id);
                assertClose(e.forces().orElseThrow(), a.forces().orElseThrow(), id);
                assertEquals(e.energy().orElseThrow(), a.energy().orElseThrow(), 1e-10, id);
                List<Long> steps = row.getList(row.fieldIndex("stage_steps"));
                assertEquals(((Number) e.info().get("steps_stage0")).longValue(), steps.get(0), id);
                assertEquals(((Number) e.info().get("steps_stage1")).longValue(), steps.get(1), id);
            }
            assertTrue(expected.isEmpty(), "missing from spark-run: " + expected.keySet());
        } finally {
            spark.stop();
        }
        // The extxyz copy of the results: every structure once.
        int frames = 0;
        try (var parts = Files.list(Path.of(out, "results-extxyz"))) {
            for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                frames += ExtxyzReader.readAll(part).size();
            }
        }
        assertEquals(systems.size(), frames);

        // An existing output is refused in one line, and left as it was.
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = quiet(args("spark-run", "--input", shards.toString(), "--output", out, "--master", "local[1]"));
        } finally {
            System.setErr(err);
        }
        assertEquals(ExitCode.USER_ERROR, code);
        String message = captured.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("fused-stage: output " + out + " exists"), message);
        assertFalse(Files.exists(Path.of(out, "outcomes", "_temporary")));
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-10, what + "[" + i + "]");
        }
    }
}
