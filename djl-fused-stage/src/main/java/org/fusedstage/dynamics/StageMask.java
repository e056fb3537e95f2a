package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
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
    private NDArray systems; // [B]; made on first use where the host copy came first
    private java.util.function.Supplier<NDArray> makeSystems;
    private NDArray atoms; // [N], built on first use
    private NDArray atomVectors; // [N,3], built on first use
    private boolean[] hostSystems; // read on first use
    private SampleRows hostRows; // made on first use

    /** Builds the masks from a per-system boolean mask [B]; the per-atom masks when first used. */
    public StageMask(Batch batch, NDArray systemMask) {
        this(batch, systemMask, null);
    }

    /** As {@link #StageMask(Batch, NDArray)}, with the mask's host copy when the caller has it (else null). */
    StageMask(Batch batch, NDArray systemMask, boolean[] hostSystems) {
        this.batch = batch;
        this.systems = systemMask;
        this.hostSystems = hostSystems;
    }

    /**
     * The mask of {@link HostWork#mask}: where the caller has the host copy {@code host} (a CPU),
     * its array is made only when something asks for it (the stage programs work from the host
     * copy; hooks and device forms need the array, and a new libtorch array costs a JNI call and
     * a direct buffer); else {@code deviceForm}'s array, made now (it reads statuses that a later
     * migration replaces).
     */
    static StageMask of(Batch batch, NDArray like, boolean[] host, java.util.function.Supplier<NDArray> deviceForm) {
        if (host == null) {
            return new StageMask(batch, deviceForm.get(), null);
        }
        return new StageMask(batch, () -> HostWork.mask(like, host, deviceForm), host);
    }

    private StageMask(Batch batch, java.util.function.Supplier<NDArray> systemMask, boolean[] hostSystems) {
        this.batch = batch;
        this.makeSystems = com.google.common.base.Preconditions.checkNotNull(systemMask);
        this.hostSystems = com.google.common.base.Preconditions.checkNotNull(hostSystems);
    }

    private void buildAtomMasks() {
        if (atoms != null) {
            return;
        }
        boolean[] known = systemsToDraw(); // a host copy where reading is cheap: both masks built from one read
        this.atoms = batch.segments().atomMask(systems(), known, 1);
        this.atomVectors = batch.segments().atomMask(systems(), known, 3);
    }

    /** Per-system mask [B]. */
    public NDArray systems() {
        if (systems == null) {
            systems = makeSystems.get();
            makeSystems = null;
        }
        return systems;
    }

    /** The per-system mask on the host (read from the device on first use: a sync on a GPU). */
    public boolean[] hostSystems() {
        if (hostSystems == null) {
            hostSystems = systems().toBooleanArray();
        }
        return hostSystems;
    }

    /**
     * The systems to draw random numbers for (noise, velocities): this mask where its host copy is
     * cheap (a CPU); null, meaning every system, on a GPU, where reading the mask back would stall
     * the queue. A sample's numbers are the same either way.
     */
    public boolean[] systemsToDraw() {
        if (hostSystems == null) {
            hostSystems = HostWork.peekBooleans(systems());
        }
        return hostSystems;
    }

    /** The rows of the mask's samples, the layout of the host stage programs' per-atom values (made on first use). */
    SampleRows hostRows() {
        if (hostRows == null) {
            hostRows = SampleRows.of(batch, hostSystems());
        }
        return hostRows;
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
        if (shape.equals(systems().getShape())) {
            return systems();
        }
        throw new IllegalArgumentException("no mask fits shape " + shape + " (atoms " + atoms.getShape()
                + ", systems " + systems().getShape() + ")");
    }
}
