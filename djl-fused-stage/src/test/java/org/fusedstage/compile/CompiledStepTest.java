package org.fusedstage.compile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.dynamics.ConvergenceHook;
import org.fusedstage.dynamics.Criterion;
import org.fusedstage.dynamics.DemoDynamics;
import org.fusedstage.dynamics.Dynamics;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.dynamics.SteepestDescent;
import org.fusedstage.dynamics.VelocityVerlet;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;

/** Eager and compiled fused steps give the same trajectories and the same graduation steps. */
class CompiledStepTest extends WithLennardJones {

    private static List<AtomicSystem> systems() {
        return List.of(TestSystems.fccArgon(1, 5.3, 0.15, 1), TestSystems.argonCluster(6, 4, 3.3, 2),
                TestSystems.fccArgon(2, 5.26, 0.1, 3), TestSystems.argonCluster(9, 5, 3.3, 4),
                TestSystems.triclinicArgon(3, 5));
    }

    /** Runs a chain step by step, recording positions every step and each sample's graduation step. */
    private static Trace run(Supplier<List<Dynamics>> chain, boolean compiled, Map<String, String> options) {
        FusedStage.Builder b = FusedStage.builder().optCompileStep(compiled);
        options.forEach(b::optCompileOption);
        List<Dynamics> stages = chain.get();
        for (int i = 0; i < stages.size(); i++) {
            b.addSubStage(i, stages.get(i));
        }
        Trace trace = new Trace();
        try (FusedStage fused = b.build(); Batch batch = Batch.of(systems(), lj.manager)) {
            fused.prepare(batch);
            trace.graduation = new long[batch.numSystems()];
            java.util.Arrays.fill(trace.graduation, -1);
            for (int step = 1; step <= 400; step++) {
                fused.step(batch).close();
                long[] status = batch.status().toLongArray();
                for (int i = 0; i < status.length; i++) {
                    if (status[i] == fused.exitStatus() && trace.graduation[i] < 0) {
                        trace.graduation[i] = step;
                    }
                }
                trace.positions.add(batch.positions().toDoubleArray());
                trace.velocities.add(batch.velocities().toDoubleArray());
                if (java.util.Arrays.stream(status).allMatch(s -> s == fused.exitStatus())) {
                    break;
                }
            }
        }
        return trace;
    }

    private static final class Trace {
        final List<double[]> positions = new ArrayList<>();
        final List<double[]> velocities = new ArrayList<>();
        long[] graduation;
    }

    private static void assertSame(Supplier<List<Dynamics>> chain) {
        assertSame(chain, Map.of());
    }

    private static void assertSame(Supplier<List<Dynamics>> chain, Map<String, String> options) {
        Trace eager = run(chain, false, Map.of());
        Trace compiled = run(chain, true, options);
        assertArrayEquals(eager.graduation, compiled.graduation, "graduation steps");
        assertTrue(java.util.Arrays.stream(eager.graduation).allMatch(g -> g > 0), "every sample graduated");
        assertEquals(eager.positions.size(), compiled.positions.size());
        for (int step = 0; step < eager.positions.size(); step++) {
            assertArrayEquals(eager.positions.get(step), compiled.positions.get(step), 1e-10, "positions at step " + (step + 1));
            assertArrayEquals(eager.velocities.get(step), compiled.velocities.get(step), 1e-10, "velocities at step " + (step + 1));
        }
    }

    @Test
    void fireThenVelocityVerlet() {
        assertSame(() -> List.of(FIRE.builder(lj.potential).optFmax(0.05).build(),
                VelocityVerlet.builder(lj.potential).optNSteps(30).optInitialTemperature(40).optSeed(9).build()));
    }

    @Test
    void fireThenLangevin() {
        assertSame(() -> List.of(FIRE.builder(lj.potential).optFmax(0.05).build(),
                Langevin.builder(lj.potential).optTemperature(60).optFriction(0.02).optTimeStep(2.0).optNSteps(40).optSeed(4).build()));
    }

    @Test
    void executorOptimizationsOnGiveTheSameTrajectories() {
        assertSame(() -> List.of(FIRE.builder(lj.potential).optFmax(0.05).build(),
                Langevin.builder(lj.potential).optTemperature(60).optTimeStep(2.0).optNSteps(40).optSeed(4).build()),
                Map.of(StepGraph.EXECUTOR_OPTIMIZATIONS_OPTION, "true"));
    }

    @Test
    void unknownCompileOptionsAndBadValuesFail() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).build()).optCompileStep(true)
                .optCompileOption("step_modul", "/tmp/x.pt").build());
        assertTrue(unknown.getMessage().contains("unknown compile option 'step_modul'"), unknown.getMessage());
        IllegalArgumentException value = assertThrows(IllegalArgumentException.class, () -> FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).build()).optCompileStep(true)
                .optCompileOption(StepGraph.EXECUTOR_OPTIMIZATIONS_OPTION, "yes").build());
        assertTrue(value.getMessage().contains("must be true or false, not 'yes'"), value.getMessage());
    }

    @Test
    void graphsOfAnOlderInterfaceAreRefusedWithTheFix(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        org.fusedstage.testing.Python.assumeModule("torch");
        // A graph of interface version 2: named dict inputs and outputs, no graph_version method.
        java.nio.file.Path old = dir.resolve("old_step.pt");
        java.nio.file.Path source = java.nio.file.Files.writeString(dir.resolve("old_step.py"), String.join("\n",
                "from typing import Dict",
                "import torch",
                "class Step(torch.nn.Module):",
                "    def forward(self, data: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor],",
                "                table: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:",
                "        return data", ""));
        // Scripting needs the class's source file, hence a module imported from one.
        org.fusedstage.testing.Python.run(String.join("\n",
                "import importlib.util, sys, torch",
                "spec = importlib.util.spec_from_file_location('old_step', sys.argv[1])",
                "module = importlib.util.module_from_spec(spec)",
                "sys.modules['old_step'] = module",
                "spec.loader.exec_module(module)",
                "torch.jit.script(module.Step()).save(sys.argv[2])"), source.toString(), old.toString());
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).build()).optCompileStep(true)
                .optCompileOption(StepGraph.STEP_MODULE_OPTION, old.toString()).build());
        assertTrue(refused.getMessage().contains("interface version 2") && refused.getMessage().contains("export_step.py"),
                refused.getMessage());
    }

    @Test
    void demoSteepestDescentAndEnergyChangeCriteria() {
        assertSame(() -> List.of(
                SteepestDescent.builder(lj.potential).optStepSize(0.3).optConvergence(ConvergenceHook.builder()
                        .addCriterion(Criterion.FMAX, 0.1).addCriterion(Criterion.ENERGY_CHANGE, 1e-3).build()).build(),
                DemoDynamics.builder(lj.potential).optTimeStep(2.0).optNSteps(25).build()));
    }

    @Test
    void unsupportedStagesAndCriteriaFailAtConstruction() {
        Dynamics custom = new DemoDynamics(lj.potential, 1.0) {
            @Override
            public org.fusedstage.dynamics.StageParameters stepGraphParameters() {
                throw new UnsupportedOperationException("custom stage has no compiled counterpart");
            }
        };
        IllegalArgumentException stage = assertThrows(IllegalArgumentException.class,
                () -> FusedStage.builder().addSubStage(0, custom).optCompileStep(true).build());
        assertTrue(stage.getMessage().contains("sub-stage 0") && stage.getMessage().contains("no compiled counterpart"),
                stage.getMessage());
        IllegalArgumentException criterion = assertThrows(IllegalArgumentException.class, () -> FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optConvergence(ConvergenceHook.builder()
                        .addCriterion("charge", 0.1).build()).build()).optCompileStep(true).build());
        assertTrue(criterion.getMessage().contains("criterion 'charge'"), criterion.getMessage());
    }
}
