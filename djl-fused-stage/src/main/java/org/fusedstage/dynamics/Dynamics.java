package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDScope;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostWork;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookContext;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.model.Potential;
import org.fusedstage.program.StageProgram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Base of every integrator and optimizer: a step is {@code preUpdate} (before the forward pass),
 * the forward pass, {@code postUpdate} (after it), each applied only to the samples whose status
 * equals this dynamics' status code. Samples outside the mask stay bit-identical.
 *
 * <p>Per-sample state (FIRE's dt and alpha, step counters...) lives in the batch under names
 * prefixed by {@link #stateName}, so it follows the sample and is reset when a sample enters the
 * stage. Samples finish by their {@link ConvergenceHook} or after their own step budget
 * ({@code nSteps} steps counted per sample) and move to the target status.
 *
 * <p>Hooks run at the nine {@link HookStage}s. Standalone, {@link #run} primes forces with one
 * forward pass, checks convergence before the first step (as ASE does), then steps until every
 * sample left the stage or {@code maxSteps} is reached. {@link #plus} fuses dynamics into a
 * {@link FusedStage} that shares one forward pass per step.
 */
public abstract class Dynamics {

    private static final Logger logger = LoggerFactory.getLogger(Dynamics.class);

    /**
     * Per-sample state: 1 once a sample completed this stage (its criteria held, or a budget-only
     * stage ran its budget), 0 while it is in the stage or when it left at its step budget with
     * criteria unmet.
     */
    public static final String CONVERGED = "converged";

    /**
     * The longest time step accepted, fs: stable MD of atoms needs a few fs at most, and FIRE's
     * largest step (ASE's dtmax) is about 10 fs; a larger value is a typo that would only blow up.
     */
    public static final double MAX_TIME_STEP = 100;

    private final Potential potential;
    private final double timeStep;
    private final ImmutableList<Hook> hooks;
    private final ConvergenceHook convergence;
    private final long stepBudget;
    private int statusCode;
    private int targetStatus = 1;
    private String statePrefix;
    private boolean assigned;
    private long stepCount;
    private Map<String, Double> programParameters; // see programParameters()

    /** Creates the dynamics from its builder's common settings. */
    protected Dynamics(BaseBuilder<?> builder) {
        this.potential = Preconditions.checkNotNull(builder.potential, "potential");
        Preconditions.checkArgument(builder.timeStep > 0 && builder.timeStep <= MAX_TIME_STEP,
                "time step must be in (0, %s] fs, got %s fs", MAX_TIME_STEP, builder.timeStep);
        Preconditions.checkArgument(builder.stepBudget >= 0, "nSteps must be >= 0, got %s", builder.stepBudget);
        this.timeStep = builder.timeStep;
        this.hooks = ImmutableList.copyOf(builder.hooks);
        this.convergence = builder.convergence;
        this.stepBudget = builder.stepBudget;
        this.statePrefix = getClass().getSimpleName().toLowerCase() + ".";
        if (convergence != null && convergence.sourceStatus() != null) {
            statusCode = convergence.sourceStatus();
        }
        if (convergence != null && convergence.targetStatus() != null) {
            targetStatus = convergence.targetStatus();
        } else {
            targetStatus = statusCode + 1;
        }
    }

    /** The potential this dynamics evaluates. */
    public Potential potential() {
        return potential;
    }

    /** Time step in fs (for optimizers: the initial step). */
    public double timeStep() {
        return timeStep;
    }

    /** Hooks registered on this dynamics. */
    public List<Hook> hooks() {
        return hooks;
    }

    /** The convergence hook, or null when the stage ends by its step budget only. */
    public ConvergenceHook convergence() {
        return convergence;
    }

    /** Steps each sample spends in this stage before moving on; 0 = no budget. */
    public long stepBudget() {
        return stepBudget;
    }

    /** The status code of the samples this dynamics updates. */
    public int statusCode() {
        return statusCode;
    }

    /** The status finished samples move to. */
    public int targetStatus() {
        return targetStatus;
    }

    /** Steps taken by this dynamics (standalone) so far. */
    public long stepCount() {
        return stepCount;
    }

    /** Full batch-field name of a piece of this stage's per-sample state. */
    public String stateName(String name) {
        return statePrefix + name;
    }

    /**
     * Whether this dynamics relaxes structures (an optimizer), so that without criteria or a step
     * budget it ends by the default fmax, as ASE's optimizers do; MD stages answer false and must
     * be given a budget or criteria.
     */
    public boolean isRelaxation() {
        return false;
    }

    /** Whether this dynamics was wired into a chain (see {@link #assign}). */
    boolean isAssigned() {
        return assigned;
    }

    /**
     * Wires the dynamics into a chain: its status code and the prefix of its state fields. A
     * dynamics keeps one code: a chain that needs another code for it is refused (by
     * {@link FusedStage}) before any sub-stage is wired, so a first chain is never re-coded.
     */
    void assign(int code, String prefix) {
        Preconditions.checkState(!assigned || (code == statusCode && prefix.equals(statePrefix)),
                "%s is already sub-stage %s of another FusedStage", getClass().getSimpleName(), statusCode);
        this.statusCode = code;
        this.statePrefix = prefix;
        this.assigned = true;
    }

    /** Fuses this dynamics with {@code next}: [0: this, 1: next], one forward pass per step. */
    public FusedStage plus(Dynamics next) {
        return FusedStage.of(List.of(this, next));
    }

    // ---------------------------------------------------------------- state and updates

    /** Adds this stage's state fields to the batch if they are missing (idempotent). */
    public final void initialize(Batch batch) {
        ProgramEvaluator.initState(StageBookkeeping.PROGRAM, this, batch, Map.of());
        initState(batch);
    }

    /**
     * The arithmetic of a built-in stage kind, written once and run by both the eager step and the
     * compiled step graph; null (the default) for a custom dynamics, which overrides
     * {@link #preUpdate}, {@link #postUpdate}, {@link #onEnter} and {@link #initState} with NDArray
     * code instead (eager steps only).
     */
    protected StageProgram program() {
        return null;
    }

    /** Subclasses add their per-sample state fields here (called when missing); default: the program's. */
    protected void initState(Batch batch) {
        if (program() != null) {
            ProgramEvaluator.initState(program(), this, batch, programParameters());
        }
    }

    /** The program's parameters: this stage's row of the stage table, read once (settings do not change). */
    private Map<String, Double> programParameters() {
        if (programParameters == null) {
            programParameters = stepGraphParameters().columns();
        }
        return programParameters;
    }

    /**
     * Resets this stage's state for samples entering it (start of a run, migration from the
     * previous stage, or a refilled slot).
     */
    public final void enter(Batch batch, StageMask entering) {
        ProgramEvaluator.run(StageBookkeeping.PROGRAM, StageProgram.Phase.ENTER, this, batch, entering, Map.of(), null);
        onEnter(batch, entering);
    }

    /** Subclasses reset their state for entering samples here; default: the program's ENTER phase. */
    protected void onEnter(Batch batch, StageMask entering) {
        runProgram(StageProgram.Phase.ENTER, batch, entering);
    }

    private void runProgram(StageProgram.Phase phase, Batch batch, StageMask mask) {
        if (program() != null) {
            ProgramEvaluator.run(program(), phase, this, batch, mask, programParameters(), null);
        }
    }

    /** The masked pre-update: changes only samples in {@code mask}. */
    public final void maskedPreUpdate(Batch batch, StageMask mask) {
        preUpdate(batch, mask);
    }

    /** The masked post-update: changes only samples in {@code mask}, and counts their step. */
    public final void maskedPostUpdate(Batch batch, StageMask mask) {
        postUpdate(batch, mask);
        ProgramEvaluator.run(StageBookkeeping.PROGRAM, StageProgram.Phase.POST_UPDATE, this, batch, mask, Map.of(), null);
    }

    /**
     * One update of the masked samples with the forces already in the batch (pre then post, no
     * forward pass between; a step puts the forward pass between the two halves).
     */
    public final void maskedUpdate(Batch batch, NDArray systemMask) {
        StageMask mask = new StageMask(batch, systemMask);
        maskedPreUpdate(batch, mask);
        maskedPostUpdate(batch, mask);
    }

    /** Update before the forward pass, for masked samples only; default: the program's PRE_UPDATE phase. */
    protected void preUpdate(Batch batch, StageMask mask) {
        runProgram(StageProgram.Phase.PRE_UPDATE, batch, mask);
    }

    /** Update after the forward pass, for masked samples only; default: the program's POST_UPDATE phase. */
    protected void postUpdate(Batch batch, StageMask mask) {
        runProgram(StageProgram.Phase.POST_UPDATE, batch, mask);
    }

    /** The mask of samples this dynamics owns now: status == statusCode. */
    public StageMask ownedSamples(Batch batch) {
        return ownedSamples(batch, null);
    }

    /**
     * As {@link #ownedSamples(Batch)}, from a host copy of the statuses where the caller peeked one
     * ({@link HostWork#peekLongs}; null for none).
     */
    StageMask ownedSamples(Batch batch, long[] peekedStatus) {
        boolean[] host = HostWork.equalOnHost(peekedStatus, statusCode);
        NDArray status = batch.status();
        return StageMask.of(batch, status, host, () -> status.eq(statusCode));
    }

    /**
     * Applies this stage's criteria and step budget to the samples of {@code mask} (stateful
     * criteria advance once per call), records whether each leaving sample completed the stage
     * and moves it to its next status, as the chain row {@code row} (see
     * {@link StageBookkeeping#parameters}) says.
     */
    void converge(Batch batch, StageMask mask, Map<String, Double> row, ConvergenceHook hook) {
        ProgramEvaluator.run(StageBookkeeping.PROGRAM, StageProgram.Phase.CONVERGE, this, batch, mask, row, hook);
    }

    /** This stage's chain row when it runs alone: every finished sample goes to its target status. */
    private Map<String, Double> standaloneRow() {
        return StageBookkeeping.parameters(statusCode, targetStatus, targetStatus, stepBudget, convergence);
    }

    /** Runs this dynamics' hooks registered for {@code stage} if the step matches their frequency. */
    public void fireHooks(HookStage stage, Batch batch, long step, NDArray mask) {
        for (Hook hook : hooks) {
            if (hook.stage() == stage && step % hook.frequency() == 0) {
                hook.apply(new HookContext(batch, java.util.OptionalInt.of(statusCode()), step, stage, mask));
            }
        }
    }

    /**
     * This stage as a row of the compiled step graph's stage table (see
     * {@code model-zoo/src/main/python/fused_step.py}): {@code kind}, {@code dt} and the
     * kind's own parameters. Built-in dynamics override it; others have no compiled counterpart.
     *
     * @throws UnsupportedOperationException naming the class when there is no compiled counterpart
     */
    public StageParameters stepGraphParameters() {
        throw new UnsupportedOperationException(getClass().getName() + " has no compiled counterpart in the step graph");
    }

    /** Seeds of this stage's random streams for the step graph (Langevin noise, velocity draws); default none. */
    public long stepGraphSeed() {
        return 0;
    }

    // ---------------------------------------------------------------- standalone runs

    /**
     * One standalone step: pre-update, forward pass, post-update of the samples whose status is
     * this dynamics' code, with all nine hook stages, then convergence and step budgets.
     */
    public void step(Batch batch) {
        try (NDScope scope = new NDScope()) {
            long step = ++stepCount;
            fireHooks(HookStage.BEFORE_STEP, batch, step, null);
            StageMask mask = ownedSamples(batch);
            fireHooks(HookStage.BEFORE_PRE_UPDATE, batch, step, mask.systems());
            maskedPreUpdate(batch, mask);
            fireHooks(HookStage.AFTER_PRE_UPDATE, batch, step, mask.systems());
            fireHooks(HookStage.BEFORE_COMPUTE, batch, step, null);
            potential.compute(batch);
            fireHooks(HookStage.AFTER_COMPUTE, batch, step, null);
            mask = ownedSamples(batch); // AFTER_COMPUTE hooks may have quarantined samples
            fireHooks(HookStage.BEFORE_POST_UPDATE, batch, step, mask.systems());
            maskedPostUpdate(batch, mask);
            fireHooks(HookStage.AFTER_POST_UPDATE, batch, step, mask.systems());
            batch.advanceAges();
            fireHooks(HookStage.AFTER_STEP, batch, step, mask.systems());
            converge(batch, mask, standaloneRow(), convergence);
            fireHooks(HookStage.ON_CONVERGE, batch, step, mask.systems().logicalAnd(batch.status().neq(statusCode)));
        }
    }

    /**
     * Runs until every sample has left this stage (converged or at its budget) or for at most
     * {@code maxSteps} steps. Primes forces with one forward pass and checks convergence before
     * the first step.
     *
     * @return the batch, updated in place
     */
    public Batch run(Batch batch, long maxSteps) {
        potential.validate(batch);
        try (NDScope scope = new NDScope()) {
            if (!batch.statusAssigned()) { // a new batch starts in this stage
                batch.set(Batch.STATUS, NDArrays.where(batch.status().gte(0),
                        batch.status().onesLike().mul(statusCode), batch.status()));
            }
            initialize(batch);
            StageMask mask = ownedSamples(batch);
            enter(batch, mask);
            potential.compute(batch);
            fireHooks(HookStage.AFTER_COMPUTE, batch, stepCount, null); // e.g. a guard sees the primed forces
            converge(batch, ownedSamples(batch), standaloneRow(), convergence);
        }
        for (long i = 0; i < maxSteps; i++) {
            if (!anyOwned(batch)) {
                break;
            }
            step(batch);
            if (stepCount % 1000 == 0) {
                logger.info("{}: step {}", getClass().getSimpleName(), stepCount);
            }
        }
        return batch;
    }

    /** Whether any sample still has this dynamics' status (one host read). */
    public boolean anyOwned(Batch batch) {
        try (NDArray owned = batch.status().eq(statusCode); NDArray any = owned.any()) {
            return any.getBoolean();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(dt=" + timeStep + " fs, status=" + statusCode
                + (convergence != null ? ", " + convergence : "") + (stepBudget > 0 ? ", nSteps=" + stepBudget : "") + ")";
    }

    /**
     * Common settings of every dynamics builder.
     *
     * @param <B> the concrete builder
     */
    public abstract static class BaseBuilder<B extends BaseBuilder<B>> {
        private final Potential potential;
        private double timeStep;
        private final List<Hook> hooks = new ArrayList<>();
        private ConvergenceHook convergence;
        private long stepBudget;

        protected BaseBuilder(Potential potential, double defaultTimeStep) {
            this.potential = potential;
            this.timeStep = defaultTimeStep;
        }

        /** The builder itself. */
        protected abstract B self();

        /** Time step in fs. */
        public B optTimeStep(double fs) {
            this.timeStep = fs;
            return self();
        }

        /** Adds a hook. */
        public B addHook(Hook hook) {
            hooks.add(Preconditions.checkNotNull(hook));
            return self();
        }

        /** The convergence criteria that end this stage for a sample. */
        public B optConvergence(ConvergenceHook convergence) {
            this.convergence = convergence;
            return self();
        }

        /** Shorthand for {@code optConvergence(ConvergenceHook.fromFmax(fmax))}, fmax in eV/A. */
        public B optFmax(double fmax) {
            return optConvergence(ConvergenceHook.fromFmax(fmax));
        }

        /** Steps each sample spends in this stage before moving on (MD budgets). */
        public B optNSteps(long nSteps) {
            this.stepBudget = nSteps;
            return self();
        }
    }
}
