package org.fusedstage.dynamics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fusedstage.model.Potential;

/**
 * One stage of a chain written as text, {@code KIND:key=value,...} (the command line's
 * {@code --stage}, Spark jobs' chain settings): kinds fire, steepest-descent, nve, nvt-langevin,
 * demo. Units: fmax eV/A, dt fs, temperature K, friction 1/fs, maxstep A, step-size A^2/eV.
 *
 * @param kind the stage kind
 * @param values its settings
 */
public record StageSpec(String kind, Map<String, Double> values) {

    private static final Map<String, Set<String>> KEYS = Map.of(
            "fire", Set.of("fmax", "max-steps", "dt", "maxstep"),
            "steepest-descent", Set.of("fmax", "max-steps", "step-size", "maxstep"),
            "nve", Set.of("steps", "dt", "temperature"),
            "nvt-langevin", Set.of("steps", "temperature", "friction", "dt"),
            "demo", Set.of("steps", "dt", "damping", "fmax"));

    /**
     * Parses a spec.
     *
     * @throws IllegalArgumentException with one line naming the problem
     */
    public static StageSpec parse(String text) {
        int colon = text.indexOf(':');
        String kind = (colon < 0 ? text : text.substring(0, colon)).trim().toLowerCase();
        if (!KEYS.containsKey(kind)) {
            throw new IllegalArgumentException("bad stage spec '" + text + "': unknown kind '" + kind
                    + "' (kinds: fire, steepest-descent, nve, nvt-langevin, demo)");
        }
        Map<String, Double> values = new LinkedHashMap<>();
        if (colon >= 0 && colon < text.length() - 1) {
            for (String part : text.substring(colon + 1).split(",")) {
                String[] kv = part.split("=", 2);
                String key = kv[0].trim();
                if (!KEYS.get(kind).contains(key)) {
                    throw new IllegalArgumentException("bad stage spec '" + text + "': unknown key '" + key + "' for "
                            + kind + " (keys: " + String.join(", ", KEYS.get(kind).stream().sorted().toList()) + ")");
                }
                if (kv.length != 2) {
                    throw new IllegalArgumentException("bad stage spec '" + text + "': '" + part + "' needs key=value");
                }
                double value;
                try {
                    value = Double.parseDouble(kv[1].trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad stage spec '" + text + "': value of '" + key + "' is not a number");
                }
                if (!Double.isFinite(value)) {
                    throw new IllegalArgumentException("bad stage spec '" + text + "': value of '" + key + "' must be finite");
                }
                values.put(key, value);
            }
        }
        return new StageSpec(kind, values);
    }

    /** The default chain: FIRE to fmax 0.05 eV/A, then 500 steps of Langevin at 80 K. */
    public static List<StageSpec> defaults() {
        return List.of(parse("fire:fmax=" + ConvergenceHook.DEFAULT_FMAX + ",max-steps=2000"),
                parse("nvt-langevin:steps=500,temperature=80,friction=0.01,dt=2.0"));
    }

    /** The spec as text that {@link #parse} reads back to an equal spec. */
    public String text() {
        StringBuilder b = new StringBuilder(kind);
        String sep = ":";
        for (Map.Entry<String, Double> e : values.entrySet()) {
            b.append(sep).append(e.getKey()).append('=').append(e.getValue());
            sep = ",";
        }
        return b.toString();
    }

    private long steps(String key) {
        double v = values.getOrDefault(key, 0.0);
        if (v < 0 || v != Math.rint(v) || v > 1e15) {
            throw new IllegalArgumentException("stage " + kind + ": " + key + " must be a whole number in [0, 1e15], got " + v);
        }
        return (long) v;
    }

    /** Whether this stage is an optimizer (relaxation) rather than MD. */
    public boolean isRelaxation() {
        return kind.equals("fire") || kind.equals("steepest-descent");
    }

    /**
     * Adds a chain of stages to a builder: stage k gets status code k and the noise seed
     * {@code seed + k}, so every front end (CLI, service, Spark) builds the same chain from the
     * same text.
     */
    public static FusedStage.Builder addChain(FusedStage.Builder builder, List<StageSpec> specs, Potential potential, long seed) {
        for (int k = 0; k < specs.size(); k++) {
            builder.addSubStage(k, specs.get(k).build(potential, seed + k));
        }
        return builder;
    }

    /**
     * Builds the dynamics. Only the keys given are set: every default is the builder's own (one
     * place each, e.g. {@link ConvergenceHook#DEFAULT_FMAX}).
     */
    public Dynamics build(Potential potential, long seed) {
        return switch (kind) {
            case "fire" -> {
                FIRE.Builder b = FIRE.builder(potential).optNSteps(steps("max-steps"));
                ifSet("fmax", b::optFmax);
                ifSet("maxstep", b::optMaxStep);
                ifSet("dt", b::optTimeStep);
                yield b.build();
            }
            case "steepest-descent" -> {
                SteepestDescent.Builder b = SteepestDescent.builder(potential).optNSteps(steps("max-steps"));
                ifSet("fmax", b::optFmax);
                ifSet("step-size", b::optStepSize);
                ifSet("maxstep", b::optMaxStep);
                yield b.build();
            }
            case "nve" -> {
                VelocityVerlet.Builder b = VelocityVerlet.builder(potential).optNSteps(steps("steps")).optSeed(seed);
                ifSet("dt", b::optTimeStep);
                ifSet("temperature", b::optInitialTemperature);
                yield b.build();
            }
            case "nvt-langevin" -> {
                Langevin.Builder b = Langevin.builder(potential).optNSteps(steps("steps")).optSeed(seed);
                ifSet("dt", b::optTimeStep);
                ifSet("temperature", b::optTemperature);
                ifSet("friction", b::optFriction);
                yield b.build();
            }
            case "demo" -> {
                DemoDynamics.Builder b = DemoDynamics.builder(potential).optNSteps(steps("steps"));
                ifSet("dt", b::optTimeStep);
                ifSet("damping", b::optDamping);
                ifSet("fmax", b::optFmax);
                if (values.containsKey("steps") && !values.containsKey("fmax")) {
                    b.optConvergence(null); // a fixed number of steps, no convergence test
                }
                yield b.build();
            }
            default -> throw new IllegalStateException(kind);
        };
    }

    private void ifSet(String key, java.util.function.DoubleConsumer setter) {
        if (values.containsKey(key)) {
            setter.accept(values.get(key));
        }
    }
}
