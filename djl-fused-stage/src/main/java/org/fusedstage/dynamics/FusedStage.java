package org.fusedstage.dynamics;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostWork;
import org.fusedstage.data.Status;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.model.Potential;
import org.fusedstage.sampling.InflightChain;
import org.fusedstage.sampling.InflightRunner;
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
 *
 * <p>A facade over the parts that do the work: the {@link ChainPlan} (the wiring, fixed at
 * build), a step executor ({@link EagerStep} or the compiled {@link GraphStep}), the
 * {@link HookDispatch}, {@link StageTransitions} (criteria, migration, entry resets), the
 * {@link GraduationWriter} (what leaves, written once) and, for inflight mode, the
 * {@link InflightRunner} of the sampling package, which drives this class as an {@link InflightChain}.
 */
public final class FusedStage implements AutoCloseable, InflightChain {

    private static final Logger logger = LoggerFactory.getLogger(FusedStage.class);
    private static final AtomicBoolean CPU_COMPILE_NOTE_LOGGED = new AtomicBoolean();

    private final ChainPlan plan;
    private final HookDispatch hooks;
    private final StageTransitions transitions;
    private final StepExecutor executor;
    private final GraduationWriter graduation;
    private final boolean compileStep;
    private final boolean finalStress;
    private final ImmutableMap<String, String> compileOptions;
    private final ImmutableList<DataSink> sinks;
    private final ImmutableList<DataSink> rejectSinks;
    private final long maxSteps;
    private long stepCount;
    private RunReport lastReport;
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
        this.plan = ChainPlan.wire(b.stages, b.entryStatus, b.exitStatus, b.onUnconverged);
        this.hooks = new HookDispatch(b.hooks, plan.subStages());
        this.transitions = new StageTransitions(plan);
        this.compileStep = b.compileStep;
        this.finalStress = b.finalStress;
        this.compileOptions = ImmutableMap.copyOf(b.compileOptions);
        this.sinks = ImmutableList.copyOf(b.sinks);
        this.rejectSinks = ImmutableList.copyOf(b.rejectSinks);
        this.maxSteps = b.maxSteps;
        Potential potential = plan.potential();
        this.graduation = new GraduationWriter(plan.subStages(), plan.exitStatus(), sinks, rejectSinks,
                finalStress && !potential.computesStress() ? potential : null);
        if (compileStep) {
            GraphStep shareFrom = b.stepGraphSource != null && b.stepGraphSource.executor instanceof GraphStep g ? g : null;
            this.executor = GraphStep.load(plan, hooks, transitions, compileOptions, shareFrom);
            if (!potential.device().isGpu() && !CPU_COMPILE_NOTE_LOGGED.getAndSet(true)) {
                logger.info("compileStep on a CPU: the eager step is usually faster there (it does per-sample work "
                        + "on the host; see BENCHMARKS.md); the step graph is meant for GPUs");
            }
        } else {
            this.executor = new EagerStep(plan, hooks, transitions);
        }
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
        List<SubStage> subStages = plan.subStages();
        b.addSubStage(subStages.get(subStages.size() - 1).code() + 1, next);
        return b.build();
    }

    private Builder toBuilder() {
        Builder b = builder();
        for (SubStage s : plan.subStages()) {
            b.addSubStage(s.code(), s.dynamics());
        }
        b.entryStatus = plan.entryStatus();
        b.compileStep = compileStep;
        b.finalStress = finalStress;
        b.compileOptions.putAll(compileOptions);
        b.hooks.addAll(hooks.hooks());
        b.sinks.addAll(sinks);
        b.rejectSinks.addAll(rejectSinks);
        b.onUnconverged = plan.onUnconverged();
        b.maxSteps = maxSteps;
        b.stepGraphSource = compileStep ? this : null; // the new stage shares the loaded graph
        return b;
    }

    /** The wiring of the chain. */
    public ChainPlan plan() {
        return plan;
    }

    /** The wired sub-stages in chain order. */
    public List<SubStage> subStages() {
        return plan.subStages();
    }

    /** Status of new samples. */
    public int entryStatus() {
        return plan.entryStatus();
    }

    /** Status of samples that finished the last stage. */
    public int exitStatus() {
        return plan.exitStatus();
    }

    /** Steps taken so far. */
    @Override
    public long stepCount() {
        return stepCount;
    }

    /** The shared potential. */
    public Potential potential() {
        return plan.potential();
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
    @Override
    public void prepare(Batch batch) {
        Potential potential = plan.potential();
        potential.validate(batch);
        Preconditions.checkArgument(batch.getDevice().equals(potential.device()),
                "the batch is on %s but the model on %s", batch.getDevice(), potential.device());
        try (NDScope scope = new NDScope()) {
            if (!batch.statusAssigned()) { // a new batch starts at the entry status; explicit statuses are honoured
                long[] status = batch.status().toLongArray();
                for (int i = 0; i < status.length; i++) {
                    status[i] = status[i] == Status.VACANT ? Status.VACANT : plan.entryStatus();
                }
                batch.setStatus(status);
            }
            plan.checkOwned(batch, batch.status().toLongArray());
            for (SubStage s : plan.subStages()) {
                s.dynamics().initialize(batch);
            }
            NDArray before = batch.status().duplicate();
            transitions.enterOwned(batch);
            potential.compute(batch);
            hooks.fused(HookStage.AFTER_COMPUTE, batch, stepCount, null); // e.g. a guard sees the primed forces
            hooks.stages(HookStage.AFTER_COMPUTE, batch, stepCount, null);
            transitions.migrate(batch, () -> before, HostWork.peekLongs(before), transitions.masks(batch), Occupancy.UNKNOWN);
        }
    }

    /**
     * One fused step over the whole batch.
     *
     * @return [B] boolean: the samples that reached the exit status in this step (owned by the
     *     batch's manager; close it when done)
     */
    public NDArray step(Batch batch) {
        try (NDScope scope = new NDScope()) {
            NDArray graduated = executor.step(batch, ++stepCount, Occupancy.UNKNOWN).get();
            graduated.attach(batch.getManager());
            NDScope.unregister(graduated);
            return graduated;
        }
    }

    /** One step with the statuses just read by a run loop (null: not known); what leaves is written by the loop. */
    @Override
    public void step(Batch batch, long[] status) {
        try (NDScope scope = new NDScope()) {
            executor.step(batch, ++stepCount, status == null ? Occupancy.UNKNOWN : Occupancy.of(status));
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
        Arrays.fill(previous, Long.MIN_VALUE);
        long started = stepCount;
        long[] status = batch.status().toLongArray();
        boolean fresh = true;
        writeLeavers(batch, previous, status);
        while (anyRunning(status)) {
            if (maxSteps > 0 && stepCount - started >= maxSteps) {
                endRun(batch, status, stepCount - started, true);
                return batch;
            }
            step(batch, fresh ? status : null);
            fresh = (stepCount - started) % refillFrequency == 0;
            if (!fresh) {
                continue; // the status is read (the one device-to-host read) every refillFrequency steps
            }
            previous = status;
            status = batch.status().toLongArray();
            writeLeavers(batch, previous, status);
            if (stepCount % 1000 == 0) {
                logger.info("FusedStage step {}: {}", stepCount, GraduationWriter.occupancy(status));
            }
        }
        endRun(batch, status, stepCount - started, false);
        return batch;
    }

    /**
     * Writes the samples that reached the exit status (or were rejected) since {@code previous},
     * once each; fails on statuses no stage owns.
     */
    @Override
    public void writeLeavers(Batch batch, long[] previous, long[] status) {
        plan.checkOwned(batch, status);
        graduation.write(batch, previous, status);
    }

    @Override
    public void writeCapped(Batch batch, List<Integer> slots, long[] status) {
        graduation.writeCapped(batch, slots, status);
    }

    @Override
    public void endRun(Batch batch, long[] status, long steps, boolean capped) {
        lastReport = graduation.report(batch, status, steps, capped);
        if (capped) {
            logger.warn("FusedStage stopped at its safety cap of {} steps: {}", maxSteps, lastReport);
        }
    }

    /**
     * After the step whose forward pass gave the refilled samples their forces: they enter the
     * first stage (state reset, velocities drawn where the stage asks), restart their age so their
     * random streams start where a sample loaded in a fresh batch starts, and get the convergence
     * check that precedes a first step. A sample a hook quarantined in that step stays out.
     */
    @Override
    public void admit(Batch batch, List<Integer> slots) {
        long[] status = batch.status().toLongArray();
        boolean[] fresh = new boolean[status.length];
        List<Integer> admitted = new ArrayList<>();
        for (int i : slots) {
            if (status[i] == Status.ADMITTING) {
                fresh[i] = true;
                admitted.add(i);
                status[i] = plan.entryStatus();
            }
        }
        if (admitted.isEmpty()) {
            return;
        }
        batch.restartAges(admitted);
        try (NDScope scope = new NDScope()) {
            batch.setStatus(status);
            NDArray isNew = batch.getManager().create(fresh);
            NDArray before = batch.status().duplicate();
            List<StageMask> masks = new ArrayList<>();
            for (SubStage s : plan.subStages()) {
                s.dynamics().initialize(batch);
                StageMask entering = new StageMask(batch, batch.status().eq(s.code()).logicalAnd(isNew));
                s.dynamics().enter(batch, entering);
                masks.add(entering);
            }
            transitions.migrate(batch, () -> before, HostWork.peekLongs(before), masks, Occupancy.UNKNOWN);
        }
    }

    @Override
    public boolean isRunning(long status) {
        return plan.isRunning(status);
    }

    @Override
    public boolean hasLeft(long status) {
        return plan.hasLeft(status);
    }

    @Override
    public Device device() {
        return plan.potential().device();
    }

    @Override
    public long maxSteps() {
        return maxSteps;
    }

    @Override
    public int refillFrequency() {
        return refillFrequency;
    }

    @Override
    public long maxStepsPerSample() {
        return maxStepsPerSample;
    }

    @Override
    public DataType batchDataType() {
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
        return new StreamScope(plan.potential().device());
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
        lastReport = null;
        new InflightRunner(this, source).run();
        return null;
    }

    /**
     * Releases what this fused stage owns: its step graph (compileStep), which a stage built from
     * it with {@link #plus} shares until both are closed. The sub-stages, model, sinks and batches
     * belong to the caller. Idempotent.
     */
    @Override
    public void close() {
        executor.close();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("FusedStage(sub_stages=[");
        List<SubStage> subStages = plan.subStages();
        for (int i = 0; i < subStages.size(); i++) {
            SubStage s = subStages.get(i);
            sb.append(i == 0 ? "" : ", ").append(s.code()).append(':').append(s.dynamics().getClass().getSimpleName());
        }
        return sb.append("], entry_status=").append(plan.entryStatus()).append(", exit_status=").append(plan.exitStatus())
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
