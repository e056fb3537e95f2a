package org.fusedstage.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.HostWork;
import org.fusedstage.data.InMemoryDataset;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.sinks.HostMemory;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;

/**
 * The device forms of the step's bookkeeping (segment reductions, stage masks, fmax, random draws
 * for all samples, no flag reads) are what GPU batches run; forced on a CPU they must give the
 * same inflight results as the host forms, sample by sample, eager and compiled.
 */
class DeviceFormsTest extends WithLennardJones {

    private static Map<String, AtomicSystem> run(boolean deviceForms, boolean compiled) {
        HostWork.forceDeviceForms(deviceForms);
        try {
            HostMemory sink = new HostMemory(40);
            // A safety cap: a broken form must fail the comparison, not hang the run.
            try (FusedStage fused = InflightRunTest.chainBuilder(sink).optCompileStep(compiled).optMaxSteps(3000).build()) {
                fused.setSampler(SizeAwareSampler.builder(new InMemoryDataset(InflightRunTest.dataset(40)))
                        .optMaxAtoms(120).optMaxBatchSize(16).build());
                fused.run();
            }
            Map<String, AtomicSystem> out = new HashMap<>();
            for (AtomicSystem s : sink.read()) {
                out.put(s.sampleId().orElseThrow(), s);
            }
            return out;
        } finally {
            HostWork.forceDeviceForms(false);
        }
    }

    @Test
    void deviceFormsGiveTheHostFormsResults() {
        for (boolean compiled : new boolean[] {false, true}) {
            Map<String, AtomicSystem> host = run(false, compiled);
            Map<String, AtomicSystem> device = run(true, compiled);
            assertEquals(40, host.size(), "host forms: every sample finished");
            assertEquals(host.keySet(), device.keySet());
            for (Map.Entry<String, AtomicSystem> e : host.entrySet()) {
                AtomicSystem d = device.get(e.getKey());
                assertNotNull(d);
                String what = (compiled ? "compiled" : "eager") + ", sample " + e.getKey();
                assertArrayEquals(e.getValue().positions(), d.positions(), 1e-10, what + ": positions");
                assertArrayEquals(e.getValue().velocities().orElseThrow(), d.velocities().orElseThrow(), 1e-10, what + ": velocities");
                assertEquals(e.getValue().info().get("steps_stage0"), d.info().get("steps_stage0"), what + ": FIRE steps");
                assertEquals(List.of(15L), List.of(d.info().get("steps_stage1")), what + ": MD steps");
            }
        }
    }
}
