package org.fusedstage.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.ExtxyzWriter;

/**
 * The {@code spark} section of {@code fused-stage bench}: one job, as a user runs it, through
 * {@code ./fused-stage run} and through {@code ./fused-stage spark-run} on {@code local[1]} and
 * {@code local[2]}, each a fresh process timed from start to exit (JVM start, model load and, for
 * Spark, its session start included), on the same structures and chain, one after the other.
 */
final class SparkBench {

    private static final Pattern INNER = Pattern.compile("in ([0-9.]+) s");

    private final int count;
    private final int rounds;

    SparkBench(int count, int rounds) {
        this.count = count;
        this.rounds = rounds;
    }

    void run() throws Exception {
        List<AtomicSystem> systems = CliJobBench.crystals(count, "sb", 9_000L);
        long atoms = systems.stream().mapToLong(AtomicSystem::size).sum();
        Path work = Files.createTempDirectory("fused-stage-spark-bench");
        Path all = work.resolve("all.extxyz");
        ExtxyzWriter.writeAll(all, systems);
        Path shards = Files.createDirectories(work.resolve("shards"));
        for (int k = 0; k < 4; k++) { // four shards of equal size
            ExtxyzWriter.writeAll(shards.resolve("shard-" + k + ".extxyz"), systems.subList(k * count / 4, (k + 1) * count / 4));
        }
        String[] chain = {"--stage", "fire:fmax=0.05,max-steps=2000", "--stage", "nvt-langevin:steps=100,temperature=80,friction=0.01,dt=2.0"};
        System.out.printf("## Spark: %d argon crystals of 32 and 108 atoms (%d atoms), FIRE to fmax 0.05 then 100 Langevin steps, "
                + "zoo LJ, float64, one libtorch thread per task; each command a fresh process, start to exit; best of %d%n%n",
                count, atoms, rounds);
        String[][] commands = {
            {"./fused-stage run (one FusedStage)", "run", "--input", all.toString()},
            {"./fused-stage spark-run --master local[1]", "spark-run", "--master", "local[1]", "--partitions", "1", "--input",
                shards.toString()},
            {"./fused-stage spark-run --master local[2]", "spark-run", "--master", "local[2]", "--partitions", "2", "--input",
                shards.toString()}};
        double[] wall = new double[commands.length];
        double[] inner = new double[commands.length];
        java.util.Arrays.fill(wall, Double.POSITIVE_INFINITY);
        for (int round = 0; round < rounds; round++) {
            for (int c = 0; c < commands.length; c++) {
                Path output = work.resolve("out-" + round + "-" + c);
                List<String> command = new ArrayList<>();
                command.add(RunCommand.home().resolve("fused-stage").toAbsolutePath().toString());
                command.addAll(List.of(commands[c]).subList(1, commands[c].length));
                command.addAll(List.of(chain));
                command.addAll(List.of("--output", output.toString()));
                long start = System.nanoTime();
                String log = CliJobBench.execute(command);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (seconds < wall[c]) {
                    wall[c] = seconds;
                    inner[c] = innerSeconds(log, c == 0 ? "done:" : "spark-run:");
                }
            }
        }
        System.out.println("| command | wall s (start to exit) | structures/s | vs run | job s (after start-up) | vs run |");
        System.out.println("|---|---|---|---|---|---|");
        for (int c = 0; c < commands.length; c++) {
            System.out.printf("| %s | %.1f | %.2f | %.2fx | %.1f | %.2fx |%n", commands[c][0], wall[c], count / wall[c],
                    wall[0] / wall[c], inner[c], inner[0] / inner[c]);
        }
        System.out.printf("%nlocal[2] vs local[1]: %.2fx end to end, %.2fx after start-up (2 cores, shared machine)%n%n",
                wall[1] / wall[2], inner[1] / inner[2]);
    }

    /** The job's own time from the line a command prints at the end ("done: ... in X s", "spark-run: ... in X s"). */
    private static double innerSeconds(String log, String prefix) {
        for (String line : log.split("\\R")) {
            if (line.startsWith(prefix)) {
                Matcher m = INNER.matcher(line);
                if (m.find()) {
                    return Double.parseDouble(m.group(1));
                }
            }
        }
        throw new IllegalStateException("no '" + prefix + "' line in:\n" + log);
    }
}
