package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Status;
import org.fusedstage.sampling.BatchLimits;
import org.fusedstage.sampling.SampleSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inflight mode ({@link FusedStage#run(SampleSource)}): builds a batch from a sample source, steps
 * it with its fused stage, writes what leaves once ({@link GraduationWriter}), caps long runners,
 * and refills freed slots in place; refilled samples wait one step as {@link Status#ADMITTING}
 * and then enter the first stage. One runner per run.
 */
final class InflightRunner {

    private static final Logger logger = LoggerFactory.getLogger(FusedStage.class);

    private final FusedStage fused;
    private final SampleSource source;
    private final GraduationWriter graduation;
    private boolean admitting; // a refill put samples in that wait for the next step's forward pass
    private FusedStage.RunReport report;

    InflightRunner(FusedStage fused, SampleSource source) {
        this.fused = fused;
        this.source = source;
        this.graduation = fused.graduation();
    }

    /** How the run ended (null until it did). */
    FusedStage.RunReport report() {
        return report;
    }

    Batch run() {
        int slots = source.slotCapacity();
        int atoms = source.atomCapacity();
        List<SampleSource.Entry> first = source.first();
        if (first.isEmpty()) {
            return null;
        }
        long[] slotEdges = new long[slots + 1];
        try (NDManager manager = NDManager.newBaseManager(fused.potential().device());
                Batch batch = Batch.builder(systemsOf(first)).optCapacity(slots, atoms).optDataType(fused.batchDataType())
                        .optDevice(fused.potential().device()).build(manager)) {
            for (int i = 0; i < first.size(); i++) {
                slotEdges[i] = first.get(i).edges();
            }
            fused.prepare(batch);
            long[] status = batch.status().toLongArray();
            fused.writeGraduates(batch, vacantLike(status), status);
            long lastRefill = fused.stepCount();
            long started = fused.stepCount();
            boolean fresh = true;
            while (true) {
                if (fused.maxSteps() > 0 && fused.stepCount() - started >= fused.maxSteps()) {
                    report = graduation.report(batch, status, fused.stepCount() - started, true);
                    logger.warn("FusedStage stopped at its safety cap of {} steps: {}", fused.maxSteps(), report);
                    return null;
                }
                if (fresh) { // the per-sample cap acts on a status just read
                    status = capLongRunners(batch, status);
                }
                boolean anyActive = fused.anyActive(status);
                if (!anyActive || fused.stepCount() - lastRefill >= fused.refillFrequency()) {
                    status = refill(batch, status, slotEdges, !anyActive);
                    lastRefill = fused.stepCount();
                    anyActive = fused.anyActive(status);
                }
                if (!anyActive) {
                    if (source.exhausted()) {
                        break;
                    }
                    continue;
                }
                if (fresh) {
                    fused.hintOccupied(status);
                }
                fused.step(batch).close();
                if (admitting) {
                    admitWaiting(batch);
                    admitting = false;
                }
                fresh = (fused.stepCount() - lastRefill) % fused.refillFrequency() == 0;
                if (!fresh) {
                    continue; // read the status (the one device-to-host read) every refillFrequency steps
                }
                long[] previous = status;
                status = batch.status().toLongArray();
                fused.writeGraduates(batch, previous, status);
                if (fused.stepCount() % 1000 == 0) {
                    logger.info("FusedStage step {}: {}, {} samples waiting", fused.stepCount(),
                            GraduationWriter.occupancy(status),
                            source.remaining());
                }
            }
            report = graduation.report(batch, status, fused.stepCount(), false);
        }
        return null;
    }

    private static List<AtomicSystem> systemsOf(List<SampleSource.Entry> entries) {
        List<AtomicSystem> out = new ArrayList<>(entries.size());
        entries.forEach(e -> out.add(e.system()));
        return out;
    }

    private static long[] vacantLike(long[] status) {
        long[] out = new long[status.length];
        java.util.Arrays.fill(out, Status.VACANT);
        return out;
    }

    /** Samples past the per-sample cap leave with converged=false, capped=true. */
    private long[] capLongRunners(Batch batch, long[] status) {
        if (fused.maxStepsPerSample() <= 0) {
            return status;
        }
        long[] ages = batch.ages();
        List<Integer> capped = new ArrayList<>();
        for (int i = 0; i < status.length; i++) {
            if (ages[i] >= fused.maxStepsPerSample() && status[i] >= 0 && status[i] != fused.exitStatus()) {
                capped.add(i);
            }
        }
        if (capped.isEmpty()) {
            return status;
        }
        graduation.writeCapped(batch, capped, status);
        long[] updated = status.clone();
        for (int i : capped) {
            updated[i] = Status.QUARANTINED; // out of the dynamics; its slot is refilled like a graduate
        }
        FusedStage.setStatus(batch, updated);
        return updated;
    }

    /**
     * Replaces finished (and evicted) samples by new ones from the source; returns the new status
     * array. {@code idle}: no sample is running, so a live source may block for the next one.
     */
    private long[] refill(Batch batch, long[] status, long[] slotEdges, boolean idle) {
        int slots = batch.poolSlot();
        Set<String> evicted = source.evictions();
        List<String> ids = evicted.isEmpty() ? List.of() : batch.sampleIds();
        List<Integer> free = new ArrayList<>();
        List<Integer> vacate = new ArrayList<>();
        long activeAtoms = 0;
        long activeEdges = 0;
        int active = 0;
        for (int i = 0; i < slots; i++) {
            boolean finished = status[i] == fused.exitStatus() || status[i] == Status.QUARANTINED || status[i] == Status.REJECTED;
            if (finished || status[i] == Status.VACANT) {
                free.add(i);
                if (finished) {
                    vacate.add(i);
                }
            } else if (!evicted.isEmpty() && evicted.contains(ids.get(i))) {
                free.add(i);
                vacate.add(i);
                logger.debug("sample {} evicted from slot {}", ids.get(i), i);
            } else {
                activeAtoms += batch.atomCount(i);
                activeEdges += slotEdges[i];
                active++;
            }
        }
        idle &= active == 0;
        BatchLimits limits = source.limits();
        int freeCount = Math.min(free.size(), limits.samplesLeft(active));
        long freeAtoms = limits.atomsLeft(activeAtoms);
        long freeEdges = limits.edgesLeft(activeEdges);
        List<SampleSource.Entry> picked = freeCount > 0 ? source.next(freeAtoms, freeEdges, freeCount, idle) : List.of();
        if (picked.isEmpty() && vacate.isEmpty()) {
            return status;
        }
        Map<Integer, AtomicSystem> assignments = new LinkedHashMap<>();
        for (int k = 0; k < picked.size(); k++) {
            int slot = free.get(k);
            assignments.put(slot, picked.get(k).system());
            slotEdges[slot] = picked.get(k).edges();
        }
        List<Integer> emptied = new ArrayList<>(vacate);
        emptied.removeAll(assignments.keySet());
        for (int slot : emptied) {
            slotEdges[slot] = 0;
        }
        // New samples wait for the next batch step's forward pass (no stage updates them in it),
        // then enter the first stage: no forward pass of their own (see admitWaiting).
        batch.replace(emptied, assignments, Status.ADMITTING);
        admitting |= !picked.isEmpty();
        return batch.status().toLongArray();
    }

    /**
     * After the step whose forward pass gave the refilled samples their forces: they enter the
     * first stage (state reset, velocities drawn where the stage asks), restart their age so their
     * random streams start where a sample loaded in a fresh batch starts, and get the convergence
     * check that precedes a first step. A sample a hook quarantined in that step stays out.
     */
    private void admitWaiting(Batch batch) {
        long[] status = batch.status().toLongArray();
        boolean[] fresh = new boolean[status.length];
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < status.length; i++) {
            if (status[i] == Status.ADMITTING) {
                fresh[i] = true;
                slots.add(i);
                status[i] = fused.entryStatus();
            }
        }
        if (slots.isEmpty()) {
            return;
        }
        batch.restartAges(slots);
        try (NDScope scope = new NDScope()) {
            FusedStage.setStatus(batch, status);
            NDArray isNew = batch.getManager().create(fresh);
            NDArray before = batch.status().duplicate();
            List<StageMask> masks = new ArrayList<>();
            for (FusedStage.SubStage s : fused.subStages()) {
                s.dynamics().initialize(batch);
                StageMask entering = new StageMask(batch, batch.status().eq(s.code()).logicalAnd(isNew));
                s.dynamics().enter(batch, entering);
                masks.add(entering);
            }
            fused.migrateFinished(batch, before, masks);
        }
    }

}
