package org.fusedstage.examples;

import java.util.Arrays;
import org.fusedstage.DjlRuntime;
import org.fusedstage.model.ZooCatalog;

/**
 * Entry point of the {@code fused-stage} launcher: {@code run} (the default) runs the main job,
 * {@code models} lists the model zoo.
 */
public final class Main {

    private Main() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        String command = args.length == 0 || args[0].startsWith("--") ? "run" : args[0];
        String[] rest = args.length == 0 || args[0].startsWith("--") ? args : Arrays.copyOfRange(args, 1, args.length);
        switch (command) {
            case "run" -> DemoJob.main(rest);
            case "models" -> System.out.print(ZooCatalog.table());
            default -> {
                System.err.println("unknown command '" + command + "' (commands: run, models)");
                System.exit(2);
            }
        }
    }
}
