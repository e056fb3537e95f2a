package org.fusedstage.service;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.fusedstage.data.AtomicSystem;

/**
 * Something that runs structures submitted from any thread and returns their results later: the
 * front end ({@code fused-stage serve}) talks to this, so the benchmark can put other batching
 * policies behind the same server. {@link FusedStageService} is the one to use.
 */
public interface StructureService extends AutoCloseable {

    /**
     * Submits a structure; refuses at once when the queue is full.
     *
     * @throws IllegalArgumentException if it can never run here (too large, unusable, id in flight)
     * @throws java.util.concurrent.RejectedExecutionException if the queue is full or it is shut down
     */
    CompletableFuture<ServiceResult> submit(AtomicSystem system);

    /** Cancels the request with this sample id; false if none is in flight. */
    boolean cancel(String sampleId);

    /** The load now. */
    ServiceMetrics metrics();

    /** Fails every accepted request at once and refuses new ones; returns how many failed. */
    int shutdownNow();

    /** Waits until the worker ended after a shutdown; false if the timeout passed first. */
    boolean awaitTermination(Duration timeout) throws InterruptedException;

    /** Refuses new requests, finishes the accepted ones, then returns. */
    @Override
    void close();
}
