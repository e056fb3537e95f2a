package org.fusedstage.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.sampling.ValidatedDataset;

/**
 * A FusedStage chain as a DataFrame transformation: each partition runs through one inflight
 * FusedStage on its executor (built once per task slot, see {@link ExecutorChains}), and every
 * input row gives exactly one outcome row ({@link StructureRows#OUTCOME}): a result, a reject
 * (blow-up, or unconverged under on-unconverged=reject) or an invalid input with its reason.
 *
 * <p>The transformation is deterministic (a sample's trajectory depends only on the sample, the
 * chain and the seed, never on its partition or batch), so a retried or speculative task gives the
 * same rows, and Spark's committed writes keep each sample exactly once in the output.
 *
 * <p>A partition runs in chunks of about 64 batches' worth of atoms (64 x maxAtoms): only one
 * chunk's structures and results are in the executor's memory at a time, and each chunk's drain
 * (its last structures running in a half-empty batch) is a small part of it. Make at least two
 * partitions per task slot so uneven partitions balance.
 */
public final class FusedStageSpark {

    /** Batches' worth of atoms per chunk of a partition: a chunk's drain then costs a few % of it. */
    static final int CHUNK_BATCHES = 64;

    private FusedStageSpark() {}

    /**
     * The outcome of every structure of {@code input} (columns {@link StructureRows#INPUT}, or
     * just {@link StructureRows#STRUCTURE}) under the chain {@code config}, over as many partitions
     * as the input has. Lazy, as every transformation: the chain runs when the result is written.
     */
    public static Dataset<Row> run(Dataset<Row> input, ChainConfig config) {
        return run(input, config, input.rdd().getNumPartitions());
    }

    /**
     * As {@link #run(Dataset, ChainConfig)}, over {@code partitions} partitions. Rows are spread by
     * a hash of their id (one shuffle, deterministic, so a retried task sees the same rows), which
     * puts every copy of an id in one partition: repeated ids are found there and reported.
     */
    public static Dataset<Row> run(Dataset<Row> input, ChainConfig config, int partitions) {
        return run(input, config, partitions, (long) CHUNK_BATCHES * config.maxAtoms());
    }

    /** As {@link #run(Dataset, ChainConfig, int)}, with chunks of {@code chunkAtoms} atoms. */
    static Dataset<Row> run(Dataset<Row> input, ChainConfig config, int partitions, long chunkAtoms) {
        // Sorted by id within each partition (Spark spills to disk if it must): the copies of an id
        // are adjacent, so the partition can run in chunks without splitting them.
        Dataset<Row> spread = withInputColumns(input).repartition(partitions, col("id")).sortWithinPartitions("id");
        return spread.mapPartitions(new RunPartition(config, config.stages().size(), chunkAtoms),
                Encoders.row(StructureRows.OUTCOME));
    }

    /** Adds null source/problem columns to a structure-only frame; selects the input columns in order. */
    static Dataset<Row> withInputColumns(Dataset<Row> input) {
        List<String> names = List.of(input.columns());
        Dataset<Row> out = input;
        for (String c : List.of("source", "problem")) {
            if (!names.contains(c)) {
                out = out.withColumn(c, lit(null).cast("string"));
            }
        }
        for (String c : StructureRows.STRUCTURE.fieldNames()) {
            if (!names.contains(c)) {
                if (c.equals("id") || c.equals("numbers") || c.equals("positions")) {
                    throw new IllegalArgumentException("the input has no column '" + c + "' (a structure needs id, numbers, "
                            + "positions; see StructureRows)");
                }
                out = out.withColumn(c, lit(null).cast(StructureRows.STRUCTURE.apply(c).dataType()));
            }
        }
        Column[] columns = java.util.Arrays.stream(StructureRows.INPUT.fieldNames()).map(functions::col).toArray(Column[]::new);
        return out.select(columns);
    }

    /** One partition: valid structures through the slot's chain, the rest straight to invalid rows. */
    private static final class RunPartition implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final ChainConfig config;
        private final int stages;
        private final long chunkAtoms;

        RunPartition(ChainConfig config, int stages, long chunkAtoms) {
            this.config = config;
            this.stages = stages;
            this.chunkAtoms = chunkAtoms;
        }

        /**
         * The partition's outcomes, lazily, a chunk at a time: each chunk holds whole groups of
         * equal ids and at least {@code chunkAtoms} atoms (so its drain is short), and only one
         * chunk's structures and results are in memory at once.
         */
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            com.google.common.collect.PeekingIterator<Row> in = com.google.common.collect.Iterators.peekingIterator(rows);
            return new Iterator<>() {
                private Iterator<Row> chunk = java.util.Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    while (!chunk.hasNext() && in.hasNext()) {
                        List<Row> input = nextChunk(in);
                        try {
                            chunk = ExecutorChains.withChain(config, chain -> outcomes(chain, input)).iterator();
                        } catch (RuntimeException e) {
                            throw e;
                        } catch (Exception e) {
                            throw new IllegalStateException("running a chunk of " + input.size() + " structures", e);
                        }
                    }
                    return chunk.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return chunk.next();
                }
            };
        }

        /** Rows up to a chunk's worth of atoms, never splitting a group of equal ids (the input is sorted by id). */
        private List<Row> nextChunk(com.google.common.collect.PeekingIterator<Row> in) {
            List<Row> out = new ArrayList<>();
            long atoms = 0;
            while (in.hasNext() && (atoms < chunkAtoms || out.isEmpty() || sameId(out.get(out.size() - 1), in.peek()))) {
                Row row = in.next();
                List<?> numbers = row.getList(row.fieldIndex("numbers"));
                atoms += numbers == null ? 1 : Math.max(1, numbers.size());
                out.add(row);
            }
            return out;
        }

        private static boolean sameId(Row a, Row b) {
            return java.util.Objects.equals(a.getAs("id"), b.getAs("id"));
        }

        private List<Row> outcomes(ExecutorChains.Chain chain, List<Row> input) {
            List<Row> out = new ArrayList<>(input.size());
            List<AtomicSystem> valid = new ArrayList<>();
            Map<String, String> sources = new HashMap<>();
            Map<String, Integer> copies = new HashMap<>(); // all copies of an id share this chunk (sorted by id)
            for (Row row : input) {
                copies.merge(row.getAs("id"), 1, Integer::sum);
            }
            for (Row row : input) {
                String problem = row.getAs("problem");
                int n = copies.get((String) row.getAs("id"));
                if (problem == null && n > 1) { // which copy to keep is the user's choice, not ours
                    problem = "sample id '" + row.getAs("id") + "' appears " + n + " times in the input; ids must be unique";
                }
                if (problem != null) {
                    out.add(StructureRows.invalidRow(row, problem));
                    continue;
                }
                AtomicSystem s;
                try {
                    s = StructureRows.toSystem(row);
                } catch (IllegalArgumentException | ClassCastException e) {
                    out.add(StructureRows.invalidRow(row, "not a structure: " + e.getMessage()));
                    continue;
                }
                Optional<String> unusable = ValidatedDataset.problemOf(s, chain.checks.elements(), chain.checks.searchRadius());
                if (unusable.isPresent()) {
                    out.add(StructureRows.invalidRow(row, unusable.get()));
                    continue;
                }
                valid.add(s);
                sources.put(s.sampleId().orElseThrow(), row.getAs("source"));
            }
            ExecutorChains.Finished finished = chain.run(valid);
            for (AtomicSystem s : finished.results()) {
                String id = s.sampleId().orElseThrow();
                out.add(StructureRows.outcomeRow(s, id, sources.get(id), null, StructureRows.RESULT, stages));
            }
            for (AtomicSystem s : finished.rejects()) {
                String id = s.sampleId().orElseThrow();
                Object reason = s.info().get("reject_reason");
                out.add(StructureRows.outcomeRow(s, id, sources.get(id), reason == null ? "rejected" : reason.toString(),
                        StructureRows.REJECTED, stages));
            }
            if (finished.results().size() + finished.rejects().size() != valid.size()) { // never silently lose a sample
                throw new IllegalStateException("partition of " + valid.size() + " structures gave " + finished.results().size()
                        + " results and " + finished.rejects().size() + " rejects");
            }
            return out;
        }
    }
}
