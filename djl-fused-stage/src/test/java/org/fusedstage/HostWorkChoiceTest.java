package org.fusedstage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The choice between host and device work is made in one place ({@code HostWork.onHost}) and
 * acted on by three classes that hold both forms (HostWork, Segments, ProgramEvaluator); any
 * other class that asks where it runs, or tests {@code isGpu()} to pick a form, fails here by name.
 * (FusedStage's stream scope asks {@code isGpu()} for what a CUDA stream needs, not a form.)
 */
class HostWorkChoiceTest {

    private static final Path SOURCES = Path.of("src/main/java/org/fusedstage");
    private static final Set<String> HOLDERS_OF_TWO_FORMS = Set.of("HostWork.java", "Segments.java", "ProgramEvaluator.java");

    @Test
    void onlyTheHoldersOfTwoFormsAskWhereWorkRuns() throws IOException {
        Set<String> askers = new TreeSet<>();
        Set<String> gpuTests = new TreeSet<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String name = file.getFileName().toString();
                for (String line : Files.readAllLines(file)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) {
                        continue;
                    }
                    if (code.contains("onHost(")) {
                        askers.add(name);
                    }
                    if (code.contains("isGpu()")) {
                        gpuTests.add(name);
                    }
                }
            }
        }
        assertTrue(askers.contains("ProgramEvaluator.java"), "the scan sees the evaluator's choice: " + askers);
        askers.removeAll(HOLDERS_OF_TWO_FORMS);
        assertEquals(Set.of(), askers, "classes that choose between host and device forms outside " + HOLDERS_OF_TWO_FORMS);
        gpuTests.removeAll(HOLDERS_OF_TWO_FORMS);
        assertEquals(Set.of("FusedStage.java"), gpuTests,
                "classes that test isGpu(): each must be about the device itself, not a choice of form");
    }
}
