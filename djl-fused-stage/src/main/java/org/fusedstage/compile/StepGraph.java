package org.fusedstage.compile;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;
import org.fusedstage.data.HostWork;
import org.fusedstage.dynamics.ChainPlan;
import org.fusedstage.dynamics.CompiledStep;
import org.fusedstage.dynamics.Criterion;
import org.fusedstage.dynamics.Dynamics;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.MaxwellBoltzmann;
import org.fusedstage.dynamics.NoiseStreams;
import org.fusedstage.dynamics.StageBookkeeping;
import org.fusedstage.dynamics.StageKind;
import org.fusedstage.dynamics.StageParameters;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;

/**
 * compile_step: a whole fused step as ONE exported TorchScript module call (see
 * {@code model-zoo/src/main/python/fused_step.py}). The chain of stages goes in as a table
 * ({@link #TABLE_COLUMNS} by stage), so one exported graph serves any chain of built-in stages;
 * random numbers come from the same per-sample streams as the eager step, so eager and compiled
 * runs agree. This class defines the graph's interface ({@link #GRAPH_VERSION}): its list inputs
 * {@code data} ({@link #DATA_INPUTS}, then each stage's {@link #RANDOM_INPUTS}), {@code state}
 * (each stage's {@link #stateNames}) and {@code table}, and its outputs ({@link #DATA_OUTPUTS},
 * then the state); {@code ScriptEmitter} writes it into the graph's sources.
 *
 * <p>Compile options ({@code FusedStage.Builder.optCompileOption}): {@value #STEP_MODULE_OPTION}
 * (the step module's path) and {@value #EXECUTOR_OPTIMIZATIONS_OPTION}; any other key fails at
 * construction.
 *
 * <p>Java cannot compile TorchScript at run time (DJL has no binding for it), so the graph is
 * exported ahead of time: zoo models ship theirs ({@code fused_step.pt}); for your own potential
 * run {@code model-zoo/src/main/python/export_step.py}.
 */
public final class StepGraph implements CompiledStep {

    /** Compile option naming the step module file. */
    public static final String STEP_MODULE_OPTION = "step_module";

    /**
     * Compile option {@code "true"} or {@code "false"} (default): run the step graph with
     * libtorch's graph-executor optimizations (profiling, kernel fusion) on. FusedStage turns them
     * off for every TorchScript call because the profiling executor has produced wrong autograd
     * forces on CUDA in older torch releases, and on a CPU, where batch shapes change with every
     * neighbor-list rebuild, re-profiling made the compiled job slower. On a GPU the step is
     * bound by kernel launches and fusion shortens it (BENCHMARKS.md, "GPU"); check your
     * potential's forces with it on (scripts/validate_step_graph_gpu.py does) before relying on it.
     */
    public static final String EXECUTOR_OPTIMIZATIONS_OPTION = "executor_optimizations";

    /**
     * The seed's {@code compile_kwargs} (torch.compile's keys), accepted for parity, with what each
     * means for an exported TorchScript step graph (logged once per key) and its allowed values.
     */
    private static final Map<String, SeedOption> SEED_OPTIONS = Map.of(
            "mode", new SeedOption(java.util.Set.of("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
                    "torch.compile's tuning mode has no counterpart: the exported graph runs on libtorch's graph executor "
                            + "(kernel fusion: option executor_optimizations); 'reduce-overhead' (CUDA graphs) is not exposed by DJL"),
            "fullgraph", new SeedOption(java.util.Set.of("true", "false"),
                    "the step graph is always one whole graph without breaks, which is what fullgraph=true asks"),
            "dynamic", new SeedOption(java.util.Set.of("true", "false"),
                    "the step graph takes any batch shape (TorchScript is shape-generic), as dynamic=true; false changes nothing"),
            "backend", new SeedOption(java.util.Set.of("inductor", "torchscript"),
                    "the only backend on the JVM is TorchScript through libtorch; 'inductor' has no counterpart"));

    private record SeedOption(java.util.Set<String> values, String meaning) {}

    private static final java.util.Set<String> SEED_OPTIONS_LOGGED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(StepGraph.class);

    private static final java.util.Set<String> OPTIONS = java.util.Set.of(STEP_MODULE_OPTION, EXECUTOR_OPTIMIZATIONS_OPTION);

    /**
     * The version of the graph's interface (its inputs and outputs, below) that this class calls;
     * the graph reports its own through its method {@code graph_version}. Version 3 takes lists
     * instead of the named dicts of version 2: DJL builds a dict input one JNI insertion per entry
     * (~3.6 us each, ~310 us per step for the 47 entries and 17 outputs), a list in one call.
     */
    public static final int GRAPH_VERSION = 3;

    /** The graph's first data inputs, in order ({@code data} list); each stage's {@link #RANDOM_INPUTS} follow. */
    public static final List<String> DATA_INPUTS = List.of(Batch.POSITIONS, Batch.VELOCITIES, Batch.FORCES, Batch.ENERGY,
            Batch.STRESS, Batch.MASSES, Batch.ATOMIC_NUMBERS, Batch.BATCH, Batch.CELL, Batch.PBC, Batch.STATUS,
            StepGraph.EDGE_INDEX, StepGraph.SHIFTS);

    // The data inputs the neighbor list gives (the potential's pairs and their periodic shifts).
    private static final String EDGE_INDEX = "edge_index";
    private static final String SHIFTS = "shifts";

    /**
     * Per stage, in chain order, after {@link #DATA_INPUTS}: its random inputs, named
     * {@code <input>.<code>} inside the graph (Langevin's noise; Maxwell-Boltzmann deviates for
     * samples entering a stage that draws velocities); an empty array where the stage draws none.
     */
    public static final List<String> RANDOM_INPUTS = List.of(Expr.STAGE_NOISE, Expr.VELOCITY_NOISE);

    /**
     * The graph's first outputs, in order; the state follows, in the order it went in. The stress
     * is the potential's where it computes one, else whatever came in (not read).
     */
    public static final List<String> DATA_OUTPUTS = List.of(Batch.POSITIONS, Batch.VELOCITIES, Batch.FORCES, Batch.ENERGY,
            Batch.STATUS, Batch.STRESS);

    // DJL passes the arrays named "x[]" as one list argument (one JNI call), a lone name as a tensor.
    private static final String DATA_LIST = "data[]";
    private static final String STATE_LIST = "state[]";

    /** Neighbor lists rebuild this much earlier (A) because the compiled step moves atoms after the check. */
    static final double NEIGHBOR_MARGIN = 0.3;

    /** The rows of the stage table the graph takes ([columns, stages]), in order ({@code table[...]} in fused_step.py). */
    public static final List<String> TABLE_COLUMNS = com.google.common.collect.ImmutableList.<String>builder()
            .addAll(StageBookkeeping.COLUMNS).add("stress").addAll(StageParameters.COLUMNS).build();

    /**
     * A stage's per-sample state in the order the graph takes it ({@code state} list, stage after
     * stage), without the stage's prefix: the bookkeeping's, then its kind's own.
     */
    public static List<String> stateNames(StageKind kind) {
        List<String> names = new ArrayList<>();
        for (StageProgram program : List.of(StageBookkeeping.program(), kind.program())) {
            program.state().forEach(state -> names.add(state.name()));
        }
        return List.copyOf(names);
    }

    private final List<StageParameters> parameters;
    private final List<String> stateKeys; // the graph's state inputs, fixed by the chain

    private final LoadedModule module;
    private final Block block;
    private final ParameterStore parameterStore = new ParameterStore();
    private final List<FusedStage.SubStage> stages;
    private final TorchScriptPotential potential;
    private final boolean executorOptimizations;
    // The stage table as one CPU tensor [columns, stages] and the empty stand-in for random inputs
    // a stage does not draw, built once: neither changes between steps.
    private final NDManager tableManager = NDManager.newBaseManager(Device.cpu());
    private final NDArray tableInput;
    private final NDArray noRandomInput;
    private final RandomInputs randomInputs = new RandomInputs();
    private boolean closed;

    /** The loaded module, shared by the step graphs of chains built from one another; closed with the last. */
    private static final class LoadedModule {
        private final ZooModel<NDList, NDList> model;
        private int users = 1;

        LoadedModule(ZooModel<NDList, NDList> model) {
            this.model = model;
            model.getBlock().freezeParameters(true);
        }

        synchronized LoadedModule retain() {
            Preconditions.checkState(users > 0, "the step graph was closed");
            users++;
            return this;
        }

        synchronized void release() {
            if (users > 0 && --users == 0) {
                model.close();
            }
        }
    }

    private StepGraph(LoadedModule module, ChainPlan plan, TorchScriptPotential potential,
            boolean executorOptimizations) {
        List<FusedStage.SubStage> stages = plan.subStages();
        this.module = module;
        this.executorOptimizations = executorOptimizations;
        this.block = module.model.getBlock();
        this.stages = stages;
        this.potential = potential;
        // The stage table [columns, stages], row-major; thresholds not given stay "not used".
        int n = stages.size();
        double[] rows = new double[TABLE_COLUMNS.size() * n];
        java.util.Arrays.fill(rows, StageParameters.UNUSED);
        List<StageParameters> params = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            FusedStage.SubStage stage = stages.get(s);
            StageParameters row = stage.dynamics().stepGraphParameters();
            params.add(row);
            final int index = s;
            java.util.function.BiConsumer<String, Double> put = (column, value) -> {
                int c = TABLE_COLUMNS.indexOf(column);
                Preconditions.checkState(c >= 0, "no stage table column %s", column);
                rows[c * n + index] = value;
            };
            row.columns().forEach(put);
            plan.chainRow(s).forEach(put);
            put.accept("stress", potential.computesStress() ? 1.0 : 0.0);
        }
        this.parameters = List.copyOf(params);
        List<String> keys = new ArrayList<>();
        for (int s = 0; s < stages.size(); s++) {
            FusedStage.SubStage stage = stages.get(s);
            List<String> names = stateNames(params.get(s).kind()).stream().map(stage.dynamics()::stateName).toList();
            Preconditions.checkState(names.equals(plan.stateNames().get(stage.code())),
                    "sub-stage %s keeps state %s, its kind %s", stage.code(), plan.stateNames().get(stage.code()), names);
            keys.addAll(names);
        }
        this.stateKeys = List.copyOf(keys);
        tableInput = tableManager.create(rows, new Shape(TABLE_COLUMNS.size(), n));
        tableInput.setName("table");
        noRandomInput = tableManager.create(new Shape(0), DataType.FLOAT64);
        noRandomInput.setName(DATA_LIST);
    }

    /**
     * Checks that every stage and criterion has a compiled counterpart, then loads the step
     * module: {@code step_module} from the options, else {@code fused_step.pt} beside the model.
     *
     * @throws IllegalArgumentException naming the stage, criterion or missing file
     */
    /** What {@link CompiledStep#load} finds through ServiceLoader (META-INF/services). */
    public static final class Loader implements CompiledStep.Loader {
        @Override
        public CompiledStep load(ChainPlan plan, Map<String, String> options) throws Exception {
            return StepGraph.load(plan, options);
        }
    }

    public static StepGraph load(ChainPlan plan, Map<String, String> options)
            throws IOException, ModelNotFoundException, MalformedModelException {
        checkOptions(options);
        String optimize = options.getOrDefault(EXECUTOR_OPTIMIZATIONS_OPTION, "false");
        Preconditions.checkArgument(optimize.equals("true") || optimize.equals("false"),
                "compileStep: option %s must be true or false, not '%s'", EXECUTOR_OPTIMIZATIONS_OPTION, optimize);
        TorchScriptPotential potential = null;
        for (FusedStage.SubStage stage : plan.subStages()) {
            potential = checkCompiled(stage);
        }
        Preconditions.checkArgument(potential.modelInterface().isNative(),
                "compileStep wraps potentials of the native convention; %s is %s", potential.metadata().name(),
                potential.modelInterface());
        Path file = options.containsKey(STEP_MODULE_OPTION) ? Path.of(options.get(STEP_MODULE_OPTION))
                : potential.getModelPath().resolve("fused_step.pt");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("compileStep: no step graph at " + file + "; export one with "
                    + "python3 model-zoo/src/main/python/export_step.py POTENTIAL.pt " + file
                    + " or give its path with optCompileOption(\"" + STEP_MODULE_OPTION + "\", PATH)");
        }
        DjlRuntime.ensureOffline();
        String name = file.getFileName().toString();
        Criteria<NDList, NDList> criteria = Criteria.builder().setTypes(NDList.class, NDList.class)
                .optEngine("PyTorch").optOption("trainParam", "true").optDevice(potential.device())
                .optModelPath(file).optModelName(name.substring(0, name.lastIndexOf('.'))).build();
        ZooModel<NDList, NDList> model = criteria.loadModel();
        long version = graphVersion(model);
        if (version != GRAPH_VERSION) {
            model.close();
            throw new IllegalArgumentException("compileStep: the step graph " + file + " has interface version " + version
                    + ", this library calls version " + GRAPH_VERSION + ": export it again with python3 "
                    + "model-zoo/src/main/python/export_step.py POTENTIAL.pt " + file);
        }
        return new StepGraph(new LoadedModule(model), plan, potential, optimize.equals("true"));
    }

    /** The interface version a loaded step graph reports; 2 for graphs from before the report (dict inputs). */
    private static long graphVersion(ZooModel<NDList, NDList> model) {
        try (IValue version = IValueUtils.runMethod((PtSymbolBlock) model.getBlock(), "graph_version")) {
            return version.toLong();
        } catch (EngineException e) { // no such method
            return 2;
        }
    }

    /**
     * A step graph for another chain of the same potential (e.g. {@code fused.plus(next)}) that
     * shares this one's loaded module instead of loading it again; each is closed on its own.
     */
    @Override
    public StepGraph sharedWith(ChainPlan other) {
        for (FusedStage.SubStage stage : other.subStages()) {
            checkCompiled(stage);
        }
        return new StepGraph(module.retain(), other, potential, executorOptimizations);
    }

    /**
     * Checks compile options: this graph's own, and the seed's torch.compile keys (values checked,
     * meaning logged once per key); any other key fails, naming the accepted ones.
     */
    public static void checkOptions(Map<String, String> options) {
        for (Map.Entry<String, String> e : options.entrySet()) {
            String key = e.getKey();
            SeedOption seed = SEED_OPTIONS.get(key);
            if (seed == null) {
                java.util.Set<String> known = new java.util.TreeSet<>(OPTIONS);
                known.addAll(SEED_OPTIONS.keySet());
                Preconditions.checkArgument(OPTIONS.contains(key), "compileStep: unknown compile option '%s' (accepted: %s)",
                        key, known);
                continue;
            }
            String value = e.getValue().toLowerCase(java.util.Locale.ROOT);
            Preconditions.checkArgument(seed.values().contains(value), "compileStep: compile option %s must be one of %s, not '%s'",
                    key, new java.util.TreeSet<>(seed.values()), e.getValue());
            if (SEED_OPTIONS_LOGGED.add(key)) {
                logger.info("compile option {}={}: {}", key, e.getValue(), seed.meaning());
            }
        }
    }

    /** Checks that a stage and its criteria have compiled counterparts; returns its potential. */
    private static TorchScriptPotential checkCompiled(FusedStage.SubStage stage) {
        Dynamics d = stage.dynamics();
        try {
            d.stepGraphParameters();
        } catch (UnsupportedOperationException e) {
            throw new IllegalArgumentException("compileStep: sub-stage " + stage.code() + " (" + d.getClass().getSimpleName()
                    + ") has no compiled counterpart; built-in stages are FIRE, VelocityVerlet, Langevin, "
                    + "DemoDynamics and SteepestDescent", e);
        }
        if (stage.convergence() != null) {
            for (Criterion c : stage.convergence().criteria()) {
                Preconditions.checkArgument(c.isBuiltIn(),
                        "compileStep: criterion '%s' of sub-stage %s has no compiled counterpart (only fmax and energy_change)",
                        c.key(), stage.code());
            }
        }
        Preconditions.checkArgument(d.potential() instanceof TorchScriptPotential,
                "compileStep needs a TorchScriptPotential, sub-stage %s has %s", stage.code(), d.potential());
        return (TorchScriptPotential) d.potential();
    }

    /**
     * One compiled fused step: updates every field and every stage's state in the batch.
     * Advances the samples' ages, as the eager step does.
     */
    public void step(Batch batch) {
        JniUtils.setGradMode(true);
        org.fusedstage.model.NeighborList neighbors = potential.neighborList(batch, NEIGHBOR_MARGIN);
        NDList inputs = new NDList();
        // The graph takes its inputs as lists, in the orders this class defines (DATA_INPUTS, ...).
        // DJL finds the lists by the arrays' names: they are named for the call and their names
        // restored after it (a view per input to carry the name was a JNI call each).
        java.util.Map<NDArray, String> renamed = new java.util.IdentityHashMap<>();
        java.util.function.BiFunction<NDArray, String, NDArray> named = (array, list) -> {
            Preconditions.checkState(!renamed.containsKey(array), "one array for two graph inputs: %s", array.getName());
            renamed.put(array, array.getName());
            array.setName(list);
            return array;
        };
        for (String key : DATA_INPUTS) {
            NDArray array = switch (key) {
                case EDGE_INDEX -> neighbors.edgeIndex();
                case SHIFTS -> potential.edgeShiftInput(neighbors);
                default -> batch.get(key);
            };
            inputs.add(named.apply(array, DATA_LIST));
        }
        // Same streams as the eager step: stage noise at the current ages, velocity draws for
        // entering samples after the ages advance (the eager step draws them in enter()). On a CPU
        // (status read back: microseconds) noise is drawn only for the stage's samples, and
        // velocities only for samples outside the stage (only they can enter it in this step).
        long[] status = HostWork.peekLongs(batch.status());
        List<Map<String, NDArray>> random = new ArrayList<>(); // per stage: its random inputs by name
        for (int k = 0; k < stages.size(); k++) {
            FusedStage.SubStage s = stages.get(k);
            random.add(new HashMap<>());
            if (parameters.get(k).kind() == StageKind.LANGEVIN) {
                boolean[] drawing = systemsWhere(status, s.code(), true);
                random.get(k).put(Expr.STAGE_NOISE, randomInputs.write(batch, Expr.STAGE_NOISE + "." + s.code(),
                        values -> NoiseStreams.hostNormal(batch, s.dynamics().stepGraphSeed(), s.code(), drawing, values), named));
            }
        }
        batch.advanceAges();
        for (int k = 0; k < stages.size(); k++) {
            FusedStage.SubStage s = stages.get(k);
            if (parameters.get(k).drawsVelocities()) {
                boolean[] drawing = systemsWhere(status, s.code(), false);
                random.get(k).put(Expr.VELOCITY_NOISE, randomInputs.write(batch, Expr.VELOCITY_NOISE + "." + s.code(),
                        values -> MaxwellBoltzmann.hostStandardNormals(batch, s.dynamics().stepGraphSeed(), drawing, values), named));
            }
            for (String input : RANDOM_INPUTS) {
                inputs.add(random.get(k).getOrDefault(input, noRandomInput));
            }
        }
        for (String key : stateKeys) {
            inputs.add(named.apply(batch.get(key), STATE_LIST));
        }
        inputs.add(tableInput);
        NDList out;
        JniUtils.setGraphExecutorOptimize(executorOptimizations);
        try {
            out = block.forward(parameterStore, inputs, true);
        } finally {
            // The flag is per thread: eager potential calls on this thread keep it off.
            JniUtils.setGraphExecutorOptimize(false);
            renamed.forEach(NDArray::setName);
        }
        Preconditions.checkState(out.size() == DATA_OUTPUTS.size() + stateKeys.size(),
                "the step graph %s returned %s arrays, not %s", module.model.getModelPath(), out.size(),
                DATA_OUTPUTS.size() + stateKeys.size());
        boolean stressOut = potential.computesStress();
        for (int i = 0; i < out.size(); i++) {
            NDArray a = out.get(i);
            String key = i < DATA_OUTPUTS.size() ? DATA_OUTPUTS.get(i) : stateKeys.get(i - DATA_OUTPUTS.size());
            if (key.equals(Batch.STRESS) && !stressOut) {
                a.close(); // the potential left it out (optStress(false))
                continue;
            }
            // Only what the forward pass touched carries a gradient (energy, and values made
            // from it): a detached copy of every output was a JNI call and an array each.
            NDArray value = a.hasGradient() ? a.stopGradient() : a;
            value.setName(key);
            batch.set(key, value);
        }
        if (!stressOut) {
            batch.clearStress();
        }
    }

    /** Systems whose status is (or, with {@code inStage} false, is not) {@code code}; null (all) without a host status. */
    private static boolean[] systemsWhere(long[] status, int code, boolean inStage) {
        if (status == null) {
            return null;
        }
        boolean[] out = new boolean[status.length];
        for (int i = 0; i < status.length; i++) {
            out[i] = (status[i] == code) == inStage;
        }
        return out;
    }


    /**
     * The step's random inputs (Langevin noise, Maxwell-Boltzmann deviates). On a CPU each is
     * written into an array kept between steps (named for the data list once) while the batch's shape and dtype
     * stay: a new array per input and step cost 50-75 us in the step (a staging copy, a wrapper
     * and a clone), the write alone a few. The graph reads them during the call only (no output
     * is a view of one). On another device each step uploads new arrays, as before.
     */
    private static final class RandomInputs implements AutoCloseable {
        private final NDManager manager = NDManager.newBaseManager(Device.cpu());
        private final Map<String, Kept> kept = new HashMap<>();

        /** A kept input, the native-order view of its memory that the writes go through, and the host values. */
        private record Kept(NDArray array, ByteBuffer memory, double[] values) {}

        /**
         * The random input {@code key} for this step, its values ([N*3], row-major) written by
         * {@code draw}; on a device other than a CPU a new array in the batch's manager, named
         * through {@code named}.
         */
        NDArray write(Batch batch, String key, java.util.function.Consumer<double[]> draw,
                java.util.function.BiFunction<NDArray, String, NDArray> named) {
            Shape shape = new Shape(batch.numAtoms(), 3);
            DataType type = batch.getDataType();
            if (!Device.Type.CPU.equals(batch.getDevice().getDeviceType())) {
                double[] values = new double[3 * batch.numAtoms()];
                draw.accept(values);
                return named.apply(HostArrays.create(batch.getManager(), values, shape, type), DATA_LIST);
            }
            Kept input = kept.get(key);
            if (input == null || !input.array().getShape().equals(shape) || input.array().getDataType() != type) {
                if (input != null) {
                    input.array().close();
                }
                NDArray array = manager.create(shape, type);
                NDScope.unregister(array); // kept between steps: the step's scope must not close it
                array.setName(DATA_LIST);
                input = new Kept(array, array.toByteBuffer(true).order(ByteOrder.nativeOrder()), new double[3 * batch.numAtoms()]);
                kept.put(key, input);
            }
            draw.accept(input.values());
            HostArrays.write(input.memory(), 0, input.values(), 0, input.values().length, type);
            return input.array();
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        tableManager.close();
        randomInputs.close();
        module.release();
    }
}
