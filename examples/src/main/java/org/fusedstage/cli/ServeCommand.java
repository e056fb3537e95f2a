package org.fusedstage.cli;

import ai.djl.Device;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.fusedstage.dynamics.StageSpec;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.server.StructureServer;
import org.fusedstage.service.FusedStageService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code fused-stage serve}: the chain of {@code run} behind an HTTP server with continuous
 * batching ({@link FusedStageService}, {@link StructureServer}). Runs until interrupted (Ctrl-C,
 * SIGTERM): then it stops taking requests and finishes the accepted ones.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a chain of stages over HTTP: POST structures to /jobs, results as they finish (continuous batching).")
final class ServeCommand implements Callable<Integer> {

    @Mixin
    ChainOptions chain = new ChainOptions();

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for all).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Option(names = "--queue", defaultValue = "1024", description = "Requests that may wait for a slot; beyond it POST answers 503 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-steps-per-sample", defaultValue = "100000",
            description = "Steps after which a structure leaves unfinished, capped=true (default: ${DEFAULT-VALUE}; 0 = never).")
    long maxStepsPerSample;

    @Option(names = "--max-body", defaultValue = "16000000", description = "Largest request body, bytes (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--kept-jobs", defaultValue = "10000", description = "Finished jobs kept for GET /jobs/ID (default: ${DEFAULT-VALUE}).")
    int keptJobs;

    @Override
    public Integer call() throws Exception {
        List<StageSpec> specs = chain.specs();
        Device dev = chain.device();
        chain.checkLimits();
        ChainOptions.positive("--queue", queue);
        ChainOptions.positive("--max-body", maxBody);
        ChainOptions.positive("--kept-jobs", keptJobs);
        ChainOptions.notNegative("--max-steps-per-sample", maxStepsPerSample);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be 0-65535, got " + port);
        }
        try (TorchScriptPotential potential = chain.loadModel(dev)) {
            FusedStageService.Builder sb = FusedStageService.builder(chain.chain(potential, specs)).optMaxAtoms(chain.maxAtoms)
                    .optMaxBatchSize(chain.maxBatchSize).optQueueCapacity(queue).optMaxStepsPerSample(maxStepsPerSample)
                    .optDataType(chain.dataType());
            if (chain.maxEdges > 0) {
                sb.optMaxEdges(chain.maxEdges, ChainOptions.edgeRadius(potential));
            }
            CountDownLatch stopped = new CountDownLatch(1);
            StructureServer server = new StructureServer(sb.build(), host, port, maxBody, keptJobs);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close(); // graceful: accepted jobs finish
                stopped.countDown();
            }, "fused-stage-serve-stop"));
            System.out.printf("fused-stage serve: %s, chain %s, on http://%s:%d/ (POST /jobs, GET /jobs/ID, /health, /metrics)%n",
                    potential.metadata().name(), specs, host, server.port());
            System.out.flush();
            stopped.await();
        }
        return 0;
    }
}
