package org.fusedstage.data;

import ai.djl.Device;

/**
 * Where per-sample bookkeeping of a step runs: on a CPU on the host (reading a few small arrays
 * back costs microseconds there, less than the small libtorch ops it replaces), on a GPU on the
 * device (a read would stall the queue). Segment reductions, stage masks, random draws and the
 * flags that skip no-op work all ask this one place.
 */
public final class HostWork {

    private static volatile boolean deviceFormsForced;

    private HostWork() {}

    /** Whether bookkeeping for arrays on {@code device} runs on the host. */
    public static boolean onHost(Device device) {
        return !deviceFormsForced && !device.isGpu();
    }

    /**
     * Makes CPU batches use the device forms that GPU batches use, so that tests on a CPU-only
     * machine run them too (see {@code DeviceFormsTest}). Not for production use.
     */
    public static void forceDeviceForms(boolean forced) {
        deviceFormsForced = forced;
    }
}
