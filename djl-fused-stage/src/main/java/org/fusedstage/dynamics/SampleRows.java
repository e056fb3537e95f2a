package org.fusedstage.dynamics;

import org.fusedstage.data.Batch;

/**
 * The atom rows of some of a batch's samples, sample after sample: the layout of the per-atom
 * values of the host stage programs ({@link ProgramEvaluator}), so that a stage's loops cover the
 * atoms of its own samples, not the whole batch's (in a two-stage chain each stage did the work
 * of every atom before: twice the work of the step).
 */
final class SampleRows {

    private final int[] rows; // batch rows, sample after sample, each sample's in ascending order
    private final int[] sampleOf; // the sample of each entry of rows
    private final int[] start; // [B + 1]: the entries of sample s are start[s] .. start[s + 1] - 1
    private final boolean[] samples; // the samples included

    private SampleRows(int[] rows, int[] sampleOf, int[] start, boolean[] samples) {
        this.rows = rows;
        this.sampleOf = sampleOf;
        this.start = start;
        this.samples = samples;
    }

    /** The rows of the samples marked in {@code samples} (null: every sample) of {@code batch}. */
    static SampleRows of(Batch batch, boolean[] samples) {
        int[][] members = batch.memberRows();
        int[] start = new int[members.length + 1];
        boolean[] included = new boolean[members.length];
        for (int s = 0; s < members.length; s++) {
            included[s] = samples == null || samples[s];
            start[s + 1] = start[s] + (included[s] ? members[s].length : 0);
        }
        int[] rows = new int[start[members.length]];
        int[] sampleOf = new int[rows.length];
        for (int s = 0; s < members.length; s++) {
            if (start[s + 1] > start[s]) {
                System.arraycopy(members[s], 0, rows, start[s], members[s].length);
                java.util.Arrays.fill(sampleOf, start[s], start[s + 1], s);
            }
        }
        return new SampleRows(rows, sampleOf, start, included);
    }

    /** How many rows: the length of a per-atom column in this layout. */
    int size() {
        return rows.length;
    }

    /** The batch rows, in layout order (not to be modified). */
    int[] rows() {
        return rows;
    }

    /** The sample of the row at layout position {@code i}. */
    int sampleOf(int i) {
        return sampleOf[i];
    }

    /** The first layout position of sample {@code s}. */
    int from(int s) {
        return start[s];
    }

    /** One past the last layout position of sample {@code s} (= {@link #from} for a sample not included). */
    int to(int s) {
        return start[s + 1];
    }

    /** Per sample, whether its rows are included (not to be modified): with the batch's structure version, the layout. */
    boolean[] samples() {
        return samples;
    }

    /**
     * {@code values} ({@code width} numbers per layout row) at their batch rows, in a new array of
     * {@code numAtoms} rows (0 on rows outside the layout); a sample's consecutive rows in one copy.
     */
    double[] toBatchRows(double[] values, int width, int numAtoms) {
        double[] out = new double[numAtoms * width];
        for (int s = 0; s < numSamples(); s++) {
            int first = from(s);
            int count = to(s) - first;
            if (count > 0 && rows[first + count - 1] - rows[first] == count - 1) { // rows ascend: consecutive
                System.arraycopy(values, first * width, out, rows[first] * width, count * width);
                continue;
            }
            for (int i = first; i < first + count; i++) {
                System.arraycopy(values, i * width, out, rows[i] * width, width);
            }
        }
        return out;
    }

    /** How many samples the batch has (included or not). */
    int numSamples() {
        return start.length - 1;
    }
}
