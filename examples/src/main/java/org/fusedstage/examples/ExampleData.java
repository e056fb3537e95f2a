package org.fusedstage.examples;

import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;

/** Structures for the examples: perturbed fcc argon crystals of a few sizes. */
final class ExampleData {

    private ExampleData() {}

    /**
     * {@code count} fcc argon crystals (32 or 108 atoms), rattled by 0.02-0.25 A so relaxation
     * times vary, each with a stable sample id.
     */
    static List<AtomicSystem> perturbedArgon(int count, long seed) {
        List<AtomicSystem> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int reps = i % 4 == 3 ? 3 : 2;
            double lattice = 5.26 + 0.02 * ((i * 7) % 5 - 2);
            double rattle = 0.02 + 0.23 * ((i * 13) % 10) / 9.0;
            AtomicSystem crystal = Structures.rattle(Structures.fcc("Ar", lattice, reps), rattle, seed + i);
            out.add(crystal.toBuilder().optSampleId(String.format("argon-%04d", i)).build());
        }
        return out;
    }
}
