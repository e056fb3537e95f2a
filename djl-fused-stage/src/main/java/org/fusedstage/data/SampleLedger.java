package org.fusedstage.data;

import com.google.common.collect.ImmutableMap;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The host-side ledger of a batch's slots: which sample each holds (id, its noise key, its extxyz
 * info and extra per-atom arrays), how many steps it has taken in the batch, and which of its
 * physical quantities are known (given with the input or computed since) and so belong in its
 * results. The arrays themselves live in {@link Batch}; this holds no NDArray.
 */
final class SampleLedger {

    private final String[] ids;
    private final long[] keys;
    private final long[] ages;
    private final List<ImmutableMap<String, Object>> infos;
    private final List<ImmutableMap<String, PerAtomArray>> extraArrays;
    private final boolean[] knownVelocities;
    private final boolean[] knownEnergy;
    private final boolean[] knownForces;
    private final boolean[] knownStress;

    /** A ledger of {@code slots} empty slots. */
    SampleLedger(int slots) {
        ids = new String[slots];
        keys = new long[slots];
        ages = new long[slots];
        infos = new ArrayList<>(java.util.Collections.nCopies(slots, ImmutableMap.of()));
        extraArrays = new ArrayList<>(java.util.Collections.nCopies(slots, ImmutableMap.of()));
        knownVelocities = new boolean[slots];
        knownEnergy = new boolean[slots];
        knownForces = new boolean[slots];
        knownStress = new boolean[slots];
    }

    /**
     * Records {@code s} in {@code slot} under {@code id}, at age 0. {@code withComputed}: its
     * energy, forces and stress count as known when it carries them (a batch built from results);
     * otherwise only its velocities can be known (a refill: the forward pass computes the rest).
     */
    void admit(int slot, AtomicSystem s, String id, boolean withComputed) {
        ids[slot] = id;
        keys[slot] = keyOf(id);
        ages[slot] = 0;
        infos.set(slot, s.info());
        extraArrays.set(slot, s.arrays());
        knownVelocities[slot] = s.velocities().isPresent();
        knownForces[slot] = withComputed && s.forces().isPresent();
        knownEnergy[slot] = withComputed && s.energy().isPresent();
        knownStress[slot] = withComputed && s.stress().isPresent();
    }

    /** Empties {@code slot}. */
    void vacate(int slot) {
        ids[slot] = null;
        keys[slot] = 0;
        infos.set(slot, ImmutableMap.of());
        extraArrays.set(slot, ImmutableMap.of());
    }

    String id(int slot) {
        return ids[slot];
    }

    /** A copy of the ids per slot (null for an empty slot). */
    String[] ids() {
        return ids.clone();
    }

    /** The ids of occupied slots, in slot order. */
    List<String> occupiedIds() {
        List<String> out = new ArrayList<>();
        for (String id : ids) {
            if (id != null) {
                out.add(id);
            }
        }
        return out;
    }

    long[] keys() {
        return keys.clone();
    }

    long[] ages() {
        return ages.clone();
    }

    void advanceAges() {
        for (int i = 0; i < ages.length; i++) {
            ages[i]++;
        }
    }

    void restartAges(java.util.Collection<Integer> slots) {
        for (int slot : slots) {
            ages[slot] = 0;
        }
    }

    ImmutableMap<String, Object> info(int slot) {
        return infos.get(slot);
    }

    ImmutableMap<String, PerAtomArray> extraArrays(int slot) {
        return extraArrays.get(slot);
    }

    boolean knowsVelocities(int slot) {
        return knownVelocities[slot];
    }

    boolean knowsEnergy(int slot) {
        return knownEnergy[slot];
    }

    boolean knowsForces(int slot) {
        return knownForces[slot];
    }

    boolean knowsStress(int slot) {
        return knownStress[slot];
    }

    /** Whether any slot carries a known stress. */
    boolean anyStress() {
        for (boolean k : knownStress) {
            if (k) {
                return true;
            }
        }
        return false;
    }

    /** A whole field was set: its values are now known for every slot. */
    void fieldSet(String name) {
        switch (name) {
            case Batch.FORCES -> Arrays.fill(knownForces, true);
            case Batch.ENERGY -> Arrays.fill(knownEnergy, true);
            case Batch.STRESS -> Arrays.fill(knownStress, true);
            case Batch.VELOCITIES -> Arrays.fill(knownVelocities, true);
            default -> { }
        }
    }

    /** The stress is no longer known for any slot. */
    void forgetStress() {
        Arrays.fill(knownStress, false);
    }

    /** Stable 64-bit key of a sample id, for per-sample random streams (0 for none). */
    private static long keyOf(String id) {
        return id == null ? 0 : com.google.common.hash.Hashing.murmur3_128().hashString(id, StandardCharsets.UTF_8).asLong();
    }
}
