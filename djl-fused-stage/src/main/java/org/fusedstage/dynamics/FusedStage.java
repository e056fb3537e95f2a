package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.data.Status;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostWork;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookContext;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.model.Potential;
import org.fusedstage.sampling.SampleSource;
import org.fusedstage.sampling.SizeAwareSampler;
import org.fusedstage.sinks.DataSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Several dynamics stages over ONE batch with ONE model forward pass per step. Every sample's
 * {@code status} selects the sub-stage that updates it (masked updates); a sample that finishes
 * its stage (convergence criteria, or its own step budget) moves to the next stage's code, and
 * after the last stage to {@link #exitStatus()}, where it graduates: it stops changing and goes
 * to the sinks.
 *
 * <p>Build with {@code a.plus(b)} (codes 0, 1; exit 2), extend with {@code fused.plus(c)}, or use
 * {@link #builder()} for explicit codes and statuses. A sub-stage without criteria or budget gets
 * fmax <= 0.05 eV/A when it is followed by another stage.
 *
 * <p>One step: BEFORE_STEP hooks; per sub-stage masked pre-update; BEFORE_COMPUTE (fused stage
 * hooks only), one forward pass, AFTER_COMPUTE; per sub-stage masked post-update; AFTER_STEP;
 * convergence and budgets move samples on; entering samples get their new stage's state reset;
 * ON_CONVERGE. Graduations are taken from a status snapshot before the migrations.
 */
public final class FusedStage implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(FusedStage.class);
    private static final java.util.concurrent.atomic.AtomicBoolean CPU_COMPILE_NOTE_LOGGED = new java.util.concurrent.atomic.AtomicBoolean();

    private final ImmutableList<SubStage> subStages;
    private final ImmutableList<Map<String, Double>> chainRows; // per sub-stage, for its bookkeeping
    private final com.google.common.collect.ImmutableSet<Long> ownedCodes;
    private final int entryStatus;
    private final int exitStatus;
    private final boolean compileStep;
    private final ImmutableMap<String, String> compileOptions;
    private final Potential potential;
    private final ImmutableList<Hook> hooks;
    private final ImmutableList<DataSink> sinks;
    private final ImmutableList<DataSink> rejectSinks;
    private final OnUnconverged onUnconverged;
    private final long maxSteps;
    private final boolean hasStageHooks; // any sub-stage hook: the compiled step builds stage masks only then
    private final boolean hooksMayMoveSamples; // a hook runs between the pre- and post-update masks
    private long stepCount;
    private RunReport lastReport;
    private CompiledStep stepGraph;
    private final GraduationWriter graduation;
    // Status codes present in the batch at the start of the next step, when the run loop has just
    // read them (null = unknown): stages with no samples skip their (all-masked, no-op) updates.
    private Set<Long> occupiedHint;

    /** Hook stages that a compiled step can honour: they run before or after the one module call. */
    private static final Set<HookStage> COMPILED_HOOK_STAGES = java.util.EnumSet.of(HookStage.BEFORE_STEP,
            HookStage.BEFORE_COMPUTE, HookStage.AFTER_COMPUTE, HookStage.AFTER_STEP, HookStage.ON_CONVERGE);
    private SizeAwareSampler sampler;
    private int refillFrequency = 1;
    private long maxStepsPerSample;
    private DataType batchDataType = DataType.FLOAT64;

    /**
     * One stage of the chain as wired into this fused stage.
     *
     * @param code the status code of the samples it updates
     * @param dynamics the dynamics
     * @param convergence its effective convergence hook (null: budget only)
     * @param target the status its converged samples move to
     * @param unconvergedTarget the status of samples that ran out of their step budget before the
     *     criteria held (see {@link OnUnconverged}); equals {@code target} under CONTINUE
     */
    public record SubStage(int code, Dynamics dynamics, ConvergenceHook convergence, int target, int unconvergedTarget) {

        /** This sub-stage's chain columns of the stage table ({@link StageBookkeeping#parameters}). */
        public Map<String, Double> chainRow() {
            return StageBookkeeping.parameters(code, target, unconvergedTarget, dynamics.stepBudget(), convergence);
        }
    }

    private FusedStage(Builder b) {
        Preconditions.checkArgument(!b.stages.isEmpty(), "a FusedStage needs at least one sub-stage");
        Set<Integer> codes = new HashSet<>();
        for (Map.Entry<Integer, Dynamics> e : b.stages) {
            Preconditions.checkArgument(e.getKey() >= 0, "status codes must be >= 0, got %s", e.getKey());
            Preconditions.checkArgument(codes.add(e.getKey()), "duplicate status code %s in the sub-stages", e.getKey());
        }
        int lastCode = b.stages.get(b.stages.size() - 1).getKey();
        this.exitStatus = b.exitStatus != null ? b.exitStatus : b.stages.size() == 1 ? lastCode + 1 : maxCode(b) + 1;
        Preconditions.checkArgument(exitStatus >= 0, "exit status must be >= 0, got %s", exitStatus);
        Preconditions.checkArgument(!codes.contains(exitStatus),
                "exit status %s collides with a sub-stage status code %s", exitStatus, codes);
        this.entryStatus = b.entryStatus != null ? b.entryStatus : b.stages.get(0).getKey();
        Preconditions.checkArgument(codes.contains(entryStatus),
                "entry status %s is not the code of any sub-stage %s", entryStatus, codes);
        this.onUnconverged = b.onUnconverged;
        Potential shared = b.stages.get(0).getValue().potential();
        Set<Dynamics> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Map.Entry<Integer, Dynamics> e : b.stages) {
            Dynamics d = e.getValue();
            int code = e.getKey();
            Preconditions.checkArgument(seen.add(d),
                    "the same %s instance appears twice in the chain; create one per stage", d.getClass().getSimpleName());
            Preconditions.checkArgument(!d.isAssigned() || d.statusCode() == code,
                    "%s is already sub-stage %s of another FusedStage and cannot be sub-stage %s of this one (a "
                            + "dynamics keeps its status code; the first chain stays as it was): create a new instance",
                    d.getClass().getSimpleName(), d.statusCode(), code);
            Preconditions.checkArgument(d.potential().device().equals(shared.device()),
                    "sub-stage %s runs on %s but sub-stage %s on %s: all sub-stages of a FusedStage share one device",
                    code, d.potential().device(), b.stages.get(0).getKey(), shared.device());
            Preconditions.checkArgument(d.potential() == shared,
                    "sub-stage %s uses a different potential than sub-stage %s: a FusedStage shares one forward pass, "
                            + "so every sub-stage must use the same Potential instance", code, b.stages.get(0).getKey());
            for (Hook h : d.hooks()) {
                Preconditions.checkArgument(h.stage() != HookStage.BEFORE_COMPUTE,
                        "hook %s on sub-stage %s is registered for BEFORE_COMPUTE, which only the fused stage has "
                                + "(the forward pass is shared): register it with FusedStage.builder().addHook",
                        h.getClass().getSimpleName(), code);
            }
            ConvergenceHook own = d.convergence();
            Preconditions.checkArgument(own == null || own.sourceStatus() == null || own.sourceStatus() == code,
                    "the convergence hook of sub-stage %s (%s) has source status %s, but the sub-stage's code is %s: "
                            + "give the sub-stage code %s, or leave the hook's source status unset",
                    code, d.getClass().getSimpleName(), own == null ? null : own.sourceStatus(), code,
                    own == null ? null : own.sourceStatus());
            Preconditions.checkArgument(own != null || d.stepBudget() > 0 || d.isRelaxation(),
                    "sub-stage %s (%s) has neither a step budget nor convergence criteria, so its samples would never "
                            + "leave it: give it a budget (optNSteps, CLI steps=N) or criteria (optConvergence)",
                    code, d.getClass().getSimpleName());
        }
        List<SubStage> wired = new ArrayList<>();
        for (int i = 0; i < b.stages.size(); i++) {
            int code = b.stages.get(i).getKey();
            Dynamics d = b.stages.get(i).getValue();
            boolean last = i == b.stages.size() - 1;
            int nextCode = last ? exitStatus : b.stages.get(i + 1).getKey();
            ConvergenceHook own = d.convergence();
            if (own == null && d.stepBudget() == 0) {
                own = ConvergenceHook.fromFmax(ConvergenceHook.DEFAULT_FMAX); // a relaxation: ASE's default
            }
            int target = own != null && own.targetStatus() != null ? own.targetStatus() : nextCode;
            Preconditions.checkArgument(target == exitStatus || codes.contains(target),
                    "sub-stage %s sends its finished samples to status %s, which no sub-stage owns and which is not "
                            + "the exit status %s: they would never finish", code, target, exitStatus);
            if (own != null) {
                own = own.withStatuses(code, target);
            }
            int unconvergedTarget = switch (onUnconverged) {
                case CONTINUE -> target;
                case STOP -> exitStatus;
                case REJECT -> Status.REJECTED;
            };
            wired.add(new SubStage(code, d, own, target, unconvergedTarget));
        }
        checkExitReachable(wired);
        for (SubStage st : wired) { // only now: a refused chain leaves its dynamics as they were
            st.dynamics().assign(st.code(), "stage" + st.code() + ".");
        }
        this.subStages = ImmutableList.copyOf(wired);
        this.chainRows = subStages.stream().map(SubStage::chainRow).collect(ImmutableList.toImmutableList());
        this.ownedCodes = wired.stream().map(st -> (long) st.code()).collect(com.google.common.collect.ImmutableSet.toImmutableSet());
        this.potential = shared;
        this.compileStep = b.compileStep;
        this.compileOptions = ImmutableMap.copyOf(b.compileOptions);
        this.hooks = ImmutableList.copyOf(b.hooks);
        this.sinks = ImmutableList.copyOf(b.sinks);
        this.rejectSinks = ImmutableList.copyOf(b.rejectSinks);
        this.graduation = new GraduationWriter(subStages, exitStatus, sinks, rejectSinks,
                b.finalStress && !shared.computesStress() ? shared : null);
        this.maxSteps = b.maxSteps;
        this.hasStageHooks = subStages.stream().anyMatch(st -> !st.dynamics().hooks().isEmpty());
        java.util.Set<HookStage> afterPostMasks = java.util.EnumSet.of(HookStage.BEFORE_POST_UPDATE,
                HookStage.AFTER_POST_UPDATE, HookStage.AFTER_STEP, HookStage.ON_CONVERGE);
        this.hooksMayMoveSamples = hooks.stream().anyMatch(h -> h.stage() != HookStage.BEFORE_STEP && !afterPostMasks.contains(h.stage()))
                || subStages.stream().flatMap(st -> st.dynamics().hooks().stream()).anyMatch(h -> !afterPostMasks.contains(h.stage()));
        if (compileStep) {
            for (SubStage st : subStages) {
                for (Hook h : st.dynamics().hooks()) {
                    Preconditions.checkArgument(COMPILED_HOOK_STAGES.contains(h.stage()),
                            "hook %s on sub-stage %s runs at %s, inside the step; with compileStep the step is one module "
                                    + "call and hooks run only at %s", h.getClass().getSimpleName(), st.code(), h.stage(),
                            COMPILED_HOOK_STAGES);
                }
            }
            try {
                stepGraph = b.stepGraphSource != null && b.stepGraphSource.compileOptions.equals(compileOptions)
                        ? b.stepGraphSource.stepGraph.sharedWith(subStages)
                        : CompiledStep.load(subStages, compileOptions);
                if (!potential.device().isGpu() && !CPU_COMPILE_NOTE_LOGGED.getAndSet(true)) {
                    logger.info("compileStep on a CPU: the eager step is usually faster there (it does per-sample work "
                            + "on the host; see BENCHMARKS.md); the step graph is meant for GPUs");
                }
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalArgumentException("compileStep: cannot load the step graph: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Follows each stage's target from the entry status: a chain whose path never reaches the exit
     * status (a loop of stages) would run for ever, so it is refused.
     */
    private void checkExitReachable(List<SubStage> wired) {
        Map<Integer, Integer> next = new java.util.HashMap<>();
        for (SubStage s : wired) {
            next.put(s.code(), s.target());
        }
        for (SubStage start : wired) {
            List<Integer> path = new ArrayList<>();
            int at = start.code();
            while (at != exitStatus) {
                Preconditions.checkArgument(!path.contains(at),
                        "the sub-stages %s send finished samples round in a loop that never reaches the exit status %s",
                        path, exitStatus);
                path.add(at);
                at = next.get(at);
            }
        }
    }

    private static int maxCode(Builder b) {
        return b.stages.stream().mapToInt(Map.Entry::getKey).max().orElse(-1);
    }

    /** Fuses dynamics in order with codes 0, 1, ...; exit status = number of stages. */
    public static FusedStage of(List<Dynamics> stages) {
        Builder b = builder();
        for (int i = 0; i < stages.size(); i++) {
            b.addSubStage(i, stages.get(i));
        }
        return b.build();
    }

    /** Starts a builder for explicit construction. */
    public static Builder builder() {
        return new Builder();
    }

    /** A new FusedStage with {@code next} appended at the next status code (left-associative chains). */
    public FusedStage plus(Dynamics next) {
        Builder b = toBuilder();
        b.exitStatus = null;
        b.addSubStage(subStages.get(subStages.size() - 1).code() + 1, next);
        return b.build();
    }

    private Builder toBuilder() {
        Builder b = builder();
        for (SubStage s : subStages) {
            b.addSubStage(s.code(), s.dynamics());
        }
        b.entryStatus = entryStatus;
        b.compileStep = compileStep;
        b.compileOptions.putAll(compileOptions);
        b.hooks.addAll(hooks);
        b.sinks.addAll(sinks);
        b.rejectSinks.addAll(rejectSinks);
        b.onUnconverged = onUnconverged;
        b.maxSteps = maxSteps;
        b.stepGraphSource = stepGraph != null ? this : null; // the new stage shares the loaded graph
        return b;
    }

    /** The wired sub-stages in chain order. */
    public List<SubStage> subStages() {
        return subStages;
    }

    /** Status of new samples. */
    public int entryStatus() {
        return entryStatus;
    }

    /** Status of samples that finished the last stage. */
    public int exitStatus() {
        return exitStatus;
    }

    /** Steps taken so far. */
    public long stepCount() {
        return stepCount;
    }

    /** The shared potential. */
    public Potential potential() {
        return potential;
    }

    /** The report of the last {@link #run}, or null. */
    public RunReport lastReport() {
        return lastReport;
    }

    // ---------------------------------------------------------------- running

    /**
     * Prepares a batch: checks the model accepts it, creates every sub-stage's state, primes
     * forces with one forward pass, resets state for the samples in each stage, and applies the
     * convergence check that precedes the first step.
     */
    public void prepare(Batch batch) {
        potential.validate(batch);
        Preconditions.checkArgument(batch.getDevice().equals(potential.device()),
                "the batch is on %s but the model on %s", batch.getDevice(), potential.device());
        try (NDScope scope = new NDScope()) {
            if (!batch.statusAssigned()) { // a new batch starts at the entry status; explicit statuses are honoured
                long[] status = batch.status().toLongArray();
                for (int i = 0; i < status.length; i++) {
                    status[i] = status[i] == Status.VACANT ? Status.VACANT : entryStatus;
                }
                setStatus(batch, status);
            }
            checkOwned(batch, batch.status().toLongArray());
            for (SubStage s : subStages) {
                s.dynamics().initialize(batch);
            }
            NDArray before = batch.status().duplicate();
            for (SubStage s : subStages) {
                s.dynamics().enter(batch, s.dynamics().ownedSamples(batch));
            }
            potential.compute(batch);
            fire(HookStage.AFTER_COMPUTE, batch, stepCount, null); // e.g. a guard sees the primed forces
            for (SubStage s : subStages) {
                s.dynamics().fireHooks(HookStage.AFTER_COMPUTE, batch, stepCount, null);
            }
            migrateFinished(batch, before, masks(batch));
        }
    }

    /**
     * One fused step over the whole batch.
     *
     * @return [B] boolean: the samples that reached the exit status in this step (owned by the
     *     batch's manager; close it when done)
     */
    public NDArray step(Batch batch) {
        if (stepGraph != null) {
            return compiledStep(batch);
        }
        NDArray graduated;
        try (NDScope scope = new NDScope()) {
            long step = ++stepCount;
            fire(HookStage.BEFORE_STEP, batch, step, null);
            if (occupiedHint == null && readsFlags(batch)) {
                hintOccupied(batch.status().toLongArray());
            }
            List<StageMask> masks = masks(batch);
            for (int i = 0; i < subStages.size(); i++) {
                Dynamics d = subStages.get(i).dynamics();
                d.fireHooks(HookStage.BEFORE_STEP, batch, step, masks.get(i).systems());
                d.fireHooks(HookStage.BEFORE_PRE_UPDATE, batch, step, masks.get(i).systems());
                if (!idle(i)) {
                    d.maskedPreUpdate(batch, masks.get(i));
                }
                d.fireHooks(HookStage.AFTER_PRE_UPDATE, batch, step, masks.get(i).systems());
            }
            fire(HookStage.BEFORE_COMPUTE, batch, step, null);
            potential.compute(batch);
            fire(HookStage.AFTER_COMPUTE, batch, step, null);
            for (SubStage s : subStages) {
                s.dynamics().fireHooks(HookStage.AFTER_COMPUTE, batch, step, null);
            }
            if (hooksMayMoveSamples) {
                masks = masks(batch); // e.g. an AFTER_COMPUTE guard may have quarantined samples
            }
            for (int i = 0; i < subStages.size(); i++) {
                Dynamics d = subStages.get(i).dynamics();
                d.fireHooks(HookStage.BEFORE_POST_UPDATE, batch, step, masks.get(i).systems());
                if (!idle(i)) {
                    d.maskedPostUpdate(batch, masks.get(i));
                }
                d.fireHooks(HookStage.AFTER_POST_UPDATE, batch, step, masks.get(i).systems());
            }
            batch.advanceAges();
            for (int i = 0; i < subStages.size(); i++) {
                subStages.get(i).dynamics().fireHooks(HookStage.AFTER_STEP, batch, step, masks.get(i).systems());
            }
            fire(HookStage.AFTER_STEP, batch, step, null);
            NDArray before = batch.status().duplicate();
            List<NDArray> done = migrateFinished(batch, before, masks);
            for (int i = 0; i < subStages.size(); i++) {
                subStages.get(i).dynamics().fireHooks(HookStage.ON_CONVERGE, batch, step, done.get(i));
            }
            graduated = batch.status().eq(exitStatus).logicalAnd(before.eq(exitStatus).logicalNot());
            fire(HookStage.ON_CONVERGE, batch, step, graduated);
            graduated.attach(batch.getManager());
            NDScope.unregister(graduated);
        } finally {
            occupiedHint = null; // a hint holds for one step: migrations change the occupancy
        }
        return graduated;
    }

    /**
     * A step as one call of the exported step graph. BEFORE_STEP and BEFORE_COMPUTE hooks run before
     * the call; AFTER_COMPUTE, AFTER_STEP and ON_CONVERGE hooks after it, seeing the state at the
     * end of the step.
     */
    private NDArray compiledStep(Batch batch) {
        NDArray graduated;
        try (NDScope scope = new NDScope()) {
            long step = ++stepCount;
            fire(HookStage.BEFORE_STEP, batch, step, null);
            // Stage masks only feed stage hooks: without any, the step builds none.
            List<StageMask> masks = hasStageHooks ? masks(batch) : List.of();
            if (hasStageHooks) {
                for (int i = 0; i < subStages.size(); i++) {
                    subStages.get(i).dynamics().fireHooks(HookStage.BEFORE_STEP, batch, step, masks.get(i).systems());
                }
            }
            fire(HookStage.BEFORE_COMPUTE, batch, step, null);
            NDArray before = batch.status().duplicate();
            potential.countForward();
            stepGraph.step(batch);
            fire(HookStage.AFTER_COMPUTE, batch, step, null);
            if (hasStageHooks) {
                for (int i = 0; i < subStages.size(); i++) {
                    SubStage s = subStages.get(i);
                    s.dynamics().fireHooks(HookStage.AFTER_COMPUTE, batch, step, null);
                    s.dynamics().fireHooks(HookStage.AFTER_STEP, batch, step, masks.get(i).systems());
                }
            }
            fire(HookStage.AFTER_STEP, batch, step, null);
            if (hasStageHooks) {
                for (SubStage s : subStages) {
                    NDArray left = before.eq(s.code()).logicalAnd(batch.status().eq(s.code()).logicalNot());
                    s.dynamics().fireHooks(HookStage.ON_CONVERGE, batch, step, left);
                }
            }
            graduated = batch.status().eq(exitStatus).logicalAnd(before.eq(exitStatus).logicalNot());
            fire(HookStage.ON_CONVERGE, batch, step, graduated);
            graduated.attach(batch.getManager());
            NDScope.unregister(graduated);
        } finally {
            occupiedHint = null;
        }
        return graduated;
    }

    /** Whether sub-stage {@code i} is known to own no sample in this step (its updates are no-ops). */
    private boolean idle(int i) {
        return occupiedHint != null && !occupiedHint.contains((long) subStages.get(i).code());
    }

    /** Records the codes present, read by the run loop just before a step. */
    void hintOccupied(long[] status) {
        Set<Long> codes = new HashSet<>();
        for (long s : status) {
            codes.add(s);
        }
        occupiedHint = codes;
    }

    private List<StageMask> masks(Batch batch) {
        List<StageMask> masks = new ArrayList<>(subStages.size());
        for (SubStage s : subStages) {
            masks.add(s.dynamics().ownedSamples(batch));
        }
        return masks;
    }

    /**
     * Fails, naming them, when samples sit at statuses that no sub-stage owns and that are neither
     * the exit status nor reserved: no step would ever move them, so the run could never end.
     */
    private void checkOwned(Batch batch, long[] status) {
        List<String> stuck = new ArrayList<>();
        for (int i = 0; i < status.length; i++) {
            if (status[i] != exitStatus && !Status.isReserved(status[i]) && !ownedCodes.contains(status[i])) {
                stuck.add(batch.sampleIds().get(i) + " (status " + status[i] + ")");
            }
        }
        if (!stuck.isEmpty()) {
            List<Integer> codes = subStages.stream().map(SubStage::code).toList();
            throw new IllegalStateException(stuck.size() + " sample(s) sit at a status no sub-stage owns (sub-stages "
                    + codes + ", exit " + exitStatus + "), so they could never finish: "
                    + String.join(", ", stuck.subList(0, Math.min(20, stuck.size()))) + (stuck.size() > 20 ? ", ..." : ""));
        }
    }

    /**
     * Evaluates every stage's criteria and budgets on its samples (masks taken before any
     * migration, so a sample moves at most one stage per step), moves finished samples on and
     * resets the state of the stage each one enters.
     *
     * @return per sub-stage, the samples that left it (null for a sub-stage without hooks to tell)
     */
    List<NDArray> migrateFinished(Batch batch, NDArray before, List<StageMask> masks) {
        for (int i = 0; i < subStages.size(); i++) {
            if (!idle(i)) {
                SubStage s = subStages.get(i);
                s.dynamics().converge(batch, masks.get(i), chainRows.get(i), s.convergence());
            }
        }
        List<NDArray> left = new ArrayList<>(subStages.size());
        for (SubStage s : subStages) {
            left.add(s.dynamics().hooks().isEmpty() ? null
                    : before.eq(s.code()).logicalAnd(batch.status().neq(s.code())));
        }
        if (readsFlags(batch)) {
            // On a CPU: read the statuses once and reset only the stages that gain samples.
            long[] was = before.toLongArray();
            long[] now = batch.status().toLongArray();
            if (java.util.Arrays.equals(was, now)) {
                return left; // nobody moved, so nobody enters a stage
            }
            for (SubStage s : subStages) {
                boolean[] entering = new boolean[now.length];
                boolean any = false;
                for (int b = 0; b < now.length; b++) {
                    entering[b] = now[b] == s.code() && was[b] != s.code();
                    any |= entering[b];
                }
                if (any) {
                    s.dynamics().enter(batch, new StageMask(batch, batch.getManager().create(entering)));
                }
            }
            return left;
        }
        for (SubStage s : subStages) {
            NDArray entering = batch.status().eq(s.code()).logicalAnd(before.eq(s.code()).logicalNot());
            s.dynamics().enter(batch, new StageMask(batch, entering));
        }
        return left;
    }

    /**
     * Whether the eager step may read small flags back to skip masked no-op updates (stages that
     * own no sample, migrations and entries that move nobody). On a CPU a read costs microseconds,
     * far less than the dozens of ops it saves; on a GPU it would stall the queue, so there the
     * step reads nothing and runs the masked updates.
     */
    private static boolean readsFlags(Batch batch) {
        return HostWork.onHost(batch.getDevice());
    }

    private void fire(HookStage stage, Batch batch, long step, NDArray mask) {
        for (Hook hook : hooks) {
            if (hook.stage() == stage && step % hook.frequency() == 0) {
                hook.apply(new HookContext(batch, java.util.OptionalInt.empty(), step, stage, mask));
            }
        }
    }

    /**
     * Runs until every sample reached the exit status (or was quarantined), or until the safety
     * cap of {@code optMaxSteps} steps, which ends the run with a report of the samples that never
     * finished (see {@link #lastReport()}). Graduated samples are written to the sinks once each.
     *
     * @return the batch, updated in place
     */
    public Batch run(Batch batch) {
        prepare(batch);
        long[] previous = new long[batch.numSystems()];
        java.util.Arrays.fill(previous, Long.MIN_VALUE);
        long started = stepCount;
        long[] status = batch.status().toLongArray();
        boolean fresh = true;
        writeGraduates(batch, previous, status);
        while (anyActive(status)) {
            if (maxSteps > 0 && stepCount - started >= maxSteps) {
                lastReport = graduation.report(batch, status, stepCount - started, true);
                logger.warn("FusedStage stopped at its safety cap of {} steps: {}", maxSteps, lastReport);
                return batch;
            }
            if (fresh) {
                hintOccupied(status);
            }
            step(batch).close();
            fresh = (stepCount - started) % refillFrequency == 0;
            if (!fresh) {
                continue; // the status is read (the one device-to-host read) every refillFrequency steps
            }
            previous = status;
            status = batch.status().toLongArray();
            writeGraduates(batch, previous, status);
            if (stepCount % 1000 == 0) {
                logger.info("FusedStage step {}: {}", stepCount, GraduationWriter.occupancy(status));
            }
        }
        lastReport = graduation.report(batch, status, stepCount - started, false);
        return batch;
    }

    /**
     * Writes the samples that reached the exit status (or were rejected) since {@code previous},
     * once each; fails on statuses no stage owns.
     */
    void writeGraduates(Batch batch, long[] previous, long[] status) {
        checkOwned(batch, status);
        graduation.write(batch, previous, status);
    }

    /** Whether any sample is still in a stage (not graduated, quarantined, rejected or an empty slot). */
    boolean anyActive(long[] status) {
        for (long s : status) {
            if (s != exitStatus && s != Status.QUARANTINED && s != Status.REJECTED && s != Status.VACANT) {
                return true;
            }
        }
        return false;
    }

    static void setStatus(Batch batch, long[] status) {
        try (NDScope scope = new NDScope()) {
            batch.set(Batch.STATUS, batch.getManager().create(status));
        }
    }

    GraduationWriter graduation() {
        return graduation;
    }

    long maxSteps() {
        return maxSteps;
    }

    int refillFrequency() {
        return refillFrequency;
    }

    long maxStepsPerSample() {
        return maxStepsPerSample;
    }

    DataType batchDataType() {
        return batchDataType;
    }

    // ---------------------------------------------------------------- stream scope

    /**
     * The seed's {@code with fused:}: a scope for the work of this stage. On the CPU it does
     * nothing. On a CUDA device it is meant to put every op of the step on a dedicated stream; DJL
     * exposes no CUDA stream API (its {@code ai.djl.pytorch.enable_cuda_stream} flag affects only
     * inference-mode calls, and a scripted {@code torch.cuda.Stream} helper needs a CUDA-enabled
     * torch to export), so the work stays on the thread's current stream and the scope provides the
     * closest correct behaviour: on close it waits until all work queued by the scope finished
     * (one device-to-host read), so results are complete when the scope ends.
     */
    public StreamScope open() {
        return new StreamScope(potential.device());
    }

    /** See {@link FusedStage#open()}. */
    public static final class StreamScope implements AutoCloseable {
        private final ai.djl.Device device;

        private StreamScope(ai.djl.Device device) {
            this.device = device;
        }

        /** Whether the scope synchronises on close (true on GPUs). */
        public boolean synchronizes() {
            return device.isGpu();
        }

        @Override
        public void close() {
            if (device.isGpu()) {
                try (NDManager m = NDManager.newBaseManager(device); NDArray one = m.ones(new ai.djl.ndarray.types.Shape(1))) {
                    one.toFloatArray(); // a read on the current stream waits for the work queued before it
                }
            }
        }
    }

    // ---------------------------------------------------------------- inflight batching

    /** The sampler that feeds {@link #run()} (inflight mode). */
    public void setSampler(SizeAwareSampler sampler) {
        this.sampler = sampler;
    }

    /** The sampler of inflight mode, or null. */
    public SizeAwareSampler sampler() {
        return sampler;
    }

    /**
     * Read the status back and refill graduated slots every {@code k} steps (default 1); with
     * {@code k > 1} the run reads device data only every k steps (graduates are still written
     * once each, at the next read).
     */
    public void setRefillFrequency(int k) {
        Preconditions.checkArgument(k >= 1, "refill frequency must be >= 1, got %s", k);
        this.refillFrequency = k;
    }

    /**
     * In inflight mode, a sample still running after this many steps in the batch leaves it and
     * goes to the sinks flagged {@code converged=false, capped=true}; 0 = no cap.
     */
    public void setMaxStepsPerSample(long steps) {
        Preconditions.checkArgument(steps >= 0, "max steps per sample must be >= 0, got %s", steps);
        this.maxStepsPerSample = steps;
    }

    /** Float type of the batches built in inflight mode (default float64). */
    public void setBatchDataType(DataType dataType) {
        this.batchDataType = dataType;
    }

    /**
     * Inflight mode: builds the batch from the sampler, runs, writes every graduated sample to the
     * sinks once, and every {@code refillFrequency} steps replaces graduated (and quarantined)
     * samples in place with new ones from the sampler. A new sample waits one batch step as
     * {@link Status#ADMITTING} (that step's forward pass gives it forces; no stage updates it),
     * then starts at the entry status with fresh stage state and a restarted age. The
     * safety cap of {@code optMaxSteps} steps ends the run early, with a report of the samples left
     * in the batch (see {@link #lastReport()}); samples still in the sampler stay there.
     *
     * @return null once the sampler is exhausted and every sample graduated, or at the cap
     */
    public Batch run() {
        Preconditions.checkState(sampler != null, "run() without a batch needs a sampler: call setSampler first");
        return run(sampler);
    }

    /**
     * Inflight mode over any {@link SampleSource}: {@link #run()}'s loop, with new samples taken from
     * {@code source} (which may block while the batch is idle, as a live request queue does) and the
     * running samples it names in {@link SampleSource#evictions()} taken out at each refill, unwritten.
     *
     * @return null once the source is exhausted and every sample left the batch, or at the cap
     */
    public Batch run(SampleSource source) {
        Preconditions.checkState(!sinks.isEmpty(), "inflight mode writes graduated samples to sinks: add one with addSink");
        InflightRunner runner = new InflightRunner(this, source);
        try {
            return runner.run();
        } finally {
            lastReport = runner.report();
        }
    }

    /**
     * Releases what this fused stage owns: its step graph (compileStep), which a stage built from
     * it with {@link #plus} shares until both are closed. The sub-stages, model, sinks and batches
     * belong to the caller. Idempotent.
     */
    @Override
    public void close() {
        if (stepGraph != null) {
            stepGraph.close();
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("FusedStage(sub_stages=[");
        for (int i = 0; i < subStages.size(); i++) {
            SubStage s = subStages.get(i);
            sb.append(i == 0 ? "" : ", ").append(s.code()).append(':').append(s.dynamics().getClass().getSimpleName());
        }
        return sb.append("], entry_status=").append(entryStatus).append(", exit_status=").append(exitStatus)
                .append(", compiled=").append(compileStep).append(", step_count=").append(stepCount).append(')')
                .toString();
    }

    /**
     * How a run ended.
     *
     * @param steps steps taken by the run
     * @param capped whether the safety cap ended it
     * @param unfinished ids (and statuses) of samples that never reached the exit status
     * @param quarantined ids of samples taken out for non-finite values
     * @param rejected ids of samples rejected because a stage did not converge ({@link OnUnconverged#REJECT})
     */
    public record RunReport(long steps, boolean capped, List<String> unfinished, List<String> quarantined,
            List<String> rejected) {}

    /** Explicit construction of a {@link FusedStage}. */
    public static final class Builder {
        private final List<Map.Entry<Integer, Dynamics>> stages = new ArrayList<>();
        private Integer entryStatus;
        private Integer exitStatus;
        private boolean compileStep;
        private boolean finalStress;
        private final Map<String, String> compileOptions = new LinkedHashMap<>();
        private final List<Hook> hooks = new ArrayList<>();
        private final List<DataSink> sinks = new ArrayList<>();
        private final List<DataSink> rejectSinks = new ArrayList<>();
        private OnUnconverged onUnconverged = OnUnconverged.CONTINUE;
        private long maxSteps;
        private FusedStage stepGraphSource;

        private Builder() {}

        /** Adds a sub-stage with its status code (chain order = call order). */
        public Builder addSubStage(int code, Dynamics dynamics) {
            stages.add(Map.entry(code, Preconditions.checkNotNull(dynamics, "dynamics")));
            return this;
        }

        /** Status of new samples; default the first sub-stage's code. */
        public Builder optEntryStatus(int status) {
            this.entryStatus = status;
            return this;
        }

        /** Status of graduated samples; default one past the largest code. */
        public Builder optExitStatus(int status) {
            this.exitStatus = status;
            return this;
        }

        /** Run each step as one exported TorchScript step graph. */
        public Builder optCompileStep(boolean compile) {
            this.compileStep = compile;
            return this;
        }

        /**
         * Gives every finished sample the stress of its final structure (eV/A^3) when the potential's
         * step forwards leave the stress out ({@code TorchScriptPotential.Builder#optStress(false)}):
         * one extra forward pass over the samples a step finishes, before they are written. Steps
         * then run without it (about a third cheaper for pair potentials) and results still carry
         * it; hooks see no stress during the run. Default false.
         */
        public Builder optFinalStress(boolean finalStress) {
            this.finalStress = finalStress;
            return this;
        }

        /** Options of the compiled step (see the compile package). */
        public Builder optCompileOption(String key, String value) {
            compileOptions.put(key, value);
            return this;
        }

        /** Adds a hook of the fused stage itself (the only place for BEFORE_COMPUTE hooks). */
        public Builder addHook(Hook hook) {
            hooks.add(Preconditions.checkNotNull(hook));
            return this;
        }

        /** Adds a sink that receives each graduated sample once. */
        public Builder addSink(DataSink sink) {
            sinks.add(Preconditions.checkNotNull(sink));
            return this;
        }

        /**
         * Adds a sink that receives each sample rejected under {@link OnUnconverged#REJECT} once,
         * flagged {@code converged=false} with a {@code reject_reason}.
         */
        public Builder addRejectSink(DataSink sink) {
            rejectSinks.add(Preconditions.checkNotNull(sink));
            return this;
        }

        /**
         * What happens to a sample whose step budget in a stage ran out before that stage's
         * criteria held; default {@link OnUnconverged#CONTINUE}. Its results say so in any case.
         */
        public Builder optOnUnconverged(OnUnconverged policy) {
            this.onUnconverged = Preconditions.checkNotNull(policy, "policy");
            return this;
        }

        /** Safety cap on the steps of one {@link #run}; 0 = none. */
        public Builder optMaxSteps(long maxSteps) {
            Preconditions.checkArgument(maxSteps >= 0, "maxSteps must be >= 0, got %s", maxSteps);
            this.maxSteps = maxSteps;
            return this;
        }

        /** Builds and wires the chain. */
        public FusedStage build() {
            return new FusedStage(this);
        }
    }
}
