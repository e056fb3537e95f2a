package org.fusedstage.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.fusedstage.DjlRuntime;
import org.fusedstage.model.ZooCatalog;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code fused-stage} command line: {@code run} (the main job; the default), {@code models}
 * and {@code export-step}. Errors print one line and exit with a code of {@link ExitCode};
 * {@code --verbose} adds the stack trace.
 */
@Command(name = "fused-stage", mixinStandardHelpOptions = true, version = "fused-stage 0.1.0",
        description = "Batched relaxation and MD with machine-learned potentials: several stages, one batch, one forward pass per step.",
        subcommands = {RunCommand.class, FusedStageCli.ModelsCommand.class, ExportStepCommand.class, EmitProgramsCommand.class, BenchCommand.class,
            ImportPotentialCommand.class, ServeCommand.class, SparkRunCommand.class})
public final class FusedStageCli implements Callable<Integer> {

    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @Override
    public Integer call() {
        return 0; // not reached: execute() runs "run" when no command is given
    }

    /** Runs the command line and returns the exit code. */
    public static int execute(String... args) {
        DjlRuntime.ensureOffline();
        boolean noCommand = args.length == 0 || (args[0].startsWith("-") && !java.util.List.of("-h", "--help", "-V", "--version")
                .contains(args[0]));
        if (noCommand) { // no command: the main job on its defaults (options go to it)
            String[] withRun = new String[args.length + 1];
            withRun[0] = "run";
            System.arraycopy(args, 0, withRun, 1, args.length);
            args = withRun;
        }
        CommandLine cli = new CommandLine(new FusedStageCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || (parseResult.subcommand() != null && parseResult.subcommand().hasMatchedOption("--verbose"));
            PrintWriter err = commandLine.getErr();
            err.println("fused-stage: " + message(e));
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return isUserError(e) ? ExitCode.USER_ERROR : ExitCode.INTERNAL_ERROR;
        });
        cli.setParameterExceptionHandler((e, args2) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println("fused-stage: " + e.getMessage() + " (see --help)");
            err.flush();
            return ExitCode.USER_ERROR;
        });
        return cli.execute(args);
    }

    /** Bad options, models, chains, inputs and outputs are refused with IllegalArgumentException. */
    private static boolean isUserError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException) {
                return true;
            }
        }
        return false;
    }

    /**
     * One line for an error: the outermost message that says something, and the root cause's
     * (e.g. "no space left on device", or the exception a model raised) when it adds to it.
     */
    static String message(Throwable e) {
        Throwable top = e;
        while ((top.getMessage() == null || top instanceof java.lang.reflect.InvocationTargetException
                || top instanceof picocli.CommandLine.ExecutionException) && top.getCause() != null) {
            top = top.getCause();
        }
        Throwable root = top;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = top.getMessage() == null ? top.getClass().getSimpleName() : line(top.getMessage());
        if (root != top && root.getMessage() != null) {
            String cause = line(root.getMessage());
            if (cause.toLowerCase(java.util.Locale.ROOT).contains("no space left")) {
                cause = "no space left on device";
            }
            int raised = cause.lastIndexOf("Error: ");
            String core = raised >= 0 ? cause.substring(raised + "Error: ".length()) : cause;
            if (!text.contains(core)) {
                text += ": " + cause;
            }
        }
        return text;
    }

    private static final java.util.regex.Pattern RAISED = java.util.regex.Pattern.compile("^\\s*[\\w.]*(Error|Exception): .+");

    /**
     * The line of a message that says what happened: the first, unless the message is a
     * TorchScript traceback, whose last "SomeError: ..." line is the one the model raised.
     */
    private static String line(String message) {
        String[] lines = message.strip().split("\\R");
        for (int i = lines.length - 1; i > 0; i--) {
            if (RAISED.matcher(lines[i]).matches()) {
                return lines[0].strip() + " " + lines[i].strip();
            }
        }
        return lines[0];
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** {@code fused-stage models}: the zoo with its metadata. */
    @Command(name = "models", mixinStandardHelpOptions = true, description = "List the models of the zoo.")
    static final class ModelsCommand implements Callable<Integer> {
        @Override
        public Integer call() throws java.io.IOException {
            System.out.print(ZooCatalog.table());
            // Parameter files converted by --model eam:NAME (import-potential folders are wherever the user put them).
            java.nio.file.Path cache = System.getProperty("fusedstage.cache") != null
                    ? java.nio.file.Path.of(System.getProperty("fusedstage.cache")) : org.fusedstage.model.PotentialImporter.defaultCache();
            if (java.nio.file.Files.isDirectory(cache)) {
                try (var folders = java.nio.file.Files.list(cache)) {
                    for (java.nio.file.Path folder : folders.sorted().toList()) {
                        java.nio.file.Path metadata = folder.resolve("metadata.properties");
                        if (java.nio.file.Files.isRegularFile(metadata)) {
                            String name = folder.getFileName().toString();
                            System.out.print(ZooCatalog.row(name.replaceFirst("-", ":"),
                                    org.fusedstage.model.PotentialMetadata.read(metadata)));
                        }
                    }
                }
            }
            return 0;
        }
    }
}
