package org.fusedstage.data;

import java.io.IOException;

/**
 * A random-access collection of structures, each with a stable sample id. Implementations may
 * keep structures on disk ({@link ExtxyzDataset}) so that datasets larger than memory work.
 */
public interface Dataset {

    /** Number of structures. */
    int size();

    /** The stable id of structure {@code index}. */
    String id(int index);

    /** Number of atoms of structure {@code index} (cheap: no full parse). */
    int atomCount(int index);

    /**
     * Loads structure {@code index}; its info carries the stable sample id.
     *
     * @throws IOException if reading fails (an {@link ExtxyzFormatException} names file and line)
     */
    AtomicSystem get(int index) throws IOException;
}
