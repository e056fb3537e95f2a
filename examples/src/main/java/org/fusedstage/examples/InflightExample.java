package org.fusedstage.examples;

import org.fusedstage.DjlRuntime;
import org.fusedstage.data.InMemoryDataset;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sampling.SizeAwareSampler;
import org.fusedstage.sinks.HostMemory;

/**
 * The seed's inflight snippet (mode 2): a SizeAwareSampler feeds the FusedStage, graduated
 * samples leave for the sink and new ones take their slots in place; {@code run()} returns null
 * once the sampler is exhausted and every sample graduated.
 */
public final class InflightExample {

    private InflightExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones")) {
            SizeAwareSampler sampler = SizeAwareSampler.builder(new InMemoryDataset(ExampleData.perturbedArgon(40, 6)))
                    .optMaxAtoms(400)
                    .optMaxEdges(60_000, model.metadata().cutoff())
                    .optMaxBatchSize(64)
                    .build();
            HostMemory sink = new HostMemory(10_000);
            DemoDynamics optimizer = new DemoDynamics(model, 0.5);
            DemoDynamics md = DemoDynamics.builder(model).optTimeStep(1.0).optNSteps(50).build();
            FusedStage fused = FusedStage.builder().addSubStage(0, optimizer).addSubStage(1, md).addSink(sink).build();
            fused.setSampler(sampler);
            fused.setRefillFrequency(1);
            Object result = fused.run(); // batch built from the sampler automatically
            System.out.printf("result = %s; %d samples graduated to the sink in %d steps%n", result, sink.size(),
                    fused.stepCount());
        }
    }
}
