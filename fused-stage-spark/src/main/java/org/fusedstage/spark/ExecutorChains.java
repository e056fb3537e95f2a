package org.fusedstage.spark;

import ai.djl.Device;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.InMemoryDataset;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.StageSpec;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sampling.SizeAwareSampler;
import org.fusedstage.sinks.HostMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chains of one executor JVM: a model and an inflight FusedStage per task slot, built on a
 * slot's first task and lent to every later task with the same {@link ChainConfig} and device, so
 * a model is loaded once per slot, not once per partition. Closed when the JVM exits.
 */
final class ExecutorChains {

    private static final Logger logger = LoggerFactory.getLogger(ExecutorChains.class);

    private record Key(ChainConfig config, String device) {}

    private static final Map<Key, ConcurrentLinkedDeque<Chain>> IDLE = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();
    private static final AtomicInteger RUNS = new AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorChains::closeAll, "fused-stage-spark-close"));
    }

    private ExecutorChains() {}

    /** Models loaded by this JVM so far (one per task slot and configuration). */
    static int loads() {
        return LOADS.get();
    }

    /** Chunks run through chains in this JVM so far. */
    static int runs() {
        return RUNS.get();
    }

    /** Work done with a lent chain. */
    interface ChainTask<T> {
        T apply(Chain chain) throws Exception;
    }

    /**
     * Lends {@code task} this slot's chain for {@code config} (built on first use) and takes it
     * back; a chain whose task failed is closed instead, so no later task inherits its state.
     */
    static <T> T withChain(ChainConfig config, ChainTask<T> task) throws Exception {
        Key key = new Key(config, deviceName(config));
        ConcurrentLinkedDeque<Chain> idle = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>());
        Chain chain = idle.pollFirst();
        if (chain == null) {
            chain = new Chain(config, key.device());
        }
        boolean healthy = false;
        try {
            T out = task.apply(chain);
            healthy = true;
            return out;
        } finally {
            if (healthy) {
                idle.addFirst(chain);
            } else {
                chain.close();
            }
        }
    }

    /** The structures that left the chain: results (graduated from the last stage) and rejects. */
    record Finished(List<AtomicSystem> results, List<AtomicSystem> rejects) {}

    /** "cpu", or "gpu:N" with N the task's Spark GPU address (spark.task.resource.gpu.amount), else 0. */
    private static String deviceName(ChainConfig config) {
        if (!config.gpu()) {
            return "cpu";
        }
        TaskContext task = TaskContext.get();
        ResourceInformation gpus = task == null ? null : task.resourcesJMap().get("gpu");
        return "gpu:" + (gpus != null && gpus.addresses().length > 0 ? gpus.addresses()[0] : "0");
    }

    private static void closeAll() {
        IDLE.values().forEach(deque -> deque.forEach(Chain::close));
        IDLE.clear();
    }

    /** A model and a FusedStage over it whose sinks collect what one partition's run writes. */
    static final class Chain implements AutoCloseable {

        /** The model's elements and the search radius of its cutoff + skin, A: what input validation checks. */
        record Checks(java.util.Set<Integer> elements, double searchRadius) {}

        private final ChainConfig config;
        private final TorchScriptPotential potential;
        private final FusedStage fused;
        private final HostMemory results = new HostMemory(Integer.MAX_VALUE);
        private final HostMemory rejects = new HostMemory(Integer.MAX_VALUE);
        final Checks checks;

        Chain(ChainConfig config, String device) throws Exception {
            DjlRuntime.ensureOffline();
            this.config = config;
            Device dev = device.equals("cpu") ? Device.cpu() : Device.gpu(Integer.parseInt(device.substring(4)));
            TorchScriptPotential.Builder pb = TorchScriptPotential.builder().optDevice(dev).optStress(config.stress());
            this.potential = config.shipped() ? pb.optModelPath(java.nio.file.Path.of(SparkFiles.get(config.model()))).build()
                    : pb.optModelName(config.model()).build();
            try {
                this.fused = StageSpec.addChain(FusedStage.builder().optCompileStep(config.compile())
                        .optOnUnconverged(config.onUnconverged()), config.specs(), potential, config.seed())
                        .addSink(results).addRejectSink(rejects).addHook(new NonFiniteGuard(rejects)).build();
                fused.setBatchDataType(config.dataType());
            } catch (RuntimeException e) {
                potential.close();
                throw e;
            }
            this.checks = new Checks(potential.metadata().elements(), potential.metadata().cutoff() + potential.skin());
            int n = LOADS.incrementAndGet();
            logger.info("loaded {} on {} for a task slot ({} chains built in this JVM)", potential.metadata().name(), device, n);
        }

        Finished run(List<AtomicSystem> systems) {
            RUNS.incrementAndGet(); // the sinks are empty: cleared after each run, and a chain that failed is not lent again
            if (!systems.isEmpty()) {
                SizeAwareSampler.Builder sb = SizeAwareSampler.builder(new InMemoryDataset(systems))
                        .optMaxAtoms(config.maxAtoms()).optMaxBatchSize(config.maxBatchSize());
                if (config.maxEdges() > 0) {
                    sb.optMaxEdges(config.maxEdges(), checks.searchRadius());
                }
                long start = System.nanoTime();
                fused.run(sb.build());
                logger.info("{} structures ran through the chain in {} s", systems.size(),
                        String.format("%.1f", (System.nanoTime() - start) / 1e9));
            }
            Finished out = new Finished(results.read(), rejects.read());
            results.clear();
            rejects.clear();
            return out;
        }

        @Override
        public void close() {
            try {
                fused.close();
            } finally {
                potential.close();
            }
        }
    }
}
