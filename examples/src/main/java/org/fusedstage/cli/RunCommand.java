package org.fusedstage.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import ai.djl.repository.zoo.ModelNotFoundException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Dataset;
import org.fusedstage.data.ExtxyzDataset;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.InMemoryDataset;
import org.fusedstage.data.InputProblem;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.OnUnconverged;
import org.fusedstage.dynamics.StageSpec;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.hooks.SnapshotHook;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sampling.SharedSampleSource;
import org.fusedstage.sampling.SizeAwareSampler;
import org.fusedstage.sampling.ValidatedDataset;
import org.fusedstage.sinks.ExtxyzSink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fused-stage run}: the main job. */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Run a chain of stages over a dataset with inflight batching (default: a built-in demo).")
final class RunCommand implements Callable<Integer> {

    @Mixin
    ChainOptions chain = new ChainOptions();

    @Option(names = "--input", description = "extxyz file of structures (default: a generated demo dataset of perturbed fcc argon).")
    Path input;

    @Option(names = "--output", defaultValue = "fused-stage-output", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--workers", defaultValue = "0", description = "FusedStages running at once, one thread each, over one "
            + "shared sampler and one set of outputs; each sample runs once, with the same result as with one worker "
            + "(default 0: one per core on a CPU, one on a GPU).")
    int workers;

    @Option(names = "--refill-frequency", defaultValue = "1", description = "Refill finished slots every N steps.")
    int refillFrequency;

    @Option(names = "--snapshot-every", defaultValue = "0", description = "Write the whole batch to trajectory.extxyz every N steps.")
    int snapshotEvery;

    @Option(names = "--resume", description = "Continue an interrupted run in the same --output: finished samples are skipped.")
    boolean resume;

    @Option(names = "--on-bad-input", defaultValue = "skip",
            description = "skip (report bad samples in invalid.csv and run the rest) or fail (stop before the run).")
    String onBadInput;

    @Option(names = "--demo-size", defaultValue = "200", hidden = true)
    int demoSize;

    @Override
    public Integer call() throws Exception {
        List<StageSpec> specs = chain.specs();
        Device dev = chain.device();
        DataType dataType = chain.dataType();
        OnUnconverged unconvergedPolicy = chain.onUnconverged();
        ValidatedDataset.Policy policy = switch (onBadInput) {
            case "skip" -> ValidatedDataset.Policy.SKIP;
            case "fail" -> ValidatedDataset.Policy.FAIL_FAST;
            default -> throw new IllegalArgumentException("--on-bad-input must be skip or fail, got '" + onBadInput + "'");
        };
        checkLimits();
        OutputFolder folder = OutputFolder.check(output, resume);
        List<InputProblem> problems = new ArrayList<>();
        Dataset raw = input != null ? openInput(input, policy == ValidatedDataset.Policy.SKIP ? problems : null)
                : new InMemoryDataset(demoDataset(demoSize, chain.seed));
        try (TorchScriptPotential potential = chain.loadModel(dev)) {
            checkChain(specs, potential); // a chain that could never end is refused before any output exists
            ValidatedDataset dataset = ValidatedDataset.check(raw, potential.metadata().elements(),
                    potential.metadata().cutoff() + potential.skin(), policy);
            problems.addAll(dataset.problems());
            folder.create();
            writeProblems(folder, problems);
            if (!problems.isEmpty()) {
                System.out.printf("%d sample(s) left out for bad input, listed in %s (first: %s)%n", problems.size(),
                        folder.resolve("invalid.csv"), problems.get(0));
            }
            if (dataset.size() == 0) { // before any output is opened: nothing empty is left behind
                throw new IllegalArgumentException("no valid sample in " + (input != null ? input : "the input") + ": "
                        + problems.size() + " left out, listed in " + folder.resolve("invalid.csv"));
            }
            return run(potential, dataset, problems, specs, folder, dev, dataType, unconvergedPolicy);
        }
    }

    /** The run proper, once the model and the input are known to be usable. */
    private int run(TorchScriptPotential potential, ValidatedDataset dataset, List<InputProblem> problems, List<StageSpec> specs,
            OutputFolder folder, Device dev, DataType dataType, OnUnconverged unconvergedPolicy) throws Exception {
        List<Path> created = new ArrayList<>(); // outputs this run creates: removed again if it fails before writing any
        for (String name : List.of("results.extxyz", "rejects.extxyz", "trajectory.extxyz")) {
            if (!Files.exists(folder.resolve(name))) {
                created.add(folder.resolve(name));
            }
        }
        try {
            return runWithSinks(potential, dataset, problems, specs, folder, dev, dataType, unconvergedPolicy);
        } catch (Exception | Error e) {
            for (Path file : created) {
                if (Files.exists(file) && Files.size(file) == 0) {
                    Files.delete(file);
                }
            }
            throw e;
        }
    }

    private int runWithSinks(TorchScriptPotential potential, ValidatedDataset dataset, List<InputProblem> problems,
            List<StageSpec> specs, OutputFolder folder, Device dev, DataType dataType, OnUnconverged unconvergedPolicy)
            throws Exception {
        Path results = folder.resolve("results.extxyz");
        try (ExtxyzSink sink = ExtxyzSink.resume(results);
                ExtxyzSink rejects = ExtxyzSink.resume(folder.resolve("rejects.extxyz"));
                ExtxyzSink trajectory = snapshotEvery > 0 ? ExtxyzSink.resume(folder.resolve("trajectory.extxyz")) : null) {
            Set<String> finished = new HashSet<>(sink.existingIds());
            finished.addAll(rejects.existingIds()); // quarantined samples are finished too: exactly once in rejects
            SizeAwareSampler.Builder sb = SizeAwareSampler.builder(dataset).optMaxAtoms(chain.maxAtoms).optMaxBatchSize(chain.maxBatchSize)
                    .optSkip(finished);
            if (chain.maxEdges > 0) {
                sb.optMaxEdges(chain.maxEdges, ChainOptions.edgeRadius(potential));
            }
            SizeAwareSampler sampler = sb.build();
            int todo = sampler.remaining();
            long rejectsBefore = rejects.size();
            Set<Long> relaxationCodes = new HashSet<>();
            Set<Long> mdCodes = new HashSet<>();
            for (int k = 0; k < specs.size(); k++) {
                (specs.get(k).isRelaxation() ? relaxationCodes : mdCodes).add((long) k);
            }
            long before = sink.size(); // samples written by an earlier run: not part of this run's progress
            ChainOptions.notNegative("--workers", workers);
            int workers = this.workers > 0 ? this.workers : dev.isGpu() ? 1 : Runtime.getRuntime().availableProcessors();
            List<FusedStage> chains = new ArrayList<>();
            List<RunMetrics> metrics = new ArrayList<>(); // the first worker's prints progress and feeds the plots
            for (int w = 0; w < workers; w++) {
                FusedStage.Builder fb = chain.chain(potential, specs).addSink(sink).addRejectSink(rejects);
                RunMetrics m = new RunMetrics(10, relaxationCodes, mdCodes, todo, () -> sink.size() - before, w == 0 ? System.out : null);
                metrics.add(m);
                fb.addHook(m).addHook(new NonFiniteGuard(rejects));
                if (trajectory != null) {
                    fb.addHook(new SnapshotHook(trajectory, snapshotEvery));
                }
                FusedStage fused = fb.build(); // not closed here: it owns nothing but a step graph, closed below
                fused.setRefillFrequency(refillFrequency);
                fused.setBatchDataType(dataType);
                chains.add(fused);
            }
            System.out.printf("%s%nmodel %s, %d samples to run (%d already in %s), device %s, %s%s%n", chains.get(0),
                    potential.metadata().name(), todo, sink.existingIds().size(), results, dev, chain.dtype,
                    workers > 1 ? ", " + workers + " workers" : "");
            long start = System.nanoTime();
            Plots.warmUp();
            runWorkers(chains, sampler);
            metrics.get(0).finish();
            double seconds = (System.nanoTime() - start) / 1e9;
            Summary summary = writeSummary(results, folder, specs);
            folder.replace("relaxation.png", out -> Plots.write(out, "Relaxation", "step", "mean energy (eV/atom)",
                    "max force (eV/A)", metrics.get(0).relaxation));
            folder.replace("md.png", out -> Plots.write(out, "Molecular dynamics", "step", "temperature (K)",
                    "mean energy (eV/atom)", metrics.get(0).md));
            folder.replace("throughput.png", out -> Plots.write(out, "Throughput", "time (s)", "atom-steps/s", "samples done",
                    metrics.get(0).throughput));
            System.out.printf("done: %d samples in %.1f s, %d steps, %.3g atom-steps/s; outputs in %s%n", todo, seconds,
                    chains.stream().mapToLong(FusedStage::stepCount).sum(),
                    metrics.stream().mapToDouble(RunMetrics::atomSteps).sum() / seconds, folder.path().toAbsolutePath());
            int unconverged = summary.unconverged();
            if (unconverged > 0) {
                System.out.printf("%d sample(s) in results did not converge in every stage (converged=false; see summary.csv)%n",
                        unconverged);
            }
            long rejected = rejects.size() - rejectsBefore;
            if (rejected > 0 || !problems.isEmpty()) {
                System.out.printf("%d sample(s) left out: %d bad input (invalid.csv), %d rejected or quarantined in this run "
                        + "(rejects.extxyz)%n", problems.size() + rejected, problems.size(), rejected);
                return ExitCode.SAMPLES_LEFT_OUT;
            }
            return ExitCode.OK;
        }
    }

    /** Zoo name or file path. */
    static TorchScriptPotential loadModel(String model, Device device) throws Exception {
        return loadModel(model, device, true);
    }

    /** Zoo name or file path; {@code stress} false leaves the stress out where the module allows. */
    static TorchScriptPotential loadModel(String model, Device device, boolean stress) throws Exception {
        return loadModel(model, modelFile(model), device, stress);
    }

    /**
     * The file or folder {@code --model} names: a LAMMPS parameter file by name ({@code eam:},
     * {@code snap:}, {@code mliap:}; converted once) or an existing path; null for a zoo name.
     */
    static Path modelFile(String model) throws IOException {
        if (model.startsWith("eam:") || model.startsWith("snap:") || model.startsWith("mliap:")) {
            return importer().resolve(model);
        }
        Path path = Path.of(model);
        if (Files.exists(path)) {
            return path;
        }
        if (model.contains("/") || model.endsWith(".pt") || model.endsWith(".pth")) {
            throw new IllegalArgumentException("model file " + path.toAbsolutePath() + " does not exist");
        }
        return null;
    }

    /** The model {@link #modelFile} resolved: {@code file}, or the zoo model {@code model} when it is null. */
    static TorchScriptPotential loadModel(String model, Path file, Device device, boolean stress) throws Exception {
        TorchScriptPotential.Builder b = TorchScriptPotential.builder().optDevice(device).optStress(stress);
        if (file != null) {
            return b.optModelPath(file).build();
        }
        try {
            return b.optModelName(model).build();
        } catch (ModelNotFoundException e) {
            throw new IllegalArgumentException("unknown model '" + model + "': 'fused-stage models' lists the zoo, or give a file path");
        }
    }

    /** The importer of parameter files, with the repository's scripts (see {@link org.fusedstage.model.PotentialImporter#fromHome}). */
    static org.fusedstage.model.PotentialImporter importer() {
        return org.fusedstage.model.PotentialImporter.fromHome(home());
    }

    /** The repository (for scripts); the launcher sets fusedstage.home. */
    static Path home() {
        return Path.of(System.getProperty("fusedstage.home", "."));
    }

    private static Dataset openInput(Path file, List<InputProblem> problems) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("input file " + file.toAbsolutePath() + " does not exist");
        }
        return ExtxyzDataset.open(file, problems);
    }

    /** invalid.csv: one row per sample left out (sample, location, problem); written atomically. */
    private static void writeProblems(OutputFolder folder, List<InputProblem> problems) throws IOException {
        if (problems.isEmpty()) {
            Files.deleteIfExists(folder.resolve("invalid.csv"));
            return;
        }
        folder.replace("invalid.csv", stream -> {
            PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(stream, StandardCharsets.UTF_8));
            out.println("sample,location,problem");
            for (InputProblem p : problems) {
                out.println(csv(p.sample()) + "," + csv(p.location()) + "," + csv(p.problem()));
            }
            out.flush();
        });
    }

    /** Builds the chain once, eagerly, for the checks FusedStage makes at construction. */
    private void checkChain(List<StageSpec> specs, TorchScriptPotential potential) {
        chain.chain(potential, specs).build().close();
    }

    /**
     * Refuses limits that are out of range before anything is loaded. Limits larger than the data
     * are fine: batches are sized by what the dataset holds.
     */
    private void checkLimits() {
        chain.checkLimits();
        ChainOptions.positive("--refill-frequency", refillFrequency);
        ChainOptions.notNegative("--snapshot-every", snapshotEvery);
        ChainOptions.notNegative("--demo-size", demoSize);
    }

    private static String csv(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    /** A few hundred perturbed fcc argon crystals of 32 atoms with varied strain and rattle. */
    static List<AtomicSystem> demoDataset(int count, long seed) {
        List<AtomicSystem> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            double lattice = 5.20 + 0.12 * ((i * 7) % 11) / 10.0;
            double rattle = 0.02 + 0.2 * ((i * 13) % 10) / 9.0;
            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", lattice, 2), rattle, seed * 1_000_003L + i);
            out.add(s.toBuilder().optSampleId(String.format("demo-%04d", i)).build());
        }
        return out;
    }

    /**
     * Runs the chains to the end over one sampler: one on this thread, or each on its own thread
     * over a shared view of the sampler (every sample goes to one of them). The first failure
     * stops the run and is rethrown once every worker has ended.
     */
    private static void runWorkers(List<FusedStage> chains, SizeAwareSampler sampler) throws Exception {
        if (chains.size() == 1) {
            try (FusedStage fused = chains.get(0)) {
                fused.setSampler(sampler);
                fused.run();
            }
            return;
        }
        SharedSampleSource shared = new SharedSampleSource(sampler);
        List<Thread> threads = new ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int w = 0; w < chains.size(); w++) {
            FusedStage fused = chains.get(w);
            org.fusedstage.sampling.SampleSource view = shared.view();
            Thread t = new Thread(() -> {
                try (fused) {
                    fused.run(view);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "fused-stage-worker-" + w);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() instanceof Exception e) {
            throw e;
        } else if (failure.get() instanceof Error e) {
            throw e;
        }
    }

    /** What summary.csv holds: rows written, and rows of samples that did not converge in every stage. */
    record Summary(int rows, int unconverged) {}

    /** One row per sample, streamed from results.extxyz (a resumed run's summary covers every sample); written atomically. */
    private static Summary writeSummary(Path results, OutputFolder folder, List<StageSpec> specs) throws IOException {
        int[] counts = new int[2];
        folder.replace("summary.csv", stream -> {
            PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(stream, StandardCharsets.UTF_8));
            StringBuilder header = new StringBuilder("sample_id,formula,atoms,energy_eV,fmax_eV_per_A");
            for (int k = 0; k < specs.size(); k++) {
                header.append(",stage").append(k).append('_').append(specs.get(k).kind()).append("_steps");
            }
            header.append(",converged,unconverged_stages");
            out.println(header);
            try (ExtxyzReader reader = ExtxyzReader.open(results)) {
                for (AtomicSystem s = reader.next(); s != null; s = reader.next()) {
                    out.println(summaryRow(s, specs));
                    counts[0]++;
                    counts[1] += Boolean.FALSE.equals(s.info().get("converged")) ? 1 : 0;
                }
            }
            out.flush();
        });
        return new Summary(counts[0], counts[1]);
    }

    private static String summaryRow(AtomicSystem s, List<StageSpec> specs) {
        double[] f = s.forces().orElse(new double[0]);
        double fmax = 0;
        for (int a = 0; a < f.length / 3; a++) {
            fmax = Math.max(fmax, Math.sqrt(f[3 * a] * f[3 * a] + f[3 * a + 1] * f[3 * a + 1] + f[3 * a + 2] * f[3 * a + 2]));
        }
        StringBuilder row = new StringBuilder();
        row.append(csv(s.sampleId().orElse(""))).append(',').append(s.formula()).append(',').append(s.size()).append(',')
                .append(s.energy().map(String::valueOf).orElse("")).append(',').append(fmax);
        List<String> failed = new ArrayList<>();
        for (int k = 0; k < specs.size(); k++) {
            Object steps = s.info().get("steps_stage" + k);
            row.append(',').append(steps == null ? "" : steps);
            if (Boolean.FALSE.equals(s.info().get("converged_stage" + k))) {
                failed.add("stage" + k);
            }
        }
        Object converged = s.info().get("converged");
        return row.append(',').append(converged == null ? "" : converged).append(',').append(String.join(" ", failed)).toString();
    }
}
