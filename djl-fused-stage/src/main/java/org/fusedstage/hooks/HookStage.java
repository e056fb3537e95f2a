package org.fusedstage.hooks;

/** The points of a dynamics step where hooks run, in step order (ON_CONVERGE last). */
public enum HookStage {
    /** Start of a step, before any update. */
    BEFORE_STEP,
    /** Before the masked pre-update (velocity-Verlet half kick + drift, FIRE move...). */
    BEFORE_PRE_UPDATE,
    /** After the masked pre-update. */
    AFTER_PRE_UPDATE,
    /** Before the model forward pass (in a fused step: registered on the fused stage only). */
    BEFORE_COMPUTE,
    /** After the model forward pass (forces of the new positions are in the batch). */
    AFTER_COMPUTE,
    /** Before the masked post-update (second half kick...). */
    BEFORE_POST_UPDATE,
    /** After the masked post-update. */
    AFTER_POST_UPDATE,
    /** End of the step, before convergence moves samples to their next status. */
    AFTER_STEP,
    /** After convergence: the context's mask holds the samples that converged in this step. */
    ON_CONVERGE
}
