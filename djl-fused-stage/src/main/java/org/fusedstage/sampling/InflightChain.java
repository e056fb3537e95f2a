package org.fusedstage.sampling;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.util.List;
import org.fusedstage.data.Batch;

/**
 * What {@link InflightRunner} drives: a chain of stages that steps a batch and writes what leaves
 * it ({@code FusedStage} is the one implementation). Defined here so that sampling, which the
 * dynamics use, does not depend on them.
 */
public interface InflightChain {

    /** Device of the batches the chain runs on. */
    Device device();

    /** Float type of the batches built in inflight mode. */
    DataType batchDataType();

    /** Steps taken so far (over all runs). */
    long stepCount();

    /** Safety cap on the steps of one run; 0 = none. */
    long maxSteps();

    /** Steps between two reads of the status (and refills). */
    int refillFrequency();

    /** Steps after which a running sample is taken out, flagged capped; 0 = no cap. */
    long maxStepsPerSample();

    /** Whether a sample at {@code status} still takes part in the dynamics (in a stage or being admitted). */
    boolean isRunning(long status);

    /** Whether any of {@code status} is a sample still in the dynamics ({@link #isRunning}). */
    default boolean anyRunning(long[] status) {
        for (long s : status) {
            if (isRunning(s)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a sample at {@code status} has left the chain for good (finished, quarantined, rejected): its slot is free. */
    boolean hasLeft(long status);

    /** Creates stage state, primes forces and applies the convergence check that precedes a first step. */
    void prepare(Batch batch);

    /**
     * One fused step.
     *
     * @param status the statuses just read back from the batch, or null when they are not known
     */
    void step(Batch batch, long[] status);

    /** Writes, once each, the samples that left the chain since {@code previous} (finished or rejected). */
    void writeLeavers(Batch batch, long[] previous, long[] status);

    /** Writes samples taken out at the per-sample cap, flagged capped and not converged. */
    void writeCapped(Batch batch, List<Integer> slots, long[] status);

    /**
     * Admits refilled samples that waited one step as {@code Status.ADMITTING}: they enter the
     * first stage with fresh state and a restarted age, and get the check that precedes a first step.
     */
    void admit(Batch batch, List<Integer> slots);

    /** Records how a run ended (the report of {@code FusedStage.lastReport()}). */
    void endRun(Batch batch, long[] status, long steps, boolean capped);
}
