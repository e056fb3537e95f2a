package org.fusedstage.spark;

import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.dynamics.OnUnconverged;
import org.fusedstage.dynamics.StageSpec;

/**
 * What every executor needs to build the same chain: a serializable description, sent with each
 * task. Executors build a model and an inflight FusedStage from it once per task slot
 * ({@link ExecutorChains}); equal configurations share them.
 *
 * @param model a zoo model name, or (with {@code shipped}) the name of a model file or folder the
 *     driver added with {@code SparkContext.addFile}, found on executors through {@code SparkFiles}
 * @param shipped whether {@code model} names a shipped file rather than a zoo model
 * @param stages the chain, one {@link StageSpec} text per stage (stage k seeded with seed + k)
 * @param stress whether forward passes compute the stress
 * @param maxAtoms atoms per batch
 * @param maxEdges neighbor pairs per batch within cutoff + skin (0 = no limit)
 * @param maxBatchSize samples per batch
 * @param compile whether each step runs as one exported step graph
 * @param dataType float64 or float32 batch arrays
 * @param seed seed of the MD noise streams
 * @param onUnconverged what happens to a relaxation that ran out of steps
 * @param gpu whether the chain runs on a GPU (the task's Spark GPU resource, else GPU 0)
 */
public record ChainConfig(String model, boolean shipped, List<String> stages, boolean stress, int maxAtoms, long maxEdges,
        int maxBatchSize, boolean compile, DataType dataType, long seed, OnUnconverged onUnconverged, boolean gpu)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public ChainConfig {
        Preconditions.checkArgument(model != null && !model.isEmpty(), "no model");
        Preconditions.checkArgument(!stages.isEmpty(), "a chain needs at least one stage");
        stages = List.copyOf(stages);
        for (String s : stages) {
            StageSpec.parse(s); // a bad spec fails on the driver, before any task
        }
        Preconditions.checkArgument(maxAtoms > 0, "maxAtoms must be positive, got %s", maxAtoms);
        Preconditions.checkArgument(maxEdges >= 0, "maxEdges must not be negative, got %s", maxEdges);
        Preconditions.checkArgument(maxBatchSize > 0, "maxBatchSize must be positive, got %s", maxBatchSize);
        Preconditions.checkArgument(dataType == DataType.FLOAT64 || dataType == DataType.FLOAT32,
                "dataType must be float64 or float32, got %s", dataType);
    }

    /** This chain with its model shipped to the executors under {@code fileName} ({@code SparkContext.addFile}). */
    public ChainConfig shipping(String fileName) {
        return new ChainConfig(fileName, true, stages, stress, maxAtoms, maxEdges, maxBatchSize, compile, dataType, seed,
                onUnconverged, gpu);
    }

    /** The parsed chain. */
    public List<StageSpec> specs() {
        return stages.stream().map(StageSpec::parse).toList();
    }

    /** A configuration for a zoo model, with the CLI's defaults; {@link #shipping} turns it to a shipped model file. */
    public static Builder builder(String model) {
        return new Builder(model);
    }

    /** Builder of {@link ChainConfig}; the defaults are {@code fused-stage run}'s. */
    public static final class Builder {
        private final String model;
        private List<String> stages = new ArrayList<>();
        private boolean stress = true;
        private int maxAtoms = 2048;
        private long maxEdges;
        private int maxBatchSize = 64;
        private boolean compile;
        private DataType dataType = DataType.FLOAT64;
        private long seed = 42;
        private OnUnconverged onUnconverged = OnUnconverged.CONTINUE;
        private boolean gpu;

        private Builder(String model) {
            this.model = model;
        }

        /** The chain's stages as {@link StageSpec} texts (default: {@link StageSpec#defaults()}). */
        public Builder optStages(List<String> stages) {
            this.stages = new ArrayList<>(stages);
            return this;
        }

        /** Whether forward passes compute the stress (default true). */
        public Builder optStress(boolean stress) {
            this.stress = stress;
            return this;
        }

        /** Atoms per batch (default 2048). */
        public Builder optMaxAtoms(int maxAtoms) {
            this.maxAtoms = maxAtoms;
            return this;
        }

        /** Neighbor pairs per batch within cutoff + skin (default 0: no limit). */
        public Builder optMaxEdges(long maxEdges) {
            this.maxEdges = maxEdges;
            return this;
        }

        /** Samples per batch (default 64). */
        public Builder optMaxBatchSize(int maxBatchSize) {
            this.maxBatchSize = maxBatchSize;
            return this;
        }

        /** Each step as one exported step graph (default false). */
        public Builder optCompile(boolean compile) {
            this.compile = compile;
            return this;
        }

        /** Batch arrays in float64 (default) or float32. */
        public Builder optDataType(DataType dataType) {
            this.dataType = dataType;
            return this;
        }

        /** Seed of the MD noise streams (default 42). */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** What happens to a relaxation that ran out of steps (default continue). */
        public Builder optOnUnconverged(OnUnconverged onUnconverged) {
            this.onUnconverged = onUnconverged;
            return this;
        }

        /** Run on a GPU: the task's Spark GPU resource, else GPU 0 (default false: CPU). */
        public Builder optGpu(boolean gpu) {
            this.gpu = gpu;
            return this;
        }

        /**
         * The configuration.
         *
         * @throws IllegalArgumentException naming a bad setting or stage spec
         */
        public ChainConfig build() {
            List<String> chain = stages.isEmpty()
                    ? StageSpec.defaults().stream().map(StageSpec::text).toList() : stages;
            return new ChainConfig(model, false, chain, stress, maxAtoms, maxEdges, maxBatchSize, compile, dataType, seed,
                    onUnconverged, gpu);
        }
    }
}
