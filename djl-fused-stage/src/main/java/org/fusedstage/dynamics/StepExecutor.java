package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import org.fusedstage.data.Batch;

/**
 * Runs one fused step of a chain over a whole batch: the eager form ({@link EagerStep}, the stage
 * programs evaluated phase by phase around the model's forward pass) or the compiled form
 * ({@link GraphStep}, one call of the exported step graph). Both dispatch the chain's hooks
 * through {@link HookDispatch}.
 */
interface StepExecutor extends AutoCloseable {

    /**
     * One step of every sample of {@code batch}.
     *
     * @param step the number of this step (hooks fire by it)
     * @param occupied the status codes known to be in the batch, or {@link Occupancy#UNKNOWN}
     * @return [B] boolean: the samples that reached the exit status in this step, made on first
     *     use (in the caller's scope, before anything changes the batch again): a run loop, which
     *     reads the statuses itself, never asks, and a new array cost 60 us of a 2000-atom step
     */
    java.util.function.Supplier<NDArray> step(Batch batch, long step, Occupancy occupied);

    /** Releases what the executor loaded (the compiled step's module); idempotent. */
    @Override
    void close();
}
