package org.fusedstage.spark;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The job of {@code fused-stage spark-run}: read structures, run the chain over every partition,
 * write each structure's outcome once under {@code output}/{@value StructureFrames#OUTCOMES}
 * (outcome=result, outcome=rejected, outcome=invalid), and optionally the results again as extxyz
 * shards.
 */
public final class SparkRun {

    /** Folder of the results as extxyz shards, when asked for. */
    public static final String RESULTS_EXTXYZ = "results-extxyz";

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(SparkRun.class);

    private SparkRun() {}

    /**
     * Rows written per outcome.
     *
     * @param results structures that ran through the chain
     * @param rejected structures the run took out (with their reason)
     * @param invalid inputs that could not run (with their reason)
     * @param partitions partitions the chain ran over
     */
    public record Summary(long results, long rejected, long invalid, int partitions) {}

    /**
     * Runs the job in a Spark session of its own: the one spark-submit configured (it sets
     * {@code spark.master}), else one on {@code master}. A model file or folder is shipped to the
     * executors with {@code SparkContext.addFile}, so a cluster needs no shared file system for it.
     * Only plain types cross this method, so a caller need not have Spark on its classpath until
     * it calls it.
     *
     * @param modelFile the model's file or folder, or null for the zoo model {@code config} names
     */
    public static Summary run(String master, String input, String output, ChainConfig config, java.nio.file.Path modelFile,
            int partitions, boolean extxyz) throws IOException {
        SparkSession.Builder builder = SparkSession.builder().appName("fused-stage spark-run");
        if (System.getProperty("spark.master") == null) {
            builder.master(master);
        }
        long start = System.nanoTime();
        SparkSession spark = builder.getOrCreate();
        logger.info("Spark session on {} started in {} s ({} task slots)", spark.sparkContext().master(),
                String.format("%.1f", (System.nanoTime() - start) / 1e9), spark.sparkContext().defaultParallelism());
        try {
            ChainConfig shipped = config;
            if (modelFile != null) {
                spark.sparkContext().addFile(modelFile.toAbsolutePath().toUri().toString(), java.nio.file.Files.isDirectory(modelFile));
                shipped = config.shipping(modelFile.getFileName().toString());
            }
            return run(spark, input, output, shipped, partitions, extxyz);
        } finally {
            spark.stop();
        }
    }

    /**
     * Runs the job.
     *
     * @param partitions partitions to run over; 0 for two per task slot of the session
     * @param extxyz whether to write the results as extxyz shards too (read back from the committed Parquet)
     * @throws IllegalArgumentException if the input is missing or the output exists
     */
    public static Summary run(SparkSession spark, String input, String output, ChainConfig config, int partitions,
            boolean extxyz) throws IOException {
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
        if (out.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(out)) {
            throw new IllegalArgumentException("output " + output + " exists; remove it or give another --output (nothing is overwritten)");
        }
        Dataset<Row> structures = StructureFrames.read(spark, input);
        int n = partitions > 0 ? partitions : 2 * spark.sparkContext().defaultParallelism();
        Dataset<Row> outcomes = FusedStageSpark.run(structures, config, n);
        long start = System.nanoTime();
        StructureFrames.writeOutcomes(outcomes, output);
        logger.info("chain ran over {} partitions and its outcomes were written in {} s", n,
                String.format("%.1f", (System.nanoTime() - start) / 1e9));
        Dataset<Row> written = spark.read().parquet(output + "/" + StructureFrames.OUTCOMES);
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Row r : written.groupBy("outcome").agg(functions.count("*")).collectAsList()) {
            counts.put(r.getString(0), r.getLong(1));
        }
        if (extxyz) {
            StructureFrames.writeExtxyz(written.where(functions.col("outcome").equalTo(StructureRows.RESULT)),
                    output + "/" + RESULTS_EXTXYZ);
        }
        return new Summary(counts.getOrDefault(StructureRows.RESULT, 0L), counts.getOrDefault(StructureRows.REJECTED, 0L),
                counts.getOrDefault(StructureRows.INVALID, 0L), n);
    }
}
