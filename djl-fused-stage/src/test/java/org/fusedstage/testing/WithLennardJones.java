package org.fusedstage.testing;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of test classes that share one zoo Lennard-Jones model and one manager per class. */
public abstract class WithLennardJones {

    protected static LjFixture lj;

    @BeforeAll
    static void loadLennardJones() {
        lj = new LjFixture();
    }

    @AfterAll
    static void closeLennardJones() {
        lj.close();
    }
}
