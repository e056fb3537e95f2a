package org.fusedstage.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.fusedstage.Units;
import org.fusedstage.data.Status;
import org.fusedstage.data.Batch;
import org.fusedstage.hooks.Hook;
import org.fusedstage.hooks.HookContext;
import org.fusedstage.hooks.HookStage;
import org.fusedstage.hooks.SystemObservables;

/**
 * A fused-stage hook (AFTER_STEP every {@code every} steps) that records what the plots show and
 * reports progress: a live bar on a terminal, a plain log line every 10 s otherwise.
 */
final class RunMetrics implements Hook {

    final List<double[]> relaxation = new ArrayList<>(); // step, mean energy per atom, max fmax
    final List<double[]> md = new ArrayList<>(); // step, temperature, mean energy per atom
    final List<double[]> throughput = new ArrayList<>(); // seconds, atom-steps/s, samples graduated

    private final int every;
    private final Set<Long> relaxationCodes;
    private final Set<Long> mdCodes;
    private final int total;
    private final LongSupplier graduated;
    private final PrintStream out;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private long lastReport = System.nanoTime();
    private long lastStep;
    private long lastTime = System.nanoTime();
    private double atomSteps;

    /** {@code out} null: a silent recorder (the other workers of a run with several). */
    RunMetrics(int every, Set<Long> relaxationCodes, Set<Long> mdCodes, int total, LongSupplier graduated, PrintStream out) {
        this.every = every;
        this.relaxationCodes = relaxationCodes;
        this.mdCodes = mdCodes;
        this.total = total;
        this.graduated = graduated;
        this.out = out;
        this.terminal = System.console() != null;
    }

    @Override
    public HookStage stage() {
        return HookStage.AFTER_STEP;
    }

    /** A row of NaNs where a series has no data (e.g. no sample relaxing between waves): the plot breaks its line there. */
    static void markGap(List<double[]> series, long step) {
        if (!series.isEmpty() && !Double.isNaN(series.get(series.size() - 1)[1])) {
            series.add(new double[] {step, Double.NaN, Double.NaN});
        }
    }

    @Override
    public int frequency() {
        return every;
    }

    @Override
    public void apply(HookContext context) {
        Batch batch = context.batch();
        long[] status = batch.status().toLongArray();
        SystemObservables observed = SystemObservables.read(batch);
        double[] energy = observed.energy();
        double[] fmax = observed.fmax();
        double relaxEnergy = 0;
        double relaxForce = 0;
        int relaxCount = 0;
        double kinetic = 0;
        double mdEnergy = 0;
        int mdAtoms = 0;
        int mdCount = 0;
        int activeAtoms = 0;
        Map<Long, Integer> occupancy = new TreeMap<>();
        for (int i = 0; i < status.length; i++) {
            if (status[i] == Status.VACANT) {
                continue;
            }
            occupancy.merge(status[i], 1, Integer::sum);
            int n = batch.atomCount(i);
            if (relaxationCodes.contains(status[i])) {
                relaxEnergy += energy[i] / n;
                relaxForce = Math.max(relaxForce, fmax[i]);
                relaxCount++;
                activeAtoms += n;
            } else if (mdCodes.contains(status[i])) {
                kinetic += observed.kinetic()[i];
                mdEnergy += energy[i] / n;
                mdAtoms += n;
                mdCount++;
                activeAtoms += n;
            }
        }
        long step = context.step();
        if (relaxCount > 0) {
            relaxation.add(new double[] {step, relaxEnergy / relaxCount, relaxForce});
        } else {
            markGap(relaxation, step);
        }
        if (mdCount > 0) {
            md.add(new double[] {step, 2 * kinetic / (3.0 * mdAtoms * Units.BOLTZMANN_EV_PER_K), mdEnergy / mdCount});
        } else {
            markGap(md, step);
        }
        long now = System.nanoTime();
        double window = (now - lastTime) / 1e9;
        double rate = (step - lastStep) * (double) activeAtoms / Math.max(window, 1e-9);
        atomSteps += (step - lastStep) * (double) activeAtoms;
        double stepsPerSecond = (step - lastStep) / Math.max(window, 1e-9);
        lastStep = step;
        lastTime = now;
        long done = graduated.getAsLong();
        throughput.add(new double[] {(now - start) / 1e9, rate, done});
        if (out != null && (terminal || (now - lastReport) / 1e9 >= 10)) {
            lastReport = now;
            String line = String.format("%d/%d samples done | step %d | %.1f steps/s | %.3g atom-steps/s | stages %s",
                    done, total, step, stepsPerSecond, rate, occupancy);
            if (terminal) {
                int width = 30;
                int filled = total == 0 ? width : (int) (width * done / (double) total);
                out.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + line + "   ");
                out.flush();
            } else {
                out.println(line);
            }
        }
    }

    /** Total atom-steps of samples in the dynamics, as sampled by this hook. */
    double atomSteps() {
        return atomSteps;
    }

    /** Ends the progress display with the final count of this run's samples. */
    void finish() {
        if (out == null) {
            return;
        }
        if (terminal) {
            out.println();
        }
        out.printf("%d/%d samples done%n", graduated.getAsLong(), total);
    }
}
