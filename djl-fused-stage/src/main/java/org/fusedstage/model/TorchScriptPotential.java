package org.fusedstage.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.Batch;

/**
 * A potential stored as a TorchScript module and run through DJL's PyTorch engine.
 *
 * <p>The module follows the zoo's native convention: {@code forward(positions [N,3],
 * atomic_numbers [N] int64, batch [N] int64, cell [B,3,3], pbc [B,3] bool, edge_index [2,E] int64,
 * shifts [E,3])} with a full Verlet neighbor list (both directions of every pair, out to cutoff +
 * skin; see {@link NeighborList}), or its half-list form ({@link ModelInterface#NATIVE_HALF_LIST}), and returns
 * {@code (energy [B], forces [N,3])} or {@code (energy, forces, stress [B,3,3])} with forces from
 * a scripted {@code torch.autograd.grad}, or {@code energy [B]} alone, in which case forces are
 * taken by autograd driven from Java.
 *
 * <p>Following DJL's PyTorch pitfalls: weights load with {@code trainParam=true} and are frozen,
 * the module is called with {@code training=true} (the inference path disables autograd), and grad
 * mode is switched on (and the profiling graph executor off) on every thread that computes.
 *
 * <p>Load a zoo model by name ({@link Builder#optModelName}) or a user file by path
 * ({@link Builder#optModelPath}).
 */
public final class TorchScriptPotential implements Potential {

    /** The group id under which the FusedStage model zoo registers with DJL. */
    public static final String ZOO_GROUP_ID = "org.fusedstage.zoo";

    private static final ThreadLocal<Boolean> THREAD_CONFIGURED = ThreadLocal.withInitial(() -> false);

    /** The optional method of native modules that returns (energy, forces) without the stress. */
    public static final String ENERGY_FORCES = "energy_forces";

    private static final String[] NEQUIP_EXTRA_FILES = {"nequip_version", "r_max", "type_names", "model_dtype"};

    private final ZooModel<NDList, NDList> model;
    private final Block block;
    private final ParameterStore parameterStore = new ParameterStore();
    private final AtomicLong forwardCount = new AtomicLong();
    private final double skin;
    private int rebuildEvery;
    private final ModelInterface modelInterface;
    private volatile PotentialMetadata metadata;
    private NDArray typeIndexByZ; // NequIP: atom type index of each atomic number (-1 if unknown)
    private boolean checkedCall;
    // Names the module's energy_forces method in a call's inputs (DJL's "module_method:" convention);
    // null when stress is wanted or the module has no such method.
    private final NDArray energyForcesMethod;

    private TorchScriptPotential(ZooModel<NDList, NDList> model, PotentialMetadata metadata, double skin,
            ModelInterface modelInterface, boolean computeStress) {
        Preconditions.checkArgument(!Double.isNaN(metadata.cutoff()),
                "model '%s' declares no cutoff: give one with optMetadata(PotentialMetadata.builder(..).optCutoff(..))",
                metadata.name());
        this.model = model;
        this.block = model.getBlock();
        block.freezeParameters(true);
        this.metadata = metadata;
        this.skin = skin;
        this.modelInterface = modelInterface;
        boolean hasEnergyForces = block instanceof ai.djl.pytorch.engine.PtSymbolBlock symbol
                && java.util.Arrays.asList(JniUtils.getMethodNames(symbol)).contains(ENERGY_FORCES);
        if (!computeStress && hasEnergyForces && modelInterface.isNative()) {
            energyForcesMethod = model.getNDManager().create(0f);
            energyForcesMethod.setName("module_method:" + ENERGY_FORCES);
        } else {
            energyForcesMethod = null;
        }
        if (!modelInterface.isNative()) {
            Preconditions.checkArgument(!metadata.elements().isEmpty(),
                    "a %s model needs its elements (NequIP: type_names extra file; MACE: metadata elements=...)",
                    modelInterface);
            long[] table = new long[org.fusedstage.data.Elements.MAX_ATOMIC_NUMBER + 1];
            java.util.Arrays.fill(table, -1);
            int index = 0;
            for (int z : metadata.elementOrder()) {
                table[z] = index++;
            }
            typeIndexByZ = model.getNDManager().create(table);
        }
    }

    /** The Verlet skin of this model's neighbor lists, in A. */
    public double skin() {
        return skin;
    }

    /**
     * Whether forward passes compute the stress. False only when it was turned off
     * ({@link Builder#optStress}) and the module offers {@value #ENERGY_FORCES}; a module without that
     * method computes it anyway.
     */
    @Override
    public boolean computesStress() {
        return energyForcesMethod == null;
    }

    /** {@inheritDoc} Runs the module's forward, which gives the stress, rather than its energy_forces. */
    @Override
    public void computeWithStress(Batch batch) {
        if (computesStress()) {
            compute(batch);
            return;
        }
        configureThread();
        forwardCount.incrementAndGet();
        store(batch, forward(batch, batch.positions(), true));
    }

    /** The calling convention the module follows. */
    public ModelInterface modelInterface() {
        return modelInterface;
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Loads a zoo model by name (e.g. {@code "lennard-jones"}) on the CPU. */
    public static TorchScriptPotential fromZoo(String name) throws IOException, ModelNotFoundException, MalformedModelException {
        return builder().optModelName(name).build();
    }

    @Override
    public PotentialMetadata metadata() {
        return metadata;
    }

    @Override
    public long forwardCount() {
        return forwardCount.get();
    }

    @Override
    public void countForward() {
        forwardCount.incrementAndGet();
    }

    @Override
    public Device device() {
        return model.getNDManager().getDevice();
    }

    /** Where DJL found (or unpacked) the model files. */
    public Path getModelPath() {
        return model.getModelPath();
    }

    @Override
    public void compute(Batch batch) {
        configureThread();
        forwardCount.incrementAndGet();
        if (!modelInterface.isNative()) {
            NeighborList neighbors = neighborList(batch);
            NDList out = call(() -> modelInterface == ModelInterface.NEQUIP
                    ? forwardNequip(batch, neighbors) : forwardMace(batch, neighbors));
            storeNamed(batch, out);
            return;
        }
        if (metadata.providesForces()) {
            NDList out = forward(batch, batch.positions(), false);
            if (out.size() >= 2) {
                store(batch, out);
                if (energyForcesMethod != null) {
                    batch.clearStress();
                }
                return;
            }
            // The module returned energy only: remember it and take forces by autograd from now on.
            out.close();
            metadata = PotentialMetadata.builder(metadata.name()).optCutoff(metadata.cutoff()).optForces(false).build();
        }
        computeWithJavaAutograd(batch);
    }

    private void computeWithJavaAutograd(Batch batch) {
        NDArray positions = batch.positions().duplicate(); // a fresh leaf for autograd
        positions.setRequiresGradient(true);
        NDList out = forward(batch, positions, false);
        NDArray energy = out.get(0);
        try (NDArray total = energy.sum(); NDArray seed = total.onesLike()) {
            JniUtils.backward((PtNDArray) total, (PtNDArray) seed, false, false);
        }
        NDArray gradient = positions.getGradient();
        NDArray forces = gradient.neg();
        NDArray detachedEnergy = energy.stopGradient();
        batch.set(Batch.ENERGY, detachedEnergy);
        batch.set(Batch.FORCES, forces);
        gradient.close();
        positions.close();
        out.close();
    }

    private NDList forward(Batch batch, NDArray positions, boolean withStress) {
        NeighborList neighbors = neighborList(batch);
        NDList inputs = new NDList(positions, batch.atomicNumbers(), batch.batchIndex(), batch.cell(), batch.pbc(),
                neighbors.edgeIndex(), edgeShiftInput(neighbors));
        if (energyForcesMethod != null && !positions.hasGradient() && !withStress) {
            inputs.add(energyForcesMethod); // not an input: selects the method
        }
        return call(() -> block.forward(parameterStore, inputs, true));
    }

    /** Runs a module call; a first call that fails names the convention expected. */
    private NDList call(java.util.function.Supplier<NDList> forward) {
        if (checkedCall) {
            return forward.get();
        }
        try {
            NDList out = forward.get();
            checkedCall = true;
            return out;
        } catch (ai.djl.engine.EngineException e) {
            String said = firstLine(e.getMessage());
            if (said.contains("builtins.")) { // the module ran and raised: its own error, not a convention mismatch
                throw new IllegalArgumentException("model '" + metadata.name() + "' raised: "
                        + said.substring(said.indexOf("builtins.") + "builtins.".length()), e);
            }
            throw new IllegalArgumentException("model '" + metadata.name() + "' does not follow the " + modelInterface
                    + " convention (libtorch says: " + firstLine(e.getMessage()) + "). Supported conventions:"
                    + ModelInterface.expected() + "\nDeclare the right one with optInterface(...) or interface=... "
                    + "in the model's metadata.properties.", e);
        }
    }

    /** The first line of a libtorch message, with the exception a model raised (its traceback's last "...Error: " line). */
    private static String firstLine(String message) {
        if (message == null) {
            return "no message";
        }
        String[] lines = message.strip().split("\\R");
        for (int i = lines.length - 1; i > 0; i--) {
            if (lines[i].strip().matches("[\\w.]*(Error|Exception): .+")) {
                return lines[0].strip() + " " + lines[i].strip();
            }
        }
        return lines[0];
    }

    /** A named view of an array (the name routes it into a Dict input; views leave the batch's names alone). */
    private static NDArray named(NDArray array, String name) {
        NDArray view = array.reshape(array.getShape());
        view.setName(name);
        return view;
    }

    private NDList forwardNequip(Batch batch, NeighborList neighbors) {
        NDArray types = typeIndexByZ.get(batch.atomicNumbers());
        NDList inputs = new NDList(
                named(batch.positions(), "data.pos"),
                named(neighbors.edgeIndex(), "data.edge_index"),
                named(neighbors.shifts(), "data.edge_cell_shift"),
                named(batch.cell(), "data.cell"),
                named(batch.pbc(), "data.pbc"),
                named(types, "data.atom_types"),
                named(batch.batchIndex(), "data.batch"));
        return block.forward(parameterStore, inputs, true);
    }

    private NDList forwardMace(Batch batch, NeighborList neighbors) {
        NDArray types = typeIndexByZ.get(batch.atomicNumbers());
        NDArray oneHot = types.oneHot(metadata.elements().size()).toType(batch.getDataType(), false);
        NDArray cartesian = neighbors.translations().transpose(); // [E,3], computed once per build
        NDArray ptr = batch.getManager().arange(0, batch.numSystems() + 1, 1, ai.djl.ndarray.types.DataType.INT64);
        NDList inputs = new NDList(
                named(batch.positions(), "data.positions"),
                named(oneHot, "data.node_attrs"),
                named(neighbors.edgeIndex(), "data.edge_index"),
                named(cartesian, "data.shifts"),
                named(neighbors.shifts(), "data.unit_shifts"),
                named(batch.cell(), "data.cell"),
                named(batch.batchIndex(), "data.batch"),
                named(ptr, "data.ptr"),
                batch.masses().onesLike());
        return block.forward(parameterStore, inputs, true);
    }

    /** Stores outputs named as in the NequIP and MACE conventions. */
    private void storeNamed(Batch batch, NDList out) {
        java.util.Map<String, NDArray> byName = new java.util.HashMap<>();
        for (NDArray a : out) {
            byName.put(a.getName(), a);
        }
        NDArray energy = byName.containsKey("total_energy") ? byName.get("total_energy") : byName.get("total_energy_local");
        NDArray forces = byName.get("forces");
        if (energy == null || forces == null) {
            throw new IllegalArgumentException("model '" + metadata.name() + "' returned " + byName.keySet()
                    + "; the " + modelInterface + " convention needs total_energy (or total_energy_local) and forces");
        }
        batch.set(Batch.ENERGY, energy.reshape(batch.numSystems()).stopGradient());
        batch.set(Batch.FORCES, forces.stopGradient());
        if (byName.get("stress") != null) {
            batch.set(Batch.STRESS, byName.get("stress").reshape(batch.numSystems(), 3, 3).stopGradient());
        } else if (byName.get("virials") != null) {
            // MACE reports virials W; stress = -W / V, zero unless periodic on every axis (as the zoo's).
            NDArray volume = volumes(batch).reshape(batch.numSystems(), 1, 1);
            NDArray stress = byName.get("virials").reshape(batch.numSystems(), 3, 3).neg().div(volume).stopGradient();
            NDArray periodic = batch.pbc().toType(ai.djl.ndarray.types.DataType.INT32, false).sum(new int[] {1}).eq(3)
                    .reshape(batch.numSystems(), 1, 1).broadcast(stress.getShape());
            batch.set(Batch.STRESS, ai.djl.ndarray.NDArrays.where(periodic, stress, stress.zerosLike()));
        }
    }

    /** |det(cell)| per system, 1 where the cell is degenerate (non-periodic systems). */
    private static NDArray volumes(Batch batch) {
        NDArray c = batch.cell();
        NDArray a0 = c.get(":, 0");
        NDArray a1 = c.get(":, 1");
        NDArray a2 = c.get(":, 2");
        NDArray cross = ai.djl.ndarray.NDArrays.stack(new NDList(
                a1.get(":, 1").mul(a2.get(":, 2")).sub(a1.get(":, 2").mul(a2.get(":, 1"))),
                a1.get(":, 2").mul(a2.get(":, 0")).sub(a1.get(":, 0").mul(a2.get(":, 2"))),
                a1.get(":, 0").mul(a2.get(":, 1")).sub(a1.get(":, 1").mul(a2.get(":, 0")))), 1);
        NDArray volume = a0.mul(cross).sum(new int[] {1}).abs();
        return ai.djl.ndarray.NDArrays.where(volume.gt(0), volume, volume.onesLike());
    }

    /** The batch's neighbor list for this model's cutoff, brought up to date. */
    public NeighborList neighborList(Batch batch) {
        return neighborList(batch, 0);
    }

    /**
     * The batch's neighbor list in this model's layout (full, or half for
     * {@link ModelInterface#NATIVE_HALF_LIST}), rebuilt when an atom moved more than half the skin
     * minus {@code margin} A (see {@link NeighborList#update(Batch, double)}).
     */
    public NeighborList neighborList(Batch batch, double margin) {
        NeighborList neighbors = NeighborList.of(batch, metadata.cutoff(), skin,
                modelInterface == ModelInterface.NATIVE_HALF_LIST);
        neighbors.setRebuildEvery(rebuildEvery);
        neighbors.update(batch, margin);
        return neighbors;
    }

    /**
     * The seventh native input: integer lattice shifts [E,3] ({@link ModelInterface#NATIVE}) or
     * cartesian translations [3,E] in A ({@link ModelInterface#NATIVE_HALF_LIST}).
     */
    public NDArray edgeShiftInput(NeighborList neighbors) {
        return modelInterface == ModelInterface.NATIVE_HALF_LIST ? neighbors.translations() : neighbors.shifts();
    }

    /** Neighbor-list rebuild interval in forward passes, 0 = rebuild on displacement (see builder). */
    public int rebuildEvery() {
        return rebuildEvery;
    }

    private void store(Batch batch, NDList out) {
        for (int i = 0; i < Math.min(out.size(), 3); i++) {
            Preconditions.checkArgument(out.get(i).getDataType() == batch.getDataType(),
                    "model '%s' returned %s of type %s for a %s batch: a potential returns floating-point energies, forces "
                            + "and stress of the batch's dtype", metadata.name(), new String[] {"energy", "forces", "stress"}[i],
                    out.get(i).getDataType(), batch.getDataType());
        }
        Preconditions.checkState(
                out.get(0).getShape().size() == batch.numSystems(),
                "model '%s' returned energy of shape %s for %s systems",
                metadata.name(),
                out.get(0).getShape(),
                batch.numSystems());
        batch.set(Batch.ENERGY, out.get(0));
        batch.set(Batch.FORCES, out.get(1));
        if (out.size() >= 3) {
            batch.set(Batch.STRESS, out.get(2));
        }
        for (int i = 3; i < out.size(); i++) {
            out.get(i).close();
        }
    }

    /** Grad mode and the graph-executor flag are per thread in libtorch: set them once per thread. */
    private static void configureThread() {
        if (!THREAD_CONFIGURED.get()) {
            JniUtils.setGradMode(true);
            JniUtils.setGraphExecutorOptimize(false);
            THREAD_CONFIGURED.set(true);
        }
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public String toString() {
        return "TorchScriptPotential(" + metadata.name() + ", " + device() + ")";
    }

    /** Builder: a zoo name or a path is required. */
    public static final class Builder {
        private String modelName;
        private Path modelPath;
        private Device device;
        private PotentialMetadata metadata;
        private double skin = 1.0;
        private int rebuildEvery;
        private ModelInterface modelInterface;
        private boolean computeStress = true;

        /**
         * Whether forward passes compute the stress (default true). Relaxations at fixed cell and MD
         * at fixed volume read none, and for the zoo's pair potentials the virial costs about a
         * third of the forward: with false, modules that offer {@value #ENERGY_FORCES} skip it and
         * results carry no stress (other modules compute it anyway).
         */
        public Builder optStress(boolean computeStress) {
            this.computeStress = computeStress;
            return this;
        }

        /**
         * Rebuild neighbor lists every {@code k} forward passes without checking displacements,
         * so no step reads device data back (for GPUs); pick a skin no atom crosses in k steps.
         * Default 0: rebuild when an atom moved more than half the skin (one scalar read per pass).
         */
        public Builder optRebuildEvery(int k) {
            Preconditions.checkArgument(k >= 0, "rebuild interval must be >= 0, got %s", k);
            this.rebuildEvery = k;
            return this;
        }

        private Builder() {}

        /** The module's calling convention; default: from metadata, else detected (NequIP extra files), else native. */
        public Builder optInterface(ModelInterface modelInterface) {
            this.modelInterface = modelInterface;
            return this;
        }

        /** Verlet skin of the neighbor list in A (default 1.0): larger means fewer rebuilds, more pairs. */
        public Builder optSkin(double angstrom) {
            Preconditions.checkArgument(angstrom >= 0, "skin must be >= 0 A, got %s", angstrom);
            this.skin = angstrom;
            return this;
        }

        /** A model of the FusedStage zoo by name, e.g. {@code "lennard-jones"}. */
        public Builder optModelName(String modelName) {
            this.modelName = modelName;
            return this;
        }

        /** A TorchScript file (or a folder holding one) of the user's. */
        public Builder optModelPath(Path modelPath) {
            this.modelPath = modelPath;
            return this;
        }

        /** The device to run on; default CPU. */
        public Builder optDevice(Device device) {
            this.device = device;
            return this;
        }

        /**
         * Metadata for a user file; default: {@code <stem>.properties} or
         * {@code metadata.properties} beside the file, else a description with unknown cutoff
         * and any element.
         */
        public Builder optMetadata(PotentialMetadata metadata) {
            this.metadata = metadata;
            return this;
        }

        /** Loads the model. */
        public TorchScriptPotential build() throws IOException, ModelNotFoundException, MalformedModelException {
            Preconditions.checkState(
                    (modelName == null) != (modelPath == null), "give exactly one of a zoo model name or a model path");
            DjlRuntime.ensureOffline();
            Criteria.Builder<NDList, NDList> criteria = Criteria.builder()
                    .setTypes(NDList.class, NDList.class)
                    .optEngine("PyTorch")
                    .optOption("trainParam", "true")
                    // NequIP deployments keep their metadata in TorchScript extra files.
                    .optOption("extraFiles", String.join(",", NEQUIP_EXTRA_FILES))
                    .optDevice(device == null ? Device.cpu() : device);
            if (modelName != null) {
                criteria.optGroupId(ZOO_GROUP_ID).optArtifactId(modelName);
            } else {
                if (!Files.exists(modelPath)) {
                    throw new ModelNotFoundException("no model file at " + modelPath.toAbsolutePath());
                }
                criteria.optModelPath(modelPath);
                if (Files.isRegularFile(modelPath)) {
                    criteria.optModelName(stem(modelPath));
                } else if (Files.isRegularFile(modelPath.resolve("metadata.properties"))) {
                    // A model folder names its file in its metadata (converted potentials, copies of zoo folders).
                    java.util.Properties p = new java.util.Properties();
                    try (java.io.Reader r = Files.newBufferedReader(modelPath.resolve("metadata.properties"))) {
                        p.load(r);
                    }
                    String file = p.getProperty("file");
                    if (file != null) {
                        criteria.optModelName(stem(Path.of(file.trim())));
                    }
                }
            }
            ZooModel<NDList, NDList> model;
            try {
                model = criteria.build().loadModel();
            } catch (ModelNotFoundException e) {
                if (modelName != null) {
                    throw new ModelNotFoundException("no model named '" + modelName + "' in the FusedStage zoo "
                            + "(is the model-zoo jar on the class path?): " + e.getMessage(), e);
                }
                throw e;
            }
            try {
                PotentialMetadata resolved = resolveMetadata(model);
                ModelInterface chosen = modelInterface != null ? modelInterface
                        : resolved.modelInterface() != null ? resolved.modelInterface()
                        : isNequip(model) ? ModelInterface.NEQUIP : ModelInterface.NATIVE;
                if (chosen == ModelInterface.NEQUIP && metadata == null && isNequip(model)) {
                    resolved = nequipMetadata(model, resolved);
                }
                TorchScriptPotential potential = new TorchScriptPotential(model, resolved, skin, chosen, computeStress);
                potential.rebuildEvery = rebuildEvery;
                return potential;
            } catch (IOException | RuntimeException e) {
                model.close();
                throw e;
            }
        }

        private static boolean isNequip(ZooModel<?, ?> model) {
            String version = model.getProperty("nequip_version");
            return version != null && !version.isBlank();
        }

        /** Cutoff and elements from a NequIP deployment's extra files. */
        private static PotentialMetadata nequipMetadata(ZooModel<?, ?> model, PotentialMetadata base) {
            PotentialMetadata.Builder b = PotentialMetadata.builder(base.name())
                    .optCutoff(Double.parseDouble(model.getProperty("r_max").trim()))
                    .optStress(true)
                    .optInterface(ModelInterface.NEQUIP)
                    .optCitation(base.citation());
            for (String type : model.getProperty("type_names").trim().split("\\s+")) {
                b.addElement(org.fusedstage.data.Elements.numberOf(type).orElseThrow(() -> new IllegalArgumentException(
                        "NequIP type name '" + type + "' is not an element symbol: give the elements with optMetadata")));
            }
            return b.build();
        }

        private PotentialMetadata resolveMetadata(ZooModel<?, ?> model) throws IOException {
            if (metadata != null) {
                return metadata;
            }
            Path dir = model.getModelPath();
            if (modelPath != null && Files.isRegularFile(modelPath)) {
                Path sibling = modelPath.resolveSibling(stem(modelPath) + ".properties");
                if (Files.isRegularFile(sibling)) {
                    return PotentialMetadata.read(sibling);
                }
                dir = modelPath.toAbsolutePath().getParent();
            }
            Path file = dir.resolve("metadata.properties");
            if (Files.isRegularFile(file)) {
                return PotentialMetadata.read(file);
            }
            String name = modelName != null ? modelName : modelPath.getFileName().toString();
            return PotentialMetadata.builder(name).build();
        }

        private static String stem(Path file) {
            String name = file.getFileName().toString();
            int dot = name.lastIndexOf('.');
            return dot > 0 ? name.substring(0, dot) : name;
        }
    }
}
