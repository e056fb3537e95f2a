package org.fusedstage.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Debian's python3 for cross-checks with ASE ({@code apt-get install python3-ase}, which
 * {@code .ci/run} installs). Tests that need it are skipped, with a reason, only where the
 * module is missing on a developer machine; with {@code FUSED_STAGE_CI} set (as {@code .ci/run}
 * sets it) they fail instead.
 */
public final class Python {

    private static final String PYTHON = "/usr/bin/python3";

    private Python() {}

    /** Skips the calling test unless {@code module} imports. */
    public static void assumeModule(String module) {
        boolean ok;
        try {
            ok = run("import " + module) != null;
        } catch (IOException | RuntimeException e) {
            ok = false;
        }
        String reason = "python3 module '" + module + "' is not installed (apt-get install python3-" + module + ")";
        if (!ok && System.getenv("FUSED_STAGE_CI") != null) {
            throw new AssertionError(reason + ", and CI must run this check");
        }
        Assumptions.assumeTrue(ok, reason);
    }

    /** Runs a script, returns its standard output; fails with its standard error. */
    public static String run(String script, String... args) throws IOException {
        String[] command = new String[3 + args.length];
        command[0] = PYTHON;
        command[1] = "-c";
        command[2] = script;
        System.arraycopy(args, 0, command, 3, args.length);
        Process p = new ProcessBuilder(command).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("python failed: " + new String(err, StandardCharsets.UTF_8));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
