package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.Batch;
import org.fusedstage.hooks.HookStage;

/**
 * The compiled step: one call of the exported step graph ({@link CompiledStep}). BEFORE_STEP and
 * BEFORE_COMPUTE hooks run before the call; AFTER_COMPUTE, AFTER_STEP and ON_CONVERGE hooks after
 * it, seeing the state at the end of the step.
 */
final class GraphStep implements StepExecutor {

    private final ChainPlan plan;
    private final HookDispatch hooks;
    private final StageTransitions transitions;
    private final CompiledStep graph;
    private final Map<String, String> options;

    private GraphStep(ChainPlan plan, HookDispatch hooks, StageTransitions transitions, CompiledStep graph,
            Map<String, String> options) {
        this.plan = plan;
        this.hooks = hooks;
        this.transitions = transitions;
        this.graph = graph;
        this.options = Map.copyOf(options);
    }

    /**
     * Loads the step graph of {@code plan}, or shares the module {@code shareFrom} loaded when its
     * options are the same (a chain extended with {@link FusedStage#plus}).
     *
     * @throws IllegalArgumentException naming what has no compiled form, or why the graph cannot load
     */
    static GraphStep load(ChainPlan plan, HookDispatch hooks, StageTransitions transitions, Map<String, String> options,
            GraphStep shareFrom) {
        hooks.checkCompilable();
        try {
            CompiledStep graph = shareFrom != null && shareFrom.options.equals(options)
                    ? shareFrom.graph.sharedWith(plan)
                    : CompiledStep.load(plan, options);
            return new GraphStep(plan, hooks, transitions, graph, options);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("compileStep: cannot load the step graph: " + e.getMessage(), e);
        }
    }

    @Override
    public java.util.function.Supplier<NDArray> step(Batch batch, long step, Occupancy occupied) {
        List<FusedStage.SubStage> subStages = plan.subStages();
        hooks.fused(HookStage.BEFORE_STEP, batch, step, null);
        // Stage masks only feed stage hooks: without any, the step builds none.
        List<StageMask> masks = hooks.hasStageHooks() ? transitions.masks(batch) : List.of();
        if (hooks.hasStageHooks()) {
            for (int i = 0; i < subStages.size(); i++) {
                hooks.stage(i, HookStage.BEFORE_STEP, batch, step, masks.get(i).systems());
            }
        }
        hooks.fused(HookStage.BEFORE_COMPUTE, batch, step, null);
        NDArray before = batch.status().duplicate();
        plan.potential().countForward();
        graph.step(batch);
        hooks.fused(HookStage.AFTER_COMPUTE, batch, step, null);
        if (hooks.hasStageHooks()) {
            for (int i = 0; i < subStages.size(); i++) {
                hooks.stage(i, HookStage.AFTER_COMPUTE, batch, step, null);
                hooks.stage(i, HookStage.AFTER_STEP, batch, step, masks.get(i).systems());
            }
        }
        hooks.fused(HookStage.AFTER_STEP, batch, step, null);
        if (hooks.hasStageHooks()) {
            for (int i = 0; i < subStages.size(); i++) {
                int code = subStages.get(i).code();
                NDArray left = before.eq(code).logicalAnd(batch.status().eq(code).logicalNot());
                hooks.stage(i, HookStage.ON_CONVERGE, batch, step, left);
            }
        }
        NDArray after = batch.status();
        java.util.function.Supplier<NDArray> graduated = com.google.common.base.Suppliers.memoize(
                () -> after.eq(plan.exitStatus()).logicalAnd(before.eq(plan.exitStatus()).logicalNot()));
        hooks.fusedOnDemand(HookStage.ON_CONVERGE, batch, step, graduated);
        return graduated;
    }

    @Override
    public void close() {
        graph.close();
    }
}
