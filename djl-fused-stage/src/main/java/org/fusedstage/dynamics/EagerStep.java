package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostWork;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.model.Potential;

/**
 * The eager step: BEFORE_STEP hooks; per sub-stage masked pre-update; BEFORE_COMPUTE, one forward
 * pass, AFTER_COMPUTE; per sub-stage masked post-update; AFTER_STEP; criteria and budgets move
 * samples on and entering samples get their new stage's state reset; ON_CONVERGE.
 */
final class EagerStep implements StepExecutor {

    private final ChainPlan plan;
    private final HookDispatch hooks;
    private final StageTransitions transitions;

    EagerStep(ChainPlan plan, HookDispatch hooks, StageTransitions transitions) {
        this.plan = plan;
        this.hooks = hooks;
        this.transitions = transitions;
    }

    @Override
    public java.util.function.Supplier<NDArray> step(Batch batch, long step, Occupancy occupied) {
        Potential potential = plan.potential();
        List<FusedStage.SubStage> subStages = plan.subStages();
        hooks.fused(HookStage.BEFORE_STEP, batch, step, null);
        // Where a read of the statuses is cheap (the host), one read builds the stage masks on the
        // host and lets empty stages skip their no-op updates.
        long[] status = HostWork.peekLongs(batch.status());
        if (!occupied.known()) {
            occupied = Occupancy.of(status);
        }
        List<StageMask> masks = transitions.masks(batch, status);
        for (int i = 0; i < subStages.size(); i++) {
            FusedStage.SubStage s = subStages.get(i);
            NDArray mask = hooks.hasStageHooks(i) ? masks.get(i).systems() : null; // made only for hooks
            hooks.stage(i, HookStage.BEFORE_STEP, batch, step, mask);
            hooks.stage(i, HookStage.BEFORE_PRE_UPDATE, batch, step, mask);
            if (!occupied.idle(s.code())) {
                s.dynamics().maskedPreUpdate(batch, masks.get(i));
            }
            hooks.stage(i, HookStage.AFTER_PRE_UPDATE, batch, step, mask);
        }
        hooks.fused(HookStage.BEFORE_COMPUTE, batch, step, null);
        potential.compute(batch);
        hooks.fused(HookStage.AFTER_COMPUTE, batch, step, null);
        hooks.stages(HookStage.AFTER_COMPUTE, batch, step, null);
        if (hooks.mayMoveSamples()) {
            masks = transitions.masks(batch); // e.g. an AFTER_COMPUTE guard may have quarantined samples
        }
        List<NDArray> systemMasks = new ArrayList<>(masks.size());
        for (int i = 0; i < subStages.size(); i++) {
            FusedStage.SubStage s = subStages.get(i);
            NDArray mask = hooks.hasStageHooks(i) ? masks.get(i).systems() : null;
            systemMasks.add(mask);
            hooks.stage(i, HookStage.BEFORE_POST_UPDATE, batch, step, mask);
            if (!occupied.idle(s.code())) {
                s.dynamics().maskedPostUpdate(batch, masks.get(i));
            }
            hooks.stage(i, HookStage.AFTER_POST_UPDATE, batch, step, mask);
        }
        batch.advanceAges();
        hooks.stages(HookStage.AFTER_STEP, batch, step, systemMasks);
        hooks.fused(HookStage.AFTER_STEP, batch, step, null);
        long[] was = HostWork.peekLongs(batch.status());
        // The statuses before the migrations as an array only where a device form or a hook needs
        // them: on a CPU the host copy serves, and a copy of the array is a JNI call per step.
        java.util.function.Supplier<NDArray> before = was != null
                ? com.google.common.base.Suppliers.memoize(() -> batch.status().getManager().create(was))
                : com.google.common.base.Suppliers.ofInstance(batch.status().duplicate());
        List<NDArray> left = transitions.migrate(batch, before, was, masks, occupied);
        hooks.stages(HookStage.ON_CONVERGE, batch, step, left);
        int exit = plan.exitStatus();
        NDArray now = batch.status();
        boolean[] graduates = HostWork.enteredOnHost(was, HostWork.peekLongs(now), exit);
        NDArray deviceForm = graduates == null ? now.eq(exit).logicalAnd(before.get().eq(exit).logicalNot()) : null;
        java.util.function.Supplier<NDArray> graduated = com.google.common.base.Suppliers.memoize(
                () -> HostWork.mask(now, graduates, () -> deviceForm));
        hooks.fusedOnDemand(HookStage.ON_CONVERGE, batch, step, graduated);
        return graduated;
    }

    @Override
    public void close() {
        // nothing loaded
    }
}
