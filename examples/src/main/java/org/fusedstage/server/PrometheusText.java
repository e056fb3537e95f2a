package org.fusedstage.server;

import java.util.Locale;
import org.fusedstage.service.ServiceMetrics;

/** A {@link ServiceMetrics} snapshot in Prometheus's text exposition format (version 0.0.4). */
final class PrometheusText {

    private PrometheusText() {}

    static String format(ServiceMetrics m) {
        StringBuilder out = new StringBuilder();
        gauge(out, "fusedstage_queue_depth", "Requests waiting for a slot.", m.queued());
        gauge(out, "fusedstage_queue_capacity", "Most requests that may wait.", m.queueCapacity());
        gauge(out, "fusedstage_running_samples", "Samples in the batch.", m.running());
        gauge(out, "fusedstage_slot_occupancy", "Fraction of the batch's slots in use (0-1).", m.slotOccupancy());
        gauge(out, "fusedstage_running_atoms", "Atoms of the samples in the batch.", m.runningAtoms());
        gauge(out, "fusedstage_max_atoms", "The batch's atom budget.", m.maxAtoms());
        counter(out, "fusedstage_requests_completed_total", "Requests that returned a result.", m.completed());
        counter(out, "fusedstage_requests_failed_total", "Accepted requests that failed (blow-ups, rejects, batch errors, shutdown).",
                m.failed());
        counter(out, "fusedstage_requests_cancelled_total", "Requests cancelled by their callers.", m.cancelled());
        counter(out, "fusedstage_requests_refused_total", "Submits refused at once (full queue, oversize, bad structure, shut down).",
                m.refused());
        counter(out, "fusedstage_atom_steps_total", "Atoms times steps of the finished samples.", m.atomSteps());
        gauge(out, "fusedstage_atom_steps_per_second", "Atom-steps per second of the samples finished in the last "
                + ServiceMetrics.WINDOW_SECONDS + " s.", m.atomStepsPerSecond());
        String name = "fusedstage_latency_seconds";
        out.append("# HELP ").append(name).append(" Submit-to-result time of recent results.\n");
        out.append("# TYPE ").append(name).append(" summary\n");
        quantile(out, name, "0.5", m.latencyP50());
        quantile(out, name, "0.9", m.latencyP90());
        quantile(out, name, "0.99", m.latencyP99());
        out.append(name).append("_sum ").append(number(m.latencySum())).append('\n');
        out.append(name).append("_count ").append(m.completed()).append('\n');
        gauge(out, "fusedstage_up", "1 while the service takes requests.", m.accepting() && m.alive() ? 1 : 0);
        return out.toString();
    }

    private static void gauge(StringBuilder out, String name, String help, double value) {
        family(out, name, help, "gauge").append(name).append(' ').append(number(value)).append('\n');
    }

    private static void counter(StringBuilder out, String name, String help, long value) {
        family(out, name, help, "counter").append(name).append(' ').append(value).append('\n');
    }

    private static StringBuilder family(StringBuilder out, String name, String help, String type) {
        return out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void quantile(StringBuilder out, String name, String q, double value) {
        out.append(name).append("{quantile=\"").append(q).append("\"} ").append(number(value)).append('\n');
    }

    private static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.6g", v);
    }
}
