package org.fusedstage.dynamics;

import ai.djl.ndarray.NDManager;
import com.google.common.collect.ImmutableList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Status;
import org.fusedstage.model.Potential;
import org.fusedstage.sinks.DataSink;

/**
 * What leaves a batch, written once: graduates to the sinks, rejects to the reject sinks, capped
 * samples flagged as such, each with its per-stage steps and convergence; and the report of how a
 * run ended. Used by the fixed-batch run and by the inflight runner alike.
 */
final class GraduationWriter {

    private final List<FusedStage.SubStage> subStages;
    private final int exitStatus;
    private final ImmutableList<DataSink> sinks;
    private final ImmutableList<DataSink> rejectSinks;
    private final Potential finalStress; // computes the stress of written samples; null: they keep what the batch has

    GraduationWriter(List<FusedStage.SubStage> subStages, int exitStatus, ImmutableList<DataSink> sinks,
            ImmutableList<DataSink> rejectSinks, Potential finalStress) {
        this.subStages = subStages;
        this.exitStatus = exitStatus;
        this.sinks = sinks;
        this.rejectSinks = rejectSinks;
        this.finalStress = finalStress;
    }

    /** Samples past the per-sample step cap: to the sinks with converged=false, capped=true. */
    void writeCapped(Batch batch, List<Integer> slots, long[] status) {
        writeToSinks(sinks, records(batch, slots, status, Map.of("converged", Boolean.FALSE, "capped", Boolean.TRUE)));
    }

    /**
     * Writes the samples that reached the exit status since {@code previous} to the sinks, and those
     * that reached {@link Status#REJECTED} to the reject sinks, once each.
     */
    void write(Batch batch, long[] previous, long[] status) {
        List<Integer> graduated = new ArrayList<>();
        List<Integer> rejected = new ArrayList<>();
        // A slot counts once: it graduates (or is rejected) when it reaches that status from another.
        for (int i = 0; i < status.length; i++) {
            if (status[i] == exitStatus && previous[i] != exitStatus) {
                graduated.add(i);
            } else if (status[i] == Status.REJECTED && previous[i] != Status.REJECTED) {
                rejected.add(i);
            }
        }
        if (graduated.isEmpty() && rejected.isEmpty()) {
            return;
        }
        if (!graduated.isEmpty() && !sinks.isEmpty()) {
            writeToSinks(sinks, records(batch, graduated, status, Map.of()));
        }
        if (!rejected.isEmpty() && !rejectSinks.isEmpty()) {
            writeToSinks(rejectSinks, records(batch, rejected, status, Map.of()));
        }
    }

    /**
     * The records of finished samples: their state with {@code status}, {@code steps_stage<k>},
     * {@code converged_stage<k>} (whether it completed stage k), {@code converged} (whether it
     * completed every stage), a {@code reject_reason} for rejected samples, and {@code extra}
     * (which may override {@code converged}).
     */
    List<AtomicSystem> records(Batch batch, List<Integer> slots, long[] status, Map<String, Object> extra) {
        List<AtomicSystem> systems = withFinalStress(batch, batch.systems(slots));
        Map<String, long[]> steps = new LinkedHashMap<>();
        Map<String, long[]> converged = new LinkedHashMap<>();
        for (FusedStage.SubStage s : subStages) {
            steps.put("steps_stage" + s.code(), batch.get(s.dynamics().stateName("steps")).toLongArray());
            converged.put("converged_stage" + s.code(), batch.get(s.dynamics().stateName(Dynamics.CONVERGED)).toLongArray());
        }
        List<AtomicSystem> out = new ArrayList<>(slots.size());
        for (int k = 0; k < slots.size(); k++) {
            int i = slots.get(k);
            AtomicSystem.Builder sb = systems.get(k).toBuilder().optInfo("status", status[i]);
            steps.forEach((name, values) -> sb.optInfo(name, values[i]));
            boolean all = true;
            String failed = null;
            for (FusedStage.SubStage s : subStages) {
                boolean done = converged.get("converged_stage" + s.code())[i] != 0;
                sb.optInfo("converged_stage" + s.code(), done);
                all &= done;
                long taken = steps.get("steps_stage" + s.code())[i];
                if (!done && taken > 0 && failed == null) {
                    failed = "stage " + s.code() + " (" + s.dynamics().getClass().getSimpleName() + ") did not converge in "
                            + taken + " steps";
                }
            }
            sb.optInfo("converged", all);
            if (status[i] == Status.REJECTED) {
                sb.optInfo("reject_reason", failed != null ? failed : "did not converge");
            }
            extra.forEach(sb::optInfo);
            out.add(sb.build());
        }
        return out;
    }

    /**
     * The systems with the stress of their structures, from one forward pass over them alone (a
     * sample's results do not depend on the batch it runs in); unchanged without final stress, and
     * for structures without a stress (not periodic in all three directions).
     */
    private List<AtomicSystem> withFinalStress(Batch batch, List<AtomicSystem> systems) {
        if (finalStress == null || systems.isEmpty()) {
            return systems;
        }
        try (NDManager manager = batch.getManager().newSubManager();
                Batch finished = Batch.builder(systems).optDataType(batch.getDataType()).build(manager)) {
            finalStress.computeWithStress(finished);
            List<AtomicSystem> computed = finished.toSystems();
            List<AtomicSystem> out = new ArrayList<>(systems.size());
            for (int k = 0; k < systems.size(); k++) {
                // A structure not periodic in all three directions has no stress (Batch.systems):
                // it leaves without one, as it would with the stress in every step.
                AtomicSystem.Builder b = systems.get(k).toBuilder();
                computed.get(k).stress().ifPresent(b::optStress);
                out.add(b.build());
            }
            return out;
        }
    }

    static void writeToSinks(List<DataSink> targets, List<AtomicSystem> out) {
        for (DataSink sink : targets) {
            try {
                sink.write(out);
            } catch (IOException e) {
                throw new UncheckedIOException("writing finished samples to " + sink, e);
            }
        }
    }

    static String occupancy(long[] status) {
        Map<Long, Integer> counts = new java.util.TreeMap<>();
        for (long s : status) {
            counts.merge(s, 1, Integer::sum);
        }
        return "samples per status " + counts;
    }

    FusedStage.RunReport report(Batch batch, long[] status, long steps, boolean capped) {
        List<String> ids = batch.sampleIds();
        List<String> unfinished = new ArrayList<>();
        List<String> quarantined = new ArrayList<>();
        List<String> rejected = new ArrayList<>();
        for (int i = 0; i < status.length; i++) {
            if (status[i] == Status.QUARANTINED) {
                quarantined.add(ids.get(i));
            } else if (status[i] == Status.REJECTED) {
                rejected.add(ids.get(i));
            } else if (status[i] != exitStatus && status[i] != Status.VACANT) {
                unfinished.add(ids.get(i) + " (status " + status[i] + ")");
            }
        }
        return new FusedStage.RunReport(steps, capped, unfinished, quarantined, rejected);
    }

}
