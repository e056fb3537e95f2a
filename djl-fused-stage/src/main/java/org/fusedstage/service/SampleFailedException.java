package org.fusedstage.service;

/**
 * A structure that could not finish its chain: its values stopped being finite (it blew up), a
 * stage rejected it ({@link org.fusedstage.dynamics.OnUnconverged#REJECT}), or the batch it ran in
 * failed. The other structures of the batch are not affected.
 */
public final class SampleFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String sampleId;
    private final String reason;

    /**
     * @param sampleId the structure's sample id
     * @param reason why, in one line
     * @param cause the underlying error, or null
     */
    public SampleFailedException(String sampleId, String reason, Throwable cause) {
        super("sample " + sampleId + " failed: " + reason, cause);
        this.sampleId = sampleId;
        this.reason = reason;
    }

    /** The structure's sample id. */
    public String sampleId() {
        return sampleId;
    }

    /** Why it failed, in one line (e.g. "non-finite energy at step 12"). */
    public String reason() {
        return reason;
    }
}
