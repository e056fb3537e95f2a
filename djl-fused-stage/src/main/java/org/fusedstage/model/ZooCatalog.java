package org.fusedstage.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.fusedstage.DjlRuntime;

/**
 * Lists the models of the FusedStage zoo (when its jar is on the class path) with their metadata,
 * without loading any of them.
 */
public final class ZooCatalog {

    private ZooCatalog() {}

    /** Model id -> metadata, in the zoo's order; empty when the zoo jar is absent. */
    public static Map<String, PotentialMetadata> list() {
        DjlRuntime.ensureOffline();
        Map<String, PotentialMetadata> out = new LinkedHashMap<>();
        ClassLoader classLoader = Thread.currentThread().getContextClassLoader();
        java.util.List<String> ids = new java.util.ArrayList<>();
        try (InputStream index = classLoader.getResourceAsStream("org/fusedstage/zoo/index.txt")) {
            if (index == null) {
                return out; // the zoo jar is not on the class path
            }
            for (String line : new String(index.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    ids.add(line.trim());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the zoo index", e);
        }
        for (String id : ids) {
            String resource = "org/fusedstage/zoo/" + id + "/metadata.properties";
            try (InputStream in = classLoader.getResourceAsStream(resource)) {
                if (in != null) {
                    out.put(id, PotentialMetadata.read(in, resource));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + resource, e);
            }
        }
        return out;
    }

    /** A table of the zoo: id, name, cutoff, elements, outputs and citation, one model per line. */
    public static String table() {
        StringBuilder sb = new StringBuilder(header());
        for (Map.Entry<String, PotentialMetadata> e : list().entrySet()) {
            sb.append(row(e.getKey(), e.getValue()));
        }
        return sb.toString();
    }

    /** The header line of {@link #table()}. */
    public static String header() {
        return String.format("%-28s %-8s %-10s %-10s %s%n", "model", "cutoff", "elements", "interface", "name / citation");
    }

    /** One model as a row of {@link #table()}: id, cutoff, elements, interface, name, then its citation. */
    public static String row(String id, PotentialMetadata m) {
        StringBuilder elements = new StringBuilder();
        for (int z : m.elementOrder()) {
            elements.append(elements.length() == 0 ? "" : ",").append(org.fusedstage.data.Elements.symbolOf(z));
        }
        return String.format("%-28s %-8s %-10s %-10s %s%n%-60s %s%n", id, m.cutoff() + " A", elements,
                m.modelInterface() == null ? "native" : m.modelInterface().name().toLowerCase(), m.name(), "", m.citation());
    }
}
