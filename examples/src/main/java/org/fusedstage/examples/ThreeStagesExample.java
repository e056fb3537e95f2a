package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.TorchScriptPotential;

/** The seed's three-stage chain: {@code stage_a + stage_b + stage_c} is left-associative. */
public final class ThreeStagesExample {

    private ThreeStagesExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            DemoDynamics stageA = new DemoDynamics(model, 0.5);
            DemoDynamics stageB = new DemoDynamics(model, 1.0);
            DemoDynamics stageC = new DemoDynamics(model, 2.0);
            // (stage_a + stage_b) returns a FusedStage; FusedStage.plus appends stage_c.
            FusedStage fused = stageA.plus(stageB).plus(stageC);
            System.out.println(fused);
            try (Batch batch = Batch.of(ExampleData.perturbedArgon(6, 2), manager)) {
                fused.run(batch);
                System.out.println("statuses: " + java.util.Arrays.toString(batch.status().toLongArray()));
            }
            System.out.println(fused);
        }
    }
}
