package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The slot pool's books: every atom row belongs to exactly one slot, whatever refills happen. */
class SlotPoolTest {

    @Test
    void everyRowBelongsToOneSlotThroughRandomRefills() {
        SlotPool pool = new SlotPool(new int[] {4, 7, 2}, 6, 40);
        assertEquals(7, pool.numSlots());
        assertEquals(40 - 13, pool.freeAtoms());
        checkPartition(pool);
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            List<Integer> changed = new ArrayList<>();
            Map<Integer, Integer> sizes = new LinkedHashMap<>();
            int free = pool.freeAtoms();
            for (int slot = 0; slot < 6; slot++) {
                if (random.nextInt(3) == 0) {
                    changed.add(slot);
                    free += pool.rows(slot).length;
                }
            }
            for (int slot : changed) {
                int size = 1 + random.nextInt(9);
                if (random.nextBoolean() && size <= free) {
                    sizes.put(slot, size);
                    free -= size;
                }
            }
            int needed = sizes.values().stream().mapToInt(Integer::intValue).sum();
            pool.checkRefill(changed, needed);
            SlotPool.Refill refill = pool.refill(changed, sizes);
            sizes.forEach((slot, size) -> assertEquals(size, pool.rows(slot).length));
            refill.taken().forEach((slot, rows) -> assertArrayEquals(rows, pool.rows(slot)));
            checkPartition(pool);
        }
    }

    @Test
    void refusedRefillChangesNothing() {
        SlotPool pool = new SlotPool(new int[] {3, 3}, 2, 8);
        int[][] before = {pool.rows(0).clone(), pool.rows(1).clone(), pool.rows(2).clone()};
        IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class, () -> pool.checkRefill(List.of(0), 6));
        assertEquals("the new samples need 6 atom rows but only 5 are free", tooBig.getMessage());
        assertThrows(IllegalArgumentException.class, () -> pool.checkRefill(List.of(2), 1)); // the pool slot itself
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(before[i], pool.rows(i));
        }
        assertThrows(IllegalStateException.class, () -> new SlotPool(new int[] {3}, 0, 0).checkRefill(List.of(0), 1));
    }

    /** Rows 0..N-1 each appear in exactly one slot, and slotOfRows agrees. */
    private static void checkPartition(SlotPool pool) {
        int[] owner = new int[pool.numAtoms()];
        java.util.Arrays.fill(owner, -1);
        for (int slot = 0; slot < pool.numSlots(); slot++) {
            for (int row : pool.rows(slot)) {
                assertEquals(-1, owner[row], "row " + row + " in two slots");
                owner[row] = slot;
            }
        }
        long[] slotOf = pool.slotOfRows();
        for (int row = 0; row < owner.length; row++) {
            assertEquals(slotOf[row], owner[row], "row " + row);
        }
    }
}
