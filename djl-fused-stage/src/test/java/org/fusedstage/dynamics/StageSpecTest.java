package org.fusedstage.dynamics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.fusedstage.model.TorchScriptPotential;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Stage text: keys given are set, every other value is the builder's own default; text round trips. */
class StageSpecTest {

    private static TorchScriptPotential lj;

    @BeforeAll
    static void load() throws Exception {
        lj = TorchScriptPotential.fromZoo("lennard-jones");
    }

    @AfterAll
    static void close() {
        lj.close();
    }

    private static double fmax(Dynamics d) {
        List<Criterion> criteria = d.convergence().criteria();
        assertEquals(1, criteria.size());
        assertEquals(Criterion.FMAX, criteria.get(0).key());
        return criteria.get(0).threshold();
    }

    @Test
    void unsetKeysTakeTheBuildersDefaults() {
        Langevin fromText = (Langevin) StageSpec.parse("nvt-langevin:steps=5").build(lj, 3);
        Langevin fromBuilder = Langevin.builder(lj).optNSteps(5).optSeed(3).build();
        assertEquals(fromBuilder.temperature(), fromText.temperature());
        assertEquals(fromBuilder.friction(), fromText.friction());
        assertEquals(fromBuilder.timeStep(), fromText.timeStep());

        assertEquals(ConvergenceHook.DEFAULT_FMAX, fmax(StageSpec.parse("fire").build(lj, 0)));
        assertEquals(ConvergenceHook.DEFAULT_FMAX, fmax(StageSpec.parse("steepest-descent").build(lj, 0)));
        assertEquals(FIRE.builder(lj).build().timeStep(), StageSpec.parse("fire").build(lj, 0).timeStep());
        assertEquals(ConvergenceHook.DEFAULT_FMAX, fmax(StageSpec.parse("demo").build(lj, 0)));
        assertNull(StageSpec.parse("demo:steps=10").build(lj, 0).convergence()); // a fixed number of steps
    }

    @Test
    void givenKeysAreSet() {
        Langevin l = (Langevin) StageSpec.parse("nvt-langevin:steps=5,temperature=80,friction=0.02,dt=2").build(lj, 0);
        assertEquals(80, l.temperature());
        assertEquals(0.02, l.friction());
        assertEquals(2, l.timeStep());
        assertEquals(0.02, fmax(StageSpec.parse("fire:fmax=0.02").build(lj, 0)));
        assertEquals(0.1, fmax(StageSpec.parse("demo:steps=10,fmax=0.1").build(lj, 0)));
    }

    @Test
    void textRoundTrips() {
        for (String text : List.of("fire:fmax=0.05,max-steps=2000", "nvt-langevin:steps=500,temperature=80,friction=0.01,dt=2.0", "nve")) {
            StageSpec spec = StageSpec.parse(text);
            assertEquals(spec, StageSpec.parse(spec.text()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StageSpec.parse("fire:fmx=1"));
        assertTrue(e.getMessage().contains("unknown key 'fmx'"), e.getMessage());
    }
}
