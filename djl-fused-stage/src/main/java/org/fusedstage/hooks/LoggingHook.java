package org.fusedstage.hooks;

import java.util.Map;
import java.util.TreeMap;
import org.fusedstage.Units;
import org.fusedstage.data.Status;
import org.fusedstage.data.Batch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs, every {@code frequency} steps (at AFTER_STEP), the number of samples per status, the mean
 * energy (eV), the largest force (eV/A) and the mean temperature (K, 3N degrees of freedom).
 * Reads a few numbers back to the host when it fires.
 */
public final class LoggingHook implements Hook {

    private static final Logger logger = LoggerFactory.getLogger(LoggingHook.class);

    private final int frequency;
    private String lastLine;

    /** Logs every {@code frequency} steps. */
    public LoggingHook(int frequency) {
        com.google.common.base.Preconditions.checkArgument(frequency >= 1, "frequency must be >= 1, got %s", frequency);
        this.frequency = frequency;
    }

    @Override
    public HookStage stage() {
        return HookStage.AFTER_STEP;
    }

    @Override
    public int frequency() {
        return frequency;
    }

    /** The last line logged, or null. */
    public String lastLine() {
        return lastLine;
    }

    @Override
    public void apply(HookContext context) {
        Batch batch = context.batch();
        long[] status = batch.status().toLongArray();
        Map<Long, Integer> occupancy = new TreeMap<>();
        for (long s : status) {
            if (s != Status.VACANT) {
                occupancy.merge(s, 1, Integer::sum);
            }
        }
        SystemObservables observed = SystemObservables.read(batch);
        // Statistics over the samples in the dynamics or finished, not empty slots or quarantined ones.
        double energySum = 0;
        double kinetic = 0;
        double largestForce = 0;
        int samples = 0;
        int atoms = 0;
        for (int i = 0; i < status.length; i++) {
            if (status[i] < 0) {
                continue;
            }
            samples++;
            atoms += batch.atomCount(i);
            energySum += observed.energy()[i];
            kinetic += observed.kinetic()[i];
            largestForce = Math.max(largestForce, observed.fmax()[i]);
        }
        double temperature = atoms == 0 ? 0 : 2 * kinetic / (3.0 * atoms * Units.BOLTZMANN_EV_PER_K);
        lastLine = String.format("step %d: samples per status %s, mean energy %.6f eV, fmax %.4f eV/A, T %.1f K",
                context.step(), occupancy, samples == 0 ? 0 : energySum / samples, largestForce, temperature);
        logger.info(lastLine);
    }
}
