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

    private static final String SIGNATURE = "(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], "
            + "table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None";

    private final StringBuilder out = new StringBuilder();
    private Map<Expr, String> names;
    private int temps;

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
        out.append("import math\nfrom typing import Dict\n\nimport torch\n\nfrom pair_geometry import sum_into\n\n");
        out.append("""

                def segment_sum(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
                    return sum_into(batch, values, n_systems)


                def segment_max(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
                    out = torch.full((n_systems,), float("-inf"), dtype=values.dtype, device=values.device)
                    return out.scatter_reduce(0, batch, values, reduce="amax", include_self=True)


                def inverse_mass(masses: torch.Tensor) -> torch.Tensor:
                    column = masses.unsqueeze(1)
                    return torch.where(column > 0, 1.0 / column, torch.zeros_like(column))
                """);
        for (Phase phase : Phase.values()) {
            emitFunction("bookkeeping_" + phaseName(phase), StageBookkeeping.program().assignments(phase));
        }
        for (StageKind kind : StageKind.values()) {
            for (Phase phase : Phase.values()) {
                emitFunction(functionName(kind, phase), kind.program().assignments(phase));
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
                out.append(first ? "    if" : "    elif").append(" kind == ").append(kind.code()).append(":  # ")
                        .append(kind.name()).append('\n');
                out.append("        ").append(functionName(kind, phase))
                        .append("(fields, state, table, s, prefix, code, mask, batch)\n");
                first = false;
            }
            if (first) {
                out.append("    pass\n");
            }
        }
        return out.toString();
    }

    private static String phaseName(Phase phase) {
        return phase.name().toLowerCase(Locale.ROOT);
    }

    private static String functionName(StageKind kind, Phase phase) {
        return kind.name().toLowerCase(Locale.ROOT) + "_" + phaseName(phase);
    }

    private void emitFunction(String name, List<Assignment> assignments) {
        if (assignments.isEmpty()) {
            return;
        }
        out.append("\n\ndef ").append(name).append(SIGNATURE).append(":\n");
        out.append("    n_systems = mask.shape[0]\n");
        out.append("    mask_atoms = mask[batch].unsqueeze(1)\n");
        out.append("    real = fields[\"positions\"]\n");
        out.append("    new_fields: Dict[str, torch.Tensor] = {}\n");
        out.append("    new_state: Dict[str, torch.Tensor] = {}\n");
        names = new IdentityHashMap<>();
        temps = 0;
        for (Assignment a : assignments) {
            if (a.guard() == null) {
                emitWrite(a, "    ");
            }
        }
        for (Assignment a : assignments) {
            if (a.guard() != null) {
                Map<Expr, String> outer = names;
                names = new IdentityHashMap<>(outer); // temps made inside the block stay inside it
                String guard = value(a.guard(), "    ");
                out.append("    if ").append(guard).append(":\n");
                emitWrite(a, "        ");
                names = outer;
            }
        }
        out.append("    for key, value in new_fields.items():\n        fields[key] = value\n");
        out.append("    for key, value in new_state.items():\n        state[key] = value\n");
    }

    private void emitWrite(Assignment a, String indent) {
        Expr target = a.target();
        boolean atoms = target.level() == Level.ATOM;
        String current = read(target);
        String value = value(a.value(), indent);
        if (a.value().level() == Level.SCALAR) {
            value = "torch.full_like(" + current + ", " + value + ")";
        } else if (atoms && a.value().level() == Level.SAMPLE) {
            value = value + "[batch].unsqueeze(1)";
        }
        String updated = "torch.where(" + (atoms ? "mask_atoms" : "mask") + ", " + value + ", " + current + ").to(" + current + ".dtype)";
        String into = target.op() == Op.FIELD ? "new_fields[\"" + target.name() + "\"]" : "new_state[prefix + \"" + target.name() + "\"]";
        out.append(indent).append(into).append(" = ").append(updated).append('\n');
    }

    private static String read(Expr leaf) {
        return switch (leaf.op()) {
            case FIELD -> "fields[\"" + leaf.name() + "\"]";
            case STATE -> "state[prefix + \"" + leaf.name() + "\"]";
            default -> throw new IllegalArgumentException(leaf.toString());
        };
    }

    /** The Python expression naming {@code e}'s value; non-leaf values go into temporaries first. */
    private String value(Expr e, String indent) {
        String known = names.get(e);
        if (known != null) {
            return known;
        }
        String code = switch (e.op()) {
            case CONSTANT -> literal(e);
            case PARAMETER -> "float(table[\"" + e.name() + "\"][s])";
            case STATE, FIELD -> read(e);
            case SAMPLES -> "mask";
            // Other criteria are eager-only: StepGraph refuses a chain that has any.
            case OTHER_CRITERIA -> "mask";
            case MASS -> "fields[\"masses\"].unsqueeze(1)";
            case INVERSE_MASS -> "inverse_mass(fields[\"masses\"])";
            case NOISE -> "fields[\"" + e.name() + ".\" + str(code)]";
            default -> null;
        };
        if (code == null) {
            code = operation(e, indent);
            String name = "t" + temps++;
            out.append(indent).append(name).append(" = ").append(code).append('\n');
            code = name;
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
                return "segment_sum((" + a + " * " + b + ").sum(1), batch, n_systems)";
            }
            case MAX_NORM: {
                String a = value(args.get(0), indent);
                return "segment_max((" + a + " * " + a + ").sum(1).sqrt(), batch, n_systems)";
            }
            case CENTER: {
                String a = value(args.get(0), indent);
                String w = value(args.get(1), indent);
                return a + " - (segment_sum(" + a + " * " + w + ", batch, n_systems) / segment_sum(" + w
                        + ", batch, n_systems))[batch]";
            }
            case NEG:
                return "(-" + at(args.get(0), level, indent) + ")";
            case ABS:
                return at(args.get(0), level, indent) + ".abs()";
            case IS_NAN:
                return "torch.isnan(" + at(args.get(0), level, indent) + ")";
            case CHOOSE: {
                String condition = value(args.get(0), indent);
                String a = at(args.get(1), level, indent);
                String b = at(args.get(2), level, indent);
                return "(" + a + " if " + condition + " else " + b + ")";
            }
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
                if (a.level() == Level.SCALAR && b.level() == Level.SCALAR) {
                    String dtype = e.type() == Expr.Type.INTEGER ? "torch.int64" : "real.dtype";
                    String shape = level == Level.ATOM ? "(real.shape[0], 1)" : "(n_systems,)";
                    x = "torch.full(" + shape + ", " + x + ", dtype=" + dtype + ", device=real.device)";
                    y = "torch.full(" + shape + ", " + y + ", dtype=" + dtype + ", device=real.device)";
                } else if (a.level() == Level.SCALAR) {
                    x = "torch.full_like(" + y + ", " + x + ")";
                } else if (b.level() == Level.SCALAR) {
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
        return level == Level.ATOM && e.level() == Level.SAMPLE ? v + "[batch].unsqueeze(1)" : v;
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
