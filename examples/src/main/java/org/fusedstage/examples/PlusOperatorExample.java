package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.TorchScriptPotential;

/**
 * The seed's "+" snippet: {@code optimizer + md} fuses two dynamics into one FusedStage with one
 * forward pass per step. In Java, {@code +} is {@link org.fusedstage.dynamics.Dynamics#plus}.
 */
public final class PlusOperatorExample {

    private PlusOperatorExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            DemoDynamics optimizer = new DemoDynamics(model, 0.5);
            DemoDynamics md = new DemoDynamics(model, 1.0);
            FusedStage fused = optimizer.plus(md); // optimizer + md
            System.out.println(fused);
            try (Batch batch = Batch.of(ExampleData.perturbedArgon(8, 1), manager)) {
                long before = model.forwardCount();
                fused.run(batch);
                System.out.printf("all %d samples at exit status %d after %d steps and %d forward passes%n",
                        batch.numSystems(), fused.exitStatus(), fused.stepCount(), model.forwardCount() - before);
            }
            System.out.println(fused);
        }
    }
}
