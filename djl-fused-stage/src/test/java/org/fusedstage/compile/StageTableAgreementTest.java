package org.fusedstage.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fusedstage.Units;
import org.fusedstage.dynamics.StageKind;
import org.fusedstage.dynamics.StageParameters;
import org.junit.jupiter.api.Test;

/**
 * The Java side of the compiled step and the graph's source agree: the same stage-kind codes,
 * the same unit constants, and the stage table's columns are exactly the ones the graph reads.
 * (The graph is exported from this source; the artifact check keeps the exported files equal to it.)
 */
class StageTableAgreementTest {

    private static final Path SOURCE = Path.of("../model-zoo/src/main/python/fused_step.py");

    @Test
    void kindsConstantsAndColumnsAgree() throws Exception {
        String graph = Files.readString(SOURCE);
        Map<String, Integer> kinds = new HashMap<>();
        Matcher constant = Pattern.compile("(?m)^([A-Z_]+) = (\\d+)$").matcher(graph);
        while (constant.find()) {
            kinds.put(constant.group(1), Integer.parseInt(constant.group(2)));
        }
        for (StageKind kind : StageKind.values()) {
            assertEquals(kind.code(), kinds.get(kind.name()), "code of " + kind + " in " + SOURCE);
        }
        assertEquals(StageKind.values().length, kinds.size(), "kinds in " + SOURCE + ": " + kinds);

        Matcher boltzmann = Pattern.compile("(?m)^BOLTZMANN_EV_PER_K = ([0-9.eE+-]+)$").matcher(graph);
        assertTrue(boltzmann.find(), "no BOLTZMANN_EV_PER_K in " + SOURCE);
        assertEquals(Units.BOLTZMANN_EV_PER_K, Double.parseDouble(boltzmann.group(1)));
        Matcher conversion = Pattern.compile("(?m)^EV_PER_A_AMU_TO_A_PER_FS2 = 1\\.0 / ([0-9.]+)$").matcher(graph);
        assertTrue(conversion.find(), "no EV_PER_A_AMU_TO_A_PER_FS2 in " + SOURCE);
        assertEquals(Units.EV_PER_A_AMU_TO_A_PER_FS2, 1.0 / Double.parseDouble(conversion.group(1)));

        Set<String> read = new TreeSet<>();
        Matcher column = Pattern.compile("table\\[\"([a-z_]+)\"\\]").matcher(graph);
        while (column.find()) {
            read.add(column.group(1));
        }
        assertEquals(read, new TreeSet<>(StepGraph.TABLE_COLUMNS), "columns the graph reads vs the columns Java sends");
        assertTrue(StepGraph.TABLE_COLUMNS.containsAll(StageParameters.COLUMNS), StageParameters.COLUMNS.toString());
    }
}
