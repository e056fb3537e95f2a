package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.model.Potential;
import org.fusedstage.testing.WithLennardJones;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

/** Masked updates touch only their samples; a sample's trajectory does not depend on its batch. */
class MaskedUpdateTest extends WithLennardJones {


    private static final List<Function<Potential, Dynamics>> ALL = List.of(
            p -> new FIRE(p),
            p -> VelocityVerlet.builder(p).optInitialTemperature(100).optSeed(5).build(),
            p -> Langevin.builder(p).optTemperature(100).optSeed(5).build(),
            p -> new SteepestDescent(p),
            p -> new DemoDynamics(p, 1.0));

    @Test
    void maskedOutSamplesStayBitIdentical() {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            systems.add(TestSystems.fccArgon(1, 5.3, 0.1, 40 + i).toBuilder().optVelocities(velocities(4, i)).build());
        }
        boolean[] mask = {true, false, true, false, false, true};
        for (Function<Potential, Dynamics> make : ALL) {
            Dynamics d = make.apply(lj.potential);
            try (Batch batch = Batch.of(systems, lj.manager)) {
                d.initialize(batch);
                lj.potential.compute(batch);
                List<AtomicSystem> before = batch.toSystems();
                double[] stateBefore = stateOf(batch, d);
                NDArray m = batch.getManager().create(mask);
                for (int k = 0; k < 3; k++) {
                    d.maskedUpdate(batch, m);
                }
                List<AtomicSystem> after = batch.toSystems();
                double[] stateAfter = stateOf(batch, d);
                for (int i = 0; i < mask.length; i++) {
                    String what = d.getClass().getSimpleName() + " sample " + i;
                    if (mask[i]) {
                        assertEquals(false, Arrays.equals(before.get(i).positions(), after.get(i).positions())
                                && Arrays.equals(before.get(i).velocities().orElseThrow(), after.get(i).velocities().orElseThrow()),
                                what + " was updated");
                    } else {
                        assertEquals(before.get(i), after.get(i), what + " must be bit-identical");
                        assertEquals(Double.doubleToRawLongBits(stateBefore[i]), Double.doubleToRawLongBits(stateAfter[i]),
                                what + ": stage state must not change");
                    }
                }
            }
        }
    }

    /** The per-sample step counter of the stage, plus FIRE's dt where present. */
    private static double[] stateOf(Batch batch, Dynamics d) {
        long[] steps = batch.get(d.stateName("steps")).toLongArray();
        double[] out = new double[steps.length];
        double[] dt = batch.has(d.stateName("dt")) ? batch.get(d.stateName("dt")).toDoubleArray() : new double[steps.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = steps[i] * 1000 + dt[i];
        }
        return out;
    }

    private static double[] velocities(int atoms, long seed) {
        java.util.Random r = new java.util.Random(seed);
        double[] v = new double[3 * atoms];
        for (int k = 0; k < v.length; k++) {
            v[k] = 0.005 * r.nextGaussian();
        }
        return v;
    }

    /** The same sample alone and inside a batch of 64 others: same trajectory (float64, 1e-10). */
    @Test
    void trajectoryDoesNotDependOnBatchMates() {
        AtomicSystem probe = TestSystems.fccArgon(2, 5.3, 0.1, 99);
        List<AtomicSystem> crowd = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            crowd.add(i % 2 == 0 ? TestSystems.argonCluster(3 + i % 5, 4, 3, 500 + i) : TestSystems.fccArgon(1, 5.2 + 0.01 * i, 0.2, 600 + i));
        }
        crowd.add(17, probe);
        for (Function<Potential, Dynamics> make : ALL) {
            double[] alone = trajectory(make, List.of(probe), 0);
            double[] together = trajectory(make, crowd, 17);
            for (int k = 0; k < alone.length; k++) {
                assertEquals(alone[k], together[k], 1e-10, make.apply(lj.potential).getClass().getSimpleName() + " coordinate " + k);
            }
        }
    }

    private static double[] trajectory(Function<Potential, Dynamics> make, List<AtomicSystem> systems, int index) {
        Dynamics d = make.apply(lj.potential);
        try (Batch batch = Batch.of(systems, lj.manager)) {
            d.run(batch, 0);
            for (int s = 0; s < 25; s++) {
                d.step(batch);
            }
            AtomicSystem out = batch.toSystems().get(index);
            double[] p = out.positions();
            double[] v = out.velocities().orElse(new double[0]);
            double[] both = Arrays.copyOf(p, p.length + v.length);
            System.arraycopy(v, 0, both, p.length, v.length);
            return both;
        }
    }
}
