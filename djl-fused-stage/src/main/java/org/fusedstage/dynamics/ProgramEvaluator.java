package org.fusedstage.dynamics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.Batch;
import org.fusedstage.data.HostArrays;
import org.fusedstage.data.HostWork;
import org.fusedstage.data.Segments;
import org.fusedstage.program.Expr;
import org.fusedstage.program.Expr.Level;
import org.fusedstage.program.Expr.Op;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Assignment;

/**
 * Runs one phase of a {@link StageProgram} in the eager step. On a CPU every value is computed on
 * the host, in Java arrays: the batch's arrays live in host memory there, and a loop over a few
 * thousand numbers costs less than the call of one small libtorch op (each phase then reads its
 * inputs once and writes each updated field with one copy). On a GPU every value is an NDArray on
 * the device (a read would stall the queue). This is the one place that chooses between the two
 * ({@link HostWork}); every formula is the program's, and {@code DeviceFormsTest} runs the device
 * forms on a CPU against the host forms.
 *
 * <p>Values are {@code Double} (scalars), {@code double[]} (host per-sample values; flags are 1
 * and 0), {@link HostAtoms} (host per-atom values, for the rows of the mask's samples only, in
 * the layout of {@link SampleRows}) or {@code NDArray}. Each node is evaluated once
 * per phase, and all assignments are written after every value was computed (a phase's
 * assignments are simultaneous).
 */
final class ProgramEvaluator {

    private final Batch batch;
    private final Dynamics stage; // null when evaluating a lone expression
    private final StageMask mask;
    private final boolean[] draw; // samples that draw noise; null: all
    private final boolean host;
    private final Map<String, Double> parameters;
    private final long seed;
    private final ConvergenceHook hook; // for OTHER_CRITERIA; may be null
    private final Map<Expr, Object> values = new IdentityHashMap<>();
    private final Map<String, double[]> hostFields = new java.util.HashMap<>(); // host: fields as read, by name
    // Host: the rows per-atom values cover (the mask's samples; every sample without a mask).
    private final SampleRows layout;
    // Host runs of a stage: its kept per-atom values of masses and parameters; null: none kept.
    private MassTerms massTerms;

    /**
     * Host arrays a finished phase gave back, per thread and by length. A phase's per-atom
     * temporaries come from here instead of new arrays: a 64 x 108 step allocated 5.6 MB, which
     * the JVM zeroed and then collected. Only values no caller can still hold are given back
     * ({@link #run}: its results are copied into the batch before).
     */
    private static final ThreadLocal<Map<Integer, java.util.ArrayDeque<double[]>>> SPARE =
            ThreadLocal.withInitial(java.util.HashMap::new);
    private static final int MAX_SPARE_PER_LENGTH = 64;
    private final List<double[]> borrowed = new ArrayList<>();

    // Per phase (its assignment list), how many references each expression has: a product used
    // once, by a sum, is computed inside that sum's loop (see multiplyAdd). Made once per phase.
    private static final Map<List<Assignment>, Map<Expr, Integer>> USES =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());
    private Map<Expr, Integer> uses = Map.of();
    // This thread's SPARE where the evaluator recycles its temporaries (set by run); null: new arrays.
    private Map<Integer, java.util.ArrayDeque<double[]>> spare;

    /** Per-atom values on the host: {@code width} (3: vectors, 1: scalars) numbers per atom row, row-major. */
    private record HostAtoms(double[] values, int width) {
        double at(int row, int k) {
            return width == 1 ? values[row] : values[3 * row + k];
        }
    }

    private ProgramEvaluator(Batch batch, Dynamics stage, StageMask mask, Map<String, Double> parameters, ConvergenceHook hook) {
        this(batch, stage, mask, mask == null ? null : mask.systemsToDraw(), parameters, stage.stepGraphSeed(), hook);
    }

    private ProgramEvaluator(Batch batch, Dynamics stage, StageMask mask, boolean[] draw, Map<String, Double> parameters,
            long seed, ConvergenceHook hook) {
        this.batch = batch;
        this.stage = stage;
        this.mask = mask;
        this.draw = draw;
        this.host = HostWork.onHost(batch.getDevice());
        this.layout = !host ? null : mask != null ? mask.hostRows() : SampleRows.of(batch, null);
        this.parameters = parameters;
        this.seed = seed;
        this.hook = hook;
    }

    /**
     * The per-atom value of {@code expression} outside any stage (no state), with the given
     * parameters and noise seed, drawing noise for the samples marked in {@code draw} (null: all).
     */
    static NDArray evaluate(Expr expression, Batch batch, Map<String, Double> parameters, long seed, boolean[] draw) {
        com.google.common.base.Preconditions.checkArgument(expression.level() == Level.ATOM, "a per-atom expression");
        ProgramEvaluator evaluator = new ProgramEvaluator(batch, null, null, draw, parameters, seed, null);
        Object value = evaluator.eval(expression);
        if (value instanceof HostAtoms atoms) {
            double[] full = evaluator.layout.toBatchRows(atoms.values(), atoms.width(), batch.numAtoms());
            return HostArrays.create(batch.getManager(), full, new Shape(batch.numAtoms(), atoms.width()), batch.getDataType());
        }
        return (NDArray) value;
    }

    /**
     * The per-sample value of {@code expression} for the samples of {@code mask} of {@code stage}
     * (a flag comes back as a boolean array), with the given parameters; nothing is written.
     */
    static NDArray evaluate(Expr expression, Dynamics stage, Batch batch, StageMask mask, Map<String, Double> parameters,
            ConvergenceHook hook) {
        com.google.common.base.Preconditions.checkArgument(expression.level() == Level.SAMPLE, "a per-sample expression");
        Object value = new ProgramEvaluator(batch, stage, mask, parameters, hook).eval(expression);
        if (!(value instanceof double[] v)) {
            return (NDArray) value;
        }
        if (expression.type() != Expr.Type.BOOLEAN) {
            return HostArrays.create(batch.getManager(), v, batch.getDataType());
        }
        boolean[] flags = new boolean[v.length];
        for (int i = 0; i < v.length; i++) {
            flags[i] = v[i] != 0;
        }
        return batch.getManager().create(flags);
    }

    /**
     * Runs {@code phase} of {@code program} for the samples of {@code mask} of {@code stage}, with
     * {@code parameters} as its stage-table row and {@code hook} for {@link Op#OTHER_CRITERIA}.
     */
    static void run(StageProgram program, StageProgram.Phase phase, Dynamics stage, Batch batch, StageMask mask,
            Map<String, Double> parameters, ConvergenceHook hook) {
        if (program.assignments(phase).isEmpty()) {
            return; // (FIRE has no post-update): not even an evaluator, the first work after a forward pays cold caches
        }
        ProgramEvaluator evaluator = new ProgramEvaluator(batch, stage, mask, parameters, hook);
        evaluator.spare = SPARE.get();
        evaluator.massTerms = evaluator.host ? MassTerms.of(batch) : null;
        run(program.assignments(phase), evaluator);
    }

    /** Evaluates every assignment whose guard holds, then writes them all (they are simultaneous). */
    private static void run(List<Assignment> assignments, ProgramEvaluator evaluator) {
        evaluator.uses = USES.computeIfAbsent(assignments, ProgramEvaluator::countUses);
        List<Assignment> applied = new ArrayList<>();
        List<Object> results = new ArrayList<>();
        for (Assignment a : assignments) {
            if (a.guard() == null || (Double) evaluator.eval(a.guard()) != 0) {
                applied.add(a);
                results.add(evaluator.eval(a.value()));
            }
        }
        for (int i = 0; i < applied.size(); i++) {
            evaluator.write(applied.get(i).target(), results.get(i), applied.get(i).value().level());
        }
        evaluator.giveBack();
    }

    /**
     * A host array of {@code length} numbers for a temporary, every element of which the caller
     * writes (a recycled array holds old values).
     */
    private double[] scratch(int length) {
        if (spare == null) {
            return new double[length];
        }
        java.util.ArrayDeque<double[]> free = spare.get(length);
        double[] out = free == null || free.isEmpty() ? new double[length] : free.pop();
        borrowed.add(out);
        return out;
    }

    /** Returns the phase's temporaries for later phases on this thread. */
    private void giveBack() {
        for (double[] a : borrowed) {
            java.util.ArrayDeque<double[]> free = spare.computeIfAbsent(a.length, k -> new java.util.ArrayDeque<>());
            if (free.size() < MAX_SPARE_PER_LENGTH) {
                free.push(a);
            }
        }
        borrowed.clear();
    }

    /**
     * Creates the state fields the program declares, where missing, with the values its
     * {@link StageProgram.Phase#ENTER} phase gives them (as if every sample had just entered).
     */
    static void initState(StageProgram program, Dynamics stage, Batch batch, Map<String, Double> parameters) {
        boolean created = false;
        for (Expr s : program.state()) {
            String name = stage.stateName(s.name());
            if (batch.has(name)) {
                continue;
            }
            created = true;
            if (s.level() == Level.ATOM) {
                batch.putAtomField(name, batch.positions().zerosLike());
            } else {
                DataType type = s.type() == Expr.Type.INTEGER ? DataType.INT64 : batch.getDataType();
                batch.putSystemField(name, batch.getManager().zeros(new Shape(batch.numSystems()), type));
            }
        }
        if (created) {
            boolean[] all = new boolean[batch.numSystems()];
            java.util.Arrays.fill(all, true);
            StageMask everyone = new StageMask(batch, batch.getManager().create(all));
            List<Assignment> stateResets = program.assignments(StageProgram.Phase.ENTER).stream()
                    .filter(a -> a.target().op() == Op.STATE).toList();
            run(stateResets, new ProgramEvaluator(batch, stage, everyone, parameters, null));
        }
    }

    // ---------------------------------------------------------------- evaluation

    private Object eval(Expr e) {
        Object known = values.get(e);
        if (known == null) {
            known = massTerms != null && MassTerms.isMassTerm(e) ? massTerm(e) : compute(e);
            values.put(e, known);
        }
        return known;
    }

    /** A per-atom value of masses and parameters alone: kept between phases and steps (see {@link MassTerms}). */
    private Object massTerm(Expr e) {
        MassTerms.Values kept = massTerms.get(stage, e, batch, layout.samples());
        if (kept != null) {
            return new HostAtoms(kept.values(), kept.width());
        }
        Object made = compute(e);
        if (made instanceof HostAtoms atoms) { // (a choice may give a plain number)
            massTerms.put(stage, e, batch, layout.samples(), atoms.values(), atoms.width());
        }
        return made;
    }

    private Object compute(Expr e) {
        List<Expr> args = e.args();
        switch (e.op()) {
            case CONSTANT:
                return e.value();
            case PARAMETER: {
                Double value = parameters.get(e.name());
                if (value == null) {
                    throw new IllegalArgumentException("no stage parameter '" + e.name() + "' (columns " + parameters.keySet() + ")");
                }
                return value;
            }
            case STATE:
                return read(stage.stateName(e.name()), e.level());
            case FIELD:
                return read(e.name(), e.level());
            case SAMPLES:
                return host ? hostFlags(mask.hostSystems()) : mask.systems();
            case OTHER_CRITERIA: {
                NDArray met = hook == null ? null : hook.otherCriteria(batch, stage, mask);
                return met == null ? eval(Expr.SAMPLES) : sampleValue(met);
            }
            case CHOOSE:
                return (Double) eval(args.get(0)) != 0 ? eval(args.get(1)) : eval(args.get(2));
            case MASS:
                return host ? new HostAtoms(hostAtomField(Batch.MASSES), 1) : batch.masses().reshape(new Shape(batch.numAtoms(), 1));
            case INVERSE_MASS:
                return inverseMasses();
            case NOISE: {
                long purpose = Expr.STAGE_NOISE.equals(e.name()) ? stage.statusCode() : MaxwellBoltzmann.PURPOSE;
                return host ? new HostAtoms(hostNoise(purpose), 3) : NoiseStreams.normal(batch, seed, purpose, draw);
            }
            case DOT:
                return host ? hostDot((HostAtoms) eval(args.get(0)), (HostAtoms) eval(args.get(1)))
                        : dot((NDArray) eval(args.get(0)), (NDArray) eval(args.get(1)));
            case MAX_NORM:
                return host ? hostMaxNorm((HostAtoms) eval(args.get(0)))
                        : batch.segments().maxRowNorm((NDArray) eval(args.get(0)));
            case CENTER: {
                if (host) {
                    return hostCentered((HostAtoms) eval(args.get(0)), (HostAtoms) eval(args.get(1)));
                }
                NDArray a = (NDArray) eval(args.get(0));
                NDArray w = (NDArray) eval(args.get(1));
                Segments segments = batch.segments();
                NDArray totals = segments.sum(w.reshape(new Shape(batch.numAtoms())))
                        .reshape(new Shape(batch.numSystems(), 1));
                return a.sub(segments.toAtoms(segments.sum(a.mul(w)).div(totals)));
            }
            case WHERE:
                return where(e.level(), args.get(0), args.get(1), args.get(2));
            case NEG:
            case ABS:
            case IS_NAN:
            case SQRT:
            case EXP:
            case NOT:
                return unary(e.op(), eval(args.get(0)));
            default:
                return binary(e.op(), e.level(), args.get(0), args.get(1));
        }
    }

    private Object unary(Op op, Object a) {
        if (a instanceof Double x) {
            return apply(op, x, 0);
        }
        if (a instanceof double[] x) {
            double[] out = scratch(x.length);
            if (op == Op.SQRT) { // the common one, in a loop the JIT vectorizes
                for (int i = 0; i < x.length; i++) {
                    out[i] = Math.sqrt(x[i]);
                }
                return out;
            }
            for (int i = 0; i < x.length; i++) {
                out[i] = apply(op, x[i], 0);
            }
            return out;
        }
        if (a instanceof HostAtoms x) {
            return new HostAtoms((double[]) unary(op, x.values()), x.width());
        }
        NDArray x = (NDArray) a;
        return switch (op) {
            case NEG -> x.neg();
            case ABS -> x.abs();
            case IS_NAN -> x.isNaN();
            case SQRT -> x.sqrt();
            case EXP -> x.exp();
            case NOT -> x.logicalNot();
            default -> throw new IllegalStateException(op.toString());
        };
    }

    private Object binary(Op op, Level level, Expr left, Expr right) {
        if (host && level == Level.ATOM && (op == Op.ADD || op == Op.SUB)) {
            if (fusable(right)) { // x + y*z or x - y*z
                return multiplyAdd(eval(left), eval(right.args().get(0)), eval(right.args().get(1)), 1, op == Op.ADD ? 1 : -1);
            }
            if (fusable(left)) { // y*z + x or y*z - x
                return multiplyAdd(eval(right), eval(left.args().get(0)), eval(left.args().get(1)), op == Op.ADD ? 1 : -1, 1);
            }
        }
        Object b = eval(right);
        if (level == Level.SCALAR) {
            return apply(op, (Double) eval(left), (Double) b);
        }
        if (level == Level.SAMPLE && host) {
            double[] x = hostSamples(eval(left));
            double[] y = hostSamples(b);
            double[] out = new double[batch.numSystems()];
            for (int i = 0; i < out.length; i++) {
                out[i] = apply(op, x[i], y[i]);
            }
            return out;
        }
        if (level == Level.ATOM && host) {
            Object a = eval(left);
            int width = width(a, b);
            double[] broadcast = broadcast(op, a, b, width);
            if (broadcast != null) {
                return new HostAtoms(broadcast, width);
            }
            return new HostAtoms(elementwise(op, expand(a, width), expand(b, width), scratch(layout.size() * width)), width);
        }
        NDArray x = array(left, level);
        // A scalar operand goes in as a 0-d array (what DJL's NDArray.add(Number) makes anyway).
        NDArray y = b instanceof Double d ? batch.getManager().create(d) : array(right, level);
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
            case DIV -> x.div(y);
            case MIN -> x.minimum(y);
            case MAX -> x.maximum(y);
            case GREATER -> x.gt(y);
            case GREATER_EQUAL -> x.gte(y);
            case LESS -> x.lt(y);
            case LESS_EQUAL -> x.lte(y);
            case AND -> x.logicalAnd(y);
            case OR -> x.logicalOr(y);
            default -> throw new IllegalStateException(op.toString());
        };
    }

    /**
     * Whether {@code e} is a per-atom product that only the sum being evaluated uses and that is
     * not made yet (nor kept between steps), so that the sum can compute it in its own loop.
     */
    private boolean fusable(Expr e) {
        return e.op() == Op.MUL && e.level() == Level.ATOM && uses.getOrDefault(e, 0) == 1 && !values.containsKey(e)
                && !(massTerms != null && MassTerms.isMassTerm(e));
    }

    /**
     * {@code x + y*z} ({@code productSign} -1: {@code x - y*z}; {@code sign} -1: {@code y*z - x})
     * in one pass (per-atom operands, per-sample or per-row values, or numbers), without the
     * product's array: rounded as the two operations apart are. Two of a Langevin step's products
     * and both of FIRE's.
     */
    private HostAtoms multiplyAdd(Object x, Object y, Object z, int sign, int productSign) {
        int width = (isFull3(x) || isFull3(y) || isFull3(z)) ? 3 : 1;
        Operand ox = operand(x, width);
        Operand oy = operand(y, width);
        Operand oz = operand(z, width);
        if (oy.kind() != Operand.FULL && oz.kind() == Operand.FULL) { // a full operand first: y * z = z * y exactly
            Operand t = oy;
            oy = oz;
            oz = t;
        }
        int n = layout.size();
        double[] out = scratch(n * width);
        double[] xs = ox.values();
        double[] ys = oy.values();
        double[] zs = oz.values();
        if (ox.kind() == Operand.FULL && oy.kind() == Operand.FULL && oz.kind() == Operand.ROW && width == 3) {
            for (int r = 0, i = 0; r < n; r++, i += 3) {
                double zr = zs[r];
                out[i] = combine(xs[i], ys[i] * zr, sign, productSign);
                out[i + 1] = combine(xs[i + 1], ys[i + 1] * zr, sign, productSign);
                out[i + 2] = combine(xs[i + 2], ys[i + 2] * zr, sign, productSign);
            }
        } else if (ox.kind() == Operand.FULL && oy.kind() == Operand.FULL && oz.kind() == Operand.NUMBER) {
            double zn = oz.number();
            for (int i = 0; i < out.length; i++) {
                out[i] = combine(xs[i], ys[i] * zn, sign, productSign);
            }
        } else if (ox.kind() == Operand.FULL && oy.kind() == Operand.FULL && oz.kind() == Operand.FULL) {
            for (int i = 0; i < out.length; i++) {
                out[i] = combine(xs[i], ys[i] * zs[i], sign, productSign);
            }
        } else {
            for (int r = 0, i = 0; r < n; r++) {
                for (int k = 0; k < width; k++, i++) {
                    out[i] = combine(ox.at(i, r), oy.at(i, r) * oz.at(i, r), sign, productSign);
                }
            }
        }
        return new HostAtoms(out, width);
    }

    /** x + p, x - p or p - x as the signs say: exactly the rounding of that one operation. */
    private static double combine(double x, double p, int sign, int productSign) {
        return sign < 0 ? p - x : productSign < 0 ? x - p : x + p;
    }

    private static boolean isFull3(Object value) {
        return value instanceof HostAtoms a && a.width() == 3;
    }

    /** An operand of {@link #multiplyAdd}: a number, one value per row, or {@code width} values per row. */
    private record Operand(int kind, double[] values, double number) {
        static final int NUMBER = 0;
        static final int ROW = 1;
        static final int FULL = 2;

        double at(int i, int row) {
            return kind == NUMBER ? number : kind == ROW ? values[row] : values[i];
        }
    }

    private Operand operand(Object value, int width) {
        if (value instanceof Double d) {
            return new Operand(Operand.NUMBER, null, d);
        }
        if (value instanceof HostAtoms a && a.width() == width) {
            return new Operand(Operand.FULL, a.values(), 0);
        }
        return new Operand(width == 1 ? Operand.FULL : Operand.ROW, expand(value, 1), 0); // per sample, or a column
    }

    /** How many references each expression of {@code assignments} has (guards and values are roots). */
    private static Map<Expr, Integer> countUses(List<Assignment> assignments) {
        Map<Expr, Integer> counts = new IdentityHashMap<>();
        for (Assignment a : assignments) {
            for (Expr root : new Expr[] {a.guard(), a.value()}) {
                if (root != null) {
                    countUses(root, counts);
                }
            }
        }
        return counts;
    }

    private static void countUses(Expr e, Map<Expr, Integer> counts) {
        int seen = counts.merge(e, 1, Integer::sum);
        if (seen == 1) { // the first reference: count its operands once
            for (Expr a : e.args()) {
                countUses(a, counts);
            }
        }
    }

    /** The element-wise rule of every scalar operation (flags are 1 and 0). */
    private static double apply(Op op, double x, double y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MIN -> Math.min(x, y);
            case MAX -> Math.max(x, y);
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case IS_NAN -> Double.isNaN(x) ? 1 : 0;
            case SQRT -> Math.sqrt(x);
            case EXP -> Math.exp(x);
            case GREATER -> x > y ? 1 : 0;
            case GREATER_EQUAL -> x >= y ? 1 : 0;
            case LESS -> x < y ? 1 : 0;
            case LESS_EQUAL -> x <= y ? 1 : 0;
            case AND -> x != 0 && y != 0 ? 1 : 0;
            case OR -> x != 0 || y != 0 ? 1 : 0;
            case NOT -> x == 0 ? 1 : 0;
            default -> throw new IllegalStateException(op.toString());
        };
    }

    private Object where(Level level, Expr condition, Expr a, Expr b) {
        if (level == Level.SAMPLE && host) {
            double[] c = hostSamples(eval(condition));
            double[] x = hostSamples(eval(a));
            double[] y = hostSamples(eval(b));
            double[] out = new double[c.length];
            for (int i = 0; i < c.length; i++) {
                out[i] = c[i] != 0 ? x[i] : y[i];
            }
            return out;
        }
        if (level == Level.ATOM && host) {
            Object c = eval(condition);
            Object x = eval(a);
            Object y = eval(b);
            int width = width(x, y);
            double[] flags = expand(c, width);
            double[] xs = expand(x, width);
            double[] ys = expand(y, width);
            double[] out = scratch(flags.length);
            for (int i = 0; i < out.length; i++) {
                out[i] = flags[i] != 0 ? xs[i] : ys[i];
            }
            return new HostAtoms(out, width);
        }
        NDArray c = level == Level.ATOM && condition.level() == Level.SAMPLE ? atomMask(eval(condition)) : array(condition, level);
        return NDArrays.where(c, array(a, level), array(b, level));
    }

    // ---------------------------------------------------------------- primitives

    private Object inverseMasses() {
        NDArray masses = batch.masses();
        if (host) {
            double[] m = hostAtomField(Batch.MASSES);
            double[] inverse = scratch(m.length);
            for (int i = 0; i < m.length; i++) {
                inverse[i] = m[i] > 0 ? 1 / m[i] : 0;
            }
            return new HostAtoms(inverse, 1);
        }
        NDArray column = masses.reshape(new Shape(batch.numAtoms(), 1));
        return NDArrays.where(column.gt(0), column.pow(-1), column.zerosLike());
    }

    /** Per sample: the sum over its atoms of a . b (device form). */
    private Object dot(NDArray a, NDArray b) {
        try (NDArray ones = a.getManager().ones(new Shape(3, 1), a.getDataType())) {
            // a product with a column of ones: libtorch's sum over a last axis of 3 is ~10x slower on a CPU
            return batch.segments().sum(a.mul(b).matMul(ones).reshape(batch.numAtoms()));
        }
    }

    private Object read(String name, Level level) {
        if (!host) {
            return batch.get(name);
        }
        return level == Level.SAMPLE ? hostField(name) : new HostAtoms(hostAtomField(name), 3);
    }

    // ---------------------------------------------------------------- host forms of per-atom values

    /**
     * A per-atom operand as {@code width} numbers per atom row: a scalar repeated, a per-sample
     * value repeated over its sample's rows (0 on rows of no sample), or per-atom values (a column
     * repeated over three components where {@code width} is 3).
     */
    private double[] expand(Object value, int width) {
        int n = layout.size();
        if (value instanceof HostAtoms atoms && atoms.width() == width) {
            return atoms.values();
        }
        double[] out = scratch(n * width);
        if (value instanceof Double d) {
            java.util.Arrays.fill(out, d);
        } else if (value instanceof double[] perSample) {
            // Plain stores per row: a fill call per row of one to three numbers cost more than the loop.
            for (int row = 0, at = 0; row < n; row++, at += width) {
                double v = perSample[layout.sampleOf(row)];
                for (int k = at; k < at + width; k++) {
                    out[k] = v;
                }
            }
        } else {
            double[] column = ((HostAtoms) value).values();
            for (int row = 0, at = 0; row < n; row++, at += width) {
                for (int k = at; k < at + width; k++) {
                    out[k] = column[row];
                }
            }
        }
        return out;
    }

    /**
     * x op y for per-atom values and a number, or [N,3] values and a value per sample or per atom,
     * in one pass without expanding the narrower operand first; null for other operand pairs.
     */
    private double[] broadcast(Op op, Object a, Object b, int width) {
        if (a instanceof HostAtoms x && x.width() == width && b instanceof Double y) {
            return withNumber(op, x.values(), y, false, scratch(x.values().length));
        }
        if (b instanceof HostAtoms y && y.width() == width && a instanceof Double x) {
            return withNumber(op, y.values(), x, true, scratch(y.values().length));
        }
        if (width != 3) {
            return null;
        }
        if (a instanceof HostAtoms x && x.width() == 3 && isPerRow(b)) {
            return withRowValues(op, x.values(), expand(b, 1), false, scratch(x.values().length));
        }
        if (b instanceof HostAtoms y && y.width() == 3 && isPerRow(a)) {
            return withRowValues(op, y.values(), expand(a, 1), true, scratch(y.values().length));
        }
        return null;
    }

    /** Whether a value has one number per atom row once broadcast: per sample, or a per-atom column. */
    private static boolean isPerRow(Object value) {
        return value instanceof double[] || (value instanceof HostAtoms c && c.width() == 1);
    }

    /** x op y (reversed: y op x) for every element x of {@code xs}; the arithmetic in loops the JIT vectorizes. */
    private static double[] withNumber(Op op, double[] xs, double y, boolean reversed, double[] out) {
        switch (op) {
            case ADD -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = xs[i] + y;
                }
            }
            case MUL -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = xs[i] * y;
                }
            }
            case SUB -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = reversed ? y - xs[i] : xs[i] - y;
                }
            }
            case DIV -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = reversed ? y / xs[i] : xs[i] / y;
                }
            }
            default -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = reversed ? apply(op, y, xs[i]) : apply(op, xs[i], y);
                }
            }
        }
        return out;
    }

    /** x op y (reversed: y op x) for [N,3] values x and one value y per row. */
    private static double[] withRowValues(Op op, double[] xs, double[] rows, boolean reversed, double[] out) {
        switch (op) {
            case ADD -> {
                for (int r = 0, i = 0; r < rows.length; r++, i += 3) {
                    double y = rows[r];
                    out[i] = xs[i] + y;
                    out[i + 1] = xs[i + 1] + y;
                    out[i + 2] = xs[i + 2] + y;
                }
            }
            case MUL -> {
                for (int r = 0, i = 0; r < rows.length; r++, i += 3) {
                    double y = rows[r];
                    out[i] = xs[i] * y;
                    out[i + 1] = xs[i + 1] * y;
                    out[i + 2] = xs[i + 2] * y;
                }
            }
            default -> {
                for (int r = 0, i = 0; r < rows.length; r++, i += 3) {
                    double y = rows[r];
                    for (int k = i; k < i + 3; k++) {
                        out[k] = reversed ? apply(op, y, xs[k]) : apply(op, xs[k], y);
                    }
                }
            }
        }
        return out;
    }

    private static int width(Object a, Object b) {
        return (a instanceof HostAtoms x && x.width() == 3) || (b instanceof HostAtoms y && y.width() == 3) ? 3 : 1;
    }

    /** x op y element by element; the arithmetic in loops the JIT vectorizes, the rest through {@link #apply}. */
    private static double[] elementwise(Op op, double[] x, double[] y, double[] out) {
        switch (op) {
            case ADD -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = x[i] + y[i];
                }
            }
            case SUB -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = x[i] - y[i];
                }
            }
            case MUL -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = x[i] * y[i];
                }
            }
            case DIV -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = x[i] / y[i];
                }
            }
            default -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = apply(op, x[i], y[i]);
                }
            }
        }
        return out;
    }

    private double[] hostDot(HostAtoms a, HostAtoms b) {
        double[] out = new double[layout.numSamples()];
        for (int s = 0; s < out.length; s++) {
            double sum = 0;
            for (int row = layout.from(s); row < layout.to(s); row++) {
                for (int k = 0; k < 3; k++) {
                    sum += a.at(row, k) * b.at(row, k);
                }
            }
            out[s] = sum;
        }
        return out;
    }

    /** Per sample: the largest row norm; NaN propagates (as the device's max does); -inf for no atoms. */
    private double[] hostMaxNorm(HostAtoms a) {
        double[] out = new double[layout.numSamples()];
        for (int s = 0; s < out.length; s++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int row = layout.from(s); row < layout.to(s); row++) {
                double x = a.at(row, 0);
                double y = a.at(row, 1);
                double z = a.at(row, 2);
                double norm = Math.sqrt(x * x + y * y + z * z);
                max = norm > max || Double.isNaN(norm) ? norm : max;
                if (Double.isNaN(max)) {
                    break;
                }
            }
            out[s] = max;
        }
        return out;
    }

    /** a minus its sample's mean of a weighted by w [N,1]. */
    private HostAtoms hostCentered(HostAtoms a, HostAtoms w) {
        double[] out = a.values().clone();
        for (int s = 0; s < layout.numSamples(); s++) {
            double total = 0;
            double[] weighted = new double[3];
            for (int row = layout.from(s); row < layout.to(s); row++) {
                total += w.at(row, 0);
                for (int k = 0; k < 3; k++) {
                    weighted[k] += a.at(row, k) * w.at(row, 0);
                }
            }
            for (int row = layout.from(s); row < layout.to(s); row++) {
                for (int k = 0; k < 3; k++) {
                    out[3 * row + k] -= weighted[k] / total;
                }
            }
        }
        return new HostAtoms(out, 3);
    }

    /** A per-sample NDArray as this evaluator holds per-sample values. */
    private Object sampleValue(NDArray array) {
        if (!host) {
            return array;
        }
        if (array.getDataType() == DataType.BOOLEAN) {
            return hostFlags(array.toBooleanArray());
        }
        if (array.getDataType() == DataType.INT64) {
            long[] longs = array.toLongArray();
            double[] out = new double[longs.length];
            for (int i = 0; i < longs.length; i++) {
                out[i] = longs[i];
            }
            return out;
        }
        return HostArrays.doubles(array);
    }

    private static double[] hostFlags(boolean[] flags) {
        double[] out = new double[flags.length];
        for (int i = 0; i < flags.length; i++) {
            out[i] = flags[i] ? 1 : 0;
        }
        return out;
    }

    /** A per-sample batch field on the host as float64 (flags 1/0), read once per evaluation: all reads precede the writes. */
    private double[] hostField(String name) {
        return hostFields.computeIfAbsent(name, n -> batch.hostDoubles(n, this::scratch));
    }

    /** The layout's rows of a per-atom batch field on the host, read once per evaluation. */
    private double[] hostAtomField(String name) {
        return hostFields.computeIfAbsent(name, n -> batch.hostRows(n, layout.rows(), this::scratch));
    }

    /** Noise for the layout's rows: a sample's deviates where it draws (see {@link #draw}), else 0. */
    private double[] hostNoise(long purpose) {
        double[] out = scratch(3 * layout.size());
        NoiseStreams.fill(batch, seed, purpose, draw, layout, out);
        return out;
    }

    private double[] hostSamples(Object value) {
        if (value instanceof double[] v) {
            return v;
        }
        double[] out = new double[batch.numSystems()];
        java.util.Arrays.fill(out, (Double) value);
        return out;
    }

    /** The value of {@code e} as an NDArray of {@code level} (per-sample values broadcast to atoms). */
    private NDArray array(Expr e, Level level) {
        return array(eval(e), e.level(), level);
    }

    private NDArray array(Object value, Level from, Level level) {
        NDManager manager = batch.getManager();
        if (value instanceof Double d) {
            Shape shape = level == Level.ATOM ? new Shape(batch.numAtoms(), 1) : new Shape(batch.numSystems());
            return manager.zeros(shape, batch.getDataType()).add(d);
        }
        if (value instanceof double[] v) {
            return level == Level.ATOM ? batch.segments().toAtomVectors(v, batch.getDataType())
                    : HostArrays.create(manager, v, batch.getDataType());
        }
        NDArray array = (NDArray) value;
        if (level == Level.ATOM && from == Level.SAMPLE) {
            return batch.segments().toAtoms(array).reshape(new Shape(batch.numAtoms(), 1));
        }
        return array;
    }

    /** A per-sample flag as a per-atom mask that fits [N,3]. */
    private NDArray atomMask(Object condition) {
        if (condition instanceof double[] c) {
            boolean[] flags = new boolean[c.length];
            for (int i = 0; i < c.length; i++) {
                flags[i] = c[i] != 0;
            }
            return batch.segments().toAtoms(flags, 3, batch.getManager());
        }
        return batch.segments().toAtoms((NDArray) condition).reshape(new Shape(batch.numAtoms(), 1));
    }

    // ---------------------------------------------------------------- writing

    private void write(Expr target, Object value, Level valueLevel) {
        String name = target.op() == Op.STATE ? stage.stateName(target.name()) : target.name();
        if (host) {
            writeOnHost(name, target.level(), value);
            return;
        }
        NDArray current = batch.get(name);
        NDArray updated = value instanceof Double d ? current.zerosLike().add(d) : array(value, valueLevel, target.level());
        if (updated.getDataType() != current.getDataType()) {
            updated = updated.toType(current.getDataType(), false);
        }
        if (!updated.getShape().equals(current.getShape())) {
            updated = updated.broadcast(current.getShape());
        }
        batch.set(name, mask.select(updated, current));
    }

    /**
     * Writes the masked samples' values into the field's memory in place (a CPU batch): no new
     * array, and nothing copied for the samples outside the mask.
     */
    private void writeOnHost(String name, Level level, Object value) {
        NDArray current = batch.get(name);
        DataType type = current.getDataType();
        boolean[] owned = mask.hostSystems();
        if (level == Level.SAMPLE) {
            double[] v = hostSamples(value);
            ByteBuffer memory = batch.hostMemory(name);
            for (int i = 0; i < owned.length; i++) {
                if (owned[i]) {
                    if (type == DataType.INT64) {
                        memory.putLong(i * Long.BYTES, (long) v[i]);
                    } else {
                        HostArrays.put(memory, type, i, v[i]);
                    }
                }
            }
        } else {
            int width = current.getShape().dimension() == 2 ? (int) current.getShape().get(1) : 1;
            double[] updated = expand(value, width);
            ByteBuffer memory = batch.hostMemory(name);
            int[][] members = batch.memberRows();
            for (int s = 0; s < members.length; s++) {
                if (owned[s]) { // the layout holds the mask's samples: each owned one's rows
                    HostArrays.writeRows(memory, type, members[s], updated, width * layout.from(s), width);
                }
            }
        }
        batch.markWritten(name);
    }
}
