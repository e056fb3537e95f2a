package org.fusedstage.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.Langevin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A request can fail only itself: bad structures among good ones, submitted together. */
class RelaxationServiceTest {

    private static AtomicSystem good(int i) {
        return Structures.rattle(Structures.fcc("Ar", 5.26, 1), 0.05, i).toBuilder().optSampleId("good-" + i).build();
    }

    private static String failure(CompletableFuture<AtomicSystem> future) throws Exception {
        try {
            future.get(60, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause().getMessage();
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hung future fails the test
    void badStructuresFailAloneAndTheServiceLivesOn() throws Exception {
        try (RelaxationService service = new RelaxationService("lennard-jones", model -> List.of(
                FIRE.builder(model).optFmax(0.05).build(), Langevin.builder(model).optTemperature(80).optNSteps(10).build()),
                32, 20_000)) {
            List<CompletableFuture<AtomicSystem>> goods = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                goods.add(service.submit(good(i)));
            }
            AtomicSystem cube = AtomicSystem.builder().positions(new double[3]).atomicNumbers(new int[] {18})
                    .optCell(new double[] {0.03, 0, 0, 0, 0.03, 0, 0, 0, 0.03}).optPbc(true, true, true).optSampleId("cube").build();
            CompletableFuture<AtomicSystem> tiny = service.submit(cube);
            CompletableFuture<AtomicSystem> copper = service.submit(Structures.fcc("Cu", 3.61, 1).toBuilder().optSampleId("cu").build());
            double[] masses = new double[4];
            java.util.Arrays.fill(masses, 1e-320); // F/m overflows: the sample blows up in MD
            CompletableFuture<AtomicSystem> blowsUp = service.submit(good(9).toBuilder().optSampleId("nan").optMasses(masses).build());
            CompletableFuture<AtomicSystem> twin = service.submit(good(0)); // the same id as a request in flight
            for (int i = 4; i < 8; i++) {
                goods.add(service.submit(good(i)));
            }
            assertTrue(failure(tiny).contains("too thin"), failure(tiny));
            assertTrue(failure(copper).contains("element Cu is unknown to the model"), failure(copper));
            assertTrue(failure(blowsUp).contains("blew up"), failure(blowsUp));
            assertEquals(null, failure(twin), "the same id runs after its twin, not beside it");
            for (CompletableFuture<AtomicSystem> f : goods) {
                AtomicSystem r = f.get(60, TimeUnit.SECONDS);
                assertEquals(10L, r.info().get("steps_stage1"), r.sampleId().orElseThrow());
            }
            assertTrue(service.isAlive());
            AtomicSystem later = service.submit(good(20)).get(60, TimeUnit.SECONDS);
            assertTrue(later.energy().isPresent(), "requests after the bad ones are served");
        }
    }
}
