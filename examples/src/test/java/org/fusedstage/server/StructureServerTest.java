package org.fusedstage.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.StringReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Batch;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.dynamics.FIRE;
import org.fusedstage.dynamics.FusedStage;
import org.fusedstage.dynamics.Langevin;
import org.fusedstage.service.FusedStageService;
import org.fusedstage.sinks.HostMemory;
import org.fusedstage.testing.TestSystems;
import org.fusedstage.testing.WithLennardJones;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP server through a real client on loopback: results, job states, and every bad request's 4xx. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StructureServerTest extends WithLennardJones {

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static FusedStage.Builder chain(long mdSteps) {
        return FusedStage.builder()
                .addSubStage(0, FIRE.builder(lj.potential).optFmax(0.02).build())
                .addSubStage(1, Langevin.builder(lj.potential).optTemperature(40).optNSteps(mdSteps).optSeed(5).build());
    }

    private static StructureServer server(long mdSteps) {
        FusedStageService service = FusedStageService.builder(chain(mdSteps)).optMaxAtoms(40).optMaxBatchSize(8)
                .optQueueCapacity(4).build();
        return new StructureServer(service, "127.0.0.1", 0, 20_000, 100);
    }

    private static HttpResponse<String> send(StructureServer s, String method, String path, String type, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                .timeout(Duration.ofSeconds(60));
        if (type != null) {
            b.header("Content-Type", type);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonObject json(HttpResponse<String> r) {
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private static String toJson(AtomicSystem s) {
        JsonObject o = new JsonObject();
        JsonArray numbers = new JsonArray();
        for (int z : s.atomicNumbers()) {
            numbers.add(z);
        }
        o.add("numbers", numbers);
        o.add("positions", StructureJson.rows(s.positions()));
        o.add("cell", StructureJson.rows(s.cell()));
        o.addProperty("pbc", s.pbc()[0]);
        s.sampleId().ifPresent(id -> o.addProperty("id", id));
        return o.toString();
    }

    private static double[] flat(JsonArray rows) {
        double[] out = new double[3 * rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            for (int k = 0; k < 3; k++) {
                out[3 * i + k] = rows.get(i).getAsJsonArray().get(k).getAsDouble();
            }
        }
        return out;
    }

    @Test
    void jsonAndExtxyzRequestsGetTheResultsOfABatchRun() throws Exception {
        AtomicSystem a = TestSystems.fccArgon(1, 5.3, 0.05, 21).toBuilder().optSampleId("a").build();
        AtomicSystem b = TestSystems.argonCluster(5, 3.6, 3.4, 22).toBuilder().optSampleId("b").build();
        HostMemory expected = new HostMemory(4);
        try (FusedStage f = chain(20).addSink(expected).build(); Batch batch = Batch.of(List.of(a, b), lj.manager)) {
            f.run(batch);
        }
        AtomicSystem ea = expected.read().stream().filter(s -> s.sampleId().get().equals("a")).findFirst().orElseThrow();
        AtomicSystem eb = expected.read().stream().filter(s -> s.sampleId().get().equals("b")).findFirst().orElseThrow();
        try (StructureServer server = server(20)) {
            // JSON, synchronous.
            HttpResponse<String> r = send(server, "POST", "/jobs?wait=60", "application/json", toJson(a));
            assertEquals(200, r.statusCode(), r.body());
            JsonObject o = json(r);
            assertEquals("done", o.get("status").getAsString());
            assertEquals(ea.energy().get(), o.get("energy").getAsDouble(), 1e-10);
            assertArrayEquals(ea.positions(), flat(o.getAsJsonArray("positions")), 1e-10);
            assertArrayEquals(ea.forces().get(), flat(o.getAsJsonArray("forces")), 1e-10);
            assertEquals(ea.info().get("steps_stage0"), o.getAsJsonObject("steps").get("0").getAsLong());
            assertEquals(20, o.getAsJsonObject("steps").get("1").getAsLong());
            assertTrue(o.get("converged").getAsBoolean());

            // extxyz, asynchronous: 202 with the job's location, then GET until done.
            HttpResponse<String> accepted = send(server, "POST", "/jobs", "chemical/x-extxyz", ExtxyzWriter.formatFrame(b));
            assertEquals(202, accepted.statusCode(), accepted.body());
            String location = json(accepted).get("location").getAsString();
            assertEquals("/jobs/b", location);
            JsonObject done = null;
            for (int k = 0; k < 600 && done == null; k++) {
                JsonObject state = json(send(server, "GET", location, null, null));
                if (state.get("status").getAsString().equals("done")) {
                    done = state;
                } else {
                    Thread.sleep(50);
                }
            }
            assertTrue(done != null, "job b finished");
            assertArrayEquals(eb.positions(), flat(done.getAsJsonArray("positions")), 1e-10);
            HttpResponse<String> text = send(server, "GET", location + "?format=extxyz", null, null);
            assertEquals(200, text.statusCode());
            AtomicSystem back = ExtxyzReader.of(new StringReader(text.body()), "response").next();
            assertArrayEquals(eb.positions(), back.positions(), 1e-8);

            HttpResponse<String> health = send(server, "GET", "/health", null, null);
            assertEquals(200, health.statusCode());
            String metrics = send(server, "GET", "/metrics", null, null).body();
            assertTrue(metrics.contains("fusedstage_requests_completed_total 2"), metrics);
            assertTrue(metrics.contains("fusedstage_latency_seconds{quantile=\"0.99\"}"), metrics);
        }
    }

    @Test
    void badRequestsGetA4xxWithAOneLineReason() throws Exception {
        StructureServer server = server(1_000_000); // its jobs run for a million steps: closed at once, below
        try {
            assertError(send(server, "POST", "/jobs", "application/json", "{\"positions\": [[0,0"), 400, "malformed JSON");
            assertError(send(server, "POST", "/jobs", "application/json", "[1, 2]"), 400, "one JSON object");
            assertError(send(server, "POST", "/jobs", "application/json", "{\"symbols\": [\"Ar\"]}"), 400, "positions is missing");
            assertError(send(server, "POST", "/jobs", "application/json",
                    "{\"symbols\": [\"Ar\", \"Xx\"], \"positions\": [[0,0,0],[3,0,0]]}"), 400, "unknown element");
            assertError(send(server, "POST", "/jobs", "application/json",
                    "{\"symbols\": [\"Ar\"], \"positions\": [[0,0,NaN]]}"), 400, "positions[0][2]");
            assertError(send(server, "POST", "/jobs", "application/json",
                    "{\"symbols\": [\"Cu\", \"Cu\"], \"positions\": [[0,0,0],[2.5,0,0]]}"), 400, "unknown to the model");
            assertError(send(server, "POST", "/jobs", "chemical/x-extxyz", "2\nPBC=\"F F F\"\nAr 0 0 0\n"), 400, "bad extxyz");
            assertError(send(server, "POST", "/jobs", "chemical/x-extxyz", ""), 400, "empty");
            AtomicSystem big = TestSystems.fccArgon(2, 5.3, 0.0, 1); // 32 atoms: fits
            AtomicSystem tooBig = TestSystems.fccArgon(3, 5.3, 0.0, 1); // 108 atoms > 40
            assertError(send(server, "POST", "/jobs", "application/json", toJson(tooBig)), 400, "at most 40");
            String huge = toJson(TestSystems.fccArgon(6, 5.3, 0.0, 1)); // 864 atoms: a body over the server's 20 kB
            assertTrue(huge.length() > 20_000);
            assertError(send(server, "POST", "/jobs", "application/json", huge), 413, "over the limit");
            String withBadId = toJson(big.toBuilder().optSampleId("../../etc/passwd").build());
            assertError(send(server, "POST", "/jobs", "application/json", withBadId), 400, "id must be");
            assertError(send(server, "POST", "/jobs?wait=forever", "application/json", toJson(big.toBuilder().optSampleId("w").build())),
                    400, "wait must be");
            assertError(send(server, "GET", "/jobs/nothing", null, null), 404, "no job nothing");

            // A running job: the same id again is a conflict; DELETE cancels it.
            AtomicSystem slow = TestSystems.fccArgon(1, 5.3, 0.05, 2).toBuilder().optSampleId("slow").build();
            assertEquals(202, send(server, "POST", "/jobs", "application/json", toJson(slow)).statusCode());
            assertError(send(server, "POST", "/jobs", "application/json", toJson(slow)), 409, "already in flight");
            HttpResponse<String> cancel = send(server, "DELETE", "/jobs/slow", null, null);
            assertEquals(200, cancel.statusCode(), cancel.body());
            assertTrue(json(cancel).get("cancelled").getAsBoolean());
            assertEquals("cancelled", json(send(server, "GET", "/jobs/slow", null, null)).get("status").getAsString());
            assertEquals(409, send(server, "DELETE", "/jobs/slow", null, null).statusCode(), "already ended");

            // A full queue answers 503 with Retry-After.
            for (int i = 0; i < 8 + 4; i++) { // 8 slots of 4-atom cells (32 atoms), then a queue of 4
                AtomicSystem s = TestSystems.fccArgon(1, 5.3, 0.05, 100 + i).toBuilder().optSampleId("q" + i).build();
                HttpResponse<String> r = send(server, "POST", "/jobs", "application/json", toJson(s));
                assertEquals(202, r.statusCode(), "q" + i + ": " + r.body());
                for (int k = 0; k < 1200 && i < 8 && json(send(server, "GET", "/health", null, null)).get("queued").getAsInt() > 0; k++) {
                    Thread.sleep(50); // the first steps on a new batch shape are slow (TorchScript re-profiles)
                }
            }
            assertEquals(8, json(send(server, "GET", "/health", null, null)).get("running").getAsInt());
            HttpResponse<String> full = send(server, "POST", "/jobs", "application/json",
                    toJson(TestSystems.fccArgon(1, 5.3, 0.05, 99).toBuilder().optSampleId("one-too-many").build()));
            assertError(full, 503, "queue is full");
            assertEquals("1", full.headers().firstValue("Retry-After").orElse(""));
        } finally {
            server.closeNow();
        }
    }

    /** The Python example (requests + ASE) against a real server: results as ASE Atoms, a refusal as an error line. */
    @Test
    void thePythonClientRelaxesAseStructures() throws Exception {
        org.fusedstage.testing.Python.assumeModule("requests");
        org.fusedstage.testing.Python.assumeModule("ase");
        try (StructureServer server = new StructureServer(FusedStageService.builder(chain(20)).build(), "127.0.0.1", 0,
                1_000_000, 100)) {
            String out = org.fusedstage.testing.Python.run(
                    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                    "python/fused_stage_client.py", "http://127.0.0.1:" + server.port());
            for (int i = 0; i < 3; i++) {
                assertTrue(out.contains("py-" + i + ": E = -"), out);
            }
            assertTrue(out.contains("refused as expected: py-copper: HTTP 400: bad structure py-copper: element Cu is unknown"), out);
        }
    }

    private static void assertError(HttpResponse<String> r, int status, String text) {
        assertEquals(status, r.statusCode(), r.body());
        String error = JsonParser.parseString(r.body()).getAsJsonObject().get("error").getAsString();
        assertTrue(error.contains(text), error);
        assertFalse(error.contains("\n"), "one line: " + error);
    }
}
