package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.hooks.LoggingHook;
import org.fusedstage.hooks.SnapshotHook;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sinks.HostMemory;

/**
 * The seed's hooks-and-sinks snippet: a LoggingHook on the optimizer (every 100 steps) and a
 * SnapshotHook on the MD stage (every 10 steps, into a HostMemory sink) fire inside the fused step.
 */
public final class HooksAndSinksExample {

    private HooksAndSinksExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            HostMemory sink = new HostMemory(10_000);
            DemoDynamics optimizer = DemoDynamics.builder(model).optTimeStep(0.5).addHook(new LoggingHook(100)).build();
            DemoDynamics md = DemoDynamics.builder(model).optTimeStep(1.0).optDamping(0.0).optNSteps(100)
                    .addHook(new SnapshotHook(sink, 10)).build();
            FusedStage fused = optimizer.plus(md);
            try (Batch batch = Batch.of(ExampleData.perturbedArgon(8, 4), manager)) {
                fused.run(batch);
            }
            System.out.printf("%d snapshots of the full batch (%d structures) in the sink after %d steps%n",
                    sink.size() / 8, sink.size(), fused.stepCount());
        }
    }
}
