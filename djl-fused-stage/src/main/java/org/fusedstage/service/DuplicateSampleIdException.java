package org.fusedstage.service;

/**
 * A submit refused because a request with the same sample id is still in flight (sample ids key
 * the noise streams and the results, so two running samples may not share one).
 */
public final class DuplicateSampleIdException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** @param sampleId the id already in flight */
    public DuplicateSampleIdException(String sampleId) {
        super("a request with sample id " + sampleId + " is already in flight");
    }
}
