package org.fusedstage.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fusedstage.dynamics.StageParameters;
import org.junit.jupiter.api.Test;

/**
 * The step graph's sources are what Java says they are: the stage arithmetic the graph runs
 * ({@code stage_programs.py}) is exactly what {@link ScriptEmitter} writes from the Java stage
 * programs, and the stage table's columns are exactly the ones the graph reads. (The graph is
 * exported from these sources; the artifact check keeps the exported files equal to them.)
 */
class StageTableAgreementTest {

    private static final Path PYTHON = Path.of("../model-zoo/src/main/python");

    @Test
    void generatedStageProgramsAreCurrent() throws Exception {
        String committed = Files.readString(PYTHON.resolve("stage_programs.py"));
        assertEquals(ScriptEmitter.module(), committed,
                "model-zoo/src/main/python/stage_programs.py is not what the Java stage programs give: run "
                        + "./fused-stage emit-programs, then python3 model-zoo/src/main/python/export_models.py");
    }

    @Test
    void tableColumnsAgree() throws Exception {
        Set<String> read = new TreeSet<>();
        for (String file : new String[] {"fused_step.py", "stage_programs.py"}) {
            // fused_step.py reads the table as numbers (params, one list per column); the stage
            // programs get those lists under the name table.
            Matcher column = Pattern.compile("(?:table|params)\\[\"([a-z_]+)\"\\]")
                    .matcher(Files.readString(PYTHON.resolve(file)));
            while (column.find()) {
                read.add(column.group(1));
            }
        }
        assertEquals(new TreeSet<>(StepGraph.TABLE_COLUMNS), read, "the columns Java sends vs the columns the graph reads");
        assertTrue(StepGraph.TABLE_COLUMNS.containsAll(StageParameters.COLUMNS), StageParameters.COLUMNS.toString());
    }
}
