package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.dynamics.VelocityVerlet;
import org.fusedstage.model.TorchScriptPotential;

/**
 * Soak benchmark: runs a two-stage MD chain (Langevin then NVE, budgets restart the chain) on a
 * fixed batch for {@code minutes} minutes and prints, once a minute, the step count, the mean
 * step time of the last minute and the process's resident memory (VmRSS), so flat memory and no
 * slowdown can be read off. Not a unit test.
 *
 * <p>Arguments: {@code [minutes=60] [systems=16]}.
 */
public final class SoakBenchmark {

    private SoakBenchmark() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        double minutes = args.length > 0 ? Double.parseDouble(args[0]) : 60;
        int systems = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        List<AtomicSystem> structures = new java.util.ArrayList<>();
        for (int i = 0; i < systems; i++) {
            structures.add(Structures.rattle(Structures.fcc("Ar", 5.26, 2), 0.05, i).toBuilder().optSampleId("soak-" + i).build());
        }
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones");
                NDManager manager = NDManager.newBaseManager();
                Batch batch = Batch.of(structures, manager)) {
            FusedStage fused = Langevin.builder(model).optTemperature(80).optNSteps(1000).optSeed(1).build()
                    .plus(VelocityVerlet.builder(model).optNSteps(1000).build());
            fused.prepare(batch);
            long end = System.nanoTime() + (long) (minutes * 60e9);
            long windowStart = System.nanoTime();
            long windowSteps = 0;
            System.out.println("minute | steps | ms/step (last minute) | RSS MiB");
            int minute = 0;
            while (System.nanoTime() < end) {
                fused.step(batch).close();
                windowSteps++;
                long[] status = batch.status().toLongArray();
                if (java.util.Arrays.stream(status).allMatch(s -> s == fused.exitStatus())) {
                    // Start the chain again: a long run without refills or allocation of new batches.
                    batch.set(Batch.STATUS, batch.status().zerosLike());
                    fused.prepare(batch);
                }
                if (System.nanoTime() - windowStart >= 60e9) {
                    minute++;
                    double ms = (System.nanoTime() - windowStart) / 1e6 / windowSteps;
                    System.out.printf("%6d | %7d | %21.2f | %7.1f%n", minute, fused.stepCount(), ms, ProcessMemory.residentMiB());
                    windowStart = System.nanoTime();
                    windowSteps = 0;
                }
            }
        }
    }
}
