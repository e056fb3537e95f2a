package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.TorchScriptPotential;

/**
 * The seed's compile_step snippet: {@code FusedStage(sub_stages=[(0, optimizer), (1, md)],
 * compile_step=True, ...)}. Each step is one call of the zoo model's exported step graph
 * ({@code fused_step.pt}); the result equals the eager run. With a stream scope as in the seed's
 * {@code with fused:} (a no-op on CPU).
 */
public final class CompileStepExample {

    private CompileStepExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            DemoDynamics optimizer = new DemoDynamics(model, 0.5);
            DemoDynamics md = DemoDynamics.builder(model).optTimeStep(1.0).optNSteps(100).build();
            // The seed's compile_kwargs are accepted; what each means for an exported graph is logged once.
            try (FusedStage fused = FusedStage.builder()
                    .addSubStage(0, optimizer)
                    .addSubStage(1, md)
                    .optCompileStep(true)
                    .optCompileOption("mode", "reduce-overhead")
                    .optCompileOption("fullgraph", "true")
                    .build();
                    Batch batch = Batch.of(ExampleData.perturbedArgon(8, 8), manager)) {
                System.out.println(fused);
                try (FusedStage.StreamScope scope = fused.open()) {
                    long start = System.nanoTime();
                    fused.run(batch);
                    System.out.printf("%d samples at exit status after %d compiled steps (%.1f ms/step)%n",
                            batch.numSystems(), fused.stepCount(), (System.nanoTime() - start) / 1e6 / fused.stepCount());
                }
                System.out.println(fused);
            }
        }
    }
}
