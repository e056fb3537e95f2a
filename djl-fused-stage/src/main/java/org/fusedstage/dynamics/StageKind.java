package org.fusedstage.dynamics;

import org.fusedstage.program.StageProgram;

/**
 * The built-in stage kinds that have a compiled form: the code the stage table gives each
 * ({@code table["kind"]} in the step graph) and the kind's {@link #program() program}, from which
 * both the eager step and the graph's {@code stage_programs.py} take its arithmetic.
 */
public enum StageKind {
    DEMO(0),
    VELOCITY_VERLET(1),
    LANGEVIN(2),
    FIRE(3),
    STEEPEST_DESCENT(4);

    private final int code;

    StageKind(int code) {
        this.code = code;
    }

    /** The kind's code in the step graph's stage table. */
    public int code() {
        return code;
    }

    /** The kind's arithmetic: what its eager steps evaluate and what the step graph runs. */
    public StageProgram program() {
        return switch (this) {
            case DEMO -> DemoDynamics.PROGRAM;
            case VELOCITY_VERLET -> VelocityVerlet.PROGRAM;
            case LANGEVIN -> Langevin.PROGRAM;
            case FIRE -> org.fusedstage.dynamics.FIRE.PROGRAM;
            case STEEPEST_DESCENT -> SteepestDescent.PROGRAM;
        };
    }
}
