package org.fusedstage.dynamics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.program.Expr;
import org.fusedstage.program.Expr.Type;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Phase;

/**
 * What every stage does besides its own arithmetic, written once as a {@link StageProgram} that
 * the eager step evaluates and the step graph runs ({@code bookkeeping_*} in
 * {@code stage_programs.py}): its per-sample step counter, its convergence criteria (fmax, energy
 * change, and on eager steps any other criteria of its {@link ConvergenceHook}) and step budget,
 * the record of whether a leaving sample completed the stage, the move of finished samples to
 * their next status, and the reset of this state for entering samples.
 *
 * <p>Its parameters are the chain's columns of the stage table ({@link #COLUMNS}), given by
 * {@link #parameters}.
 */
public final class StageBookkeeping {

    /** Steps a sample has spent in the stage. */
    static final Expr STEPS = Expr.sampleState("steps", Type.INTEGER);

    /** 1 once a sample completed the stage (see {@link Dynamics#CONVERGED}). */
    static final Expr CONVERGED = Expr.sampleState(Dynamics.CONVERGED, Type.INTEGER);

    /** The energy at the sample's previous step in the stage, eV (infinite before its first). */
    static final Expr PREVIOUS_ENERGY = Expr.sampleState("previous_energy", Type.REAL);

    /** The criterion {@link Criterion#FMAX}: the largest force on an atom of the sample, eV/A. */
    static final Expr FMAX = Expr.maxNorm(Expr.FORCES);

    /**
     * The criterion {@link Criterion#ENERGY_CHANGE}: |E - E_previous| in eV; infinite at a
     * sample's first step in the stage (no previous energy), so it cannot hold there.
     */
    static final Expr ENERGY_CHANGE = energyChange();

    /** The chain's columns of the stage table, filled by {@link #parameters}. */
    public static final List<String> COLUMNS = List.of("code", "target", "unconverged_target", "budget", "fmax", "energy_change",
            "criteria");

    private static final Expr HAS_FMAX = Expr.parameter("fmax").atLeast(0);
    private static final Expr HAS_ENERGY_CHANGE = Expr.parameter("energy_change").atLeast(0);
    private static final Expr HAS_CRITERIA = Expr.parameter("criteria").greaterThan(0);
    private static final Expr HAS_BUDGET = Expr.parameter("budget").greaterThan(0);

    /** Per sample: whether the stage's criteria all hold (false for a stage without criteria). */
    static final Expr CRITERIA_MET = criteriaMet();

    /** The energy-change criterion's advance alone: what {@link ConvergenceHook#evaluate} writes. */
    private static final StageProgram CRITERIA_ADVANCE = StageProgram.builder().state(PREVIOUS_ENERGY)
            .assignIf(Phase.CONVERGE, HAS_ENERGY_CHANGE, PREVIOUS_ENERGY, Expr.ENERGY).build();

    static final StageProgram PROGRAM = buildProgram();

    private StageBookkeeping() {}

    /** The program: POST_UPDATE counts steps, CONVERGE applies criteria and budgets, ENTER resets. */
    public static StageProgram program() {
        return PROGRAM;
    }

    private static Expr energyChange() {
        Expr change = Expr.ENERGY.minus(PREVIOUS_ENERGY).abs();
        return Expr.where(change.isNaN(), Expr.constant(Double.POSITIVE_INFINITY), change);
    }

    private static Expr criteriaMet() {
        Expr owned = Expr.SAMPLES;
        Expr met = Expr.choose(HAS_FMAX, owned.and(FMAX.atMost(Expr.parameter("fmax"))), owned);
        met = Expr.choose(HAS_ENERGY_CHANGE, met.and(ENERGY_CHANGE.atMost(Expr.parameter("energy_change"))), met);
        return Expr.choose(HAS_CRITERIA, met.and(Expr.OTHER_CRITERIA), owned.and(owned.not()));
    }

    private static StageProgram buildProgram() {
        Expr met = CRITERIA_MET;
        Expr spent = STEPS.atLeast(Expr.parameter("budget")).and(Expr.SAMPLES);
        Expr leaving = Expr.choose(HAS_BUDGET, met.or(spent), met);
        // A budget-only stage (MD) completes by its budget; with criteria, running out of steps is
        // leaving without completing.
        Expr completed = Expr.choose(HAS_BUDGET, Expr.choose(HAS_CRITERIA, met, spent), met);
        Expr status = Expr.where(completed, Expr.parameter("target"),
                Expr.where(leaving, Expr.parameter("unconverged_target"), Expr.STATUS));
        return StageProgram.builder()
                .state(STEPS).state(CONVERGED).state(PREVIOUS_ENERGY)
                .assign(Phase.POST_UPDATE, STEPS, STEPS.plus(Expr.integer(1)))
                .assignIf(Phase.CONVERGE, HAS_ENERGY_CHANGE, PREVIOUS_ENERGY, Expr.ENERGY)
                .assign(Phase.CONVERGE, CONVERGED, Expr.where(leaving,
                        Expr.where(completed, Expr.integer(1), Expr.integer(0)), CONVERGED))
                .assign(Phase.CONVERGE, Expr.STATUS, status)
                .assign(Phase.ENTER, STEPS, Expr.integer(0))
                .assign(Phase.ENTER, CONVERGED, Expr.integer(0))
                .assign(Phase.ENTER, PREVIOUS_ENERGY, Expr.constant(Double.POSITIVE_INFINITY))
                .build();
    }

    /** {@link ConvergenceHook#evaluate}: the criteria of {@code hook} for {@code owner}'s samples in {@code mask}. */
    static ai.djl.ndarray.NDArray evaluateCriteria(org.fusedstage.data.Batch batch, Dynamics owner, StageMask mask,
            ConvergenceHook hook) {
        Map<String, Double> row = parameters(owner.statusCode(), owner.targetStatus(), owner.targetStatus(), 0, hook);
        ai.djl.ndarray.NDArray met = ProgramEvaluator.evaluate(CRITERIA_MET, owner, batch, mask, row, hook);
        ProgramEvaluator.run(CRITERIA_ADVANCE, Phase.CONVERGE, owner, batch, mask, row, hook);
        return met;
    }

    /**
     * A stage's chain columns of the stage table ({@link #COLUMNS}): its status code, where its
     * finished samples go (completed, or out of steps first), its step budget (0: none) and its
     * criteria (thresholds in eV/A and eV; {@link StageParameters#UNUSED} where not given;
     * {@code criteria} 1 when it has any).
     */
    public static Map<String, Double> parameters(int code, int target, int unconvergedTarget, long budget, ConvergenceHook hook) {
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("code", (double) code);
        row.put("target", (double) target);
        row.put("unconverged_target", (double) unconvergedTarget);
        row.put("budget", (double) budget);
        row.put("fmax", StageParameters.UNUSED);
        row.put("energy_change", StageParameters.UNUSED);
        row.put("criteria", hook != null ? 1.0 : 0.0);
        if (hook != null) {
            for (Criterion c : hook.criteria()) {
                if (c.isBuiltIn()) {
                    row.put(c.key(), c.threshold());
                }
            }
        }
        return row;
    }
}
