package org.fusedstage.sampling;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Dataset;
import org.fusedstage.data.Elements;
import org.fusedstage.data.ExtxyzFormatException;
import org.fusedstage.data.InputProblem;
import org.fusedstage.model.NeighborList;

/**
 * A dataset checked before a run: every structure is parsed and checked (format, finite values,
 * cell, elements the model knows, atoms closer than {@link #MIN_DISTANCE} A). Bad samples are
 * reported by id, location and problem and left out ({@link Policy#SKIP}) or stop the run before
 * it starts ({@link Policy#FAIL_FAST}); every good sample stays.
 */
public final class ValidatedDataset implements Dataset {

    /** Closest allowed distance between two atoms, in A. */
    public static final double MIN_DISTANCE = 0.5;

    /** What to do with a bad sample. */
    public enum Policy {
        /** Report it and run every good sample. */
        SKIP,
        /** Refuse the whole dataset, naming the first bad sample. */
        FAIL_FAST
    }

    private final Dataset source;
    private final int[] good;
    private final List<InputProblem> problems;

    private ValidatedDataset(Dataset source, int[] good, List<InputProblem> problems) {
        this.source = source;
        this.good = good;
        this.problems = Collections.unmodifiableList(problems);
    }

    /**
     * Checks every structure of {@code source}.
     *
     * @param elements atomic numbers the model knows (empty = any)
     * @throws IllegalArgumentException under FAIL_FAST, naming the first bad sample
     */
    public static ValidatedDataset check(Dataset source, Set<Integer> elements, Policy policy) {
        return check(source, elements, 0, policy);
    }

    /**
     * Checks every structure of {@code source}, also that its periodic images can be searched
     * within {@code searchRadius} A (the model's cutoff plus skin; 0 skips that check).
     *
     * @param elements atomic numbers the model knows (empty = any)
     * @throws IllegalArgumentException under FAIL_FAST, naming the first bad sample
     */
    public static ValidatedDataset check(Dataset source, Set<Integer> elements, double searchRadius, Policy policy) {
        List<Integer> good = new ArrayList<>();
        List<InputProblem> problems = new ArrayList<>();
        for (int i = 0; i < source.size(); i++) {
            Optional<InputProblem> problem = problem(source, i, elements, searchRadius);
            if (problem.isPresent()) {
                if (policy == Policy.FAIL_FAST) {
                    throw new IllegalArgumentException("bad input: " + problem.get());
                }
                problems.add(problem.get());
            } else {
                good.add(i);
            }
        }
        return new ValidatedDataset(source, good.stream().mapToInt(Integer::intValue).toArray(), problems);
    }

    private static Optional<InputProblem> problem(Dataset source, int index, Set<Integer> elements, double searchRadius) {
        String id = source.id(index);
        AtomicSystem s;
        try {
            s = source.get(index);
        } catch (ExtxyzFormatException e) {
            return Optional.of(new InputProblem(id, e.location(), e.problem()));
        } catch (IOException | RuntimeException e) {
            return Optional.of(new InputProblem(id, "", String.valueOf(e.getMessage())));
        }
        return problemOf(s, elements, searchRadius).map(p -> new InputProblem(id, "", p));
    }

    /**
     * What makes one structure unusable for a model, or empty when it is fine: an element the
     * model does not know, atoms closer than {@link #MIN_DISTANCE}, or a cell too thin to search
     * its periodic images within {@code searchRadius} A (0 skips that check).
     */
    public static Optional<String> problemOf(AtomicSystem s, Set<Integer> elements, double searchRadius) {
        for (int z : s.atomicNumbers()) {
            if (!elements.isEmpty() && !elements.contains(z)) {
                return Optional.of("element " + Elements.symbolOf(z) + " is unknown to the model");
            }
        }
        try {
            NeighborList.checkSearchable(s.cell(), s.pbc(), Math.max(searchRadius, MIN_DISTANCE));
            double[] closest = {Double.POSITIVE_INFINITY, -1, -1};
            NeighborList.forEachPair(s, MIN_DISTANCE, (i, j, r) -> {
                if (r < closest[0]) {
                    closest[0] = r;
                    closest[1] = i;
                    closest[2] = j;
                }
            });
            if (closest[1] >= 0) {
                return Optional.of(String.format("atoms %d and %d overlap: %.3f A apart (< %.1f A)",
                        (int) closest[1], (int) closest[2], closest[0], MIN_DISTANCE));
            }
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
        return Optional.empty();
    }

    /** The samples left out, with their problems. */
    public List<InputProblem> problems() {
        return problems;
    }

    @Override
    public int size() {
        return good.length;
    }

    @Override
    public String id(int index) {
        return source.id(good[index]);
    }

    @Override
    public int atomCount(int index) {
        return source.atomCount(good[index]);
    }

    @Override
    public AtomicSystem get(int index) throws IOException {
        Preconditions.checkElementIndex(index, good.length);
        return source.get(good[index]);
    }
}
