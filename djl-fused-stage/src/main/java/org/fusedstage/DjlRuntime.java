package org.fusedstage;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.LibUtils;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Process-wide DJL settings every entry point applies before the engine starts: offline mode, so
 * DJL never opens a network connection (it also needs the environment variables
 * {@code DJL_OFFLINE=true} and {@code OPT_OUT_TRACKING=true}, which the build, the launcher and CI
 * set), and the choice of device.
 *
 * <p>Which libtorch DJL loads (the CPU build or the CUDA build) is decided before the JVM starts:
 * the launcher's {@code FUSED_STAGE_FLAVOR=cuda} and Maven's {@code cuda} profile set DJL's
 * {@code PYTORCH_LIBRARY_PATH}, {@code PYTORCH_VERSION} and {@code PYTORCH_FLAVOR} (README, "GPU").
 */
public final class DjlRuntime {

    private DjlRuntime() {}

    /** Sets {@code ai.djl.offline=true} unless the user chose otherwise. */
    public static void ensureOffline() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    /**
     * The device called {@code name}: {@code "cpu"}, or {@code "gpu"} (the first GPU) after checking
     * that the loaded libtorch can reach one.
     *
     * @throws IllegalArgumentException for another name, or for "gpu" where libtorch is the CPU
     *     build or finds no GPU; the message says which, in one line
     */
    public static Device device(String name) {
        return switch (name) {
            case "cpu" -> Device.cpu();
            case "gpu" -> requireGpu();
            default -> throw new IllegalArgumentException("device must be cpu or gpu, got '" + name + "'");
        };
    }

    /** libtorch's version and build, e.g. "libtorch 2.5.1 (CUDA build)", for logs and errors. */
    public static String describeEngine() {
        Engine engine = Engine.getEngine("PyTorch");
        return "libtorch " + engine.getVersion() + (isCudaBuild() ? " (CUDA build)" : " (CPU build)");
    }

    /** Whether DJL loaded a CUDA build of libtorch (whether or not a GPU is present). */
    public static boolean isCudaBuild() {
        Engine.getEngine("PyTorch"); // loads libtorch, so that its folder is known
        return Files.exists(Path.of(LibUtils.getLibtorchPath()).resolve(System.mapLibraryName("torch_cuda")));
    }

    private static Device requireGpu() {
        if (!isCudaBuild()) {
            throw new IllegalArgumentException("no GPU: DJL loaded the CPU build of libtorch "
                    + Engine.getEngine("PyTorch").getVersion()
                    + "; start with FUSED_STAGE_FLAVOR=cuda for the CUDA build (README, \"GPU\")");
        }
        // libtorch is the authority on whether a device is usable: torch::cuda::is_available() checks
        // for a driver and a device, the allocation below for a driver new enough for this build.
        if (!Engine.getEngine("PyTorch").hasCapability(StandardCapabilities.CUDA)) {
            throw new IllegalArgumentException("no GPU: the " + describeEngine()
                    + " finds no usable GPU on this machine (no NVIDIA driver or no device)");
        }
        Device gpu = Device.gpu();
        try (NDManager manager = NDManager.newBaseManager(gpu)) {
            manager.zeros(new Shape(1)).toDevice(Device.cpu(), false);
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("no GPU: the " + describeEngine() + " cannot use the GPU: " + why, e);
        }
        return gpu;
    }
}
