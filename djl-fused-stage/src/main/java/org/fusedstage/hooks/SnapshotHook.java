package org.fusedstage.hooks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.sinks.DataSink;

/**
 * Writes the full batch state (every sample with positions, velocities, energy, forces, status
 * and the step number in its info) to a sink every {@code frequency} steps, at AFTER_STEP.
 */
public final class SnapshotHook implements Hook {

    private final DataSink sink;
    private final int frequency;

    /** Snapshots to {@code sink} every {@code frequency} steps. */
    public SnapshotHook(DataSink sink, int frequency) {
        com.google.common.base.Preconditions.checkArgument(frequency >= 1, "frequency must be >= 1, got %s", frequency);
        this.sink = sink;
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

    @Override
    public void apply(HookContext context) {
        Batch batch = context.batch();
        long[] status = batch.status().toLongArray();
        List<AtomicSystem> systems = batch.toSystems();
        List<AtomicSystem> out = new ArrayList<>(systems.size());
        for (int i = 0; i < systems.size(); i++) {
            out.add(systems.get(i).toBuilder().optInfo("step", context.step()).optInfo("status", status[i]).build());
        }
        try {
            sink.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot at step " + context.step(), e);
        }
    }
}
