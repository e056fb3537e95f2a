package org.fusedstage.hooks;

import ai.djl.ndarray.NDArray;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.Dynamics;

/**
 * What a hook sees: the batch, the dynamics it is registered on (null for hooks of a fused stage
 * itself), the step number (from 1) and the samples concerned.
 *
 * @param batch the batch being simulated
 * @param dynamics the dynamics the hook is registered on, or null for a fused stage's own hooks
 * @param step the step number, counted from 1
 * @param stage where in the step the hook runs
 * @param mask [B] boolean: the samples this dynamics updates in this step (for ON_CONVERGE, those
 *     that converged in it); null means the whole batch
 */
public record HookContext(Batch batch, Dynamics dynamics, long step, HookStage stage, NDArray mask) {}
