package org.fusedstage.compile;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fusedstage.testing.Python;
import org.junit.jupiter.api.Test;

/**
 * The step graph from Python, as {@code scripts/validate_step_graph_gpu.py} calls it on a GPU
 * machine (which CI does not have): its CPU part runs 60 steps of FIRE -> Langevin through
 * {@code fused_step.graph_inputs} and {@code graph_outputs} on a half-list and a full-list zoo
 * model. A change of the graph's interface that the script or the helpers miss fails here instead
 * of first on a GPU (the script as it was before interface version 3, run against the new graphs,
 * stops with TorchScript's "Unable to cast" error); the atoms' reach is a sanity bound only.
 */
class PythonStepGraphTest {

    private static final Path SCRIPT = Path.of("../scripts/validate_step_graph_gpu.py");

    @Test
    void theGpuScriptsCpuPartRunsTheExportedGraphs() throws Exception {
        Python.assumeModule("torch");
        assertTrue(Files.isRegularFile(SCRIPT), SCRIPT.toAbsolutePath().toString());
        for (String model : new String[] {"lennard-jones", "nnp-demo-cu"}) {
            String out = Python.run("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                    SCRIPT.toString(), model, "--cpu-only");
            Matcher ran = Pattern.compile("CPU: 60 steps of FIRE -> Langevin ran \\(" + model + ", (half|full) list\\), max \\|x\\| = ([0-9.]+) A")
                    .matcher(out);
            assertTrue(ran.find(), out);
            double reach = Double.parseDouble(ran.group(2));
            // The crystals span at most 2 cells of ~5.3 A (argon) or 3.6 A (copper): finite
            // positions within a few cells.
            assertTrue(reach > 1 && reach < 25, model + ": max |x| = " + reach);
        }
    }
}
