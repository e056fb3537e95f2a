package org.fusedstage.data;

import java.io.IOException;

/**
 * A malformed extended-XYZ file: names the file, the 1-based line and the problem. The only
 * exception {@link ExtxyzReader} throws for bad content.
 */
public final class ExtxyzFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final long line;
    private final String problem;

    /**
     * Creates the exception.
     *
     * @param source the file name (or a description of the stream)
     * @param line the 1-based line number of the problem
     * @param problem what is wrong
     */
    public ExtxyzFormatException(String source, long line, String problem) {
        super(source + ":" + line + ": " + problem);
        this.source = source;
        this.line = line;
        this.problem = problem;
    }

    /** What is wrong, without file and line. */
    public String problem() {
        return problem;
    }

    /** {@code source:line}. */
    public String location() {
        return source + ":" + line;
    }

    /** The file name or stream description. */
    public String getSource() {
        return source;
    }

    /** The 1-based line number. */
    public long getLine() {
        return line;
    }
}
