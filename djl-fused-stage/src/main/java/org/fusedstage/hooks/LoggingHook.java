package org.fusedstage.hooks;

import ai.djl.ndarray.NDArray;
import java.util.Map;
import java.util.TreeMap;
import org.fusedstage.Units;
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
        Map<Long, Integer> occupancy = new TreeMap<>();
        for (long s : batch.status().toLongArray()) {
            occupancy.merge(s, 1, Integer::sum);
        }
        NDArray f = batch.forces();
        double fmax = f.mul(f).sum(new int[] {1}).max().sqrt().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        double meanEnergy = batch.energy().mean().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        NDArray v = batch.velocities();
        NDArray mv2 = v.mul(v).sum(new int[] {1}).mul(batch.masses());
        double kinetic = 0.5 * mv2.sum().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble() * Units.AMU_A2_PER_FS2_TO_EV;
        double temperature = 2 * kinetic / (3.0 * batch.numAtoms() * Units.BOLTZMANN_EV_PER_K);
        lastLine = String.format("step %d: samples per status %s, mean energy %.6f eV, fmax %.4f eV/A, T %.1f K",
                context.step(), occupancy, meanEnergy, fmax, temperature);
        logger.info(lastLine);
    }
}
