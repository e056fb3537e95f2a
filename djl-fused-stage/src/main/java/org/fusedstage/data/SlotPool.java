package org.fusedstage.data;

import com.google.common.base.Preconditions;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which atom rows each slot of a batch holds, on the host. A fixed batch lays its systems out
 * contiguously; an inflight batch has a fixed number of slots and rows, and parks its free rows
 * in a pool slot (the last one, status {@link Status#VACANT}) from which refills take them.
 */
final class SlotPool {

    private final int[][] rows;
    private final int numAtoms;
    private final int poolSlot; // -1 for fixed batches

    /**
     * Rows for systems of {@code sizes} atoms, in order.
     *
     * @param slotCapacity 0 for a fixed batch (one slot per system, no pool), else the number of slots
     * @param atomCapacity the number of atom rows of an inflight batch (ignored for a fixed one)
     */
    SlotPool(int[] sizes, int slotCapacity, int atomCapacity) {
        int occupied = 0;
        for (int size : sizes) {
            occupied += size;
        }
        boolean inflight = slotCapacity > 0;
        if (inflight) {
            Preconditions.checkArgument(sizes.length <= slotCapacity, "%s systems exceed the slot capacity %s",
                    sizes.length, slotCapacity);
            Preconditions.checkArgument(occupied <= atomCapacity, "%s atoms exceed the atom capacity %s", occupied,
                    atomCapacity);
        }
        int slots = inflight ? slotCapacity + 1 : sizes.length;
        this.numAtoms = inflight ? atomCapacity : occupied;
        this.poolSlot = inflight ? slotCapacity : -1;
        this.rows = new int[slots][];
        int next = 0;
        for (int i = 0; i < slots; i++) {
            int size = i == poolSlot ? numAtoms - occupied : i < sizes.length ? sizes[i] : 0;
            rows[i] = new int[size];
            for (int a = 0; a < size; a++) {
                rows[i][a] = next++;
            }
        }
    }

    /** Number of slots B, the pool slot included. */
    int numSlots() {
        return rows.length;
    }

    /** Number of atom rows N, free ones included. */
    int numAtoms() {
        return numAtoms;
    }

    /** The pool slot, or -1 for a fixed batch. */
    int poolSlot() {
        return poolSlot;
    }

    /** Free rows in the pool (0 for a fixed batch). */
    int freeAtoms() {
        return poolSlot < 0 ? 0 : rows[poolSlot].length;
    }

    /** The rows of slot {@code i}, in the sample's atom order (not a copy: do not change it). */
    int[] rows(int i) {
        return rows[i];
    }

    /** The slot of every row: [N]. */
    long[] slotOfRows() {
        long[] out = new long[numAtoms];
        for (int i = 0; i < rows.length; i++) {
            for (int row : rows[i]) {
                out[row] = i;
            }
        }
        return out;
    }

    /** Rows of every slot that takes part in physics: the pool appears empty. */
    int[][] memberRows() {
        int[][] out = new int[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = i == poolSlot ? new int[0] : rows[i];
        }
        return out;
    }

    /** Whether every slot's rows are contiguous, in slot order. */
    boolean isContiguous() {
        int next = 0;
        for (int[] r : rows) {
            for (int row : r) {
                if (row != next++) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * A refill's change of rows: the rows the changed slots gave back, and the rows each new sample
     * took (in its atom order).
     */
    record Refill(SortedSet<Integer> released, Map<Integer, int[]> taken) {}

    /**
     * Fails, changing nothing, when a slot is out of range or the new samples need more rows than
     * the pool and the changed slots hold.
     */
    void checkRefill(Collection<Integer> changedSlots, int neededRows) {
        Preconditions.checkState(poolSlot >= 0, "only an inflight batch (Builder.optCapacity) can be refilled");
        int free = freeAtoms();
        for (int slot : changedSlots) {
            Preconditions.checkArgument(slot >= 0 && slot < poolSlot, "slot %s out of range [0, %s)", slot, poolSlot);
            free += rows[slot].length;
        }
        Preconditions.checkArgument(neededRows <= free, "the new samples need %s atom rows but only %s are free",
                neededRows, free);
    }

    /**
     * Empties {@code changedSlots} into the pool, then gives each new sample ({@code sizes}: slot ->
     * atoms, in the order they take rows) the lowest free rows. Call {@link #checkRefill} first.
     */
    Refill refill(Collection<Integer> changedSlots, Map<Integer, Integer> sizes) {
        TreeSet<Integer> pool = new TreeSet<>();
        for (int row : rows[poolSlot]) {
            pool.add(row);
        }
        TreeSet<Integer> released = new TreeSet<>();
        for (int slot : changedSlots) {
            for (int row : rows[slot]) {
                pool.add(row);
                released.add(row);
            }
            rows[slot] = new int[0];
        }
        Map<Integer, int[]> taken = new LinkedHashMap<>();
        for (Map.Entry<Integer, Integer> e : sizes.entrySet()) {
            int[] got = new int[e.getValue()];
            for (int a = 0; a < got.length; a++) {
                got[a] = pool.pollFirst();
            }
            rows[e.getKey()] = got;
            taken.put(e.getKey(), got);
        }
        rows[poolSlot] = pool.stream().mapToInt(Integer::intValue).toArray();
        return new Refill(released, taken);
    }
}
