package org.fusedstage.cli;

import ai.djl.Device;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.fusedstage.dynamics.StageSpec;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.spark.ChainConfig;
import org.fusedstage.spark.SparkRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code fused-stage spark-run}: {@code run}'s chain over a dataset on Apache Spark, one inflight
 * FusedStage per task slot ({@link SparkRun}). Runs on {@code --master} (default {@code local[*]})
 * or, started by spark-submit, on its cluster. Spark classes are touched only inside
 * {@link SparkRun}, so the other commands run without Spark on the classpath.
 */
@Command(name = "spark-run", mixinStandardHelpOptions = true,
        description = "Run a chain of stages over extxyz shards or Parquet on Apache Spark (local[*] by default, or a cluster "
                + "through spark-submit); outcomes as Parquet, each structure exactly once.")
final class SparkRunCommand implements Callable<Integer> {

    @Mixin
    ChainOptions chain = new ChainOptions();

    @Option(names = "--input", required = true, description = "extxyz shards (a file, a folder or a glob) or a Parquet dataset with "
            + "the structure columns; any path Spark reads (file:, hdfs:, s3a:).")
    String input;

    @Option(names = "--output", defaultValue = "fused-stage-spark-output", description = "Output folder, must not exist "
            + "(default: ${DEFAULT-VALUE}): outcomes/outcome=result|rejected|invalid as Parquet.")
    String output;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master when not started by spark-submit "
            + "(default: ${DEFAULT-VALUE}: one task slot per core).")
    String master;

    @Option(names = "--partitions", defaultValue = "0", description = "Partitions to run over (default 0: two per task slot).")
    int partitions;

    @Option(names = "--extxyz", description = "Also write the results as extxyz shards in results-extxyz/.")
    boolean extxyz;

    @Override
    public Integer call() throws Exception {
        List<StageSpec> specs = chain.specs();
        chain.checkLimits();
        ChainOptions.notNegative("--partitions", partitions);
        boolean gpu = chain.device.equals("gpu");
        Device driverDevice = master.startsWith("local") ? chain.device() : Device.cpu(); // a cluster's driver may have no GPU
        Path modelFile = RunCommand.modelFile(chain.model);
        // The chain is built once here, so a bad model or chain fails in one line before Spark starts.
        try (TorchScriptPotential potential = RunCommand.loadModel(chain.model, modelFile, driverDevice, !chain.stressMode().equals("none"))) {
            chain.chain(potential, specs).build().close();
        }
        ChainConfig config = ChainConfig.builder(chain.model)
                .optStages(specs.stream().map(StageSpec::text).toList()).optStress(!chain.stressMode().equals("none")).optMaxAtoms(chain.maxAtoms)
                .optMaxEdges(chain.maxEdges).optMaxBatchSize(chain.maxBatchSize).optCompile(chain.compile)
                .optDataType(chain.dataType()).optSeed(chain.seed).optOnUnconverged(chain.onUnconverged()).optGpu(gpu).build();
        long start = System.nanoTime();
        SparkRun.Summary summary = SparkRun.run(master, input, output, config, modelFile, partitions, extxyz);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("spark-run: %d results, %d rejected, %d invalid over %d partitions in %.1f s (%.1f structures/s); "
                + "outputs in %s/outcomes%n", summary.results(), summary.rejected(), summary.invalid(), summary.partitions(),
                seconds, (summary.results() + summary.rejected()) / seconds, output);
        if (summary.rejected() + summary.invalid() > 0) {
            System.out.printf("%d structure(s) left out: see %s/outcomes/outcome=rejected and outcome=invalid (column problem)%n",
                    summary.rejected() + summary.invalid(), output);
            return ExitCode.SAMPLES_LEFT_OUT;
        }
        return ExitCode.OK;
    }
}
