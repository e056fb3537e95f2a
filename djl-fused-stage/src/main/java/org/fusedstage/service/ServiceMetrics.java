package org.fusedstage.service;

/**
 * A snapshot of a {@link FusedStageService}'s load, for health checks and Prometheus.
 *
 * @param queued requests waiting for a slot
 * @param queueCapacity most requests that may wait
 * @param running samples in the batch
 * @param slotCapacity most samples the batch holds
 * @param runningAtoms atoms of the samples in the batch
 * @param maxAtoms the batch's atom budget
 * @param completed requests that returned a result
 * @param failed requests that failed after being accepted (blow-ups, rejects, batch errors, shutdown)
 * @param cancelled requests cancelled by their callers
 * @param refused submits refused at once (full queue, oversize, bad structure, shut down)
 * @param atomSteps atoms times steps of all finished samples (each atom advanced one step counts once)
 * @param atomStepsPerSecond atom-steps of the samples finished in the last {@code windowSeconds}, per second
 * @param latencyP50 median submit-to-result time of the recent results, seconds
 * @param latencyP90 90th percentile, seconds
 * @param latencyP99 99th percentile, seconds
 * @param latencySum submit-to-result time of all results, seconds
 * @param accepting whether submits are accepted (false after a shutdown)
 * @param alive whether the worker thread runs
 */
public record ServiceMetrics(int queued, int queueCapacity, int running, int slotCapacity, long runningAtoms,
        int maxAtoms, long completed, long failed, long cancelled, long refused, long atomSteps,
        double atomStepsPerSecond, double latencyP50, double latencyP90, double latencyP99, double latencySum, boolean accepting,
        boolean alive) {

    /** Length of the window of {@link #atomStepsPerSecond}, seconds. */
    public static final int WINDOW_SECONDS = 30;

    /** Fraction of the batch's slots in use, 0-1. */
    public double slotOccupancy() {
        return slotCapacity == 0 ? 0 : (double) running / slotCapacity;
    }
}
