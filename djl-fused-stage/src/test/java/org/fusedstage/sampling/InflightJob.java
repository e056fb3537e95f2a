package org.fusedstage.sampling;

import java.nio.file.Path;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.ExtxyzDataset;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sinks.ExtxyzSink;

/** A resumable inflight job run in a child JVM by {@link CrashResumeTest}: input.extxyz output.extxyz. */
public final class InflightJob {

    private InflightJob() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        ExtxyzDataset dataset = ExtxyzDataset.open(Path.of(args[0]));
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                ExtxyzSink sink = ExtxyzSink.resume(Path.of(args[1]))) {
            SizeAwareSampler sampler = SizeAwareSampler.builder(dataset).optMaxAtoms(60).optMaxBatchSize(8)
                    .optSkip(sink.existingIds()).build();
            FusedStage fused = FusedStage.builder()
                    .addSubStage(0, FIRE.builder(model).optFmax(0.02).build())
                    .addSubStage(1, Langevin.builder(model).optTemperature(40).optNSteps(40).optSeed(3).build())
                    .addSink(sink)
                    .build();
            fused.setSampler(sampler);
            fused.run();
        }
    }
}
