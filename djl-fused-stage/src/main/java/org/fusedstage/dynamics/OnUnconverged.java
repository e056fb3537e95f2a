package org.fusedstage.dynamics;

/**
 * What happens to a sample that leaves a stage because its step budget ran out before the
 * stage's convergence criteria held (for example a FIRE relaxation capped at {@code max-steps}).
 * Whatever the choice, its results say so: {@code converged_stage<k>=false} and
 * {@code converged=false}.
 */
public enum OnUnconverged {
    /** It goes on to the next stage, as a converged sample would (LAMMPS's behaviour; the default). */
    CONTINUE,
    /** It leaves the chain at once and goes to the sinks with its results so far (later stages do not run). */
    STOP,
    /** It leaves the chain at once and goes to the reject sinks, not to the results. */
    REJECT
}
