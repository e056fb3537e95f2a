package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import org.fusedstage.data.Batch;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookContext;
import org.fusedstage.hooks.HookStage;

/**
 * Runs a chain's hooks at their stages of a step: the fused stage's own hooks (which see the
 * whole batch) and each sub-stage's hooks (which see the mask of that stage's samples). Both step
 * executors dispatch through it, so a hook sees the same calls whether the step is eager or
 * compiled, at the stages a compiled step can honour.
 */
final class HookDispatch {

    /** Hook stages that a compiled step can honour: they run before or after the one module call. */
    static final Set<HookStage> COMPILED_HOOK_STAGES = EnumSet.of(HookStage.BEFORE_STEP,
            HookStage.BEFORE_COMPUTE, HookStage.AFTER_COMPUTE, HookStage.AFTER_STEP, HookStage.ON_CONVERGE);

    /** Stages after the post-update masks are taken: a hook there cannot change which samples a stage updates. */
    private static final Set<HookStage> AFTER_POST_MASKS = EnumSet.of(HookStage.BEFORE_POST_UPDATE,
            HookStage.AFTER_POST_UPDATE, HookStage.AFTER_STEP, HookStage.ON_CONVERGE);

    private final ImmutableList<Hook> hooks;
    private final ImmutableList<FusedStage.SubStage> subStages;
    private final boolean hasStageHooks;
    private final boolean mayMoveSamples;

    HookDispatch(List<Hook> hooks, List<FusedStage.SubStage> subStages) {
        this.hooks = ImmutableList.copyOf(hooks);
        this.subStages = ImmutableList.copyOf(subStages);
        this.hasStageHooks = subStages.stream().anyMatch(st -> !st.dynamics().hooks().isEmpty());
        this.mayMoveSamples = hooks.stream().anyMatch(h -> h.stage() != HookStage.BEFORE_STEP && !AFTER_POST_MASKS.contains(h.stage()))
                || subStages.stream().flatMap(st -> st.dynamics().hooks().stream()).anyMatch(h -> !AFTER_POST_MASKS.contains(h.stage()));
    }

    /** The fused stage's own hooks. */
    ImmutableList<Hook> hooks() {
        return hooks;
    }

    /** Whether any sub-stage has hooks (the compiled step builds stage masks only then). */
    boolean hasStageHooks() {
        return hasStageHooks;
    }

    /** Whether a hook runs between the pre-update and post-update masks, so it may move samples between them. */
    boolean mayMoveSamples() {
        return mayMoveSamples;
    }

    /**
     * Refuses sub-stage hooks at stages inside the step, which a compiled step (one module call)
     * cannot honour.
     */
    void checkCompilable() {
        for (FusedStage.SubStage st : subStages) {
            for (Hook h : st.dynamics().hooks()) {
                Preconditions.checkArgument(COMPILED_HOOK_STAGES.contains(h.stage()),
                        "hook %s on sub-stage %s runs at %s, inside the step; with compileStep the step is one module "
                                + "call and hooks run only at %s", h.getClass().getSimpleName(), st.code(), h.stage(),
                        COMPILED_HOOK_STAGES);
            }
        }
    }

    /** Runs the fused stage's hooks registered for {@code stage} whose frequency divides {@code step}. */
    void fused(HookStage stage, Batch batch, long step, NDArray mask) {
        fusedOnDemand(stage, batch, step, () -> mask);
    }

    /** As {@link #fused(HookStage, Batch, long, NDArray)}, the mask made only if a hook runs. */
    void fusedOnDemand(HookStage stage, Batch batch, long step, java.util.function.Supplier<NDArray> mask) {
        for (Hook hook : hooks) {
            if (hook.stage() == stage && step % hook.frequency() == 0) {
                hook.apply(new HookContext(batch, OptionalInt.empty(), step, stage, mask.get()));
            }
        }
    }

    /** Whether sub-stage {@code i} has hooks of its own (which receive its per-system mask). */
    boolean hasStageHooks(int i) {
        return !subStages.get(i).dynamics().hooks().isEmpty();
    }

    /** Runs sub-stage {@code i}'s hooks for {@code stage}, with {@code mask} (may be null). */
    void stage(int i, HookStage stage, Batch batch, long step, NDArray mask) {
        subStages.get(i).dynamics().fireHooks(stage, batch, step, mask);
    }

    /** Runs every sub-stage's hooks for {@code stage}, each with its mask of {@code masks} (null: none). */
    void stages(HookStage stage, Batch batch, long step, List<NDArray> masks) {
        for (int i = 0; i < subStages.size(); i++) {
            stage(i, stage, batch, step, masks == null ? null : masks.get(i));
        }
    }
}
