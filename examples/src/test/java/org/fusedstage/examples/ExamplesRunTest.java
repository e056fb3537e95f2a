package org.fusedstage.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every program in examples/ runs to completion on small inputs, so none can rot unnoticed. */
class ExamplesRunTest {

    @TempDir
    static Path dir;

    /** Small arguments per program; programs without an entry take none. */
    private static Map<String, String[]> arguments() {
        return Map.of(
                "StepBenchmark", new String[] {"8"},
                // The quadratic file (twojmax 6) and a few MD steps: the linear one is 4x slower on a CPU.
                "SnapCopperExample", new String[] {"snap:Cu_Zuo_JPCA2020.quadratic", "4"},
                "SoakBenchmark", new String[] {"0.005", "4"},
                "DemoJob", new String[] {"--systems", "4", "--md-steps", "10", "--output", dir.resolve("demo-job").toString()});
    }

    /** Every class of this package with a main method, found on disk so that a new example is covered too. */
    static Stream<String> programs() throws Exception {
        Path sources = Path.of("src/main/java/org/fusedstage/examples");
        try (Stream<Path> files = Files.list(sources)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".java"))
                    .map(n -> n.substring(0, n.length() - ".java".length())).filter(ExamplesRunTest::hasMain).sorted()
                    .toList().stream();
        }
    }

    private static boolean hasMain(String simpleName) {
        try {
            Method main = Class.forName("org.fusedstage.examples." + simpleName).getMethod("main", String[].class);
            return Modifier.isStatic(main.getModifiers());
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    @Test
    void theExamplesThatTheReadmeNamesAreFound() throws Exception {
        Set<String> found = programs().collect(Collectors.toCollection(TreeSet::new));
        for (String named : new String[] {"VacancyFormationExample", "PlusOperatorExample", "ThreeStagesExample", "ExternalBatchExample", "HooksAndSinksExample",
            "ExplicitConstructionExample", "InflightExample", "CompileStepExample", "ServiceExample", "DemoJob"}) {
            assertTrue(found.contains(named), named + " not found among " + found);
        }
    }

    @ParameterizedTest
    @MethodSource("programs")
    void runsToCompletion(String simpleName) throws Exception {
        // As the launcher sets them: the repository (for the import scripts) and a private cache of converted potentials.
        System.setProperty("fusedstage.home", "..");
        System.setProperty("fusedstage.cache", dir.resolve("potential-cache").toString());
        Method main = Class.forName("org.fusedstage.examples." + simpleName).getMethod("main", String[].class);
        String[] args = arguments().getOrDefault(simpleName, new String[0]);
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            // A timeout fails the test; it never passes one that hangs.
            assertTimeoutPreemptively(Duration.ofMinutes(3), () -> main.invoke(null, (Object) args), simpleName + " did not finish");
        } finally {
            System.setOut(out);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertTrue(!printed.isBlank(), simpleName + " printed nothing");
        if (simpleName.equals("DemoJob")) {
            assertEquals(4, Files.readAllLines(dir.resolve("demo-job").resolve("results.extxyz")).stream()
                    .filter(l -> l.contains("sample_id=")).count(), "DemoJob writes its 4 samples");
        }
        out.println(simpleName + ": " + printed.strip().lines().reduce((a, b) -> b).orElse(""));
    }
}
