package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.model.NeighborList;
import org.fusedstage.model.TorchScriptPotential;

/**
 * Prints the time of one fused step split into the model forward pass and the rest
 * (orchestration), for LJ argon batches of several sizes. Figures are ratios measured in one run.
 *
 * <p>Arguments: {@code [systems...]} (default 8 64), each with 108-atom crystals.
 */
public final class StepBenchmark {

    private StepBenchmark() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        int[] sizes = args.length == 0 ? new int[] {8, 64} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        System.out.println("systems atoms | forward ms | step ms | orchestration % | NL rebuild ms | rebuilds/100 steps");
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager()) {
            for (int b : sizes) {
                List<AtomicSystem> systems = new java.util.ArrayList<>();
                for (AtomicSystem s : ExampleData.perturbedArgon(4 * b, 9)) {
                    if (s.size() == 108 && systems.size() < b) {
                        systems.add(s);
                    }
                }
                FusedStage fused = FIRE.builder(model).optFmax(1e-9).build()
                        .plus(Langevin.builder(model).optNSteps(1_000_000).build());
                try (Batch batch = Batch.of(systems, manager)) {
                    fused.prepare(batch);
                    for (int i = 0; i < 10; i++) {
                        fused.step(batch).close();
                    }
                    NeighborList nl = model.neighborList(batch);
                    int rebuildsBefore = nl.rebuilds();
                    int steps = 50;
                    long t0 = System.nanoTime();
                    for (int i = 0; i < steps; i++) {
                        fused.step(batch).close();
                        batch.status().toLongArray();
                    }
                    double stepMs = (System.nanoTime() - t0) / 1e6 / steps;
                    int rebuilds = nl.rebuilds() - rebuildsBefore;
                    long t1 = System.nanoTime();
                    for (int i = 0; i < steps; i++) {
                        try (NDScope scope = new NDScope()) {
                            model.compute(batch);
                        }
                    }
                    double forwardMs = (System.nanoTime() - t1) / 1e6 / steps;
                    long t2 = System.nanoTime();
                    for (int i = 0; i < 5; i++) {
                        batch.markStructureChanged();
                        nl.update(batch);
                    }
                    double rebuildMs = (System.nanoTime() - t2) / 1e6 / 5;
                    System.out.printf("%7d %5d | %10.2f | %7.2f | %14.1f%% | %13.2f | %d%n", b, batch.numAtoms(), forwardMs,
                            stepMs, 100 * (stepMs - forwardMs - rebuilds * rebuildMs / steps) / forwardMs, rebuildMs, rebuilds * 100 / steps);
                }
            }
        }
    }
}
