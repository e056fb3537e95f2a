package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;

/**
 * Shows that an in-place refill writes only what changes: the time to put 4 new 32-atom samples
 * into a batch does not grow with the number of samples that stay. Prints microseconds per refill
 * for batches of 16 to 1024 resident samples, all measured in one run.
 *
 * <p>Not included: after a refill the neighbor list is rebuilt on the next forward pass (a full
 * search) and the per-system reduction index is rebuilt once (host work over the slots).
 */
public final class RefillBenchmark {

    private RefillBenchmark() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        AtomicSystem crystal = Structures.fcc("Ar", 5.26, 2);
        System.out.println("resident samples | atoms   | refill of 4 samples (us) | full rebuild of the batch (us)");
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int resident : new int[] {16, 64, 256, 1024}) {
                List<AtomicSystem> systems = new ArrayList<>();
                for (int i = 0; i < resident; i++) {
                    systems.add(Structures.rattle(crystal, 0.05, i).toBuilder().optSampleId("r" + i).build());
                }
                int rounds = 50;
                try (Batch batch = Batch.builder(systems).optCapacity(resident, 32 * resident).build(manager)) {
                    long total = 0;
                    int next = 0;
                    for (int round = 0; round < rounds + 5; round++) {
                        Map<Integer, AtomicSystem> incoming = new HashMap<>();
                        for (int k = 0; k < 4; k++) {
                            incoming.put((round * 4 + k) % resident,
                                    Structures.rattle(crystal, 0.05, 100_000 + next).toBuilder().optSampleId("n" + next++).build());
                        }
                        long t0 = System.nanoTime();
                        batch.replace(List.of(), incoming, 0);
                        if (round >= 5) {
                            total += System.nanoTime() - t0;
                        }
                    }
                    long t1 = System.nanoTime();
                    for (int round = 0; round < 5; round++) {
                        Batch.of(batch.toSystems(), manager).close();
                    }
                    double rebuild = (System.nanoTime() - t1) / 1e3 / 5;
                    System.out.printf("%16d | %7d | %24.0f | %30.0f%n", resident, batch.numAtoms(), total / 1e3 / rounds, rebuild);
                }
            }
        }
    }
}
