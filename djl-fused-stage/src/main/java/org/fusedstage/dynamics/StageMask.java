package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostWork;

/**
 * The samples one stage updates in a step, as full-shape boolean masks so masked updates are
 * {@code where}-selects: shapes stay static. Samples outside the mask keep their old values bit
 * for bit. On a GPU nothing is read back to the host; on a CPU the per-system mask is read once
 * (microseconds) and the per-atom masks are built from it on the host.
 */
public final class StageMask {

    private final Batch batch;
    private final NDArray systems; // [B]
    private NDArray atoms; // [N], built on first use
    private NDArray atomVectors; // [N,3], built on first use
    private boolean[] hostSystems; // read on first use

    /** Builds the masks from a per-system boolean mask [B]; the per-atom masks when first used. */
    public StageMask(Batch batch, NDArray systemMask) {
        this.batch = batch;
        this.systems = systemMask;
    }

    private void buildAtomMasks() {
        if (atoms != null) {
            return;
        }
        if (!HostWork.onHost(batch.getDevice())) {
            this.atoms = batch.segments().toAtoms(systems);
            // Contiguous, not a broadcast view: a where-select over [N,3] runs twice as fast with it.
            this.atomVectors = atoms.reshape(new Shape(batch.numAtoms(), 1)).repeat(1, 3);
        } else {
            // On a CPU the per-atom masks cost less built on the host than gathered on the device.
            NDManager manager = systems.getManager();
            this.atoms = batch.segments().toAtoms(hostSystems(), 1, manager);
            this.atomVectors = batch.segments().toAtoms(hostSystems(), 3, manager);
        }
    }

    /** Per-system mask [B]. */
    public NDArray systems() {
        return systems;
    }

    /** The per-system mask on the host (read from the device on first use: a sync on a GPU). */
    public boolean[] hostSystems() {
        if (hostSystems == null) {
            hostSystems = systems.toBooleanArray();
        }
        return hostSystems;
    }

    /**
     * The systems to draw random numbers for (noise, velocities): this mask on a CPU, where the
     * host copy costs microseconds; null, meaning every system, on a GPU, where reading the mask
     * back would stall the queue. A sample's numbers are the same either way.
     */
    public boolean[] systemsToDraw() {
        return HostWork.onHost(systems.getDevice()) ? hostSystems() : null;
    }

    /** Per-atom mask [N]. */
    public NDArray atoms() {
        buildAtomMasks();
        return atoms;
    }

    /**
     * Takes {@code updated} where the mask holds and {@code current} elsewhere; picks the mask
     * that fits the shape ([N,3], [N] or [B]).
     */
    public NDArray select(NDArray updated, NDArray current) {
        return NDArrays.where(maskFor(current.getShape()), updated, current);
    }

    private NDArray maskFor(Shape shape) {
        buildAtomMasks();
        if (shape.equals(atomVectors.getShape())) {
            return atomVectors;
        }
        if (shape.equals(atoms.getShape())) {
            return atoms;
        }
        if (shape.equals(systems.getShape())) {
            return systems;
        }
        throw new IllegalArgumentException("no mask fits shape " + shape + " (atoms " + atoms.getShape()
                + ", systems " + systems.getShape() + ")");
    }
}
