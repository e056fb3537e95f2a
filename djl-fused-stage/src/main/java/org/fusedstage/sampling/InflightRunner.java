package org.fusedstage.sampling;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inflight batching: builds a batch from a {@link SampleSource}, steps it with an
 * {@link InflightChain}, has what leaves written once, caps long runners, and refills freed slots
 * in place (admission: refilled samples wait one step as {@link Status#ADMITTING} for the forward
 * pass that gives them forces, then enter the first stage). Every {@code refillFrequency} steps it
 * reads the statuses back (the one device-to-host read of the loop). One runner per run.
 */
public final class InflightRunner {

    private static final Logger logger = LoggerFactory.getLogger(InflightRunner.class);

    private final InflightChain chain;
    private final SampleSource source;
    private final List<Integer> admitting = new ArrayList<>(); // slots refilled for the next step's forward pass

    /** A runner of {@code chain} over the samples of {@code source}. */
    public InflightRunner(InflightChain chain, SampleSource source) {
        this.chain = chain;
        this.source = source;
    }

    /**
     * Runs until the source is exhausted and every sample left the batch, or until the chain's
     * safety cap of steps; then records the report with {@link InflightChain#endRun}.
     */
    public void run() {
        List<SampleSource.Entry> first = source.first();
        if (first.isEmpty()) {
            return;
        }
        long[] slotEdges = new long[source.slotCapacity() + 1];
        try (NDManager manager = NDManager.newBaseManager(chain.device());
                Batch batch = Batch.builder(systemsOf(first)).optCapacity(source.slotCapacity(), source.atomCapacity())
                        .optDataType(chain.batchDataType()).optDevice(chain.device()).build(manager)) {
            for (int i = 0; i < first.size(); i++) {
                slotEdges[i] = first.get(i).edges();
            }
            chain.prepare(batch);
            long[] status = batch.status().toLongArray();
            chain.writeLeavers(batch, vacantLike(status), status);
            long started = chain.stepCount();
            long lastRefill = started;
            boolean fresh = true; // whether status was just read
            while (true) {
                if (chain.maxSteps() > 0 && chain.stepCount() - started >= chain.maxSteps()) {
                    chain.endRun(batch, status, chain.stepCount() - started, true);
                    return;
                }
                if (fresh) { // the per-sample cap acts on a status just read
                    status = capLongRunners(batch, status);
                }
                boolean anyRunning = chain.anyRunning(status);
                if (!anyRunning || chain.stepCount() - lastRefill >= chain.refillFrequency()) {
                    status = refill(batch, status, slotEdges, !anyRunning);
                    lastRefill = chain.stepCount();
                    anyRunning = chain.anyRunning(status);
                }
                if (!anyRunning) {
                    if (source.exhausted()) {
                        break;
                    }
                    continue;
                }
                chain.step(batch, fresh ? status : null);
                if (!admitting.isEmpty()) {
                    chain.admit(batch, admitting);
                    admitting.clear();
                }
                fresh = (chain.stepCount() - lastRefill) % chain.refillFrequency() == 0;
                if (!fresh) {
                    continue;
                }
                long[] previous = status;
                status = batch.status().toLongArray();
                chain.writeLeavers(batch, previous, status);
                if (chain.stepCount() % 1000 == 0) {
                    logger.info("step {}: {} samples running, {} waiting", chain.stepCount(),
                            Arrays.stream(status).filter(chain::isRunning).count(), source.remaining());
                }
            }
            chain.endRun(batch, status, chain.stepCount() - started, false);
        }
    }

    private static List<AtomicSystem> systemsOf(List<SampleSource.Entry> entries) {
        List<AtomicSystem> out = new ArrayList<>(entries.size());
        entries.forEach(e -> out.add(e.system()));
        return out;
    }

    private static long[] vacantLike(long[] status) {
        long[] out = new long[status.length];
        Arrays.fill(out, Status.VACANT);
        return out;
    }

    /** Samples past the per-sample cap leave with converged=false, capped=true. */
    private long[] capLongRunners(Batch batch, long[] status) {
        if (chain.maxStepsPerSample() <= 0) {
            return status;
        }
        long[] ages = batch.ages();
        List<Integer> capped = new ArrayList<>();
        for (int i = 0; i < status.length; i++) {
            if (ages[i] >= chain.maxStepsPerSample() && status[i] >= 0 && !chain.hasLeft(status[i])) {
                capped.add(i);
            }
        }
        if (capped.isEmpty()) {
            return status;
        }
        chain.writeCapped(batch, capped, status);
        long[] updated = status.clone();
        for (int i : capped) {
            updated[i] = Status.QUARANTINED; // out of the dynamics; its slot is refilled like a graduate
        }
        batch.setStatus(updated);
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
            boolean left = chain.hasLeft(status[i]);
            if (left || status[i] == Status.VACANT) {
                free.add(i);
                if (left) {
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
        // then enter the first stage: no forward pass of their own (see InflightChain.admit).
        batch.replace(emptied, assignments, Status.ADMITTING);
        admitting.addAll(assignments.keySet());
        return batch.status().toLongArray();
    }
}
