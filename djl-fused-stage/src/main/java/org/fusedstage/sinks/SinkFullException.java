package org.fusedstage.sinks;

/** A sink has no room for a write; the write stored nothing, so no data was silently dropped. */
public final class SinkFullException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the sink, its capacity and the request. */
    public SinkFullException(String message) {
        super(message);
    }
}
