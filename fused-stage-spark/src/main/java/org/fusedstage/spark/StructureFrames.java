package org.fusedstage.spark;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzDataset;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.data.InputProblem;

/**
 * Structures in and out of Spark: extxyz shards (one file per shard, read where they lie, on the
 * executors) and Parquet, with the columns of {@link StructureRows}. Every write goes through
 * Spark's committed writes: a failed or repeated task leaves nothing behind.
 */
public final class StructureFrames {

    /** Folder of a run's outcome rows under its output, partitioned by outcome (outcome=result, ...). */
    public static final String OUTCOMES = "outcomes";

    private StructureFrames() {}

    /**
     * Reads {@code path}: a Parquet dataset (a folder written by Spark, or *.parquet files) or
     * extxyz shards (a file, a folder of files, or a glob), with {@link StructureRows#INPUT}'s
     * columns. Frames that cannot be read become rows with a problem, not errors.
     *
     * @throws IllegalArgumentException if nothing is found at {@code path}
     */
    public static Dataset<Row> read(SparkSession spark, String path) throws IOException {
        List<FileStatus> files = list(spark, path);
        boolean parquet = files.stream().allMatch(f -> f.getPath().getName().endsWith(".parquet"));
        return parquet ? FusedStageSpark.withInputColumns(spark.read().parquet(path)) : readExtxyz(spark, files);
    }

    /**
     * Reads extxyz shards, one partition per file, on the executors. A frame's id is its
     * {@code sample_id}, else {@code <file name>:<frame ordinal>}; its source is the file.
     */
    public static Dataset<Row> readExtxyz(SparkSession spark, String path) throws IOException {
        return readExtxyz(spark, list(spark, path));
    }

    private static Dataset<Row> readExtxyz(SparkSession spark, List<FileStatus> files) {
        List<String> uris = files.stream().map(f -> f.getPath().toUri().toString()).toList();
        JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(uris, Math.max(1, uris.size()))
                .flatMap((FlatMapFunction<String, Row>) uri -> parseShard(uri).iterator());
        return spark.createDataFrame(rows, StructureRows.INPUT);
    }

    /**
     * Writes a run's outcome rows under {@code output}/{@value #OUTCOMES}, partitioned by outcome,
     * in one committed job.
     *
     * @throws IllegalArgumentException if {@code output} exists (nothing is overwritten)
     */
    public static void writeOutcomes(Dataset<Row> outcomes, String output) {
        outcomes.write().mode(SaveMode.ErrorIfExists).partitionBy("outcome").parquet(output + "/" + OUTCOMES);
    }

    /**
     * Writes rows with the structure columns (and energy, forces, stress where present) as extxyz
     * shards in {@code dir}, one file per partition, in one committed job.
     */
    public static void writeExtxyz(Dataset<Row> structures, String dir) {
        structures.map((MapFunction<Row, String>) row -> {
            String frame = ExtxyzWriter.formatFrame(StructureRows.toSystem(row));
            return frame.endsWith("\n") ? frame.substring(0, frame.length() - 1) : frame; // the text writer ends each row
        }, Encoders.STRING()).write().mode(SaveMode.ErrorIfExists).text(dir);
    }

    /** Files at a path (a file, the visible files of a folder, or a glob), sorted by name. */
    private static List<FileStatus> list(SparkSession spark, String path) throws IOException {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        FileSystem fs = p.getFileSystem(conf);
        FileStatus[] matches = fs.globStatus(p);
        List<FileStatus> files = new ArrayList<>();
        for (FileStatus m : matches == null ? new FileStatus[0] : matches) {
            if (m.isDirectory()) {
                for (FileStatus f : fs.listStatus(m.getPath())) {
                    String name = f.getPath().getName();
                    if (f.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
                        files.add(f);
                    }
                }
            } else {
                files.add(m);
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no input at " + path);
        }
        files.sort(Comparator.comparing(f -> f.getPath().toString()));
        return files;
    }

    /** The frames of one shard, read on an executor; a non-local file is copied to local disk first. */
    static List<Row> parseShard(String uri) throws IOException {
        URI u = URI.create(uri);
        Path local;
        Path copy = null;
        if ("file".equals(u.getScheme())) {
            local = Path.of(u);
        } else {
            copy = Files.createTempDirectory("fused-stage-shard");
            org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(uri);
            local = copy.resolve(remote.getName()); // same file name: default ids are file name + ordinal
            try (InputStream in = remote.getFileSystem(new Configuration()).open(remote)) {
                Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        try {
            List<InputProblem> problems = new ArrayList<>();
            ExtxyzDataset shard = ExtxyzDataset.open(local, problems);
            List<Row> rows = new ArrayList<>(shard.size() + problems.size());
            for (InputProblem p : problems) {
                rows.add(StructureRows.unreadableRow(p.sample(), located(p.location(), local, uri), p.problem()));
            }
            for (int i = 0; i < shard.size(); i++) {
                try {
                    AtomicSystem s = shard.get(i);
                    rows.add(StructureRows.inputRow(s, shard.id(i), uri, null));
                } catch (IOException | RuntimeException e) {
                    rows.add(StructureRows.unreadableRow(shard.id(i), uri, String.valueOf(e.getMessage())));
                }
            }
            return rows;
        } finally {
            if (copy != null) {
                try (var paths = Files.walk(copy)) {
                    for (Path f : paths.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        }
    }

    /** A problem's location with the shard's own name instead of a local copy's. */
    private static String located(String location, Path local, String uri) {
        return location == null || location.isEmpty() ? uri : location.replace(local.toString(), uri);
    }
}
