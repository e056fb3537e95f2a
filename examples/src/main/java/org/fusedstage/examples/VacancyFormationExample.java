package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.model.PotentialImporter;
import org.fusedstage.model.TorchScriptPotential;

/**
 * The vacancy formation energy of copper with a published EAM potential (Mishin et al., Phys. Rev.
 * B 63, 224106 (2001), LAMMPS's {@code Cu_mishin1.eam.alloy}, converted on first use from the
 * installed lammps-data): E_f = E(N-1 atoms, relaxed) - (N-1)/N E(N atoms, perfect), with the
 * vacancy relaxed by FIRE at fixed cell.
 *
 * <pre>java -cp examples/target/fused-stage.jar org.fusedstage.examples.VacancyFormationExample [eam:NAME] [a] [reps]</pre>
 */
public final class VacancyFormationExample {

    private VacancyFormationExample() {}

    /**
     * The result.
     *
     * @param perfect energy of the perfect crystal, eV
     * @param relaxed energy of the relaxed crystal with one vacancy, eV
     * @param formation vacancy formation energy, eV
     * @param steps FIRE steps taken
     */
    public record Result(double perfect, double relaxed, double formation, long steps) {}

    /** Relaxes a vacancy in an fcc crystal of {@code reps}^3 cubic cells of {@code symbol} at lattice constant {@code a} (A). */
    public static Result formationEnergy(TorchScriptPotential potential, String symbol, double a, int reps, double fmax) {
        AtomicSystem perfect = Structures.fcc(symbol, a, reps);
        AtomicSystem vacancy = Structures.withoutFirstAtoms(perfect, 1);
        try (NDManager manager = NDManager.newBaseManager();
                Batch bulk = Batch.of(List.of(perfect), manager);
                Batch defect = Batch.of(List.of(vacancy), manager);
                FusedStage relax = FusedStage.of(List.of(FIRE.builder(potential).optFmax(fmax).optNSteps(100_000).build()))) {
            potential.compute(bulk);
            double e0 = bulk.energy().toDoubleArray()[0];
            relax.run(defect);
            double e1 = defect.energy().toDoubleArray()[0];
            int n = perfect.size();
            return new Result(e0, e1, e1 - (n - 1.0) / n * e0, relax.stepCount());
        }
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        String model = args.length > 0 ? args[0] : "eam:Cu_mishin1";
        double a = args.length > 1 ? Double.parseDouble(args[1]) : 3.615;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path folder = PotentialImporter.fromHome(Path.of(System.getProperty("fusedstage.home", "."))).resolve(model);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build()) {
            String symbol = org.fusedstage.data.Elements.symbolOf(potential.metadata().elementOrder().get(0));
            Result r = formationEnergy(potential, symbol, a, reps, 1e-4);
            System.out.printf("%s, %s fcc a = %.4f A, %d atoms: E(perfect) = %.6f eV, E(vacancy, relaxed in %d FIRE steps) = "
                    + "%.6f eV%nvacancy formation energy: %.6f eV%n", potential.metadata().name(), symbol, a, 4 * reps * reps * reps,
                    r.perfect(), r.steps(), r.relaxed(), r.formation());
        }
    }
}
