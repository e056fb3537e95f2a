package org.fusedstage.dynamics;

/**
 * The built-in stage kinds that have a compiled form, with the code the exported step graph
 * ({@code model-zoo/src/main/python/fused_step.py}) uses for each. {@code StageParametersTest}
 * checks that the graph's source names the same codes.
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
}
