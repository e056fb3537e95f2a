package org.fusedstage.dynamics;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Status;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.model.Potential;
import org.fusedstage.program.Expr;
import org.fusedstage.program.StageProgram;

/**
 * The wiring of a chain, fixed when a {@link FusedStage} is built: each sub-stage's status code,
 * where its finished samples go (converged and unconverged), its chain row of the stage table, and
 * the names of the per-sample state its programs keep. Everything that validates a chain lives
 * here; nothing here changes after {@link #wire}.
 */
public final class ChainPlan {

    private final ImmutableList<FusedStage.SubStage> subStages;
    private final ImmutableList<Map<String, Double>> chainRows;
    private final ImmutableSet<Long> ownedCodes;
    private final int entryStatus;
    private final int exitStatus;
    private final OnUnconverged onUnconverged;
    private final Potential potential;

    private ChainPlan(List<FusedStage.SubStage> subStages, int entryStatus, int exitStatus, OnUnconverged onUnconverged,
            Potential potential) {
        this.subStages = ImmutableList.copyOf(subStages);
        this.chainRows = this.subStages.stream().map(FusedStage.SubStage::chainRow).collect(ImmutableList.toImmutableList());
        this.ownedCodes = this.subStages.stream().map(st -> (long) st.code()).collect(ImmutableSet.toImmutableSet());
        this.entryStatus = entryStatus;
        this.exitStatus = exitStatus;
        this.onUnconverged = onUnconverged;
        this.potential = potential;
    }

    /**
     * Validates a chain and wires its dynamics (status code and state prefix). A refused chain
     * leaves every dynamics as it was.
     *
     * @param stages status code -> dynamics, in chain order
     * @param entry status of new samples; null: the first stage's code
     * @param exit status of finished samples; null: one past the largest code (the last code + 1
     *     for a single stage)
     * @param onUnconverged where samples go whose budget ran out before the criteria held
     * @throws IllegalArgumentException naming what is wrong with the chain
     */
    static ChainPlan wire(List<Map.Entry<Integer, Dynamics>> stages, Integer entry, Integer exit,
            OnUnconverged onUnconverged) {
        Preconditions.checkArgument(!stages.isEmpty(), "a FusedStage needs at least one sub-stage");
        Set<Integer> codes = new HashSet<>();
        for (Map.Entry<Integer, Dynamics> e : stages) {
            Preconditions.checkArgument(e.getKey() >= 0, "status codes must be >= 0, got %s", e.getKey());
            Preconditions.checkArgument(codes.add(e.getKey()), "duplicate status code %s in the sub-stages", e.getKey());
        }
        int lastCode = stages.get(stages.size() - 1).getKey();
        int maxCode = Collections.max(codes);
        int exitStatus = exit != null ? exit : stages.size() == 1 ? lastCode + 1 : maxCode + 1;
        Preconditions.checkArgument(exitStatus >= 0, "exit status must be >= 0, got %s", exitStatus);
        Preconditions.checkArgument(!codes.contains(exitStatus),
                "exit status %s collides with a sub-stage status code %s", exitStatus, codes);
        int entryStatus = entry != null ? entry : stages.get(0).getKey();
        Preconditions.checkArgument(codes.contains(entryStatus),
                "entry status %s is not the code of any sub-stage %s", entryStatus, codes);
        Potential shared = stages.get(0).getValue().potential();
        Set<Dynamics> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<Integer, Dynamics> e : stages) {
            checkStage(e.getKey(), e.getValue(), seen, shared, stages.get(0).getKey());
        }
        List<FusedStage.SubStage> wired = new ArrayList<>();
        for (int i = 0; i < stages.size(); i++) {
            int code = stages.get(i).getKey();
            Dynamics d = stages.get(i).getValue();
            int nextCode = i == stages.size() - 1 ? exitStatus : stages.get(i + 1).getKey();
            ConvergenceHook own = d.convergence();
            if (own == null && d.stepBudget() == 0) {
                own = ConvergenceHook.fromFmax(ConvergenceHook.DEFAULT_FMAX); // a relaxation: ASE's default
            }
            int target = own != null && own.targetStatus() != null ? own.targetStatus() : nextCode;
            Preconditions.checkArgument(target == exitStatus || codes.contains(target),
                    "sub-stage %s sends its finished samples to status %s, which no sub-stage owns and which is not "
                            + "the exit status %s: they would never finish", code, target, exitStatus);
            if (own != null) {
                own = own.withStatuses(code, target);
            }
            int unconvergedTarget = switch (onUnconverged) {
                case CONTINUE -> target;
                case STOP -> exitStatus;
                case REJECT -> Status.REJECTED;
            };
            wired.add(new FusedStage.SubStage(code, d, own, target, unconvergedTarget));
        }
        checkExitReachable(wired, exitStatus);
        for (FusedStage.SubStage st : wired) { // only now: a refused chain leaves its dynamics as they were
            st.dynamics().assign(st.code(), "stage" + st.code() + ".");
        }
        return new ChainPlan(wired, entryStatus, exitStatus, onUnconverged, shared);
    }

    private static void checkStage(int code, Dynamics d, Set<Dynamics> seen, Potential shared, int firstCode) {
        Preconditions.checkArgument(seen.add(d),
                "the same %s instance appears twice in the chain; create one per stage", d.getClass().getSimpleName());
        Preconditions.checkArgument(!d.isAssigned() || d.statusCode() == code,
                "%s is already sub-stage %s of another FusedStage and cannot be sub-stage %s of this one (a "
                        + "dynamics keeps its status code; the first chain stays as it was): create a new instance",
                d.getClass().getSimpleName(), d.statusCode(), code);
        Preconditions.checkArgument(d.potential().device().equals(shared.device()),
                "sub-stage %s runs on %s but sub-stage %s on %s: all sub-stages of a FusedStage share one device",
                code, d.potential().device(), firstCode, shared.device());
        Preconditions.checkArgument(d.potential() == shared,
                "sub-stage %s uses a different potential than sub-stage %s: a FusedStage shares one forward pass, "
                        + "so every sub-stage must use the same Potential instance", code, firstCode);
        for (Hook h : d.hooks()) {
            Preconditions.checkArgument(h.stage() != HookStage.BEFORE_COMPUTE,
                    "hook %s on sub-stage %s is registered for BEFORE_COMPUTE, which only the fused stage has "
                            + "(the forward pass is shared): register it with FusedStage.builder().addHook",
                    h.getClass().getSimpleName(), code);
        }
        ConvergenceHook own = d.convergence();
        Preconditions.checkArgument(own == null || own.sourceStatus() == null || own.sourceStatus() == code,
                "the convergence hook of sub-stage %s (%s) has source status %s, but the sub-stage's code is %s: "
                        + "give the sub-stage code %s, or leave the hook's source status unset",
                code, d.getClass().getSimpleName(), own == null ? null : own.sourceStatus(), code,
                own == null ? null : own.sourceStatus());
        Preconditions.checkArgument(own != null || d.stepBudget() > 0 || d.isRelaxation(),
                "sub-stage %s (%s) has neither a step budget nor convergence criteria, so its samples would never "
                        + "leave it: give it a budget (optNSteps, CLI steps=N) or criteria (optConvergence)",
                code, d.getClass().getSimpleName());
    }

    /**
     * Follows each stage's target from every stage: a chain whose path never reaches the exit
     * status (a loop of stages) would run for ever, so it is refused.
     */
    private static void checkExitReachable(List<FusedStage.SubStage> wired, int exitStatus) {
        Map<Integer, Integer> next = new HashMap<>();
        for (FusedStage.SubStage s : wired) {
            next.put(s.code(), s.target());
        }
        for (FusedStage.SubStage start : wired) {
            List<Integer> path = new ArrayList<>();
            int at = start.code();
            while (at != exitStatus) {
                Preconditions.checkArgument(!path.contains(at),
                        "the sub-stages %s send finished samples round in a loop that never reaches the exit status %s",
                        path, exitStatus);
                path.add(at);
                at = next.get(at);
            }
        }
    }

    /** The wired sub-stages in chain order. */
    public List<FusedStage.SubStage> subStages() {
        return subStages;
    }

    /** Sub-stage {@code i}'s chain columns of the stage table ({@link StageBookkeeping#parameters}). */
    public Map<String, Double> chainRow(int i) {
        return chainRows.get(i);
    }

    /** Status of new samples. */
    public int entryStatus() {
        return entryStatus;
    }

    /** Status of samples that finished the last stage. */
    public int exitStatus() {
        return exitStatus;
    }

    /** Where samples go whose step budget ran out before their stage's criteria held. */
    public OnUnconverged onUnconverged() {
        return onUnconverged;
    }

    /** The one potential every sub-stage shares. */
    public Potential potential() {
        return potential;
    }

    /** Whether a sub-stage owns {@code status}. */
    public boolean owns(long status) {
        return ownedCodes.contains(status);
    }

    /** Whether a sample at {@code status} is still in the chain (not graduated, quarantined, rejected or an empty slot). */
    public boolean isRunning(long status) {
        return status != exitStatus && status != Status.QUARANTINED && status != Status.REJECTED && status != Status.VACANT;
    }

    /** Whether a sample at {@code status} has left the chain for good (exit, quarantine, reject): its slot is free. */
    public boolean hasLeft(long status) {
        return status == exitStatus || status == Status.QUARANTINED || status == Status.REJECTED;
    }

    /**
     * Per sub-stage code, the batch fields of the per-sample state its programs keep (the
     * bookkeeping's and, for a built-in kind, the kind's own), in the order the step graph takes them.
     */
    public ImmutableMap<Integer, ImmutableList<String>> stateNames() {
        ImmutableMap.Builder<Integer, ImmutableList<String>> out = ImmutableMap.builder();
        for (FusedStage.SubStage s : subStages) {
            ImmutableList.Builder<String> names = ImmutableList.builder();
            List<StageProgram> programs = new ArrayList<>(List.of(StageBookkeeping.program()));
            if (s.dynamics().program() != null) {
                programs.add(s.dynamics().program());
            }
            for (StageProgram program : programs) {
                for (Expr state : program.state()) {
                    names.add(s.dynamics().stateName(state.name()));
                }
            }
            out.put(s.code(), names.build());
        }
        return out.build();
    }

    /**
     * Fails, naming them, when samples sit at statuses that no sub-stage owns and that are neither
     * the exit status nor reserved: no step would ever move them, so the run could never end.
     */
    void checkOwned(Batch batch, long[] status) {
        List<String> stuck = new ArrayList<>();
        for (int i = 0; i < status.length; i++) {
            if (status[i] != exitStatus && !Status.isReserved(status[i]) && !owns(status[i])) {
                stuck.add(batch.sampleIds().get(i) + " (status " + status[i] + ")");
            }
        }
        if (!stuck.isEmpty()) {
            List<Integer> codes = subStages.stream().map(FusedStage.SubStage::code).toList();
            throw new IllegalStateException(stuck.size() + " sample(s) sit at a status no sub-stage owns (sub-stages "
                    + codes + ", exit " + exitStatus + "), so they could never finish: "
                    + String.join(", ", stuck.subList(0, Math.min(20, stuck.size()))) + (stuck.size() > 20 ? ", ..." : ""));
        }
    }
}
