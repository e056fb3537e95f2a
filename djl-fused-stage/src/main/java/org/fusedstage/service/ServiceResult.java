package org.fusedstage.service;

import com.google.common.collect.ImmutableMap;
import java.time.Duration;
import java.util.List;
import org.fusedstage.data.AtomicSystem;

/**
 * What {@link FusedStageService} returns for one structure that left the chain.
 *
 * @param system the final structure: positions (A), velocities (A/fs), energy (eV), forces (eV/A)
 *     and info {@code steps_stage<k>}, {@code converged_stage<k>}, {@code converged}
 * @param stepsPerStage steps taken in each stage, by status code
 * @param convergedPerStage whether each stage's criteria held when the sample left it, by status code
 * @param converged whether every stage converged
 * @param capped whether it left because it reached the service's per-sample step cap
 * @param queued time from submit until it entered the batch
 * @param running time from entering the batch until it left
 */
public record ServiceResult(AtomicSystem system, ImmutableMap<Integer, Long> stepsPerStage,
        ImmutableMap<Integer, Boolean> convergedPerStage, boolean converged, boolean capped, Duration queued,
        Duration running) {

    /**
     * The result of a sample record written by a {@link org.fusedstage.dynamics.FusedStage} (info
     * {@code steps_stage<k>}, {@code converged_stage<k>}, {@code converged}, {@code capped}).
     *
     * @param record the finished sample
     * @param stageCodes the chain's status codes, in order
     * @param queued time from submit until it entered the batch
     * @param running time in the batch
     */
    public static ServiceResult of(AtomicSystem record, List<Integer> stageCodes, Duration queued, Duration running) {
        ImmutableMap.Builder<Integer, Long> steps = ImmutableMap.builder();
        ImmutableMap.Builder<Integer, Boolean> converged = ImmutableMap.builder();
        for (int code : stageCodes) {
            steps.put(code, ((Number) record.info().getOrDefault("steps_stage" + code, 0L)).longValue());
            converged.put(code, Boolean.TRUE.equals(record.info().get("converged_stage" + code)));
        }
        return new ServiceResult(record, steps.build(), converged.build(), Boolean.TRUE.equals(record.info().get("converged")),
                Boolean.TRUE.equals(record.info().get("capped")), queued, running);
    }

    /** The sample id (the request's, or the one the service gave it). */
    public String sampleId() {
        return system.sampleId().orElseThrow();
    }

    /** Final potential energy, eV. */
    public double energy() {
        return system.energy().orElseThrow();
    }

    /** Final forces, eV/A, flattened [N*3]. */
    public double[] forces() {
        return system.forces().orElseThrow();
    }

    /** Time from submit to result. */
    public Duration latency() {
        return queued.plus(running);
    }
}
