package org.fusedstage.examples;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.model.PotentialImporter;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sampling.SizeAwareSampler;
import org.fusedstage.sinks.HostMemory;

/**
 * A machine-learned potential in a Java job: copper crystals with vacancies and (100) surfaces
 * relaxed with FIRE, then 300 K Langevin MD, all in one FusedStage under the SNAP potential of Zuo
 * et al. (J. Phys. Chem. A 124, 731 (2020); LAMMPS's {@code Cu_Zuo_JPCA2020}, converted on first
 * use from the installed lammps-data).
 *
 * <pre>java -cp examples/target/fused-stage.jar org.fusedstage.examples.SnapCopperExample [snap:NAME] [md-steps]</pre>
 */
public final class SnapCopperExample {

    private SnapCopperExample() {}

    /** Crystals with one or two vacancies, and slabs with two (100) surfaces, rattled. */
    static List<AtomicSystem> structures() {
        List<AtomicSystem> out = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            AtomicSystem crystal = Structures.fcc("Cu", 3.615, 2);
            AtomicSystem vacancies = Structures.withoutFirstAtoms(crystal, 1 + k % 2);
            out.add(Structures.rattle(vacancies, 0.05, k).toBuilder().optSampleId("vacancy-" + k).build());
            AtomicSystem slab = crystal.toBuilder().optCell(new double[] {7.23, 0, 0, 0, 7.23, 0, 0, 0, 17.23})
                    .optPbc(true, true, false).build(); // 10 A of vacuum above the (100) face
            out.add(Structures.rattle(slab, 0.05, 10 + k).toBuilder().optSampleId("surface-" + k).build());
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        String model = args.length > 0 ? args[0] : "snap:Cu_Zuo_JPCA2020";
        int mdSteps = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Path folder = PotentialImporter.fromHome(Path.of(System.getProperty("fusedstage.home", "."))).resolve(model);
        HostMemory results = new HostMemory(100);
        try (TorchScriptPotential potential = TorchScriptPotential.builder().optModelPath(folder).build();
                FusedStage job = FusedStage.builder()
                        .addSubStage(0, FIRE.builder(potential).optFmax(0.05).optNSteps(500).build())
                        .addSubStage(1, Langevin.builder(potential).optTemperature(300).optFriction(0.02).optTimeStep(2.0)
                                .optNSteps(mdSteps).optSeed(1).build())
                        .addSink(results).build()) {
            job.setSampler(SizeAwareSampler.builder(new org.fusedstage.data.InMemoryDataset(structures())).optMaxBatchSize(4).build());
            long start = System.nanoTime();
            job.run();
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.println(potential.metadata().name() + ": " + potential.metadata().citation());
            for (AtomicSystem s : results.read()) {
                System.out.printf("%-10s %2d atoms  E = %10.4f eV (%.4f eV/atom)  FIRE steps %3s  converged %s%n",
                        s.sampleId().orElseThrow(), s.size(), s.energy().orElseThrow(), s.energy().orElseThrow() / s.size(),
                        s.info().get("steps_stage0"), s.info().get("converged"));
            }
            System.out.printf("%d structures relaxed and run for %d MD steps in %.1f s (%d batch steps)%n", results.size(), mdSteps,
                    seconds, job.stepCount());
        }
    }
}
