package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.util.List;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.WithLennardJones;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

class ConvergenceHookTest extends WithLennardJones {


    @Test
    void criteriaMustAllHoldAndEnergyChangeNeedsTwoEvaluations() {
        ConvergenceHook hook = ConvergenceHook.builder()
                .addCriterion(Criterion.FMAX, 0.05)
                .addCriterion(Criterion.ENERGY_CHANGE, 1e-6)
                .build();
        DemoDynamics owner = DemoDynamics.builder(lj.potential).optConvergence(hook).build();
        try (Batch batch = Batch.of(List.of(TestSystems.fccArgon(1, 5.26, 0.0, 1), TestSystems.fccArgon(1, 5.3, 0.2, 2)), lj.manager)) {
            owner.initialize(batch);
            lj.potential.compute(batch);
            StageMask all = owner.ownedSamples(batch);
            // First evaluation: no previous energy yet, so energy_change cannot hold.
            assertArrayEquals(new boolean[] {false, false}, hook.evaluate(batch, owner, all).toBooleanArray());
            // Second: the perfect crystal has zero forces and an unchanged energy; the other has large forces.
            assertArrayEquals(new boolean[] {true, false}, hook.evaluate(batch, owner, all).toBooleanArray());
        }
    }

    @Test
    void perAtomAndPerSystemFieldsWithReductions() {
        try (Batch batch = Batch.of(List.of(TestSystems.argonCluster(2, 3, 2, 1), TestSystems.argonCluster(3, 3, 2, 2)), lj.manager)) {
            batch.putAtomField("charge", batch.getManager().create(new double[] {0.1, -0.1, 0.5, 0.0, 0.0}));
            DemoDynamics owner = new DemoDynamics(lj.potential, 1.0);
            owner.initialize(batch);
            StageMask all = owner.ownedSamples(batch);
            NDArray max = ConvergenceHook.builder().addCriterion("charge", 0.2).build().evaluate(batch, owner, all);
            assertArrayEquals(new boolean[] {true, false}, max.toBooleanArray());
            NDArray mean = ConvergenceHook.builder().addCriterion(new Criterion("charge", 0.2, Criterion.Reduction.MEAN)).build()
                    .evaluate(batch, owner, all);
            assertArrayEquals(new boolean[] {true, true}, mean.toBooleanArray(), "mean |q| of sample 1 is 0.167");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ConvergenceHook.builder().addCriterion("nope", 1).build().evaluate(batch, owner, all));
            assertTrue(e.getMessage().contains("'nope' names no batch field"), e.getMessage());
        }
    }
}
