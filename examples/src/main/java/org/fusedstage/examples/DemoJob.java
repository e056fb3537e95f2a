package org.fusedstage.examples;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.hooks.LoggingHook;
import org.fusedstage.hooks.NonFiniteGuard;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.sinks.ExtxyzSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The main job on its built-in defaults: perturbed fcc argon crystals (32 and 108 atoms) relaxed
 * with FIRE to fmax 0.05 eV/A, then 500 steps of Langevin NVT at 80 K, all in one FusedStage with
 * one forward pass of the zoo's Lennard-Jones model per step. Writes every finished sample to
 * {@code <output>/results.extxyz} (readable by ASE) and one line per sample to
 * {@code <output>/summary.csv}.
 *
 * <p>Options: {@code --systems N} (default 48), {@code --md-steps N} (500), {@code --output DIR}
 * ({@code fused-stage-output}), {@code --device cpu|gpu} (cpu).
 */
public final class DemoJob {

    private static final Logger logger = LoggerFactory.getLogger(DemoJob.class);

    private DemoJob() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        int systems = 48;
        int mdSteps = 500;
        Path output = Path.of("fused-stage-output");
        ai.djl.Device device = ai.djl.Device.cpu();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--systems" -> systems = Integer.parseInt(value(args, ++i, "--systems"));
                case "--md-steps" -> mdSteps = Integer.parseInt(value(args, ++i, "--md-steps"));
                case "--output" -> output = Path.of(value(args, ++i, "--output"));
                case "--device" -> {
                    try {
                        device = DjlRuntime.device(value(args, ++i, "--device"));
                    } catch (IllegalArgumentException e) {
                        System.err.println("--device: " + e.getMessage());
                        System.exit(2);
                    }
                }
                default -> {
                    System.err.println("unknown option '" + args[i] + "' (options: --systems N, --md-steps N, --output DIR, --device cpu|gpu)");
                    System.exit(2);
                }
            }
        }
        run(systems, mdSteps, output, device);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            System.err.println(option + " needs a value");
            System.exit(2);
        }
        return args[i];
    }

    static void run(int count, int mdSteps, Path output, ai.djl.Device device) throws Exception {
        Files.createDirectories(output);
        Path results = output.resolve("results.extxyz");
        Files.deleteIfExists(results);
        List<AtomicSystem> structures = ExampleData.perturbedArgon(count, 2026);
        long start = System.nanoTime();
        try (TorchScriptPotential model = TorchScriptPotential.builder().optModelName("lennard-jones").optDevice(device).build();
                NDManager manager = NDManager.newBaseManager(device);
                ExtxyzSink sink = new ExtxyzSink(results)) {
            FIRE relax = FIRE.builder(model).optFmax(0.05).build();
            Langevin md = Langevin.builder(model).optTemperature(80).optFriction(0.01).optTimeStep(2.0)
                    .optNSteps(mdSteps).optSeed(7).build();
            FusedStage fused = FusedStage.builder()
                    .addSubStage(0, relax)
                    .addSubStage(1, md)
                    .addHook(new NonFiniteGuard())
                    .addHook(new LoggingHook(50))
                    .addSink(sink)
                    .build();
            logger.info("{} on {} structures ({} atoms), model {}", fused, structures.size(),
                    structures.stream().mapToInt(AtomicSystem::size).sum(), model.metadata().name());
            try (Batch batch = Batch.builder(structures).optDevice(device).build(manager)) {
                fused.run(batch);
                writeSummary(output.resolve("summary.csv"), batch);
                double seconds = (System.nanoTime() - start) / 1e9;
                long atomSteps = (long) batch.numAtoms() * fused.stepCount();
                System.out.printf("done: %d samples, %d steps, %.1f s, %.0f atom-steps/s; results in %s%n",
                        batch.numSystems(), fused.stepCount(), seconds, atomSteps / seconds, results.toAbsolutePath());
            }
        }
    }

    private static void writeSummary(Path file, Batch batch) throws IOException {
        List<AtomicSystem> systems = batch.toSystems();
        long[] relaxSteps = batch.get("stage0.steps").toLongArray();
        long[] mdSteps = batch.get("stage1.steps").toLongArray();
        long[] status = batch.status().toLongArray();
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
            out.println("sample_id,formula,atoms,status,fire_steps,md_steps,energy_eV");
            for (int i = 0; i < systems.size(); i++) {
                AtomicSystem s = systems.get(i);
                out.printf("%s,%s,%d,%d,%d,%d,%.8f%n", s.sampleId().orElseThrow(), s.formula(), s.size(), status[i],
                        relaxSteps[i], mdSteps[i], s.energy().orElse(Double.NaN));
            }
        }
    }
}
