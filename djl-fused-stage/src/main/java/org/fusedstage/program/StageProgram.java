package org.fusedstage.program;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The arithmetic of one stage kind, written once: its per-sample state and, for each
 * {@link Phase}, the assignments that update the samples the stage owns (or, on
 * {@link Phase#ENTER}, the samples entering it). Every assignment is masked by its phase's
 * samples, so the others stay bit for bit, and a phase's assignments are simultaneous: every
 * expression reads the values from before the phase.
 *
 * <p>The eager step evaluates a program with NDArrays; the compiled step graph runs the
 * TorchScript that {@code ScriptEmitter} writes from the same program.
 */
public final class StageProgram {

    /** When a phase runs in a step. */
    public enum Phase {
        /** Before the forward pass, on the samples the stage owns. */
        PRE_UPDATE,
        /** After the forward pass, on the samples the stage owns. */
        POST_UPDATE,
        /**
         * After every post-update, on the samples the stage owned at the start of the step:
         * criteria, budgets, and the move of finished samples to their next status.
         */
        CONVERGE,
        /** When samples enter the stage (start, migration, refill), on those samples. */
        ENTER
    }

    /**
     * One masked update: {@code target} (a state or field read) gets {@code value}; when
     * {@code guard} (a scalar flag of the stage's parameters) is given, only if it holds.
     */
    public record Assignment(Expr target, Expr value, Expr guard) {
        public Assignment {
            Preconditions.checkArgument(target.op() == Expr.Op.STATE || target.op() == Expr.Op.FIELD,
                    "can only assign a state or a field, not %s", target);
            Preconditions.checkArgument(value.level().compareTo(target.level()) <= 0, "%s of level %s cannot go into %s",
                    value, value.level(), target);
            Preconditions.checkArgument(value.type() != Expr.Type.BOOLEAN, "a flag cannot be stored in %s", target);
            Preconditions.checkArgument(guard == null || (guard.level() == Expr.Level.SCALAR && guard.type() == Expr.Type.BOOLEAN),
                    "a guard is a scalar flag, got %s", guard);
        }
    }

    private final ImmutableList<Expr> state;
    private final Map<Phase, ImmutableList<Assignment>> phases;

    private StageProgram(Builder b) {
        this.state = ImmutableList.copyOf(b.state);
        this.phases = new EnumMap<>(Phase.class);
        for (Phase p : Phase.values()) {
            phases.put(p, ImmutableList.copyOf(b.phases.get(p)));
        }
    }

    /** Starts an empty program. */
    public static Builder builder() {
        return new Builder();
    }

    /** The stage's own state fields (their reads: {@link Expr#sampleState} or {@link Expr#atomState}). */
    public List<Expr> state() {
        return state;
    }

    /** The assignments of {@code phase}, in order (simultaneous). */
    public List<Assignment> assignments(Phase phase) {
        return phases.get(phase);
    }

    /** Builder of a {@link StageProgram}. */
    public static final class Builder {
        private final List<Expr> state = new ArrayList<>();
        private final Map<Phase, List<Assignment>> phases = new EnumMap<>(Phase.class);

        private Builder() {
            for (Phase p : Phase.values()) {
                phases.put(p, new ArrayList<>());
            }
        }

        /** Declares a state field of the stage (created as zeros, set by the program). */
        public Builder state(Expr read) {
            Preconditions.checkArgument(read.op() == Expr.Op.STATE, "%s is not a state read", read);
            state.add(read);
            return this;
        }

        /** Adds {@code target = value} to {@code phase}. */
        public Builder assign(Phase phase, Expr target, Expr value) {
            return assignIf(phase, null, target, value);
        }

        /** Adds {@code target = value} to {@code phase}, applied only when the scalar flag {@code guard} holds. */
        public Builder assignIf(Phase phase, Expr guard, Expr target, Expr value) {
            Preconditions.checkArgument(target.op() != Expr.Op.STATE || state.contains(target), "undeclared state %s", target);
            phases.get(phase).add(new Assignment(target, value, guard));
            return this;
        }

        /** The program. */
        public StageProgram build() {
            return new StageProgram(this);
        }
    }
}
