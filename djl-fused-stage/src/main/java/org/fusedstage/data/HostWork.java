package org.fusedstage.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Where per-sample bookkeeping of a step runs: on a CPU on the host (reading a few small arrays
 * back costs microseconds there, less than the small libtorch ops it replaces), on a GPU on the
 * device (a read would stall the queue). This class is the one place that decides. Three classes
 * hold two forms of their work and pick one by {@link #onHost}: this one (the small primitives
 * below), {@link Segments} (per-system reductions and broadcasts) and the stage-program evaluator
 * ({@code dynamics.ProgramEvaluator}). Everything else asks for a {@code peek}: a host copy where
 * reading is cheap, or null (then it does the full, masked work, which is correct either way).
 * {@code DeviceFormsTest} runs the device forms on a CPU against the host forms.
 */
public final class HostWork {

    private static volatile boolean deviceFormsForced;

    private HostWork() {}

    /** Whether bookkeeping for arrays on {@code device} runs on the host. */
    public static boolean onHost(Device device) {
        return !deviceFormsForced && !device.isGpu();
    }

    /**
     * A host copy of a small int64 array (statuses) where reading it is cheap, else null: a hint
     * that lets the caller skip no-op work (stages without samples, draws for samples outside a mask).
     */
    public static long[] peekLongs(NDArray array) {
        return onHost(array.getDevice()) ? array.toLongArray() : null;
    }

    /**
     * A host copy (float64) of field {@code name} of {@code batch} where reading it is cheap, else
     * null; read into {@code reuse} where that has the field's length, so that a caller keeping
     * copies between steps recycles them.
     */
    public static double[] peekDoubles(Batch batch, String name, double[] reuse) {
        if (!onHost(batch.getDevice())) {
            return null;
        }
        return batch.hostDoubles(name, n -> reuse != null && reuse.length == n ? reuse : new double[n]);
    }

    /** A host copy of a small boolean array (a per-sample mask) where reading it is cheap, else null. */
    public static boolean[] peekBooleans(NDArray array) {
        return onHost(array.getDevice()) ? array.toBooleanArray() : null;
    }

    /**
     * Per sample, whether its status in {@code peeked} (a {@link #peekLongs} copy) is {@code code};
     * null when there is no copy (the caller then uses the device form, see {@link #mask}).
     */
    public static boolean[] equalOnHost(long[] peeked, long code) {
        if (peeked == null) {
            return null;
        }
        boolean[] out = new boolean[peeked.length];
        for (int b = 0; b < out.length; b++) {
            out[b] = peeked[b] == code;
        }
        return out;
    }

    /**
     * Per sample, whether its status became {@code code} between two {@link #peekLongs} copies
     * ({@code now == code && was != code}); null when either copy is missing.
     */
    public static boolean[] enteredOnHost(long[] was, long[] now, long code) {
        if (was == null || now == null) {
            return null;
        }
        boolean[] out = new boolean[now.length];
        for (int b = 0; b < out.length; b++) {
            out[b] = now[b] == code && was[b] != code;
        }
        return out;
    }

    /**
     * A per-sample mask [B]: {@code host} uploaded once (on the manager and device of {@code like})
     * where a host form was computed from peeks, else {@code deviceForm}'s device ops. One upload
     * costs less on a CPU than the two to five small ops of a device form.
     */
    public static NDArray mask(NDArray like, boolean[] host, java.util.function.Supplier<NDArray> deviceForm) {
        return host == null ? deviceForm.get() : like.getManager().create(host);
    }

    /** Whether every value of host copies peeked with {@link #peekDoubles} is finite: the host form of the check below. */
    public static boolean allFinite(double[]... peeked) {
        for (double[] values : peeked) {
            for (double v : values) {
                if (!Double.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Whether every value of {@code arrays} is finite, where no host copies were peeked: one scalar
     * sum read back (finite values whose sum overflows answer false, which only sends the caller to
     * its full check).
     */
    public static boolean allFinite(NDArray... arrays) {
        NDArray total = arrays[0].sum();
        for (int k = 1; k < arrays.length; k++) {
            total = total.add(arrays[k].sum());
        }
        return Double.isFinite(total.toType(DataType.FLOAT64, false).getDouble());
    }

    /**
     * Makes CPU batches use the device forms that GPU batches use, so that tests on a CPU-only
     * machine run them too (see {@code DeviceFormsTest}). Not for production use.
     */
    public static void forceDeviceForms(boolean forced) {
        deviceFormsForced = forced;
    }
}
