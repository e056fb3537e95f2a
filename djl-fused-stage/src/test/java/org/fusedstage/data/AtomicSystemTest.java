package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AtomicSystemTest {

    private static AtomicSystem.Builder dimer() {
        return AtomicSystem.builder().positions(new double[] {0, 0, 0, 3.8, 0, 0}).symbols("Ar", "Ar");
    }

    private static void assertRejected(AtomicSystem.Builder builder, String expectedFragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertTrue(e.getMessage().contains(expectedFragment), "message '" + e.getMessage() + "' lacks '" + expectedFragment + "'");
    }

    @Test
    void massesDefaultToStandardAtomicWeights() {
        AtomicSystem s = AtomicSystem.builder().positions(new double[] {0, 0, 0, 1, 0, 0}).symbols("Cu", "H").build();
        assertArrayEquals(new double[] {63.546, 1.008}, s.masses());
        assertEquals("CuH", s.formula());
    }

    @Test
    void isImmutable() {
        double[] positions = {0, 0, 0, 3.8, 0, 0};
        AtomicSystem s = AtomicSystem.builder().positions(positions).symbols("Ar", "Ar").build();
        positions[0] = 99;
        s.positions()[1] = 99;
        assertArrayEquals(new double[] {0, 0, 0, 3.8, 0, 0}, s.positions());
    }

    @Test
    void rejectsBadInputWithClearMessages() {
        assertRejected(AtomicSystem.builder().positions(new double[] {0, 0}).symbols("Ar"), "positions: expected 3 values for 1 atoms, got 2");
        assertRejected(dimer().positions(new double[] {0, 0, 0, Double.NaN, 0, 0}), "positions: non-finite value NaN at index 3");
        assertRejected(dimer().optMasses(new double[] {39.9, -1}), "atom 1: mass must be positive");
        assertRejected(AtomicSystem.builder().positions(new double[] {0, 0, 0}).atomicNumbers(new int[] {0}), "unknown atomic number 0");
        IllegalArgumentException symbol = assertThrows(IllegalArgumentException.class, () -> AtomicSystem.builder().symbols("Ar", "Xx"));
        assertTrue(symbol.getMessage().contains("atom 1: unknown element symbol 'Xx'"), symbol.getMessage());
        assertRejected(dimer().optPbc(true, true, true), "cell is singular");
        assertRejected(dimer().optCell(new double[] {5, 0, 0, 10, 0, 0, 0, 0, 5}).optPbc(true, true, false), "cell is singular");
        assertRejected(dimer().optVelocities(new double[] {1}), "velocities: expected 6 values");
        assertRejected(dimer().optEnergy(Double.POSITIVE_INFINITY), "energy must be finite");
        assertRejected(AtomicSystem.builder().positions(new double[0]).atomicNumbers(new int[0]), "at least one atom");
    }

    @Test
    void slabWithOpenAxisNeedsOnlyItsPeriodicVectors() {
        AtomicSystem slab = dimer().optCell(new double[] {5, 0, 0, 0, 5, 0, 0, 0, 0}).optPbc(true, true, false).build();
        assertArrayEquals(new boolean[] {true, true, false}, slab.pbc());
    }
}
