package org.fusedstage.program;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.List;

/**
 * One value of a {@link StageProgram}: a number per stage ({@link Level#SCALAR}: parameters and
 * arithmetic on them), one per sample ({@link Level#SAMPLE}, [B]) or one per atom
 * ({@link Level#ATOM}: vectors [N,3] or per-atom scalars such as masses, [N,1]). Expressions are
 * immutable trees built with the static factories and the fluent operators; a value of a lower
 * level meets a higher one by broadcasting (a per-sample value applies to each of its atoms).
 *
 * <p>An expression only describes arithmetic: the eager step evaluates it on NDArrays (and, on a
 * CPU, per-sample values on the host), the compiled step graph runs the TorchScript that
 * {@code org.fusedstage.compile.ScriptEmitter} writes from it. So each formula exists once.
 */
public final class Expr {

    /** Where a value lives: one per stage, per sample, or per atom. */
    public enum Level {
        SCALAR, SAMPLE, ATOM
    }

    /** The value type: a real number (the batch dtype), an integer (int64) or a flag. */
    public enum Type {
        REAL, INTEGER, BOOLEAN
    }

    /** The operations; each evaluator and the script emitter define every one. */
    public enum Op {
        /** A literal number. */
        CONSTANT,
        /** A stage parameter: a column of the stage table (e.g. {@code dt}, {@code f_inc}). */
        PARAMETER,
        /** The stage's own per-sample or per-atom state (e.g. FIRE's {@code dt}). */
        STATE,
        /** A batch field: per atom positions (A), velocities (A/fs), forces (eV/A); per sample energy (eV), status. */
        FIELD,
        /** The samples a phase runs on (those the stage owns, or those entering it): a per-sample flag. */
        SAMPLES,
        /**
         * Per sample: whether the convergence criteria the language does not express (a stage's own
         * criteria on other batch fields; eager steps only) hold; true where a stage has none.
         */
        OTHER_CRITERIA,
        /** Atomic masses, amu, [N,1]. */
        MASS,
        /** 1/m per atom, 1/amu, [N,1]; 0 for rows of no atom. */
        INVERSE_MASS,
        /** Standard normal deviates [N,3] from the sample's streams; {@link #name()} is the stream. */
        NOISE,
        ADD, SUB, MUL, DIV, NEG, ABS, SQRT, EXP, MIN, MAX, IS_NAN,
        GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, AND, OR, NOT,
        /** where(condition, a, b), element by element (a condition per sample applies to its atoms). */
        WHERE,
        /** condition ? a : b for a scalar condition (a stage parameter): only the chosen operand is evaluated. */
        CHOOSE,
        /** Per sample: the sum over its atoms of a . b (the dot product of two vector fields). */
        DOT,
        /** Per sample: the largest row norm |a_i| over its atoms. */
        MAX_NORM,
        /** Per atom: a minus the weighted mean of a over its sample (weights: the second argument). */
        CENTER
    }

    /** Stream of a stage's own noise (Langevin's thermal kicks). */
    public static final String STAGE_NOISE = "noise";

    /** Stream of the Maxwell-Boltzmann velocities drawn for samples entering a stage. */
    public static final String VELOCITY_NOISE = "mb";

    private final Op op;
    private final Level level;
    private final Type type;
    private final ImmutableList<Expr> args;
    private final double value;
    private final String name;

    private Expr(Op op, Level level, Type type, List<Expr> args, double value, String name) {
        this.op = op;
        this.level = level;
        this.type = type;
        this.args = ImmutableList.copyOf(args);
        this.value = value;
        this.name = name;
    }

    private static Expr leaf(Op op, Level level, Type type, double value, String name) {
        return new Expr(op, level, type, List.of(), value, name);
    }

    // ---------------------------------------------------------------- leaves

    /** A real constant. */
    public static Expr constant(double value) {
        return leaf(Op.CONSTANT, Level.SCALAR, Type.REAL, value, null);
    }

    /** An integer constant (exact in double, |value| < 2^53). */
    public static Expr integer(long value) {
        Preconditions.checkArgument(Math.abs(value) < (1L << 53), "integer constant %s is not exact as a double", value);
        return leaf(Op.CONSTANT, Level.SCALAR, Type.INTEGER, value, null);
    }

    /** A stage parameter: the stage-table column {@code column}, a real per stage. */
    public static Expr parameter(String column) {
        return leaf(Op.PARAMETER, Level.SCALAR, Type.REAL, 0, Preconditions.checkNotNull(column));
    }

    /** The stage's per-sample state {@code name} (real or integer). */
    public static Expr sampleState(String name, Type type) {
        Preconditions.checkArgument(type != Type.BOOLEAN, "state is real or integer");
        return leaf(Op.STATE, Level.SAMPLE, type, 0, name);
    }

    /** The stage's per-atom vector state {@code name}, [N,3]. */
    public static Expr atomState(String name) {
        return leaf(Op.STATE, Level.ATOM, Type.REAL, 0, name);
    }

    /** A per-atom vector field of the batch, [N,3] (see {@link #POSITIONS} and the others). */
    public static Expr field(String name) {
        return leaf(Op.FIELD, Level.ATOM, Type.REAL, 0, name);
    }

    /** A per-sample field of the batch, [B] (see {@link #ENERGY} and {@link #STATUS}). */
    public static Expr sampleField(String name, Type type) {
        Preconditions.checkArgument(type != Type.BOOLEAN, "fields are real or integer");
        return leaf(Op.FIELD, Level.SAMPLE, type, 0, name);
    }

    /** Potential energy of the last forward pass, eV, [B]. */
    public static final Expr ENERGY = sampleField("energy", Type.REAL);

    /** Status codes, [B]. */
    public static final Expr STATUS = sampleField("status", Type.INTEGER);

    /** The samples the phase runs on, a per-sample flag. */
    public static final Expr SAMPLES = leaf(Op.SAMPLES, Level.SAMPLE, Type.BOOLEAN, 0, null);

    /** See {@link Op#OTHER_CRITERIA}. */
    public static final Expr OTHER_CRITERIA = leaf(Op.OTHER_CRITERIA, Level.SAMPLE, Type.BOOLEAN, 0, null);

    /** Positions, A, [N,3]. */
    public static final Expr POSITIONS = field("positions");

    /** Velocities, A/fs, [N,3]. */
    public static final Expr VELOCITIES = field("velocities");

    /** Forces of the last forward pass, eV/A, [N,3]. */
    public static final Expr FORCES = field("forces");

    /** Masses, amu, [N,1]. */
    public static final Expr MASS = leaf(Op.MASS, Level.ATOM, Type.REAL, 0, null);

    /** 1/m, 1/amu, [N,1] (0 on rows of no atom). */
    public static final Expr INVERSE_MASS = leaf(Op.INVERSE_MASS, Level.ATOM, Type.REAL, 0, null);

    /** Standard normal deviates [N,3] of the stream {@link #STAGE_NOISE} or {@link #VELOCITY_NOISE}. */
    public static Expr noise(String stream) {
        Preconditions.checkArgument(STAGE_NOISE.equals(stream) || VELOCITY_NOISE.equals(stream), "unknown stream %s", stream);
        return leaf(Op.NOISE, Level.ATOM, Type.REAL, 0, stream);
    }

    // ---------------------------------------------------------------- operators

    public Expr plus(Expr other) {
        return arithmetic(Op.ADD, other);
    }

    public Expr plus(double other) {
        return plus(constant(other));
    }

    public Expr minus(Expr other) {
        return arithmetic(Op.SUB, other);
    }

    public Expr times(Expr other) {
        return arithmetic(Op.MUL, other);
    }

    public Expr times(double other) {
        return times(constant(other));
    }

    public Expr dividedBy(Expr other) {
        return arithmetic(Op.DIV, other);
    }

    public Expr negate() {
        return new Expr(Op.NEG, level, checkNumber(this), List.of(this), 0, null);
    }

    public Expr abs() {
        return new Expr(Op.ABS, level, checkNumber(this), List.of(this), 0, null);
    }

    /** Whether the value is NaN (a flag). */
    public Expr isNaN() {
        checkNumber(this);
        return new Expr(Op.IS_NAN, level, Type.BOOLEAN, List.of(this), 0, null);
    }

    public Expr sqrt() {
        checkNumber(this);
        return new Expr(Op.SQRT, level, Type.REAL, List.of(this), 0, null);
    }

    public Expr exp() {
        checkNumber(this);
        return new Expr(Op.EXP, level, Type.REAL, List.of(this), 0, null);
    }

    public Expr min(Expr other) {
        return arithmetic(Op.MIN, other);
    }

    public Expr max(Expr other) {
        return arithmetic(Op.MAX, other);
    }

    public Expr max(double other) {
        return max(constant(other));
    }

    public Expr greaterThan(Expr other) {
        return comparison(Op.GREATER, other);
    }

    public Expr greaterThan(double other) {
        return greaterThan(constant(other));
    }

    public Expr atLeast(Expr other) {
        return comparison(Op.GREATER_EQUAL, other);
    }

    public Expr atLeast(double other) {
        return atLeast(constant(other));
    }

    public Expr lessThan(Expr other) {
        return comparison(Op.LESS, other);
    }

    public Expr atMost(Expr other) {
        return comparison(Op.LESS_EQUAL, other);
    }

    public Expr and(Expr other) {
        return logical(Op.AND, other);
    }

    public Expr or(Expr other) {
        return logical(Op.OR, other);
    }

    public Expr not() {
        Preconditions.checkArgument(type == Type.BOOLEAN, "not() of a %s", type);
        return new Expr(Op.NOT, level, Type.BOOLEAN, List.of(this), 0, null);
    }

    /** {@code condition ? a : b} element by element. */
    public static Expr where(Expr condition, Expr a, Expr b) {
        Preconditions.checkArgument(condition.type == Type.BOOLEAN, "where() needs a flag, got %s", condition.type);
        Preconditions.checkArgument((a.type == Type.BOOLEAN) == (b.type == Type.BOOLEAN), "where() mixes flags and numbers");
        Type type = a.type == b.type ? a.type : Type.REAL;
        Level level = highest(condition.level, highest(a.level, b.level));
        Preconditions.checkArgument(level != Level.SCALAR || condition.level == Level.SCALAR, "where() of scalars");
        return new Expr(Op.WHERE, level, type, List.of(condition, a, b), 0, null);
    }

    /**
     * {@code condition ? a : b} for a scalar flag (of stage parameters); {@code a} and {@code b}
     * have the same level and type, and only the chosen one is evaluated.
     */
    public static Expr choose(Expr condition, Expr a, Expr b) {
        Preconditions.checkArgument(condition.level == Level.SCALAR && condition.type == Type.BOOLEAN,
                "choose() needs a scalar flag, got %s", condition);
        Preconditions.checkArgument(a.level == b.level && a.type == b.type, "choose() between %s and %s", a, b);
        return new Expr(Op.CHOOSE, a.level, a.type, List.of(condition, a, b), 0, null);
    }

    /** Per sample: sum over its atoms of a . b, [B]. */
    public static Expr dot(Expr a, Expr b) {
        Preconditions.checkArgument(a.level == Level.ATOM && b.level == Level.ATOM, "dot() of per-atom vectors");
        return new Expr(Op.DOT, Level.SAMPLE, Type.REAL, List.of(a, b), 0, null);
    }

    /** Per sample: the largest |a_i| over its atoms, [B] (fmax of the forces). */
    public static Expr maxNorm(Expr a) {
        Preconditions.checkArgument(a.level == Level.ATOM, "maxNorm() of per-atom vectors");
        return new Expr(Op.MAX_NORM, Level.SAMPLE, Type.REAL, List.of(a), 0, null);
    }

    /** Per atom: {@code a} minus its sample's mean of {@code a} weighted by {@code weights} [N,1]. */
    public static Expr centered(Expr a, Expr weights) {
        Preconditions.checkArgument(a.level == Level.ATOM && weights.level == Level.ATOM, "centered() of per-atom values");
        return new Expr(Op.CENTER, Level.ATOM, Type.REAL, List.of(a, weights), 0, null);
    }

    private Expr arithmetic(Op op, Expr other) {
        Type t = checkNumber(this) == Type.INTEGER && checkNumber(other) == Type.INTEGER && op != Op.DIV ? Type.INTEGER : Type.REAL;
        return new Expr(op, highest(level, other.level), t, List.of(this, other), 0, null);
    }

    private Expr comparison(Op op, Expr other) {
        checkNumber(this);
        checkNumber(other);
        return new Expr(op, highest(level, other.level), Type.BOOLEAN, List.of(this, other), 0, null);
    }

    private Expr logical(Op op, Expr other) {
        Preconditions.checkArgument(type == Type.BOOLEAN && other.type == Type.BOOLEAN, "%s of %s and %s", op, type, other.type);
        return new Expr(op, highest(level, other.level), Type.BOOLEAN, List.of(this, other), 0, null);
    }

    private static Type checkNumber(Expr e) {
        Preconditions.checkArgument(e.type != Type.BOOLEAN, "arithmetic on a flag (%s)", e.op);
        return e.type;
    }

    private static Level highest(Level a, Level b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    // ---------------------------------------------------------------- reading

    public Op op() {
        return op;
    }

    public Level level() {
        return level;
    }

    public Type type() {
        return type;
    }

    /** Operands, in order. */
    public List<Expr> args() {
        return args;
    }

    /** Value of a {@link Op#CONSTANT}. */
    public double value() {
        return value;
    }

    /** Name of a parameter, state, field or noise stream; null otherwise. */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name != null ? op + "(" + name + ")" : op == Op.CONSTANT ? Double.toString(value) : op + args.toString();
    }
}
