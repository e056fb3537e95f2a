package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.WithLennardJones;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

/** Physics of the integrators with the LJ argon model. */
class IntegratorPhysicsTest extends WithLennardJones {


    /**
     * NVE: argon fcc (32 atoms, 4 systems) at 80 K, dt 1 fs, 10 000 steps. Velocity Verlet is
     * symplectic: the total energy fluctuates by O(dt^2) around a constant with no secular drift.
     * The shifted LJ has a small force jump at the cutoff (F(rc) = 1.2e-4 eV/A), which lets the
     * energy take small random kicks when pairs cross rc. Measured: max |E(t) - E(0)| = 4.8e-7 eV per
     * atom, about 5e-5 of the kinetic energy per atom at 80 K (1.0e-2 eV); the bounds below leave a
     * factor 10 for other platforms' rounding.
     */
    @Test
    void velocityVerletConservesEnergy() {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            systems.add(TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.0, 100 + i));
        }
        VelocityVerlet nve = VelocityVerlet.builder(lj.potential).optTimeStep(1.0).optInitialTemperature(160).optSeed(7).build();
        try (Batch batch = Batch.of(systems, lj.manager)) {
            nve.run(batch, 0); // primes forces and draws velocities
            double[] e0 = totalEnergy(batch);
            double maxDeviation = 0;
            double[] lastBlock = new double[4];
            double[] firstBlock = new double[4];
            int steps = 10_000;
            for (int s = 1; s <= steps; s++) {
                nve.step(batch);
                if (s % 100 == 0) {
                    double[] e = totalEnergy(batch);
                    for (int i = 0; i < 4; i++) {
                        double perAtom = (e[i] - e0[i]) / 32;
                        maxDeviation = Math.max(maxDeviation, Math.abs(perAtom));
                        if (s <= 1000) {
                            firstBlock[i] += perAtom / 10;
                        } else if (s > steps - 1000) {
                            lastBlock[i] += perAtom / 10;
                        }
                    }
                }
            }
            double temperature = Kinematics.temperature(batch).mean().getDouble();
            assertTrue(temperature > 40 && temperature < 120, "equilibrated near 80 K, got " + temperature);
            assertTrue(maxDeviation < 5e-6, "energy deviation per atom " + maxDeviation + " eV");
            double maxDrift = 0;
            for (int i = 0; i < 4; i++) {
                maxDrift = Math.max(maxDrift, Math.abs(lastBlock[i] - firstBlock[i]));
            }
            assertTrue(maxDrift < 2e-6, "drift per atom over 10k steps " + maxDrift + " eV");
            System.out.printf("NVE: max |dE|/atom = %.2e eV, drift/atom = %.2e eV over %d steps, T = %.1f K%n",
                    maxDeviation, maxDrift, steps, temperature);
        }
    }

    private static double[] totalEnergy(Batch batch) {
        NDArray total = batch.energy().add(Kinematics.kineticEnergy(batch));
        return total.toDoubleArray();
    }

    /** Langevin: the mean temperature of 16 systems after equilibration is within 3 % of the target. */
    @Test
    void langevinThermostatsToTargetTemperature() {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            systems.add(TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.02, 200 + i));
        }
        double target = 60;
        Langevin nvt = Langevin.builder(lj.potential).optTimeStep(2.0).optTemperature(target).optFriction(0.02).optSeed(3).build();
        try (Batch batch = Batch.of(systems, lj.manager)) {
            nvt.run(batch, 300); // equilibration
            double sum = 0;
            int samples = 0;
            for (int s = 0; s < 1500; s++) {
                nvt.step(batch);
                if (s % 5 == 0) {
                    sum += Kinematics.temperature(batch).mean().getDouble();
                    samples++;
                }
            }
            double mean = sum / samples;
            System.out.printf("Langevin: mean T = %.2f K (target %.1f K)%n", mean, target);
            assertEquals(target, mean, 0.03 * target);
        }
    }

    @Test
    void maxwellBoltzmannHasZeroMomentumAndRightTemperature() {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            systems.add(TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.0, i));
        }
        try (Batch batch = Batch.of(systems, lj.manager)) {
            batch.set(Batch.VELOCITIES, MaxwellBoltzmann.velocities(batch, 300, 11));
            NDArray momentum = batch.segments().sum(batch.velocities().mul(Kinematics.columnMasses(batch)));
            assertTrue(momentum.abs().max().getDouble() < 1e-12, "net momentum " + momentum.abs().max().getDouble());
            double t = Kinematics.temperature(batch).mean().getDouble();
            // 640 atoms, 3 of 96 dof removed per system: expect 300 * 93/96 = 290.6 K within ~4 %.
            assertEquals(290.6, t, 12, "temperature " + t);
        }
    }
}
