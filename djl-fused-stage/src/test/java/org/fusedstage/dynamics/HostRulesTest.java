package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;

/**
 * The parts of the eager updates computed on the host: FIRE's per-sample rule, per-atom factors
 * and thermal kicks, noise drawn for some samples only; in float64 and float32 batches.
 */
class HostRulesTest extends WithLennardJones {

    private static List<AtomicSystem> rattled(int count) {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            systems.add(TestSystems.fccArgon(2, TestSystems.ARGON_LATTICE, 0.05 + 0.05 * i, 70 + i));
        }
        return systems;
    }

    @Test
    void fireRelaxesFloat32BatchesLikeFloat64Ones() {
        double[][] energies = new double[2][];
        long[][] steps = new long[2][];
        DataType[] types = {DataType.FLOAT64, DataType.FLOAT32};
        for (int t = 0; t < 2; t++) {
            try (Batch batch = Batch.builder(rattled(3)).optDataType(types[t]).build(lj.manager)) {
                FIRE fire = FIRE.builder(lj.potential).optFmax(0.05).build();
                fire.run(batch, 1000);
                assertEquals(types[t], batch.positions().getDataType());
                assertEquals(types[t], batch.get(fire.stateName("dt")).getDataType());
                energies[t] = batch.energy().toType(DataType.FLOAT64, false).toDoubleArray();
                steps[t] = batch.get(fire.stateName("steps")).toLongArray();
                double[] forces = batch.forces().toType(DataType.FLOAT64, false).toDoubleArray();
                for (int k = 0; k < forces.length; k += 3) {
                    double f = Math.sqrt(forces[k] * forces[k] + forces[k + 1] * forces[k + 1] + forces[k + 2] * forces[k + 2]);
                    assertTrue(f <= 0.05, types[t] + ": |F| " + f + " eV/A above fmax after the run");
                }
            }
        }
        for (int i = 0; i < energies[0].length; i++) {
            assertEquals(energies[0][i], energies[1][i], 2e-4, "energy of sample " + i + " (eV), float32 vs float64");
            assertTrue(Math.abs(steps[0][i] - steps[1][i]) <= 0.2 * steps[0][i] + 2,
                    "FIRE steps of sample " + i + ": float64 " + steps[0][i] + ", float32 " + steps[1][i]);
        }
    }

    /**
     * A stage program's per-atom sums of a product are computed in one pass on the host; each must
     * equal, bit for bit, the sum and the product made apart (the path of a lone expression).
     */
    @Test
    void productsSummedInOnePassEqualTheTwoOperationsApart() {
        try (Batch batch = Batch.of(rattled(3), lj.manager)) {
            lj.potential.compute(batch);
            Langevin stage = Langevin.builder(lj.potential).build();
            org.fusedstage.program.Expr p = org.fusedstage.program.Expr.POSITIONS;
            org.fusedstage.program.Expr f = org.fusedstage.program.Expr.FORCES;
            org.fusedstage.program.Expr[] sums = {
                p.plus(f.times(org.fusedstage.program.Expr.INVERSE_MASS.times(0.3))), // x + y*z, z one per row
                p.minus(f.times(0.7)), // x - y*z, z a number
                f.times(p).minus(p), // y*z - x, every operand per atom
                f.times(org.fusedstage.program.Expr.ENERGY).plus(p), // y*z + x, z one per sample
            };
            boolean[] all = {true, true, true};
            for (org.fusedstage.program.Expr sum : sums) {
                double[] apart = ProgramEvaluator.evaluate(sum, batch, java.util.Map.of(), 0, null).toDoubleArray();
                org.fusedstage.program.StageProgram program = org.fusedstage.program.StageProgram.builder()
                        .assign(org.fusedstage.program.StageProgram.Phase.PRE_UPDATE, org.fusedstage.program.Expr.VELOCITIES, sum)
                        .build();
                ProgramEvaluator.run(program, org.fusedstage.program.StageProgram.Phase.PRE_UPDATE, stage, batch,
                        new StageMask(batch, lj.manager.create(all)), java.util.Map.of(), null);
                assertArrayEquals(apart, batch.velocities().toDoubleArray(), 0.0, "one pass vs apart: " + sum);
            }
        }
    }

    @Test
    void noiseDrawnForSomeSamplesEqualsTheirFullDraw() {
        try (Batch batch = Batch.of(rattled(3), lj.manager)) {
            boolean[] some = {true, false, true};
            double[] all = NoiseStreams.normal(batch, 9, 2).toDoubleArray();
            double[] partial = NoiseStreams.normal(batch, 9, 2, some).toDoubleArray();
            for (int s = 0; s < some.length; s++) {
                for (int row : batch.atomRows(s)) {
                    for (int k = 3 * row; k < 3 * row + 3; k++) {
                        assertEquals(some[s] ? all[k] : 0.0, partial[k], "sample " + s + ", value " + k);
                    }
                }
            }
        }
    }

    @Test
    void rowSquaresMatchTheirDefinition() {
        try (Batch batch = Batch.builder(rattled(2)).optDataType(DataType.FLOAT32).build(lj.manager)) {
            lj.potential.compute(batch);
            NDArray f = batch.forces();
            double[] expected = f.mul(f).sum(new int[] {1}).toType(DataType.FLOAT64, false).toDoubleArray();
            double[] actual = Kinematics.rowSquares(f).toType(DataType.FLOAT64, false).toDoubleArray();
            assertArrayEquals(expected, actual, 1e-6);
        }
    }
}
