package org.fusedstage.hooks;

import ai.djl.ndarray.NDArray;
import java.util.OptionalInt;
import org.fusedstage.data.Batch;

/**
 * What a hook sees: the batch, the status code of the stage it is registered on (empty for hooks
 * of a fused stage itself), the step number (from 1) and the samples concerned.
 *
 * @param batch the batch being simulated
 * @param stageCode the status code of the stage the hook is registered on; empty for a fused stage's own hooks
 * @param step the step number, counted from 1
 * @param stage where in the step the hook runs
 * @param mask [B] boolean: the samples this stage updates in this step (for ON_CONVERGE, those
 *     that converged in it); null means the whole batch
 */
public record HookContext(Batch batch, OptionalInt stageCode, long step, HookStage stage, NDArray mask) {}
