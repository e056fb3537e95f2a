package org.fusedstage.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.fusedstage.DjlRuntime;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Structures;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.model.TorchScriptPotential;
import org.fusedstage.service.FusedStageService;
import org.fusedstage.service.ServiceResult;

/**
 * A Java service's use: one {@link FusedStageService} (one model, one worker thread, continuous
 * batching) shared by request threads; each gets a future that completes when its structure has
 * relaxed and run its MD. For the same over HTTP, see {@code fused-stage serve}.
 */
public final class ServiceExample {

    private ServiceExample() {}

    public static void main(String[] args) throws Exception {
        DjlRuntime.ensureOffline();
        try (TorchScriptPotential model = TorchScriptPotential.fromZoo("lennard-jones")) {
            FusedStage.Builder chain = FusedStage.builder()
                    .addSubStage(0, FIRE.builder(model).optFmax(0.05).build())
                    .addSubStage(1, Langevin.builder(model).optTemperature(80).optNSteps(100).build());
            try (FusedStageService service = FusedStageService.builder(chain).optMaxAtoms(1024).optMaxBatchSize(32).build()) {
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < 3; c++) {
                    final int client = c;
                    clients.add(new Thread(() -> {
                        for (int k = 0; k < 5; k++) {
                            AtomicSystem s = Structures.rattle(Structures.fcc("Ar", 5.26, 2), 0.1, 100 * client + k)
                                    .toBuilder().optSampleId("client" + client + "-" + k).build();
                            CompletableFuture<ServiceResult> result = service.submit(s);
                            result.thenAccept(r -> System.out.printf("%s: E = %.4f eV after %d FIRE steps, %.0f ms in the batch%n",
                                    r.sampleId(), r.energy(), r.stepsPerStage().get(0), r.running().toNanos() / 1e6));
                        }
                    }));
                }
                clients.forEach(Thread::start);
                for (Thread t : clients) {
                    t.join();
                }
                System.out.println(service.metrics());
            } // close(): finishes what was accepted
        }
    }
}
