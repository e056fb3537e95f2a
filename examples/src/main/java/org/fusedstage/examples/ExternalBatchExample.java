package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.model.TorchScriptPotential;

/**
 * Mode 1 of the seed: {@code result = fused.run(batch)} returns when every sample reached the
 * exit status. Here a real chain: FIRE to fmax 0.05 eV/A, then 200 steps of Langevin at 80 K.
 */
public final class ExternalBatchExample {

    private ExternalBatchExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            FIRE optimizer = FIRE.builder(model).optFmax(0.05).build();
            Langevin md = Langevin.builder(model).optTemperature(80).optFriction(0.01).optTimeStep(2.0)
                    .optNSteps(200).optSeed(42).build();
            FusedStage fused = optimizer.plus(md);
            try (Batch batch = Batch.of(ExampleData.perturbedArgon(12, 3), manager)) {
                Batch result = fused.run(batch);
                List<AtomicSystem> systems = result.toSystems();
                long[] fireSteps = result.get("stage0.steps").toLongArray();
                for (int i = 0; i < systems.size(); i++) {
                    AtomicSystem s = systems.get(i);
                    System.out.printf("%s %-6s relaxed in %3d FIRE steps, E after MD = %.4f eV%n",
                            s.sampleId().orElseThrow(), s.formula(), fireSteps[i], s.energy().orElseThrow());
                }
                System.out.println(fused);
            }
        }
    }
}
