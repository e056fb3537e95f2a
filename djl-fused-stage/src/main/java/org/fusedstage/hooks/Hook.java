package org.fusedstage.hooks;

/**
 * Code that runs at one {@link HookStage} of every {@link #frequency()}-th step (steps count from
 * 1: a hook of frequency 100 runs at steps 100, 200, ...).
 */
public interface Hook {

    /** Where in the step the hook runs. */
    HookStage stage();

    /** Runs every this many steps; default 1 (every step). */
    default int frequency() {
        return 1;
    }

    /** Runs the hook. Arrays it creates are freed after the step unless it stores them in the batch. */
    void apply(HookContext context);
}
