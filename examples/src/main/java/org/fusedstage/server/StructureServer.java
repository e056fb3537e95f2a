package org.fusedstage.server;

import com.google.gson.JsonObject;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzReader;
import org.fusedstage.data.ExtxyzWriter;
import org.fusedstage.service.DuplicateSampleIdException;
import org.fusedstage.service.FusedStageService;
import org.fusedstage.service.StructureService;
import org.fusedstage.service.SampleFailedException;
import org.fusedstage.service.ServiceResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP front end of a {@link FusedStageService} (or any {@link StructureService}; Javalin on Jetty).
 *
 * <ul>
 *   <li>{@code POST /jobs} a structure as extxyz text or JSON with ASE's names ({@link
 *       StructureJson}); {@code ?wait=S} answers with the result if it is ready within S seconds
 *       (200, or 422 for a failed structure), else 202 with the job id; without {@code wait}: 202.
 *   <li>{@code GET /jobs/{id}} the job's state and result ({@code ?format=extxyz} for the final
 *       structure as extxyz); {@code DELETE /jobs/{id}} cancels it.
 *   <li>{@code GET /health}: 200 while the service takes requests, else 503.
 *   <li>{@code GET /metrics}: Prometheus text format ({@link PrometheusText}).
 * </ul>
 *
 * <p>Bad requests get a 4xx status with a one-line reason ({@code {"error": ...}}): 400 for a
 * structure that cannot be read or can never run, 404 for an unknown job, 409 for a sample id
 * already in flight, 413 for a body over the limit, 503 (with Retry-After) for a full queue or a
 * shutdown. The server reads nothing but request bodies: no request names a file.
 */
public final class StructureServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(StructureServer.class);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private final StructureService service;
    private final int keptJobs;
    private final Map<String, CompletableFuture<ServiceResult>> jobs = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
    private final Javalin app;

    /**
     * Starts serving.
     *
     * @param service the service that runs the structures (closed by {@link #close})
     * @param host address to bind (127.0.0.1 keeps it on this machine)
     * @param port TCP port (0 = any free one, see {@link #port()})
     * @param maxBodyBytes largest request body accepted
     * @param keptJobs finished jobs kept for {@code GET /jobs/{id}}, oldest forgotten first
     */
    public StructureServer(StructureService service, String host, int port, long maxBodyBytes, int keptJobs) {
        this.service = service;
        this.keptJobs = keptJobs;
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.http.maxRequestSize = maxBodyBytes;
        });
        app.post("/jobs", this::submit);
        app.get("/jobs/{id}", this::get);
        app.delete("/jobs/{id}", this::cancel);
        app.get("/health", this::health);
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(PrometheusText.format(service.metrics())));
        app.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
        app.exception(RejectedExecutionException.class, (e, ctx) -> {
            ctx.header("Retry-After", "1");
            error(ctx, 503, e.getMessage());
        });
        app.exception(Exception.class, (e, ctx) -> {
            logger.error("request failed", e);
            error(ctx, 500, "internal error: " + e);
        });
        app.error(404, ctx -> {
            if (ctx.result() == null) {
                error(ctx, 404, "no such resource: " + ctx.method() + " " + ctx.path());
            }
        });
        app.error(413, ctx -> error(ctx, 413, "request body over the limit of " + maxBodyBytes + " bytes"));
        app.start(host, port);
        logger.info("serving on http://{}:{}/ (POST /jobs, GET /jobs/ID, GET /health, GET /metrics)", host, port());
    }

    /** The port it listens on. */
    public int port() {
        return app.port();
    }

    private void submit(Context ctx) {
        AtomicSystem system = parse(ctx.body(), ctx.contentType());
        String id = system.sampleId().orElse(null);
        if (id == null) {
            id = "job-" + UUID.randomUUID().toString().substring(0, 13);
            system = system.toBuilder().optSampleId(id).build();
        } else if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("id must be 1-128 characters of A-Z a-z 0-9 . _ -, got '" + abbreviate(id) + "'");
        }
        String wait = ctx.queryParam("wait");
        double seconds = wait == null ? 0 : parseWait(wait); // before the submit: a bad request runs nothing
        CompletableFuture<ServiceResult> future;
        try {
            future = service.submit(system);
        } catch (DuplicateSampleIdException e) {
            error(ctx, 409, e.getMessage());
            return;
        }
        remember(id, future);
        if (wait == null) {
            accepted(ctx, id);
            return;
        }
        final String jobId = id;
        ctx.future(() -> future.handle((r, t) -> null)
                .completeOnTimeout(null, (long) (seconds * 1e3), TimeUnit.MILLISECONDS)
                .thenAccept(ignored -> {
                    if (future.isDone()) {
                        respond(ctx, jobId, future, true);
                    } else {
                        accepted(ctx, jobId);
                    }
                }));
    }

    private static double parseWait(String wait) {
        try {
            double s = Double.parseDouble(wait);
            if (s >= 0 && s <= 3600) {
                return s;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("wait must be seconds between 0 and 3600, got '" + abbreviate(wait) + "'");
    }

    private static AtomicSystem parse(String body, String contentType) {
        if (body == null || body.isBlank()) {
            throw new IllegalArgumentException("the body is empty: send one structure as extxyz text or JSON");
        }
        if (contentType != null && contentType.toLowerCase().contains("json")) {
            return StructureJson.parse(body);
        }
        try (ExtxyzReader reader = ExtxyzReader.of(new StringReader(body), "request body")) {
            AtomicSystem first = reader.next();
            if (first == null) {
                throw new IllegalArgumentException("the body holds no extxyz frame");
            }
            if (reader.next() != null) {
                throw new IllegalArgumentException("one structure per request: the body holds more than one extxyz frame");
            }
            return first;
        } catch (IOException e) { // ExtxyzFormatException names the line
            throw new IllegalArgumentException("bad extxyz: " + StructureJson.firstLine(e.getMessage()));
        }
    }

    private void remember(String id, CompletableFuture<ServiceResult> future) {
        jobs.put(id, future);
        order.add(id);
        // Forget the oldest finished jobs beyond the limit; running ones are never forgotten.
        if (jobs.size() > keptJobs) {
            for (Iterator<String> it = order.iterator(); it.hasNext() && jobs.size() > keptJobs; ) {
                String old = it.next();
                CompletableFuture<ServiceResult> f = jobs.get(old);
                if (f == null || f.isDone()) {
                    it.remove();
                    if (f != null) {
                        jobs.remove(old, f);
                    }
                }
            }
        }
    }

    private void get(Context ctx) {
        String id = ctx.pathParam("id");
        CompletableFuture<ServiceResult> f = jobs.get(id);
        if (f == null) {
            error(ctx, 404, "no job " + abbreviate(id) + " (unknown, or forgotten after " + keptJobs + " newer jobs)");
            return;
        }
        if ("extxyz".equals(ctx.queryParam("format")) && f.isDone() && !f.isCompletedExceptionally()) {
            StringWriter out = new StringWriter();
            try (ExtxyzWriter w = ExtxyzWriter.of(out)) {
                w.write(f.join().system());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            ctx.contentType("chemical/x-extxyz").result(out.toString());
            return;
        }
        respond(ctx, id, f, false);
    }

    private void cancel(Context ctx) {
        String id = ctx.pathParam("id");
        CompletableFuture<ServiceResult> f = jobs.get(id);
        if (f == null) {
            error(ctx, 404, "no job " + abbreviate(id));
            return;
        }
        boolean cancelled = !f.isDone() && service.cancel(id);
        JsonObject o = new JsonObject();
        o.addProperty("id", id);
        o.addProperty("cancelled", cancelled);
        o.addProperty("status", state(f));
        json(ctx, cancelled ? 200 : 409, o);
    }

    /** The job as JSON: its status, and its result or error when it ended. */
    private void respond(Context ctx, String id, CompletableFuture<ServiceResult> f, boolean failureIsError) {
        if (!f.isDone()) {
            JsonObject o = new JsonObject();
            o.addProperty("id", id);
            o.addProperty("status", "pending");
            json(ctx, 200, o);
            return;
        }
        try {
            json(ctx, 200, StructureJson.result(f.join()));
        } catch (CancellationException e) {
            JsonObject o = new JsonObject();
            o.addProperty("id", id);
            o.addProperty("status", "cancelled");
            json(ctx, failureIsError ? 409 : 200, o);
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            JsonObject o = new JsonObject();
            o.addProperty("id", id);
            o.addProperty("status", "failed");
            o.addProperty("error", cause instanceof SampleFailedException s ? s.reason() : String.valueOf(cause.getMessage()));
            json(ctx, failureIsError ? 422 : 200, o);
        }
    }

    private static String state(CompletableFuture<ServiceResult> f) {
        return !f.isDone() ? "pending" : f.isCancelled() ? "cancelled" : f.isCompletedExceptionally() ? "failed" : "done";
    }

    private static void accepted(Context ctx, String id) {
        JsonObject o = new JsonObject();
        o.addProperty("id", id);
        o.addProperty("status", "pending");
        o.addProperty("location", "/jobs/" + id);
        ctx.header("Location", "/jobs/" + id);
        json(ctx, 202, o);
    }

    private void health(Context ctx) {
        var m = service.metrics();
        JsonObject o = new JsonObject();
        boolean ok = m.accepting() && m.alive();
        o.addProperty("status", ok ? "ok" : "unavailable");
        o.addProperty("accepting", m.accepting());
        o.addProperty("worker_alive", m.alive());
        o.addProperty("queued", m.queued());
        o.addProperty("running", m.running());
        json(ctx, ok ? 200 : 503, o);
    }

    private static void error(Context ctx, int status, String message) {
        JsonObject o = new JsonObject();
        o.addProperty("error", StructureJson.firstLine(message));
        json(ctx, status, o);
    }

    private static void json(Context ctx, int status, JsonObject o) {
        ctx.status(status).contentType("application/json").result(o.toString());
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /** Stops taking connections, then shuts the service down gracefully (finishing accepted jobs). */
    @Override
    public void close() {
        app.stop();
        service.close();
    }

    /** Shuts down at once: accepted jobs fail; then stops the server. */
    public void closeNow() {
        service.shutdownNow();
        app.stop();
        service.close();
    }

}
