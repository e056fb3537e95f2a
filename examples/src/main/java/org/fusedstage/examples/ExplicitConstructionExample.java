package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.ConvergenceHook;
import org.fusedstage.dynamics.Criterion;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.TorchScriptPotential;

/**
 * The seed's explicit construction: a ConvergenceHook with two criteria (fmax and energy change)
 * moving samples from status 0 to 1, and a FusedStage built with explicit codes and statuses.
 * (The seed also sets {@code compile_step=True}; compiled steps come with their own issue.)
 */
public final class ExplicitConstructionExample {

    private ExplicitConstructionExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            DemoDynamics optimizer = DemoDynamics.builder(model).optTimeStep(0.5)
                    .optConvergence(ConvergenceHook.builder()
                            .addCriterion(Criterion.FMAX, 0.05)
                            .addCriterion(Criterion.ENERGY_CHANGE, 1e-6)
                            .optSourceStatus(0)
                            .optTargetStatus(1)
                            .build())
                    .build();
            DemoDynamics md = DemoDynamics.builder(model).optTimeStep(1.0).optNSteps(50).build();
            FusedStage fused = FusedStage.builder()
                    .addSubStage(0, optimizer)
                    .addSubStage(1, md)
                    .optEntryStatus(0)
                    .optExitStatus(2)
                    .build();
            System.out.println(fused);
            try (Batch batch = Batch.of(ExampleData.perturbedArgon(6, 5), manager)) {
                fused.run(batch);
                System.out.println("statuses: " + java.util.Arrays.toString(batch.status().toLongArray()));
            }
            System.out.println(fused);
        }
    }
}
