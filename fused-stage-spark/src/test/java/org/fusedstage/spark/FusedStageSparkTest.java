package org.fusedstage.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.InMemoryDataset;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.StageSpec;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sampling.SizeAwareSampler;
import org.fusedstage.sinks.HostMemory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chain on Spark ({@code local[2]}, up to 4 attempts per task) gives the per-sample results of
 * one FusedStage over the whole dataset, whatever the partitioning; a task that fails after
 * writing part of its output is retried and every sample is written exactly once; bad inputs
 * become invalid rows with reasons.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class FusedStageSparkTest {

    private static final List<String> CHAIN = List.of("fire:fmax=0.05,max-steps=400",
            "nvt-langevin:steps=20,temperature=60,friction=0.02,dt=2.0");
    private static final AtomicInteger INJECTED = new AtomicInteger();

    private static SparkSession spark;

    @BeforeAll
    static void start() {
        DjlRuntime.ensureOffline();
        spark = SparkSession.builder().master("local[2,4]").appName("fused-stage-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** Perturbed fcc argon of 32 and 108 atoms, strained and rattled unevenly (some relax fast, some slowly). */
    static List<AtomicSystem> structures(int count, String prefix) {
        List<AtomicSystem> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double lattice = 5.22 + 0.1 * ((i * 7) % 11) / 10.0;
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", lattice, i % 4 == 3 ? 3 : 2), 0.02 + 0.15 * ((i * 13) % 10) / 9.0,
                    1000L + i);
            out.add(s.toBuilder().optSampleId(String.format("%s-%04d", prefix, i)).build());
        }
        return out;
    }

    private static ChainConfig config(long seed) {
        return ChainConfig.builder("lennard-jones").optStages(CHAIN).optMaxAtoms(1024).optMaxBatchSize(32).optSeed(seed).build();
    }

    /** Shards of uneven sizes: one Spark partition each. */
    private static Path shards(Path dir, List<AtomicSystem> systems, int... sizes) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("shards"));
        int from = 0;
        for (int k = 0; k < sizes.length; k++) {
            ExtxyzWriter.writeAll(folder.resolve("shard-" + k + ".extxyz"), systems.subList(from, from + sizes[k]));
            from += sizes[k];
        }
        assertEquals(systems.size(), from);
        return folder;
    }

    /** The same chain as one FusedStage over every structure in one process. */
    private static Map<String, AtomicSystem> reference(List<AtomicSystem> systems, ChainConfig config) throws Exception {
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelName(config.model()).build()) {
            HostMemory results = new HostMemory(10_000);
            HostMemory rejects = new HostMemory(10_000);
            try (FusedStage fused = StageSpec.addChain(FusedStage.builder(), config.specs(), potential, config.seed())
                    .addSink(results).addRejectSink(rejects).addHook(new NonFiniteGuard(rejects)).build()) {
                fused.setBatchDataType(config.dataType());
                fused.run(SizeAwareSampler.builder(new InMemoryDataset(systems)).optMaxAtoms(2048).optMaxBatchSize(64).build());
            }
            assertEquals(0, rejects.size());
            Map<String, AtomicSystem> byId = new HashMap<>();
            results.read().forEach(s -> byId.put(s.sampleId().orElseThrow(), s));
            return byId;
        }
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : rows) {
            assertNull(out.put(r.getAs("id"), r), "sample written twice: " + r.getAs("id"));
        }
        return out;
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-10, what + "[" + i + "]");
        }
    }

    private static void assertSameResult(AtomicSystem expected, Row row) {
        String id = row.getAs("id");
        assertEquals(StructureRows.RESULT, row.getAs("outcome"), id);
        AtomicSystem actual = StructureRows.toSystem(row);
        assertClose(expected.positions(), actual.positions(), id + " positions");
        assertClose(expected.velocities().orElseThrow(), actual.velocities().orElseThrow(), id + " velocities");
        assertClose(expected.forces().orElseThrow(), actual.forces().orElseThrow(), id + " forces");
        assertClose(expected.stress().orElseThrow(), actual.stress().orElseThrow(), id + " stress");
        assertEquals(expected.energy().orElseThrow(), actual.energy().orElseThrow(), 1e-10, id + " energy");
        List<Long> steps = row.getList(row.fieldIndex("stage_steps"));
        for (int k = 0; k < CHAIN.size(); k++) {
            assertEquals(((Number) expected.info().get("steps_stage" + k)).longValue(), steps.get(k), id + " steps of stage " + k);
        }
        assertEquals(expected.info().get("converged"), row.getAs("converged"), id);
    }

    @Test
    void unevenPartitionsGiveTheResultsOfOneFusedStage(@TempDir Path dir) throws Exception {
        List<AtomicSystem> systems = structures(240, "s");
        // Batches of at most 128 atoms, chunks of 2048 atoms: a partition (~2700 atoms) runs in two.
        ChainConfig config = ChainConfig.builder("lennard-jones").optStages(CHAIN).optMaxAtoms(128).optMaxBatchSize(8).optSeed(7)
                .build();
        Dataset<Row> input = StructureFrames.read(spark, shards(dir, systems, 9, 150, 1, 80).toString());
        assertEquals(4, input.rdd().getNumPartitions()); // one per shard as read, then spread over 5 by id:
        List<Long> sizes = input.repartition(5, functions.col("id")).groupBy(functions.spark_partition_id()).count()
                .collectAsList().stream().map(r -> r.getLong(1)).sorted().toList();
        assertEquals(5, sizes.size());
        assertTrue(sizes.get(4) - sizes.get(0) >= 5, "uneven partitions: " + sizes);
        int loadsBefore = ExecutorChains.loads();
        int runsBefore = ExecutorChains.runs();
        List<Row> rows = FusedStageSpark.run(input, config, 5, 2048).collectAsList();
        assertTrue(ExecutorChains.runs() - runsBefore > 5, "partitions ran in chunks: " + (ExecutorChains.runs() - runsBefore));
        // One chain per task slot and configuration, reused across the four partitions.
        assertTrue(ExecutorChains.loads() - loadsBefore <= 2, "chains built: " + (ExecutorChains.loads() - loadsBefore));

        Map<String, AtomicSystem> expected = reference(systems, config);
        Map<String, Row> actual = byId(rows);
        assertEquals(expected.keySet(), actual.keySet());
        long fewest = Long.MAX_VALUE;
        long most = 0;
        for (Map.Entry<String, AtomicSystem> e : expected.entrySet()) {
            assertSameResult(e.getValue(), actual.get(e.getKey()));
            long steps = ((Number) e.getValue().info().get("steps_stage0")).longValue();
            fewest = Math.min(fewest, steps);
            most = Math.max(most, steps);
        }
        assertTrue(most >= 2 * fewest, "difficulty is uneven: FIRE took " + fewest + " to " + most + " steps");
    }

    @Test
    void aTaskThatFailsOnceIsRetriedAndEverySampleIsWrittenOnce(@TempDir Path dir) throws Exception {
        List<AtomicSystem> systems = structures(120, "r");
        ChainConfig config = config(11);
        Dataset<Row> input = StructureFrames.read(spark, shards(dir, systems, 30, 50, 40).toString());
        INJECTED.set(0);
        // After the chain, partition 1's first attempt dies once some of its rows went to the writer.
        Dataset<Row> outcomes = FusedStageSpark.run(input, config).map((MapFunction<Row, Row>) row -> {
            TaskContext task = TaskContext.get();
            if (task.partitionId() == 1 && task.attemptNumber() == 0 && INJECTED.incrementAndGet() == 20) {
                throw new IllegalStateException("injected failure of a task's first attempt");
            }
            return row;
        }, Encoders.row(StructureRows.OUTCOME));
        String output = dir.resolve("out").toString();
        StructureFrames.writeOutcomes(outcomes, output);
        assertTrue(INJECTED.get() >= 20, "the failure was injected");

        List<Row> written = spark.read().parquet(output + "/" + StructureFrames.OUTCOMES).collectAsList();
        Map<String, Row> byId = byId(written);
        assertEquals(systems.size(), written.size());
        Map<String, AtomicSystem> expected = reference(systems, config);
        expected.forEach((id, s) -> assertSameResult(s, byId.get(id)));

        // Writing again to the same place is refused; nothing is overwritten.
        assertThrows(Exception.class, () -> StructureFrames.writeOutcomes(outcomes, output));
        assertEquals(systems.size(), spark.read().parquet(output + "/" + StructureFrames.OUTCOMES).count());
    }

    @Test
    void badInputsAreReportedNotFatal(@TempDir Path dir) throws Exception {
        List<AtomicSystem> good = structures(12, "g");
        Path folder = shards(dir, good, 6, 6);
        // A shard with an unreadable frame between two good ones, an overlapping pair and a repeated id.
        AtomicSystem overlap = good.get(0).toBuilder().optSampleId("overlap").build();
        double[] p = overlap.positions();
        p[3] = p[0] + 0.1;
        p[4] = p[1];
        p[5] = p[2];
        String text = ExtxyzWriter.formatFrame(overlap.toBuilder().positions(p).build())
                + "2\nProperties=species:S:1:pos:R:3 sample_id=broken\nAr 0 0 0\n"
                + ExtxyzWriter.formatFrame(structures(1, "dup").get(0))
                + ExtxyzWriter.formatFrame(structures(1, "dup").get(0).toBuilder().optSampleId("g-0003").build());
        Files.writeString(folder.resolve("shard-bad.extxyz"), text);

        ChainConfig config = config(13);
        Dataset<Row> input = StructureFrames.read(spark, folder.toString());
        // A structure that passes every check but blows up (masses of 1e-320 amu): rejected with its reason.
        AtomicSystem light = good.get(1).toBuilder().optSampleId("light").optMasses(filled(32, 1e-320)).build();
        Dataset<Row> extra = spark.createDataFrame(List.of(StructureRows.inputRow(light, "light", "test", null)), StructureRows.INPUT);
        List<Row> rows = FusedStageSpark.run(input.union(extra), config).collectAsList();

        Map<String, String> outcome = new HashMap<>();
        Map<String, String> problem = new HashMap<>();
        Map<String, String> source = new HashMap<>();
        for (Row r : rows) {
            source.put(r.getAs("id"), r.getAs("source"));
            String id = r.getAs("id");
            outcome.merge(id, r.getAs("outcome"), (a, b) -> a + "," + b);
            problem.merge(id, String.valueOf((Object) r.getAs("problem")), (a, b) -> a + " | " + b);
        }
        assertEquals(good.size() + 3 + 1 + 1, rows.size(), outcome.toString()); // every input row, once
        assertEquals("invalid", outcome.get("overlap"));
        assertTrue(problem.get("overlap").contains("overlap"), problem.get("overlap"));
        assertEquals("invalid", outcome.get("broken"));
        assertTrue(problem.get("broken").contains("atom line"), problem.get("broken"));
        assertTrue(source.get("broken").contains("shard-bad.extxyz:"), source.get("broken")); // file and line
        assertEquals("invalid,invalid", outcome.get("g-0003")); // both copies of a repeated id, with the reason
        assertTrue(problem.get("g-0003").contains("appears 2 times"), problem.get("g-0003"));
        assertEquals("result", outcome.get("dup-0000"));
        assertEquals("rejected", outcome.get("light"));
        assertTrue(problem.get("light").contains("non-finite") || problem.get("light").contains("NaN")
                || problem.get("light").contains("finite"), problem.get("light"));
        for (AtomicSystem s : good) {
            if (!s.sampleId().orElseThrow().equals("g-0003")) {
                assertEquals("result", outcome.get(s.sampleId().orElseThrow()));
            }
        }
    }

    @Test
    void aRepeatedIdAtAChunkBoundaryIsNotSplit() {
        // One partition, chunks of 2048 atoms.
        // 18 crystals of 108 atoms (1944) come first in id order, then two copies of one id: the
        // first copy reaches the budget, and the chunk takes the second copy too.
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 22; i++) {
            String id = i < 18 ? String.format("b-%02d", i) : i < 20 ? "c-dup" : "d-" + i;
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.3, 3), 0.05, 40L + i).toBuilder().optSampleId(id).build();
            rows.add(StructureRows.inputRow(s, id, "test", null));
        }
        ChainConfig config = ChainConfig.builder("lennard-jones").optStages(List.of("fire:fmax=0.1,max-steps=200",
                "nvt-langevin:steps=2")).optMaxAtoms(128).optMaxBatchSize(4).build();
        Map<String, String> outcome = new HashMap<>();
        for (Row r : FusedStageSpark.run(spark.createDataFrame(rows, StructureRows.INPUT), config, 1, 2048).collectAsList()) {
            outcome.merge(r.getAs("id"), r.getAs("outcome") + ":" + r.getAs("problem"), (a, b) -> a + " | " + b);
        }
        assertEquals(21, outcome.size(), outcome.toString());
        assertTrue(outcome.get("c-dup").matches("invalid:.*appears 2 times.* \\| invalid:.*appears 2 times.*"), outcome.get("c-dup"));
        outcome.forEach((id, o) -> assertTrue(id.equals("c-dup") || o.equals("result:null"), id + " " + o));
    }

    @Test
    void extxyzShardsRoundTripThroughParquet(@TempDir Path dir) throws Exception {
        List<AtomicSystem> systems = structures(10, "t");
        Dataset<Row> input = StructureFrames.read(spark, shards(dir, systems, 4, 6).toString());
        String parquet = dir.resolve("structures.parquet").toString();
        input.write().parquet(parquet);
        Dataset<Row> fromParquet = StructureFrames.read(spark, parquet);
        String extxyz = dir.resolve("again").toString();
        StructureFrames.writeExtxyz(fromParquet, extxyz);
        Map<String, Row> back = byId(StructureFrames.read(spark, extxyz).collectAsList());
        assertEquals(systems.size(), back.size());
        for (AtomicSystem s : systems) {
            Row row = back.get(s.sampleId().orElseThrow());
            assertNotNull(row);
            assertNull(row.getAs("problem"));
            AtomicSystem t = StructureRows.toSystem(row);
            assertClose(s.positions(), t.positions(), "positions");
            assertClose(s.cell(), t.cell(), "cell");
            assertEquals(List.of(s.pbc()[0], s.pbc()[1], s.pbc()[2]), List.of(t.pbc()[0], t.pbc()[1], t.pbc()[2]));
        }
        assertEquals(10, spark.read().parquet(parquet).where(functions.col("id").startsWith("t-")).count());
    }

    private static double[] filled(int n, double value) {
        double[] out = new double[n];
        java.util.Arrays.fill(out, value);
        return out;
    }
}
