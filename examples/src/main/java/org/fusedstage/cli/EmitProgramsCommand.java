package org.fusedstage.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.fusedstage.compile.ScriptEmitter;
import picocli.CommandLine.Command;

/**
 * {@code fused-stage emit-programs}: writes the stage programs (the arithmetic of every built-in
 * stage kind, defined once in Java) as the Python module the step graph calls. For developers who
 * changed a stage program: then re-export the zoo's step graphs with
 * {@code python3 model-zoo/src/main/python/export_models.py}.
 */
@Command(name = "emit-programs", mixinStandardHelpOptions = true,
        description = "Write model-zoo/src/main/python/stage_programs.py from the Java stage programs (developers).")
final class EmitProgramsCommand implements Callable<Integer> {

    @Override
    public Integer call() throws Exception {
        Path root = RunCommand.home();
        Path file = root.resolve(ScriptEmitter.MODULE);
        if (!Files.isDirectory(file.getParent())) {
            throw new IllegalArgumentException("cannot find " + file.getParent() + ": run from the repository or set -Dfusedstage.home");
        }
        String module = ScriptEmitter.module();
        boolean changed = !Files.isRegularFile(file) || !Files.readString(file).equals(module);
        Files.writeString(file, module);
        System.out.println((changed ? "wrote " : "unchanged: ") + file);
        if (changed) {
            System.out.println("now re-export the step graphs: python3 model-zoo/src/main/python/export_models.py");
        }
        return 0;
    }
}
