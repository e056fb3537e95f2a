package org.fusedstage.data;

/**
 * A sample that cannot be run, found before the run starts.
 *
 * @param sample the sample id (or file:frame when the id is unknown)
 * @param location file and line, where known
 * @param problem what is wrong
 */
public record InputProblem(String sample, String location, String problem) {

    /** One line: "sample (location): problem". */
    @Override
    public String toString() {
        return sample + (location.isEmpty() ? "" : " (" + location + ")") + ": " + problem;
    }
}
