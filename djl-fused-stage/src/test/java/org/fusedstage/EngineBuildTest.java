package org.fusedstage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import org.junit.jupiter.api.Test;

/**
 * Which libtorch the tests run on. The default build must load the CPU build of the pom's libtorch
 * version; the {@code cuda} profile (scripts/test-cuda-build.sh in CI) sets
 * FUSED_STAGE_EXPECT_LIBTORCH=cuda, and then the whole suite must have run on the CUDA build.
 */
class EngineBuildTest {

    @Test
    void djlLoadedTheExpectedLibtorch() {
        String expectedVersion = System.getProperty("fusedstage.expected.libtorch");
        assertTrue(expectedVersion != null && !expectedVersion.isEmpty(), "surefire sets fusedstage.expected.libtorch");
        assertEquals(expectedVersion, Engine.getEngine("PyTorch").getVersion(), DjlRuntime.describeEngine());
        boolean cudaExpected = "cuda".equals(System.getenv("FUSED_STAGE_EXPECT_LIBTORCH"));
        assertEquals(cudaExpected, DjlRuntime.isCudaBuild(), DjlRuntime.describeEngine());
    }

    @Test
    void gpuIsGivenOnlyWhereLibtorchCanUseOne() {
        if (Engine.getEngine("PyTorch").hasCapability(StandardCapabilities.CUDA)) {
            assertEquals(Device.gpu(), DjlRuntime.device("gpu"));
            return;
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DjlRuntime.device("gpu"));
        assertTrue(e.getMessage().startsWith("no GPU: "), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, "one line: " + e.getMessage());
        assertTrue(e.getMessage().contains(DjlRuntime.isCudaBuild() ? "CUDA build" : "FUSED_STAGE_FLAVOR=cuda"), e.getMessage());
        assertEquals(Device.cpu(), DjlRuntime.device("cpu"));
        assertThrows(IllegalArgumentException.class, () -> DjlRuntime.device("tpu"));
    }
}
