package org.fusedstage.cli;

/**
 * Exit codes of the {@code fused-stage} command line (the README's table).
 */
final class ExitCode {
    /** Every sample was run and written to results.extxyz (some may say converged=false). */
    static final int OK = 0;
    /** An internal error: a bug, an I/O failure or a model that failed; the message says which. */
    static final int INTERNAL_ERROR = 1;
    /** A user error: a bad option, model, stage chain, input or output folder; nothing was computed. */
    static final int USER_ERROR = 2;
    /** The run finished, but some samples were left out: bad input (invalid.csv) or rejected/quarantined (rejects.extxyz). */
    static final int SAMPLES_LEFT_OUT = 3;

    private ExitCode() {}
}
