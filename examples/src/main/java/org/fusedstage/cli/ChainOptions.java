package org.fusedstage.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.DjlRuntime;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.OnUnconverged;
import org.fusedstage.dynamics.StageSpec;
import org.fusedstage.model.TorchScriptPotential;
import picocli.CommandLine.Option;

/**
 * The options {@code run} and {@code serve} share (a picocli mixin): the model, the chain of
 * stages and the batch limits, read with one-line errors.
 */
final class ChainOptions {

    @Option(names = "--model", defaultValue = "lennard-jones", description = "Zoo model name or TorchScript file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--stage", description = "KIND:key=value,... (kinds: fire, steepest-descent, nve, nvt-langevin, demo); repeat for a chain. MD stages need steps=N; max-steps=0 (default) means no step limit.")
    List<String> stages = new ArrayList<>();

    @Option(names = "--max-atoms", defaultValue = "2048", description = "Atoms per batch (default: ${DEFAULT-VALUE}).")
    int maxAtoms;

    @Option(names = "--max-edges", defaultValue = "0", description = "Neighbor pairs per batch within cutoff + skin (0 = no limit).")
    long maxEdges;

    @Option(names = "--max-batch-size", defaultValue = "64", description = "Samples per batch (default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--compile", description = "Run each step as one exported TorchScript step graph.")
    boolean compile;

    @Option(names = "--stress", defaultValue = "final", description = "final: each result's stress is computed once, from its "
            + "final structure, and steps run without it (about a third cheaper forward passes for the zoo's pair potentials); "
            + "every-step: in every forward pass; none: results carry no stress (default: ${DEFAULT-VALUE}; spark-run computes "
            + "it in every step unless none).")
    String stress;

    @Option(names = "--no-stress", description = "Same as --stress none.")
    boolean noStress;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or gpu (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = "float64", description = "float32 or float64 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the MD noise streams (and of run's demo dataset).")
    long seed;

    @Option(names = "--on-unconverged", defaultValue = "continue",
            description = "What happens to a sample whose relaxation ran out of max-steps before its fmax held: continue (to the "
                    + "next stage; the default), stop (written to results as it is, later stages skipped) or reject (run: written "
                    + "to rejects.extxyz; serve: the job fails). Results say converged=false either way.")
    String onUnconverged;

    /** The chain from --stage options, or the default chain when none are given. */
    List<StageSpec> specs() {
        List<StageSpec> specs = new ArrayList<>();
        for (String s : stages) {
            specs.add(StageSpec.parse(s));
        }
        return specs.isEmpty() ? StageSpec.defaults() : specs;
    }

    Device device() {
        return switch (device) {
            case "cpu" -> Device.cpu();
            case "gpu" -> {
                try {
                    yield DjlRuntime.device("gpu");
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--device gpu: " + e.getMessage(), e);
                }
            }
            default -> throw new IllegalArgumentException("--device must be cpu or gpu, got '" + device + "'");
        };
    }

    DataType dataType() {
        return switch (dtype) {
            case "float32" -> DataType.FLOAT32;
            case "float64" -> DataType.FLOAT64;
            default -> throw new IllegalArgumentException("--dtype must be float32 or float64, got '" + dtype + "'");
        };
    }

    OnUnconverged onUnconverged() {
        return switch (onUnconverged) {
            case "continue" -> OnUnconverged.CONTINUE;
            case "stop" -> OnUnconverged.STOP;
            case "reject" -> OnUnconverged.REJECT;
            default -> throw new IllegalArgumentException("--on-unconverged must be continue, stop or reject, got '" + onUnconverged + "'");
        };
    }

    /** Refuses limits out of range (larger than the data is fine). */
    void checkLimits() {
        positive("--max-atoms", maxAtoms);
        positive("--max-batch-size", maxBatchSize);
        notNegative("--max-edges", maxEdges);
        if (!java.util.List.of("final", "every-step", "none").contains(stress)) {
            throw new IllegalArgumentException("--stress must be final, every-step or none, not '" + stress + "'");
        }
    }

    /** The --stress mode, with --no-stress as none. */
    String stressMode() {
        return noStress ? "none" : stress;
    }

    /** The model on {@code device}. */
    TorchScriptPotential loadModel(Device device) throws Exception {
        return RunCommand.loadModel(model, device, stressMode().equals("every-step"));
    }

    /** The chain on this potential (stage k seeded with seed + k), with the compile and unconverged options. */
    FusedStage.Builder chain(TorchScriptPotential potential, List<StageSpec> specs) {
        return StageSpec.addChain(FusedStage.builder().optCompileStep(compile).optOnUnconverged(onUnconverged())
                .optFinalStress(stressMode().equals("final")), specs, potential, seed);
    }

    /** The edge radius of --max-edges for this potential, A. */
    static double edgeRadius(TorchScriptPotential potential) {
        return potential.metadata().cutoff() + potential.skin();
    }

    static void positive(String option, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(option + " must be positive, got " + value);
        }
    }

    static void notNegative(String option, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(option + " must not be negative, got " + value);
        }
    }
}
