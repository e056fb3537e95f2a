package org.fusedstage;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's packages form a layered graph: no package depends, directly or through others, on
 * a package that depends on it. Dependencies are read from the sources: imports and qualified
 * names in code (comments left out), so a new cycle fails here with the files that make it.
 */
class PackageCyclesTest {

    private static final Path SOURCES = Path.of("src/main/java/org/fusedstage");
    private static final Pattern REFERENCE = Pattern.compile("org\\.fusedstage\\.([a-z]+)\\.[A-Z]");

    /** package -> (package it uses -> files that use it). */
    private static Map<String, Map<String, Set<String>>> dependencies() throws IOException {
        Map<String, Map<String, Set<String>>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path folder = SOURCES.relativize(file.getParent());
                String pkg = folder.toString().isEmpty() ? "(root)" : folder.toString().replace('/', '.');
                graph.computeIfAbsent(pkg, k -> new TreeMap<>());
                for (String line : Files.readAllLines(file)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) {
                        continue;
                    }
                    Matcher m = REFERENCE.matcher(code);
                    while (m.find()) {
                        if (!m.group(1).equals(pkg)) {
                            graph.get(pkg).computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(file.getFileName().toString());
                        }
                    }
                }
            }
        }
        return graph;
    }

    @Test
    void packagesHaveNoCycles() throws IOException {
        Map<String, Map<String, Set<String>>> graph = dependencies();
        assertTrue(graph.size() >= 8, "packages found: " + graph.keySet());
        assertTrue(graph.get("dynamics").containsKey("data"), "the reader sees dependencies: " + graph.get("dynamics"));
        for (String start : graph.keySet()) {
            List<String> path = new ArrayList<>();
            path.add(start);
            findCycle(graph, start, path, new TreeSet<>());
        }
    }

    private static void findCycle(Map<String, Map<String, Set<String>>> graph, String start, List<String> path, Set<String> seen) {
        String last = path.get(path.size() - 1);
        for (Map.Entry<String, Set<String>> edge : graph.getOrDefault(last, Map.of()).entrySet()) {
            String next = edge.getKey();
            if (next.equals(start)) {
                StringBuilder why = new StringBuilder();
                List<String> cycle = new ArrayList<>(path);
                cycle.add(start);
                for (int i = 0; i + 1 < cycle.size(); i++) {
                    why.append(String.format("%n  %s -> %s (%s)", cycle.get(i), cycle.get(i + 1),
                            graph.get(cycle.get(i)).get(cycle.get(i + 1))));
                }
                fail("package cycle " + String.join(" -> ", cycle) + ":" + why);
            }
            if (seen.add(next)) {
                path.add(next);
                findCycle(graph, start, path, seen);
                path.remove(path.size() - 1);
            }
        }
    }
}
