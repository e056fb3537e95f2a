package org.fusedstage.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.VelocityVerlet;
import org.fusedstage.hooks.SystemObservables;
import org.fusedstage.model.Potential;

/** Checks shared by the tests of converted potentials: agreement with a reference code, and NVE runs. */
public final class ReferenceChecks {

    private ReferenceChecks() {}

    /**
     * Energies per atom, forces and (for cells periodic in 3D) stresses agree with the reference
     * within the absolute bounds, or within round-off (1e-14 of the energy, 1e-13 of the largest
     * force or stress) where the values are so large that the bounds are below double precision.
     * Cells that are not periodic in 3D carry no stress.
     */
    public static void assertMatches(String label, List<String> names, List<AtomicSystem> mine, List<Lammps.Result> reference,
            double energyTolerance, double forceTolerance, double stressTolerance) {
        for (int k = 0; k < mine.size(); k++) {
            String what = label + " " + names.get(k);
            AtomicSystem s = mine.get(k);
            Lammps.Result ref = reference.get(k);
            double energyScale = Math.abs(ref.energy() / s.size());
            assertEquals(ref.energy() / s.size(), s.energy().orElseThrow() / s.size(),
                    Math.max(energyTolerance, 1e-14 * energyScale), what + ": energy per atom");
            double[] f = s.forces().orElseThrow();
            double forceScale = java.util.Arrays.stream(ref.forces()).map(Math::abs).max().orElse(0);
            for (int i = 0; i < f.length; i++) {
                assertEquals(ref.forces()[i], f[i], Math.max(forceTolerance, 1e-13 * forceScale), what + ": force component " + i);
            }
            if (!Double.isNaN(ref.stress()[0])) {
                double[] st = s.stress().orElseThrow();
                double[] voigt = {st[0], st[4], st[8], st[5], st[2], st[1]};
                double stressScale = java.util.Arrays.stream(ref.stress()).map(Math::abs).max().orElse(0);
                for (int v = 0; v < 6; v++) {
                    assertEquals(ref.stress()[v], voigt[v], Math.max(stressTolerance, 1e-13 * stressScale),
                            what + ": stress component " + v);
                }
            } else {
                assertFalse(s.stress().isPresent(), what + ": no stress for a cell that is not periodic in 3D");
            }
        }
    }

    /** Total energy per atom (eV) at every step of velocity-Verlet NVE from 600 K. */
    public static double[] nveTotalEnergies(Potential potential, AtomicSystem crystal, double dt, int steps) {
        try (NDManager manager = NDManager.newBaseManager(); Batch batch = Batch.of(List.of(crystal), manager)) {
            VelocityVerlet nve = VelocityVerlet.builder(potential).optTimeStep(dt).optInitialTemperature(600).optSeed(7)
                    .optNSteps(steps).build();
            nve.initialize(batch);
            nve.enter(batch, nve.ownedSamples(batch));
            potential.compute(batch);
            double[] total = new double[steps + 1];
            for (int step = 0; step <= steps; step++) {
                if (step > 0) {
                    nve.step(batch);
                }
                SystemObservables o = SystemObservables.read(batch);
                total[step] = (o.energy()[0] + o.kinetic()[0]) / crystal.size();
            }
            return total;
        }
    }

    /** The structures computed together in one batch give what each gives alone, to {@code tolerance}. */
    public static void assertBatchEqualsSingles(Potential potential, List<AtomicSystem> systems, double tolerance) {
        try (NDManager manager = NDManager.newBaseManager(); Batch batch = Batch.of(systems, manager)) {
            potential.compute(batch);
            List<AtomicSystem> together = batch.toSystems();
            for (int k = 0; k < systems.size(); k++) {
                try (Batch alone = Batch.of(List.of(systems.get(k)), manager)) {
                    potential.compute(alone);
                    AtomicSystem single = alone.toSystems().get(0);
                    assertEquals(single.energy().orElseThrow(), together.get(k).energy().orElseThrow(), tolerance, "energy " + k);
                    double[] a = single.forces().orElseThrow();
                    double[] b = together.get(k).forces().orElseThrow();
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(a[i], b[i], tolerance, "force " + i + " of structure " + k);
                    }
                }
            }
        }
    }

    /**
     * FIRE (fmax 1e-3) then velocity Verlet ({@code mdSteps} per sample) for {@code steps} fused steps,
     * eager and as the compiled step graph: the trajectories agree to 1e-10.
     */
    public static void assertCompiledEqualsEager(Potential potential, List<AtomicSystem> systems, int mdSteps, int steps) {
        double[][] positions = new double[2][];
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int k = 0; k < 2; k++) {
                try (org.fusedstage.dynamics.FusedStage fused = org.fusedstage.dynamics.FusedStage.builder()
                        .addSubStage(0, org.fusedstage.dynamics.FIRE.builder(potential).optFmax(1e-3).build())
                        .addSubStage(1, VelocityVerlet.builder(potential).optNSteps(mdSteps).build())
                        .optCompileStep(k == 1).build();
                        Batch batch = Batch.of(systems, manager)) {
                    fused.prepare(batch);
                    for (int s = 0; s < steps; s++) {
                        fused.step(batch).close();
                    }
                    positions[k] = batch.positions().toDoubleArray();
                }
            }
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(positions[0], positions[1], 1e-10, "eager and compiled trajectories");
    }

    /** max - min. */
    /**
     * Velocity-Verlet NVE of {@code crystal} from 600 K for {@code steps} steps of 1 fs and twice as
     * many of 0.5 fs: the total energy per atom oscillates by less than {@code maxSpread} eV at 1 fs,
     * 3 to 5 times less at 0.5 fs (second order), and the mean of the last {@code window} steps is
     * within {@code maxDrift} eV of the first's (no drift). Prints the figures under {@code label}.
     */
    public static void assertConservesEnergy(String label, Potential potential, AtomicSystem crystal, int steps, int window,
            double maxSpread, double maxDrift) {
        double[] coarse = nveTotalEnergies(potential, crystal, 1.0, steps);
        double[] fine = nveTotalEnergies(potential, crystal, 0.5, 2 * steps);
        double first = java.util.Arrays.stream(coarse, 0, window).average().orElseThrow();
        double last = java.util.Arrays.stream(coarse, coarse.length - window, coarse.length).average().orElseThrow();
        System.out.printf("%s NVE: total energy spread %.3g eV/atom at 1 fs, %.3g at 0.5 fs; drift %.3g eV/atom%n", label,
                spread(coarse), spread(fine), last - first);
        assertTrue(spread(coarse) < maxSpread, label + ": spread " + spread(coarse) + " eV/atom");
        double ratio = spread(coarse) / spread(fine);
        assertTrue(ratio > 3 && ratio < 5, label + ": second order: spread ratio " + ratio);
        assertEquals(first, last, maxDrift, label + ": drift");
    }

    public static double spread(double[] values) {
        return java.util.Arrays.stream(values).max().orElseThrow() - java.util.Arrays.stream(values).min().orElseThrow();
    }
}
