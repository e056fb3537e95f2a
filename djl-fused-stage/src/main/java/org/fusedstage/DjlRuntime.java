package org.fusedstage;

/**
 * Process-wide DJL settings every entry point applies before the engine starts: offline mode, so
 * DJL never opens a network connection (it also needs the environment variables
 * {@code DJL_OFFLINE=true} and {@code OPT_OUT_TRACKING=true}, which the build, the launcher and CI
 * set).
 */
public final class DjlRuntime {

    private DjlRuntime() {}

    /** Sets {@code ai.djl.offline=true} unless the user chose otherwise. */
    public static void ensureOffline() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }
}
