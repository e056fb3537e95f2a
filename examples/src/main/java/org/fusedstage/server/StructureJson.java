package org.fusedstage.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Elements;
import org.fusedstage.service.ServiceResult;

/**
 * Structures as JSON with ASE's names ({@code ase.Atoms.todict()}): {@code numbers} or
 * {@code symbols}, {@code positions} (A, [[x, y, z], ...]), optional {@code cell} (A, 3x3 rows or
 * three lengths), {@code pbc} (one or three booleans), {@code velocities} (A/fs), {@code masses}
 * (amu), {@code info} (scalars) and {@code id}. Every problem is an IllegalArgumentException with
 * one line that names the field.
 */
final class StructureJson {

    private StructureJson() {}

    /** Parses a request body. */
    static AtomicSystem parse(String body) {
        JsonElement root;
        try {
            root = JsonParser.parseString(body);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("malformed JSON: " + firstLine(e.getMessage()));
        }
        if (!root.isJsonObject()) {
            throw new IllegalArgumentException("the body must be one JSON object (a structure), got " + kind(root));
        }
        JsonObject o = root.getAsJsonObject();
        AtomicSystem.Builder b = AtomicSystem.builder();
        double[] positions = vectors(o, "positions", true);
        int n = positions.length / 3;
        if (n == 0) {
            throw new IllegalArgumentException("positions: a structure needs at least one atom");
        }
        b.positions(positions);
        if (o.has("numbers")) {
            int[] z = new int[n];
            JsonArray a = array(o, "numbers", n);
            for (int i = 0; i < n; i++) {
                double v = number(a.get(i), "numbers[" + i + "]");
                if (v != Math.rint(v) || !Elements.isKnown((int) v)) {
                    throw new IllegalArgumentException("numbers[" + i + "]: " + a.get(i) + " is not an atomic number");
                }
                z[i] = (int) v;
            }
            b.atomicNumbers(z);
        } else if (o.has("symbols")) {
            JsonArray a = array(o, "symbols", n);
            int[] z = new int[n];
            for (int i = 0; i < n; i++) {
                String s = a.get(i).isJsonPrimitive() ? a.get(i).getAsString() : "";
                final int index = i;
                z[i] = Elements.numberOf(s).orElseThrow(
                        () -> new IllegalArgumentException("symbols[" + index + "]: unknown element " + a.get(index)));
            }
            b.atomicNumbers(z);
        } else {
            throw new IllegalArgumentException("give the elements as numbers or symbols");
        }
        if (o.has("cell")) {
            b.optCell(cell(o.get("cell")));
        }
        if (o.has("pbc")) {
            b.optPbc(pbc(o.get("pbc")));
        }
        if (o.has("velocities")) {
            double[] v = vectors(o, "velocities", false);
            if (v.length != positions.length) {
                throw new IllegalArgumentException("velocities: " + v.length / 3 + " rows for " + n + " atoms");
            }
            b.optVelocities(v);
        }
        if (o.has("masses")) {
            JsonArray a = array(o, "masses", n);
            double[] m = new double[n];
            for (int i = 0; i < n; i++) {
                m[i] = finite(number(a.get(i), "masses[" + i + "]"), "masses[" + i + "]");
            }
            b.optMasses(m);
        }
        if (o.has("info")) {
            if (!o.get("info").isJsonObject()) {
                throw new IllegalArgumentException("info must be an object of scalars");
            }
            for (Map.Entry<String, JsonElement> e : o.getAsJsonObject("info").entrySet()) {
                JsonElement v = e.getValue();
                if (!v.isJsonPrimitive()) {
                    throw new IllegalArgumentException("info." + e.getKey() + ": only scalars are kept");
                }
                JsonPrimitive p = v.getAsJsonPrimitive();
                b.optInfo(e.getKey(), p.isBoolean() ? p.getAsBoolean() : p.isNumber() ? p.getAsDouble() : p.getAsString());
            }
        }
        if (o.has("id")) {
            if (!o.get("id").isJsonPrimitive()) {
                throw new IllegalArgumentException("id must be a string");
            }
            b.optSampleId(o.get("id").getAsString());
        }
        try {
            return b.build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalArgumentException("bad structure: " + firstLine(e.getMessage()));
        }
    }

    /** A result as JSON: the final structure with ASE's names, energies and forces, steps and timings. */
    static JsonObject result(ServiceResult r) {
        AtomicSystem s = r.system();
        JsonObject o = new JsonObject();
        o.addProperty("id", r.sampleId());
        o.addProperty("status", "done");
        o.addProperty("energy", r.energy());
        o.add("forces", rows(r.forces()));
        o.add("positions", rows(s.positions()));
        s.velocities().ifPresent(v -> o.add("velocities", rows(v)));
        JsonArray numbers = new JsonArray();
        for (int z : s.atomicNumbers()) {
            numbers.add(z);
        }
        o.add("numbers", numbers);
        o.add("cell", rows(s.cell()));
        JsonArray pbc = new JsonArray();
        for (boolean p : s.pbc()) {
            pbc.add(p);
        }
        o.add("pbc", pbc);
        s.stress().ifPresent(st -> o.add("stress", rows(st)));
        o.addProperty("converged", r.converged());
        o.addProperty("capped", r.capped());
        JsonObject steps = new JsonObject();
        r.stepsPerStage().forEach((code, n) -> steps.addProperty(Integer.toString(code), n));
        o.add("steps", steps);
        JsonObject converged = new JsonObject();
        r.convergedPerStage().forEach((code, c) -> converged.addProperty(Integer.toString(code), c));
        o.add("converged_stages", converged);
        o.addProperty("queued_seconds", r.queued().toNanos() * 1e-9);
        o.addProperty("running_seconds", r.running().toNanos() * 1e-9);
        return o;
    }

    /** Flat [N*3] values as [[x, y, z], ...]. */
    static JsonArray rows(double[] flat) {
        JsonArray out = new JsonArray();
        for (int i = 0; i + 2 < flat.length; i += 3) {
            JsonArray row = new JsonArray();
            row.add(flat[i]);
            row.add(flat[i + 1]);
            row.add(flat[i + 2]);
            out.add(row);
        }
        return out;
    }

    private static double[] vectors(JsonObject o, String name, boolean required) {
        if (!o.has(name)) {
            if (required) {
                throw new IllegalArgumentException(name + " is missing");
            }
            return new double[0];
        }
        JsonElement e = o.get(name);
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException(name + " must be a list of [x, y, z] rows, got " + kind(e));
        }
        JsonArray a = e.getAsJsonArray();
        double[] out = new double[3 * a.size()];
        for (int i = 0; i < a.size(); i++) {
            JsonElement row = a.get(i);
            if (!row.isJsonArray() || row.getAsJsonArray().size() != 3) {
                throw new IllegalArgumentException(name + "[" + i + "] must be [x, y, z]");
            }
            for (int k = 0; k < 3; k++) {
                String where = name + "[" + i + "][" + k + "]";
                out[3 * i + k] = finite(number(row.getAsJsonArray().get(k), where), where);
            }
        }
        return out;
    }

    private static double[] cell(JsonElement e) {
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException("cell must be 3x3 rows or three lengths, got " + kind(e));
        }
        JsonArray a = e.getAsJsonArray();
        double[] out = new double[9];
        if (a.size() == 3 && a.get(0).isJsonPrimitive()) { // lengths of an orthorhombic cell, as ASE accepts
            for (int k = 0; k < 3; k++) {
                out[4 * k] = finite(number(a.get(k), "cell[" + k + "]"), "cell[" + k + "]");
            }
            return out;
        }
        if (a.size() != 3) {
            throw new IllegalArgumentException("cell must have three rows, got " + a.size());
        }
        JsonObject wrapper = new JsonObject();
        wrapper.add("cell", a);
        return vectors(wrapper, "cell", true);
    }

    private static boolean[] pbc(JsonElement e) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
            boolean p = e.getAsBoolean();
            return new boolean[] {p, p, p};
        }
        if (!e.isJsonArray() || e.getAsJsonArray().size() != 3) {
            throw new IllegalArgumentException("pbc must be a boolean or three booleans");
        }
        boolean[] out = new boolean[3];
        for (int k = 0; k < 3; k++) {
            JsonElement v = e.getAsJsonArray().get(k);
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isBoolean()) {
                throw new IllegalArgumentException("pbc[" + k + "] must be true or false");
            }
            out[k] = v.getAsBoolean();
        }
        return out;
    }

    private static JsonArray array(JsonObject o, String name, int n) {
        JsonElement e = o.get(name);
        if (!e.isJsonArray() || e.getAsJsonArray().size() != n) {
            throw new IllegalArgumentException(name + " must be a list of " + n + " entries (one per atom)");
        }
        return e.getAsJsonArray();
    }

    private static double number(JsonElement e, String where) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new IllegalArgumentException(where + ": " + e + " is not a number");
        }
        return e.getAsDouble();
    }

    private static double finite(double v, String where) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(where + " is not finite");
        }
        return v;
    }

    private static String kind(JsonElement e) {
        return e.isJsonArray() ? "a list" : e.isJsonObject() ? "an object" : e.isJsonNull() ? "null" : "a scalar";
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
