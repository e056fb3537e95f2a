package org.fusedstage.model;

import ai.djl.Device;
import org.fusedstage.data.Batch;

/**
 * An interatomic potential evaluated on a whole {@link Batch} in one call.
 *
 * <p>{@link #compute} stores energies per system (eV, field {@link Batch#ENERGY}), forces per atom
 * (eV/A, {@link Batch#FORCES}) and, when the model provides it, stress per system (eV/A^3,
 * {@link Batch#STRESS}) in the batch.
 */
public interface Potential extends AutoCloseable {

    /** What the model is: cutoff, elements, dtypes, units, outputs, citation. */
    PotentialMetadata metadata();

    /**
     * Evaluates the model on every system of the batch and stores the results in it.
     *
     * @param batch the batch; its positions, cell, pbc, atomic numbers and system index are read
     */
    void compute(Batch batch);

    /**
     * Checks that this model can evaluate the batch (elements, dtype), before any step runs.
     *
     * @throws IllegalArgumentException naming what to change
     */
    default void validate(Batch batch) {
        metadata().validate(batch);
    }

    /** The device the model runs on; batches must live there. Default: CPU. */
    default Device device() {
        return Device.cpu();
    }

    /** Number of {@link #compute} calls so far (each is one model forward pass). */
    long forwardCount();

    /** Counts a forward pass made outside {@link #compute} (inside a compiled step graph). */
    default void countForward() {}

    /**
     * Whether {@link #compute} also gives the stress; false when its forward passes leave it out
     * (see {@code TorchScriptPotential.Builder#optStress}).
     */
    default boolean computesStress() {
        return true;
    }

    /**
     * Like {@link #compute}, with the stress (eV/A^3) even where {@link #computesStress()} is false:
     * for the samples whose final stress is wanted once.
     */
    default void computeWithStress(Batch batch) {
        compute(batch);
    }

    /** Frees the model; the default does nothing. */
    @Override
    default void close() {}
}
