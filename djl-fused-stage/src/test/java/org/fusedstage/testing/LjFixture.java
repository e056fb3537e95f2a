package org.fusedstage.testing;

import ai.djl.ndarray.NDManager;
import org.fusedstage.model.TorchScriptPotential;

/** One Lennard-Jones potential and manager shared by the tests of a class. */
public final class LjFixture implements AutoCloseable {

    public final TorchScriptPotential potential;
    public final NDManager manager;

    public LjFixture() {
        try {
            potential = TorchScriptPotential.fromZoo("lennard-jones");
        } catch (Exception e) {
            throw new IllegalStateException("cannot load the zoo's lennard-jones model", e);
        }
        manager = NDManager.newBaseManager();
    }

    @Override
    public void close() {
        manager.close();
        potential.close();
    }
}
