package org.fusedstage.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.fusedstage.model.TorchScriptPotential;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fused-stage export-step}: wraps a potential into a compiled step graph (needs python3 with torch <= 2.5.1). */
@Command(name = "export-step", mixinStandardHelpOptions = true, description = "Export the compile_step graph of a zoo model or a TorchScript potential file.")
final class ExportStepCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Zoo model name or path of a TorchScript potential.")
    String model;

    @Option(names = "--output", required = true, description = "Where to write the step graph (e.g. fused_step.pt beside the model).")
    Path output;

    @Option(names = "--python", description = "Python with torch (default: /usr/bin/python3 where present, else python3).")
    String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";

    @Override
    public Integer call() throws Exception {
        Path source;
        if (Files.exists(Path.of(model))) {
            source = Path.of(model);
        } else {
            try (TorchScriptPotential p = RunCommand.loadModel(model, ai.djl.Device.cpu())) {
                source = p.getModelPath().resolve(fileOf(p));
            }
        }
        Path script = RunCommand.home().resolve("model-zoo/src/main/python/export_step.py");
        if (!Files.isRegularFile(script)) {
            throw new IllegalArgumentException("cannot find " + script + ": run from the repository or set -Dfusedstage.home");
        }
        Process p = new ProcessBuilder(python, script.toString(), source.toString(), output.toString()).inheritIO().start();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("export failed (needs " + python + " with torch <= 2.5.1, e.g. apt-get install python3-torch)");
        }
        return 0;
    }

    private static String fileOf(TorchScriptPotential p) throws java.io.IOException {
        java.util.Properties props = new java.util.Properties();
        try (var in = Files.newBufferedReader(p.getModelPath().resolve("metadata.properties"))) {
            props.load(in);
        }
        return props.getProperty("file");
    }
}
