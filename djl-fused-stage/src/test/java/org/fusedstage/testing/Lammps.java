package org.fusedstage.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.fusedstage.data.AtomicSystem;
import org.fusedstage.data.Elements;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Debian's LAMMPS ({@code lmp}, packages {@code lammps lammps-data}) as the reference for
 * converted potentials: writes the structures as data files and an input script, runs it once per
 * call and reads energies, forces (dump, %.17g) and the pressure tensor back. Cells must be in
 * LAMMPS's orientation (lower-triangular rows: a along x, b in the xy plane).
 *
 * <p>Where {@code lmp} or the potential files are missing the calling test is skipped with the
 * reason on a developer's machine, and fails when {@code FUSED_STAGE_CI} is set (as {@code .ci/run}
 * sets it): CI never passes a reference check by skipping it.
 */
public final class Lammps {

    /** LAMMPS's conversion of eV/A^3 to bar in metal units (force->nktv2p). */
    public static final double NKTV2P = 1.6021765e6;

    private static final String LMP = "/usr/bin/lmp";

    private Lammps() {}

    /** Where Debian's openkim-models installs the KIM portable models. */
    public static final Path KIM_MODELS = Path.of("/usr/lib/x86_64-linux-gnu/kim-api/portable-models");

    /**
     * How LAMMPS gets the interactions: {@code init} comes before read_data (units), {@code interactions} after it.
     *
     * @param init commands before the data file
     * @param interactions commands that define the potential
     */
    public record Interactions(String init, String interactions) {
        /** {@code pair_style style} with {@code pair_coeff * * file [elements]}. */
        public static Interactions pair(String style, Path file, List<String> elements) {
            String coeff = style.equals("eam") ? "* * " + file : "* * " + file + " " + String.join(" ", elements);
            return new Interactions("units metal\n", "pair_style " + style + "\npair_coeff " + coeff + "\n");
        }

        /** An OpenKIM model through LAMMPS's kim commands. */
        public static Interactions kim(String model, List<String> elements) {
            return new Interactions("kim init " + model + " metal\n", "kim interactions " + String.join(" ", elements) + "\n");
        }
    }

    /** Skips (developer machine) or fails (CI) the calling test unless {@code lmp} and the KIM model exist. */
    public static void requireKim(String model) {
        require(KIM_MODELS.resolve(model));
    }

    /** Skips (developer machine) or fails (CI) the calling test unless {@code lmp} and {@code file} exist. */
    public static void require(Path file) {
        boolean ok = Files.isExecutable(Path.of(LMP)) && Files.exists(file);
        String reason = "LAMMPS reference not installed (" + LMP + ", " + file + "): apt-get install lammps lammps-data "
                + "openkim-models";
        if (!ok && System.getenv("FUSED_STAGE_CI") != null) {
            fail(reason);
        }
        Assumptions.assumeTrue(ok, reason);
    }

    /**
     * One structure's reference values.
     *
     * @param energy eV
     * @param forces eV/A, [n*3]
     * @param stress eV/A^3 in our (ASE's) sign, Voigt xx yy zz yz xz xy (-P / nktv2p); NaN where not fully periodic
     */
    public record Result(double energy, double[] forces, double[] stress) {}

    /**
     * Energies, forces and stresses of {@code systems} under {@code pair_style style} with
     * {@code pair_coeff * * file [elements]}.
     */
    public static List<Result> evaluate(Path work, Path file, String style, List<String> elements, List<AtomicSystem> systems)
            throws IOException {
        return evaluate(work, Interactions.pair(style, file, elements), elements, systems);
    }

    /** Energies, forces and stresses of {@code systems} under the given interactions. */
    public static List<Result> evaluate(Path work, Interactions interactions, List<String> elements, List<AtomicSystem> systems)
            throws IOException {
        StringBuilder in = new StringBuilder();
        for (int k = 0; k < systems.size(); k++) {
            writeData(work.resolve("data" + k + ".lmp"), systems.get(k), elements);
            in.append(setup(work.resolve("data" + k + ".lmp"), systems.get(k), interactions));
            in.append("thermo_style custom pe pxx pyy pzz pyz pxz pxy\nthermo_modify format float %.17g\n");
            in.append("log ").append(work.resolve("values" + k + ".log")).append("\nrun 0\n");
            in.append(String.format(Locale.ROOT, "write_dump all custom %s id fx fy fz modify sort id format float %%.17g%n",
                    work.resolve("forces" + k + ".dump")));
            in.append("clear\n");
        }
        run(work, in.toString());
        List<Result> out = new ArrayList<>();
        for (int k = 0; k < systems.size(); k++) {
            String[] v = thermo(work.resolve("values" + k + ".log"));
            List<String> lines = Files.readAllLines(work.resolve("forces" + k + ".dump"));
            int n = systems.get(k).size();
            double[] forces = new double[3 * n];
            for (int a = 0; a < n; a++) {
                String[] f = lines.get(9 + a).trim().split("\\s+");
                for (int c = 0; c < 3; c++) {
                    forces[3 * a + c] = Double.parseDouble(f[1 + c]);
                }
            }
            boolean periodic = allPeriodic(systems.get(k));
            double[] stress = new double[6];
            for (int c = 0; c < 6; c++) {
                stress[c] = periodic ? -Double.parseDouble(v[1 + c]) / NKTV2P : Double.NaN;
            }
            out.add(new Result(Double.parseDouble(v[0]), forces, stress));
        }
        return out;
    }

    /**
     * Relaxes one structure with {@code min_style cg} to a tight tolerance at fixed cell and returns
     * {energy (eV), max force (eV/A)}.
     */
    public static double[] minimize(Path work, Path file, String style, List<String> elements, AtomicSystem system)
            throws IOException {
        Path data = work.resolve("min.lmp");
        writeData(data, system, elements);
        String in = setup(data, system, Interactions.pair(style, file, elements))
                + "min_style cg\nmin_modify dmax 0.1\nthermo_style custom step pe fmax\nthermo_modify format float %.17g\n"
                + "minimize 0 1e-12 100000 1000000\nlog " + work.resolve("min.log") + "\nrun 0\n";
        run(work, in);
        String[] last = thermo(work.resolve("min.log"));
        String[] v = {last[1], last[2]};
        return new double[] {Double.parseDouble(v[0]), Double.parseDouble(v[1])};
    }

    /** The values line under the last thermo header of a log. */
    private static String[] thermo(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        for (int i = lines.size() - 2; i >= 0; i--) {
            String t = lines.get(i).trim();
            if (t.startsWith("PotEng") || t.startsWith("Step")) {
                return lines.get(i + 1).trim().split("\\s+");
            }
        }
        throw new IllegalStateException("no thermo output in " + log);
    }

    private static String setup(Path data, AtomicSystem s, Interactions interactions) {
        boolean[] pbc = s.pbc();
        return interactions.init() + String.format(Locale.ROOT, "atom_style atomic%nboundary %s %s %s%nbox tilt large%n"
                + "read_data %s%n", pbc[0] ? "p" : "s", pbc[1] ? "p" : "s", pbc[2] ? "p" : "s", data)
                + interactions.interactions() + "neighbor 1.0 bin\nneigh_modify every 1 delay 0 check yes\n";
    }

    private static boolean allPeriodic(AtomicSystem s) {
        return s.pbc()[0] && s.pbc()[1] && s.pbc()[2];
    }

    private static void writeData(Path file, AtomicSystem s, List<String> elements) throws IOException {
        double[] c = s.cell();
        if (c[1] != 0 || c[2] != 0 || c[5] != 0) {
            throw new IllegalArgumentException("cell not in LAMMPS's orientation (lower-triangular rows)");
        }
        double[] lo = {0, 0, 0};
        double[] hi = {c[0], c[4], c[8]};
        double[] p = s.positions();
        for (int axis = 0; axis < 3; axis++) {
            if (!s.pbc()[axis]) { // shrink-wrapped: any box that holds the atoms
                lo[axis] = Double.POSITIVE_INFINITY;
                hi[axis] = Double.NEGATIVE_INFINITY;
                for (int a = 0; a < s.size(); a++) {
                    lo[axis] = Math.min(lo[axis], p[3 * a + axis] - 1);
                    hi[axis] = Math.max(hi[axis], p[3 * a + axis] + 1);
                }
            }
        }
        StringBuilder sb = new StringBuilder("written by the FusedStage tests\n\n");
        sb.append(s.size()).append(" atoms\n").append(elements.size()).append(" atom types\n");
        String[] names = {"x", "y", "z"};
        for (int axis = 0; axis < 3; axis++) {
            sb.append(String.format(Locale.ROOT, "%.17g %.17g %slo %shi%n", lo[axis], hi[axis], names[axis], names[axis]));
        }
        if (c[3] != 0 || c[6] != 0 || c[7] != 0) {
            sb.append(String.format(Locale.ROOT, "%.17g %.17g %.17g xy xz yz%n", c[3], c[6], c[7]));
        }
        sb.append("\nMasses\n\n");
        for (int t = 0; t < elements.size(); t++) {
            sb.append(t + 1).append(" 1.0\n");
        }
        sb.append("\nAtoms # atomic\n\n");
        int[] z = s.atomicNumbers();
        for (int a = 0; a < s.size(); a++) {
            int type = elements.indexOf(Elements.symbolOf(z[a])) + 1;
            sb.append(String.format(Locale.ROOT, "%d %d %.17g %.17g %.17g%n", a + 1, type, p[3 * a], p[3 * a + 1], p[3 * a + 2]));
        }
        Files.writeString(file, sb.toString());
    }

    private static void run(Path work, String input) throws IOException {
        Path script = work.resolve("in.lmp");
        Files.writeString(script, input);
        Process p = new ProcessBuilder(LMP, "-in", script.toString(), "-log", work.resolve("log.lammps").toString(),
                "-screen", "none").directory(work.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                String log = Files.exists(work.resolve("log.lammps")) ? Files.readString(work.resolve("log.lammps")) : "";
                throw new IllegalStateException("lmp failed: " + out + "\n" + log.substring(Math.max(0, log.length() - 2000)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
