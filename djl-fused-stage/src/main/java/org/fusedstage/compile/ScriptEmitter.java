package org.fusedstage.compile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.fusedstage.dynamics.StageBookkeeping;
import org.fusedstage.dynamics.StageKind;
import org.fusedstage.program.Expr;
import org.fusedstage.program.Expr.Level;
import org.fusedstage.program.Expr.Op;
import org.fusedstage.program.StageProgram;
import org.fusedstage.program.StageProgram.Assignment;
import org.fusedstage.program.StageProgram.Phase;

/**
 * Writes the stage programs of every {@link StageKind} and the bookkeeping every stage shares
 * ({@link StageBookkeeping}) as TorchScript-ready Python: the module
 * {@code model-zoo/src/main/python/stage_programs.py}, which the step graph
 * ({@code fused_step.py}) calls once per stage and phase. The file is generated, like the
 * TorchScript artifacts built from it: edit the programs in Java and run
 * {@code ./fused-stage emit-programs} (or this class's {@code main}); {@code StageProgramsScriptTest}
 * fails while the committed file differs from what this class writes.
 *
 * <p>Each function reads the values from before its phase and writes every update at the end,
 * masked by the phase's samples, as the eager evaluator does.
 */
public final class ScriptEmitter {

    /** Where the module lives, relative to the repository root. */
    public static final String MODULE = "model-zoo/src/main/python/stage_programs.py";

    // The table comes as lists (converted once per step by fused_step.py): a parameter read is then
    // a list lookup, not a tensor select and item. mask_atoms is mask gathered to atoms [N,1], made
    // once per stage and step by the caller.
    private static final String SIGNATURE = "(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], "
            + "table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, "
            + "batch: torch.Tensor) -> None";

    private final StringBuilder out = new StringBuilder();
    // What each value is called in the function being emitted: by expression (identity: Expr keeps
    // Object's equals) and, for reads of the batch, state and table, also by the read's code, so
    // that two leaves naming the same read share one local.
    private Map<Object, String> names;
    private Map<Expr, Integer> parents;
    private int temps;
    // The stores of the function being emitted, made at its end (null: it collects them in dicts).
    private List<String> pending;
    // Each emitted function's body (all after its def line), to the function's name.
    private final Map<String, String> bodies = new java.util.HashMap<>();

    private ScriptEmitter() {}

    /** The module's source. */
    public static String module() {
        return new ScriptEmitter().emitModule();
    }

    /** Writes the module under the repository root given as the first argument (default: the current directory). */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : ".");
        Path file = root.resolve(MODULE);
        Files.writeString(file, module(), StandardCharsets.UTF_8);
        System.out.println("wrote " + file);
    }

    private String emitModule() {
        out.append("\"\"\"The arithmetic of every built-in stage kind, for the step graph (fused_step.py).\n\n");
        out.append("GENERATED from the Java stage programs (org.fusedstage.dynamics, `StageProgram`) by\n");
        out.append("org.fusedstage.compile.ScriptEmitter: do not edit. Regenerate with `./fused-stage emit-programs`.\n");
        out.append("\"\"\"\n");
        out.append("import math\nfrom typing import Dict, List\n\nimport torch\n\nfrom pair_geometry import sum_into\n\n");
        emitInterface();
        out.append("""

                def segment_sum(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
                    return sum_into(batch, values, n_systems)


                def segment_max(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
                    out = torch.full((n_systems,), float("-inf"), dtype=values.dtype, device=values.device)
                    return out.scatter_reduce(0, batch, values, reduce="amax", include_self=True)


                def row_sums(values: torch.Tensor) -> torch.Tensor:
                    \"""x + y + z of each row of [N,3] (a product with ones: torch's sum over a dimension of 3 is
                    several times slower on a CPU).\"""
                    return torch.mv(values, torch.ones(3, dtype=values.dtype, device=values.device))


                def to_atoms(values: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
                    \"""A per-sample value [B] on each of the sample's atoms, [N,1] (index_select: advanced
                    indexing is slower on a CPU).\"""
                    return values.index_select(0, batch).unsqueeze(1)


                def inverse_mass(masses: torch.Tensor) -> torch.Tensor:
                    column = masses.unsqueeze(1)
                    return torch.where(column > 0, 1.0 / column, torch.zeros_like(column))


                def inverse_mass_of(fields: Dict[str, torch.Tensor]) -> torch.Tensor:
                    \"""1/m per atom, made once per step: the masses do not change within one.\"""
                    if "inverse_mass" not in fields:
                        fields["inverse_mass"] = inverse_mass(fields["masses"])
                    return fields["inverse_mass"]
                """);
        for (Phase phase : Phase.values()) {
            emitFunction("bookkeeping_" + phaseName(phase), StageBookkeeping.program().assignments(phase));
        }
        // Kinds whose phase does the same arithmetic (velocity Verlet's pre-update is the demo
        // stage's, its post-update Langevin's, both draw entering velocities alike) share one function.
        Map<String, String> callee = new java.util.HashMap<>();
        for (StageKind kind : StageKind.values()) {
            for (Phase phase : Phase.values()) {
                String name = emitFunction(functionName(kind, phase), kind.program().assignments(phase));
                if (name != null) {
                    callee.put(functionName(kind, phase), name);
                }
            }
        }
        for (Phase phase : Phase.values()) {
            if (java.util.Arrays.stream(StageKind.values()).allMatch(k -> k.program().assignments(phase).isEmpty())) {
                continue;
            }
            out.append("\n\ndef ").append(phaseName(phase)).append("(kind: int, ").append(SIGNATURE.substring(1)).append(":\n");
            out.append("    \"\"\"Runs the ").append(phaseName(phase)).append(" phase of a stage of this kind on the samples of mask.\"\"\"\n");
            boolean first = true;
            for (StageKind kind : StageKind.values()) {
                if (kind.program().assignments(phase).isEmpty()) {
                    continue;
                }
                String function = callee.get(functionName(kind, phase));
                out.append(first ? "    if" : "    elif").append(" kind == ").append(kind.code()).append(":  # ")
                        .append(kind.name());
                if (!function.equals(functionName(kind, phase))) {
                    out.append(": the same arithmetic as ").append(function);
                }
                out.append('\n');
                out.append("        ").append(function)
                        .append("(fields, state, table, s, prefix, code, mask, mask_atoms, batch)\n");
                first = false;
            }
            if (first) {
                out.append("    pass\n");
            }
        }
        return out.toString();
    }

    /**
     * The graph's inputs and outputs as {@link StepGraph} defines them (their orders, the table's
     * rows, each kind's state), as functions that name the graph's positional inputs and order its
     * outputs.
     */
    private void emitInterface() {
        out.append("\n# The step graph's interface, as org.fusedstage.compile.StepGraph defines it: the version Java\n");
        out.append("# calls, what the graph's list inputs and outputs are, in order.\n");
        // The orders as tuples too, for Python callers that convert named dicts (fused_step.graph_inputs).
        Map<String, List<String>> orders = new java.util.LinkedHashMap<>();
        orders.put("DATA_INPUTS", StepGraph.DATA_INPUTS);
        orders.put("RANDOM_INPUTS", StepGraph.RANDOM_INPUTS);
        orders.put("TABLE_COLUMNS", StepGraph.TABLE_COLUMNS);
        orders.put("DATA_OUTPUTS", StepGraph.DATA_OUTPUTS);
        orders.forEach((name, keys) -> out.append(name).append(" = (")
                .append(wrapped(keys.stream().map(k -> '"' + k + '"').toList(), name.length() + 4)).append(")\n"));
        out.append("\n\ndef interface_version() -> int:\n");
        out.append("    \"\"\"The interface version (StepGraph.GRAPH_VERSION), which Java checks when it loads a graph.\"\"\"\n");
        out.append("    return ").append(StepGraph.GRAPH_VERSION).append('\n');
        out.append("\n\ndef data_fields(data: List[torch.Tensor]) -> Dict[str, torch.Tensor]:\n");
        out.append("    \"\"\"The fixed data inputs by name (StepGraph.DATA_INPUTS); each stage's random inputs follow.\"\"\"\n");
        out.append("    return {").append(wrapped(byPosition(StepGraph.DATA_INPUTS, "data"), 12)).append("}\n");
        out.append("\n\ndef random_fields(fields: Dict[str, torch.Tensor], data: List[torch.Tensor], s: int, code: int) -> None:\n");
        out.append("    \"\"\"Stage s's random inputs (StepGraph.RANDOM_INPUTS), named <input>.<code>; empty where it draws none.\"\"\"\n");
        int perStage = StepGraph.RANDOM_INPUTS.size();
        for (int i = 0; i < perStage; i++) {
            out.append("    fields[\"").append(StepGraph.RANDOM_INPUTS.get(i)).append(".\" + str(code)] = data[")
                    .append(StepGraph.DATA_INPUTS.size() + i).append(" + ").append(perStage).append(" * s]\n");
        }
        out.append("\n\ndef table_columns(rows: List[List[float]]) -> Dict[str, List[float]]:\n");
        out.append("    \"\"\"The stage table's rows by name (StepGraph.TABLE_COLUMNS), one number per stage.\"\"\"\n");
        out.append("    return {").append(wrapped(byPosition(StepGraph.TABLE_COLUMNS, "rows"), 12)).append("}\n");
        out.append("\n\ndef state_names(kind: int) -> List[str]:\n");
        out.append("    \"\"\"A stage's state in the order the graph takes it, without the stage's prefix (StepGraph.stateNames).\"\"\"\n");
        boolean first = true;
        for (StageKind kind : StageKind.values()) {
            out.append(first ? "    if" : "    elif").append(" kind == ").append(kind.code()).append(":  # ").append(kind.name())
                    .append("\n        return [").append(String.join(", ",
                            StepGraph.stateNames(kind).stream().map(n -> '"' + n + '"').toList())).append("]\n");
            first = false;
        }
        out.append("    raise ValueError(\"unknown stage kind\")\n");
        out.append("\n\ndef data_outputs(fields: Dict[str, torch.Tensor]) -> List[torch.Tensor]:\n");
        out.append("    \"\"\"The data outputs, in order (StepGraph.DATA_OUTPUTS); the state follows in the order it came.\"\"\"\n");
        out.append("    return [").append(wrapped(StepGraph.DATA_OUTPUTS.stream().map(n -> "fields[\"" + n + "\"]").toList(), 12))
                .append("]\n\n");
    }

    /** Dict entries {@code "key": list[i]} naming each position of {@code list} by its key. */
    private static List<String> byPosition(List<String> keys, String list) {
        List<String> entries = new java.util.ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            entries.add('"' + keys.get(i) + "\": " + list + "[" + i + ']');
        }
        return entries;
    }

    /** Items joined by ", " in lines of at most ~110 characters, continuation lines indented by {@code indent}. */
    private static String wrapped(List<String> items, int indent) {
        StringBuilder text = new StringBuilder();
        int line = indent;
        for (int i = 0; i < items.size(); i++) {
            String item = items.get(i) + (i + 1 < items.size() ? "," : "");
            if (i > 0 && line + item.length() + 1 > 110) {
                text.append('\n').append(" ".repeat(indent));
                line = indent;
            } else if (i > 0) {
                text.append(' ');
                line++;
            }
            text.append(item);
            line += item.length();
        }
        return text.toString();
    }

    private static String phaseName(Phase phase) {
        return phase.name().toLowerCase(Locale.ROOT);
    }

    private static String functionName(StageKind kind, Phase phase) {
        return kind.name().toLowerCase(Locale.ROOT) + "_" + phaseName(phase);
    }

    /**
     * Emits function {@code name} for {@code assignments}, unless a function with the same body
     * was emitted already; returns the function to call (null when there is nothing to do).
     */
    private String emitFunction(String name, List<Assignment> assignments) {
        if (assignments.isEmpty()) {
            return null;
        }
        int start = out.length();
        out.append("\n\ndef ").append(name).append(SIGNATURE).append(":\n");
        int bodyStart = out.length();
        out.append("    n_systems = mask.shape[0]\n");
        out.append("    real = fields[\"positions\"]\n");
        // Updates wait in locals and are stored at the end (reads see the values from before the
        // phase). A write under a guard is made inside its if block, so those functions collect
        // their updates in dicts instead: TorchScript has no local defined on one branch only.
        boolean guarded = assignments.stream().anyMatch(a -> a.guard() != null);
        pending = guarded ? null : new java.util.ArrayList<>();
        if (guarded) {
            out.append("    new_fields: Dict[str, torch.Tensor] = {}\n");
            out.append("    new_state: Dict[str, torch.Tensor] = {}\n");
        }
        names = new java.util.HashMap<>();
        names.put("fields[\"positions\"]", "real");
        parents = countParents(assignments);
        temps = 0;
        for (Assignment a : assignments) {
            if (a.guard() == null) {
                emitWrite(a, "    ");
            }
        }
        for (Assignment a : assignments) {
            if (a.guard() != null) {
                Map<Object, String> outer = names;
                names = new java.util.HashMap<>(outer); // temps made inside the block stay inside it
                String guard = value(a.guard(), "    ");
                out.append("    if ").append(guard).append(":\n");
                emitWrite(a, "        ");
                names = outer;
            }
        }
        if (guarded) {
            out.append("    for key, value in new_fields.items():\n        fields[key] = value\n");
            out.append("    for key, value in new_state.items():\n        state[key] = value\n");
        } else {
            pending.forEach(store -> out.append("    ").append(store).append('\n'));
        }
        // Each line the interpreter runs costs a few microseconds: drop the two set-up reads
        // where nothing uses them.
        for (String local : new String[] {"n_systems", "real"}) {
            String line = "    " + local + " = ";
            int at = out.indexOf(line, bodyStart);
            String rest = out.substring(out.indexOf("\n", at) + 1);
            if (!java.util.regex.Pattern.compile("\\b" + local + "\\b").matcher(rest).find()) {
                out.delete(at, out.indexOf("\n", at) + 1);
            }
        }
        String first = bodies.putIfAbsent(out.substring(bodyStart), name);
        if (first != null) {
            out.setLength(start);
            return first;
        }
        return name;
    }

    private void emitWrite(Assignment a, String indent) {
        Expr target = a.target();
        boolean atoms = target.level() == Level.ATOM;
        String current = value(target, indent);
        String value = value(a.value(), indent);
        // A value of the target's type keeps its dtype through where; only others are cast.
        boolean sameType = a.value().type() == target.type();
        if (a.value().level() == Level.SCALAR && !scalarKeepsType(a.value(), target)) {
            value = "torch.full_like(" + current + ", " + value + ")";
            sameType = true;
        } else if (atoms && a.value().level() == Level.SAMPLE) {
            value = "to_atoms(" + value + ", batch)";
        }
        String updated = "torch.where(" + (atoms ? "mask_atoms" : "mask") + ", " + value + ", " + current + ")"
                + (sameType ? "" : ".to(" + current + ".dtype)");
        String key = target.op() == Op.FIELD ? "[\"" + target.name() + "\"]" : "[prefix + \"" + target.name() + "\"]";
        String store = target.op() == Op.FIELD ? "fields" : "state";
        if (pending == null) {
            out.append(indent).append("new_").append(store).append(key).append(" = ").append(updated).append('\n');
        } else {
            String local = "u" + pending.size();
            out.append(indent).append(local).append(" = ").append(updated).append('\n');
            pending.add(store + key + " = " + local);
        }
    }

    private static String read(Expr leaf) {
        return switch (leaf.op()) {
            case FIELD -> "fields[\"" + leaf.name() + "\"]";
            case STATE -> "state[prefix + \"" + leaf.name() + "\"]";
            default -> throw new IllegalArgumentException(leaf.toString());
        };
    }

    /**
     * The Python expression naming {@code e}'s value. Operations and reads of the batch, state and
     * table go into temporaries first: each is made once per function (a read spelled out at every
     * use would cost the interpreter a string concatenation and a dict lookup each time).
     */
    private String value(Expr e, String indent) {
        String known = names.get(e);
        if (known != null) {
            return known;
        }
        String read = switch (e.op()) {
            case CONSTANT -> literal(e);
            case PARAMETER -> "table[\"" + e.name() + "\"][s]";
            case STATE, FIELD -> read(e);
            case SAMPLES -> "mask";
            // Other criteria are eager-only: StepGraph refuses a chain that has any.
            case OTHER_CRITERIA -> "mask";
            case MASS -> "fields[\"masses\"].unsqueeze(1)";
            case INVERSE_MASS -> "inverse_mass_of(fields)";
            case NOISE -> "fields[\"" + e.name() + ".\" + str(code)]";
            default -> null;
        };
        boolean literal = e.op() == Op.CONSTANT || e.op() == Op.SAMPLES || e.op() == Op.OTHER_CRITERIA;
        String code;
        if (e.op() == Op.CHOOSE) {
            code = choose(e, indent);
        } else if (literal) {
            code = read;
        } else if (read != null && names.containsKey(read)) {
            code = names.get(read); // the same read through another leaf
        } else {
            String made = read != null ? read : operation(e, indent); // may emit the temporaries it needs
            code = "t" + temps++;
            out.append(indent).append(code).append(" = ").append(made).append('\n');
            if (read != null) {
                names.put(read, code);
            }
        }
        names.put(e, code);
        return code;
    }

    private static String literal(Expr e) {
        double v = e.value();
        if (e.type() == Expr.Type.INTEGER) {
            return Long.toString((long) v);
        }
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "float(\"" + (Double.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf") + "\")";
        }
        return Double.toString(v).replace("E", "e");
    }

    private String operation(Expr e, String indent) {
        List<Expr> args = e.args();
        Level level = e.level();
        if (level == Level.SCALAR) {
            return scalarOperation(e, indent);
        }
        switch (e.op()) {
            case DOT: {
                String a = value(args.get(0), indent);
                String b = value(args.get(1), indent);
                return "segment_sum(row_sums(" + a + " * " + b + "), batch, n_systems)";
            }
            case MAX_NORM: {
                String a = value(args.get(0), indent);
                return "segment_max(row_sums(" + a + " * " + a + ").sqrt(), batch, n_systems)";
            }
            case CENTER: {
                String a = value(args.get(0), indent);
                String w = value(args.get(1), indent);
                return a + " - (segment_sum(" + a + " * " + w + ", batch, n_systems) / segment_sum(" + w
                        + ", batch, n_systems)).index_select(0, batch)";
            }
            case NEG:
                return "(-" + at(args.get(0), level, indent) + ")";
            case ABS:
                return at(args.get(0), level, indent) + ".abs()";
            case IS_NAN:
                return "torch.isnan(" + at(args.get(0), level, indent) + ")";
            case SQRT:
                return at(args.get(0), level, indent) + ".sqrt()";
            case EXP:
                return at(args.get(0), level, indent) + ".exp()";
            case NOT:
                return "(~" + at(args.get(0), level, indent) + ")";
            case WHERE: {
                String c = at(args.get(0), level, indent);
                Expr a = args.get(1);
                Expr b = args.get(2);
                String x = at(a, level, indent);
                String y = at(b, level, indent);
                // where takes one number beside a tensor of its type as it is (no filled tensor).
                if (a.level() == Level.SCALAR && b.level() == Level.SCALAR) {
                    String dtype = e.type() == Expr.Type.INTEGER ? "torch.int64" : "real.dtype";
                    String shape = level == Level.ATOM ? "(real.shape[0], 1)" : "(n_systems,)";
                    x = "torch.full(" + shape + ", " + x + ", dtype=" + dtype + ", device=real.device)";
                    if (!scalarKeepsType(b, e)) {
                        y = "torch.full(" + shape + ", " + y + ", dtype=" + dtype + ", device=real.device)";
                    }
                } else if (a.level() == Level.SCALAR && !scalarKeepsType(a, b)) {
                    x = "torch.full_like(" + y + ", " + x + ")";
                } else if (b.level() == Level.SCALAR && !scalarKeepsType(b, a)) {
                    y = "torch.full_like(" + x + ", " + y + ")";
                }
                return "torch.where(" + c + ", " + x + ", " + y + ")";
            }
            default:
                break;
        }
        Expr a = args.get(0);
        Expr b = args.get(1);
        String x = at(a, level, indent);
        String y = at(b, level, indent);
        if (e.op() == Op.MIN || e.op() == Op.MAX) {
            String bound = e.op() == Op.MIN ? "max" : "min";
            if (b.level() == Level.SCALAR) {
                return x + ".clamp(" + bound + "=" + y + ")";
            }
            if (a.level() == Level.SCALAR) {
                return y + ".clamp(" + bound + "=" + x + ")";
            }
            return "torch." + (e.op() == Op.MIN ? "minimum" : "maximum") + "(" + x + ", " + y + ")";
        }
        return infix(e.op(), x, y, false);
    }

    /**
     * condition ? a : b on a scalar condition as an if block, so that only the chosen operand's
     * operations run (a stage without an energy criterion does not compute energy changes).
     */
    private String choose(Expr e, String indent) {
        List<Expr> args = e.args();
        String condition = value(args.get(0), indent);
        // Values that other expressions use too are made before the block, so that none is made
        // twice: only what serves this choice alone goes into its branches.
        for (int branch = 1; branch <= 2; branch++) {
            Expr operand = args.get(branch);
            if (parents.getOrDefault(operand, 0) > 1) {
                value(operand, indent);
            } else {
                makeShared(operand, uses(java.util.Set.of(operand)), indent);
            }
        }
        String name = "t" + temps++;
        String inner = indent + "    ";
        Map<Object, String> outer = names;
        for (int branch = 1; branch <= 2; branch++) {
            names = new java.util.HashMap<>(outer); // temps made in a branch stay in it
            out.append(indent).append(branch == 1 ? "if " + condition + ":" : "else:").append('\n');
            String chosen = at(args.get(branch), e.level(), inner);
            out.append(inner).append(name).append(" = ").append(chosen).append('\n');
        }
        names = outer;
        return name;
    }

    /**
     * Makes now the values below {@code operand} that expressions outside it use too (more users
     * in the function than inside {@code operand}, whose own uses are {@code inside}).
     */
    private void makeShared(Expr operand, Map<Expr, Integer> inside, String indent) {
        for (Expr arg : operand.args()) {
            if (parents.getOrDefault(arg, 0) > inside.getOrDefault(arg, 0)) {
                value(arg, indent);
            } else {
                makeShared(arg, inside, indent);
            }
        }
    }

    private static Map<Expr, Integer> countParents(List<Assignment> assignments) {
        List<Expr> roots = new java.util.ArrayList<>();
        for (Assignment a : assignments) {
            roots.add(a.value());
            if (a.guard() != null) {
                roots.add(a.guard());
            }
        }
        return uses(roots);
    }

    /** How many expressions use each value below the roots (a root counts one use of itself). */
    private static Map<Expr, Integer> uses(java.util.Collection<Expr> roots) {
        Map<Expr, Integer> counts = new IdentityHashMap<>();
        java.util.Set<Expr> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        java.util.ArrayDeque<Expr> todo = new java.util.ArrayDeque<>();
        for (Expr root : roots) {
            todo.add(root);
            counts.merge(root, 1, Integer::sum);
        }
        while (!todo.isEmpty()) {
            Expr e = todo.pop();
            if (seen.add(e)) {
                for (Expr arg : e.args()) {
                    counts.merge(arg, 1, Integer::sum);
                    todo.add(arg);
                }
            }
        }
        return counts;
    }

    /**
     * Whether a Python number may stand beside a tensor of {@code tensor}'s type in where without
     * changing its dtype: a real number would turn an integer tensor into floats, and flags stay
     * tensors.
     */
    private static boolean scalarKeepsType(Expr scalar, Expr tensor) {
        if (scalar.type() == Expr.Type.BOOLEAN || tensor.type() == Expr.Type.BOOLEAN) {
            return false;
        }
        return scalar.type() == Expr.Type.INTEGER || tensor.type() == Expr.Type.REAL;
    }

    /** Binary operators as Python writes them, on tensors or (logical ones) on Python scalars. */
    private static String infix(Op op, String x, String y, boolean scalars) {
        String symbol = switch (op) {
            case ADD -> "+";
            case SUB -> "-";
            case MUL -> "*";
            case DIV -> "/";
            case GREATER -> ">";
            case GREATER_EQUAL -> ">=";
            case LESS -> "<";
            case LESS_EQUAL -> "<=";
            case AND -> scalars ? "and" : "&";
            case OR -> scalars ? "or" : "|";
            default -> throw new IllegalStateException("no script form for " + op);
        };
        return "(" + x + " " + symbol + " " + y + ")";
    }

    /** {@code e} as an operand at {@code level}: a per-sample value meeting per-atom ones is gathered to atoms. */
    private String at(Expr e, Level level, String indent) {
        String v = value(e, indent);
        return level == Level.ATOM && e.level() == Level.SAMPLE ? "to_atoms(" + v + ", batch)" : v;
    }

    private String scalarOperation(Expr e, String indent) {
        List<Expr> args = e.args();
        String x = value(args.get(0), indent);
        String y = args.size() > 1 ? value(args.get(1), indent) : null;
        return switch (e.op()) {
            case NEG -> "(-" + x + ")";
            case ABS -> "abs(" + x + ")";
            case IS_NAN -> "math.isnan(" + x + ")";
            case SQRT -> "math.sqrt(" + x + ")";
            case EXP -> "math.exp(" + x + ")";
            case MIN -> "min(" + x + ", " + y + ")";
            case MAX -> "max(" + x + ", " + y + ")";
            case NOT -> "(not " + x + ")";
            default -> infix(e.op(), x, y, true);
        };
    }
}
