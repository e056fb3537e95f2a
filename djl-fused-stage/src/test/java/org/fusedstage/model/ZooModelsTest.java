package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Elements;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.VelocityVerlet;
import org.fusedstage.zoo.FusedStageModelZoo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every zoo model: finite-difference forces, NVE energy conservation; Sutton-Chen vs its paper. */
class ZooModelsTest {

    /** Sutton & Chen (1990): lattice constant (A) and cohesive energy (eV/atom) per element. */
    private static final Map<String, double[]> SUTTON_CHEN_PAPER = Map.of(
            "Ni", new double[] {3.52, 4.44}, "Cu", new double[] {3.61, 3.49}, "Rh", new double[] {3.80, 5.75},
            "Pd", new double[] {3.89, 3.94}, "Ag", new double[] {4.09, 2.96}, "Ir", new double[] {3.84, 6.93},
            "Pt", new double[] {3.92, 5.86}, "Au", new double[] {4.08, 3.78}, "Pb", new double[] {4.95, 2.04},
            "Al", new double[] {4.05, 3.34});

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    static List<String> models() {
        return FusedStageModelZoo.modelIds();
    }

    static List<String> suttonChen() {
        return models().stream().filter(id -> id.startsWith("sutton-chen-")).toList();
    }

    private static String element(TorchScriptPotential p) {
        return Elements.symbolOf(p.metadata().elements().iterator().next());
    }

    private static double latticeGuess(String element) {
        double[] paper = SUTTON_CHEN_PAPER.get(element);
        return paper != null ? paper[0] : 4.0;
    }

    @ParameterizedTest
    @MethodSource("models")
    void forcesAreMinusTheEnergyGradient(String id) throws Exception {
        try (TorchScriptPotential p = TorchScriptPotential.fromZoo(id)) {
            String element = element(p);
            double a = element.equals("Ar") ? 5.3 : latticeGuess(element);
            AtomicSystem s = Structures.rattle(Structures.fcc(element, a, 1), 0.08, 3);
            double[] x = s.positions();
            double[] forces;
            try (Batch batch = Batch.of(List.of(s), manager)) {
                p.compute(batch);
                forces = batch.forces().toDoubleArray();
            }
            double h = 1e-5;
            for (int k = 0; k < x.length; k += 2) {
                double[] plus = x.clone();
                double[] minus = x.clone();
                plus[k] += h;
                minus[k] -= h;
                double numeric = -(energy(p, s.toBuilder().positions(plus).build()) - energy(p, s.toBuilder().positions(minus).build())) / (2 * h);
                assertEquals(numeric, forces[k], 1e-6 * Math.max(1, Math.abs(numeric)), id + " component " + k);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void velocityVerletConservesEnergy(String id) throws Exception {
        try (TorchScriptPotential p = TorchScriptPotential.fromZoo(id)) {
            String element = element(p);
            double a = element.equals("Ar") ? 5.26 : latticeGuess(element);
            AtomicSystem s = Structures.fcc(element, a, 2);
            VelocityVerlet nve = VelocityVerlet.builder(p).optTimeStep(1.0).optInitialTemperature(300).optSeed(1).build();
            try (Batch batch = Batch.of(List.of(s), manager)) {
                nve.run(batch, 0);
                double e0 = total(batch);
                double worst = 0;
                for (int step = 0; step < 300; step++) {
                    nve.step(batch);
                    if (step % 10 == 0) {
                        worst = Math.max(worst, Math.abs(total(batch) - e0) / s.size());
                    }
                }
                assertTrue(worst < 2e-4, id + ": |E - E0| per atom up to " + worst + " eV");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("suttonChen")
    void suttonChenReproducesThePaper(String id) throws Exception {
        try (TorchScriptPotential p = TorchScriptPotential.fromZoo(id)) {
            String element = element(p);
            double[] paper = SUTTON_CHEN_PAPER.get(element);
            // Golden-section search of the energy of the one-atom primitive fcc cell over a.
            double lo = paper[0] * 0.97;
            double hi = paper[0] * 1.03;
            double g = (Math.sqrt(5) - 1) / 2;
            for (int it = 0; it < 40; it++) {
                double x1 = hi - g * (hi - lo);
                double x2 = lo + g * (hi - lo);
                if (primitiveEnergy(p, element, x1) < primitiveEnergy(p, element, x2)) {
                    hi = x2;
                } else {
                    lo = x1;
                }
            }
            double lattice = (lo + hi) / 2;
            double cohesive = -primitiveEnergy(p, element, lattice);
            System.out.printf("Sutton-Chen %s: a = %.4f A (paper %.2f), Ecoh = %.4f eV (paper %.2f)%n",
                    element, lattice, paper[0], cohesive, paper[1]);
            assertEquals(paper[0], lattice, 0.002 * paper[0], element + " lattice constant");
            assertEquals(paper[1], cohesive, 0.01 * paper[1], element + " cohesive energy");
        }
    }

    private static double primitiveEnergy(TorchScriptPotential p, String element, double a) {
        double h = a / 2;
        AtomicSystem cell = AtomicSystem.builder().positions(new double[] {0, 0, 0}).symbols(element)
                .optCell(new double[] {0, h, h, h, 0, h, h, h, 0}).optPbc(true, true, true).build();
        return energy(p, cell);
    }

    private static double energy(TorchScriptPotential p, AtomicSystem s) {
        try (Batch batch = Batch.of(List.of(s), manager)) {
            p.compute(batch);
            return batch.energy().toDoubleArray()[0];
        }
    }

    private static double total(Batch batch) {
        NDArray v = batch.velocities();
        double kinetic = 0.5 * v.mul(v).sum(new int[] {1}).mul(batch.masses()).sum().getDouble() * org.fusedstage.Units.AMU_A2_PER_FS2_TO_EV;
        return batch.energy().sum().getDouble() + kinetic;
    }
}
