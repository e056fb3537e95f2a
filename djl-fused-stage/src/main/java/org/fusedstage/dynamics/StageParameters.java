package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stage's settings as the compiled step graph reads them: one row of its stage table. Typed
 * here, written once per kind by the stage itself ({@link Dynamics#stepGraphParameters()}); the
 * column names are {@link #COLUMNS}, the graph's {@code table[...]} keys. Settings a kind does not
 * use are {@link #UNUSED}. Units: dt and dt_max fs, temperature K, friction 1/fs, max_step A,
 * step_size A^2/eV.
 *
 * @param kind the stage kind
 * @param dt time step, fs
 * @param temperature Langevin bath temperature, K
 * @param friction Langevin friction, 1/fs
 * @param damping DemoDynamics velocity damping per step
 * @param mbTemperature temperature of the Maxwell-Boltzmann velocities drawn on entry, K (UNUSED: none)
 * @param maxStep largest move of an atom per step, A
 * @param stepSize steepest-descent step size, A^2/eV
 * @param dtMax FIRE's largest time step, fs
 * @param nMin FIRE's steps before the time step may grow
 * @param fInc FIRE's time-step growth factor
 * @param fDec FIRE's time-step shrink factor
 * @param alphaStart FIRE's initial mixing
 * @param fAlpha FIRE's mixing decay
 */
public record StageParameters(StageKind kind, double dt, double temperature, double friction, double damping,
        double mbTemperature, double maxStep, double stepSize, double dtMax, double nMin, double fInc, double fDec,
        double alphaStart, double fAlpha) {

    /** The value of a setting the kind does not use (the graph reads it as "not set"). */
    public static final double UNUSED = -1;

    /** The stage-table columns these parameters fill, in record order after the kind. */
    public static final List<String> COLUMNS = List.of("kind", "dt", "temperature", "friction", "damping", "mb_temperature",
            "max_step", "step_size", "dt_max", "n_min", "f_inc", "f_dec", "alpha_start", "f_alpha");

    public StageParameters {
        Preconditions.checkNotNull(kind, "kind");
    }

    /** DemoDynamics: damped MD. */
    public static StageParameters demo(double dt, double damping) {
        return new StageParameters(StageKind.DEMO, dt, UNUSED, UNUSED, damping, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED,
                UNUSED, UNUSED);
    }

    /** Velocity Verlet; {@code mbTemperature} UNUSED keeps the velocities given. */
    public static StageParameters velocityVerlet(double dt, double mbTemperature) {
        return new StageParameters(StageKind.VELOCITY_VERLET, dt, UNUSED, UNUSED, UNUSED, mbTemperature, UNUSED, UNUSED, UNUSED,
                UNUSED, UNUSED, UNUSED, UNUSED, UNUSED);
    }

    /** Langevin (BAOAB); {@code mbTemperature} UNUSED keeps the velocities given. */
    public static StageParameters langevin(double dt, double temperature, double friction, double mbTemperature) {
        return new StageParameters(StageKind.LANGEVIN, dt, temperature, friction, UNUSED, mbTemperature, UNUSED, UNUSED, UNUSED,
                UNUSED, UNUSED, UNUSED, UNUSED, UNUSED);
    }

    /** FIRE (ASE's variant). */
    public static StageParameters fire(double dt, double dtMax, int nMin, double fInc, double fDec, double alphaStart,
            double fAlpha, double maxStep) {
        return new StageParameters(StageKind.FIRE, dt, UNUSED, UNUSED, UNUSED, UNUSED, maxStep, UNUSED, dtMax, nMin, fInc, fDec,
                alphaStart, fAlpha);
    }

    /** Steepest descent. */
    public static StageParameters steepestDescent(double dt, double stepSize, double maxStep) {
        return new StageParameters(StageKind.STEEPEST_DESCENT, dt, UNUSED, UNUSED, UNUSED, UNUSED, maxStep, stepSize, UNUSED,
                UNUSED, UNUSED, UNUSED, UNUSED, UNUSED);
    }

    /** Whether the stage draws Maxwell-Boltzmann velocities for entering samples. */
    public boolean drawsVelocities() {
        return mbTemperature >= 0;
    }

    /** The table row: {@link #COLUMNS} to values (the kind as its code). */
    public Map<String, Double> columns() {
        double[] v = {kind.code(), dt, temperature, friction, damping, mbTemperature, maxStep, stepSize, dtMax, nMin, fInc, fDec,
            alphaStart, fAlpha};
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < v.length; i++) {
            out.put(COLUMNS.get(i), v[i]);
        }
        return out;
    }
}
