package org.fusedstage.model;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Converts published interatomic-potential parameter files into TorchScript potential folders
 * that {@link TorchScriptPotential} loads like a zoo model, and resolves names such as
 * {@code eam:Cu_mishin1} against the installed LAMMPS potentials.
 *
 * <p>EAM files in LAMMPS's three formats ({@link Format}) are read and evaluated as LAMMPS's
 * {@code pair_style eam}, {@code eam/alloy} and {@code eam/fs} do (same tables, spline
 * coefficients and formulas; see {@code model-zoo/src/main/python/eam.py}), so energies, forces
 * and stresses agree with LAMMPS to round-off. The conversion runs the repository's Python script
 * with Debian's {@code python3-torch} (torch 1.13), which writes the potential, its compiled step
 * graph and {@code metadata.properties} (cutoff, elements, masses, and the file's header lines as
 * citation) into a new folder: it appears whole or not at all.
 *
 * <p>Parameter files are converted from the user's installed copy (Debian's {@code lammps-data}:
 * {@value #DEFAULT_POTENTIALS}); nothing third-party ships with FusedStage.
 */
public final class PotentialImporter {

    /** Where Debian's lammps-data installs the potential files. */
    public static final String DEFAULT_POTENTIALS = "/usr/share/lammps/potentials";

    /** Environment variable naming another potentials folder, searched first (LAMMPS reads it too). */
    public static final String POTENTIALS_ENV = "LAMMPS_POTENTIALS";

    /** The parameter-file formats of LAMMPS's EAM pair styles. */
    public enum Format {
        /** DYNAMO funcfl, one element ({@code *.eam}). */
        EAM("eam", ".eam"),
        /** DYNAMO setfl, any number of elements ({@code *.eam.alloy}). */
        EAM_ALLOY("eam/alloy", ".eam.alloy"),
        /** Finnis-Sinclair, density per element pair ({@code *.eam.fs}). */
        EAM_FS("eam/fs", ".eam.fs"),
        /** SNAP: {@code X.snapcoeff} with {@code X.snapparam} beside it (or LAMMPS's {@code X.snap}). */
        SNAP("snap", ".snapcoeff"),
        /** ML-IAP neural network on SNAP descriptors: {@code X.nn.mliap.model} with its descriptor file beside it. */
        MLIAP_NN("mliap-nn", ".nn.mliap.model");

        private final String style;
        private final String suffix;

        Format(String style, String suffix) {
            this.style = style;
            this.suffix = suffix;
        }

        /** LAMMPS's pair style name. */
        public String style() {
            return style;
        }

        /** The file-name ending of this format. */
        public String suffix() {
            return suffix;
        }

        /** The format of a LAMMPS pair style name ({@code eam}, {@code eam/alloy}, {@code eam/fs}). */
        public static Format ofStyle(String style) {
            for (Format f : values()) {
                if (f.style.equals(style.trim().toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown format '" + style + "' (formats: eam, eam/alloy, eam/fs, snap, mliap-nn)");
        }

        /** The format a file name announces, if any. */
        public static Optional<Format> ofFileName(String name) {
            if (name.endsWith(".snapcoeff") || name.endsWith(".snapparam") || name.endsWith(".snap")) {
                return Optional.of(SNAP);
            }
            if (name.endsWith(".nn.mliap.model")) {
                return Optional.of(MLIAP_NN);
            }
            for (Format f : new Format[] {EAM_ALLOY, EAM_FS, EAM}) { // longest suffix first
                if (name.endsWith(f.suffix)) {
                    return Optional.of(f);
                }
            }
            return Optional.empty();
        }
    }

    private final Path script;
    private final String python;
    private final Path cache;

    /**
     * An importer.
     *
     * @param scripts the folder of the repository's Python sources ({@code model-zoo/src/main/python})
     * @param python the python with torch <= 2.5.1 (Debian's {@code /usr/bin/python3})
     * @param cache where {@link #resolve} keeps converted potentials
     */
    public PotentialImporter(Path scripts, String python, Path cache) {
        this.script = scripts.resolve("import_potential.py");
        this.python = python;
        this.cache = cache;
    }

    /**
     * An importer for a checkout of the repository at {@code home}: its scripts, Debian's
     * {@code /usr/bin/python3} where present (else {@code python3}), and the cache named by the
     * system property {@code fusedstage.cache}, else {@link #defaultCache()}.
     */
    public static PotentialImporter fromHome(Path home) {
        String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
        String cache = System.getProperty("fusedstage.cache");
        return new PotentialImporter(home.resolve("model-zoo/src/main/python"), python, cache != null ? Path.of(cache) : defaultCache());
    }

    /** The default cache: {@code $XDG_CACHE_HOME/fused-stage/potentials}, else {@code ~/.cache/fused-stage/potentials}. */
    public static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("fused-stage").resolve("potentials");
    }

    /** The folders searched for potential files by name: {@code $LAMMPS_POTENTIALS}, then {@value #DEFAULT_POTENTIALS}. */
    public static List<Path> searchFolders() {
        List<Path> out = new ArrayList<>();
        String env = System.getenv(POTENTIALS_ENV);
        if (env != null && !env.isBlank()) {
            out.add(Path.of(env));
        }
        out.add(Path.of(DEFAULT_POTENTIALS));
        return out;
    }

    /**
     * Converts a parameter file into a potential folder.
     *
     * @param file the parameter file
     * @param format its format, or null to take it from the file name
     * @param output the folder to create (must not exist, or be empty)
     * @return {@code output}
     * @throws IllegalArgumentException naming file, line and problem for a file that cannot be read
     */
    public Path importFile(Path file, Format format, Path output) throws IOException {
        Preconditions.checkArgument(Files.isRegularFile(file), "potential file %s does not exist", file.toAbsolutePath());
        Preconditions.checkArgument(Files.isRegularFile(script), "cannot find %s: run from the repository or set "
                + "-Dfusedstage.home", script);
        Format f = format != null ? format : Format.ofFileName(file.getFileName().toString()).orElseThrow(
                () -> new IllegalArgumentException(file + ": unknown format (the name ends in none of .eam, .eam.alloy, "
                        + ".eam.fs, .snapcoeff, .snapparam, .snap, .nn.mliap.model): give the format"));
        List<String> command = List.of(python, script.toString(), file.toString(), "--format", f.style(), "--output",
                output.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("converting " + file + " took more than 10 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while converting " + file, e);
        }
        if (p.exitValue() == 2) { // the script's one-line verdict on the file or the output folder
            throw new IllegalArgumentException(said.lines().reduce((a, b) -> b).orElse(said));
        }
        if (p.exitValue() != 0) {
            throw new IOException("converting " + file + " failed (needs " + python + " with torch <= 2.5.1, e.g. apt-get "
                    + "install python3-torch): " + said.lines().reduce((a, b) -> b).orElse(""));
        }
        return output;
    }

    /**
     * Resolves {@code eam:NAME} or {@code snap:NAME} (NAME without its ending, e.g.
     * {@code eam:Cu_mishin1}, {@code snap:Cu_Zuo_JPCA2020.quadratic}): finds the parameter file in
     * {@link #searchFolders()}, converts it into the cache once (again when the file is newer than
     * its conversion) and returns the potential folder ({@code <cache>/<family>-<NAME>}).
     *
     * @throws IllegalArgumentException naming the folders searched when no file matches
     */
    public Path resolve(String reference) throws IOException {
        int colon = reference.indexOf(':');
        Preconditions.checkArgument(colon > 0, "'%s' is not FAMILY:NAME (e.g. eam:Cu_mishin1)", reference);
        String family = reference.substring(0, colon).toLowerCase(Locale.ROOT);
        String name = reference.substring(colon + 1).trim();
        Preconditions.checkArgument(family.equals("eam") || family.equals("snap") || family.equals("mliap"),
                "unknown potential family '%s' in '%s' (known: eam, snap, mliap)", family, reference);
        Preconditions.checkArgument(!name.isEmpty() && !name.contains("/") && !name.contains(".."),
                "'%s' needs a file name after '%s:'", reference, family);
        Format[] formats = family.equals("snap") ? new Format[] {Format.SNAP}
                : family.equals("mliap") ? new Format[] {Format.MLIAP_NN}
                : new Format[] {Format.EAM_ALLOY, Format.EAM_FS, Format.EAM};
        Path file = find(name, formats).orElseThrow(() -> new IllegalArgumentException("no " + family.toUpperCase(Locale.ROOT)
                + " file '" + name + "' (tried " + name + " with " + java.util.Arrays.stream(formats).map(Format::suffix).toList()
                + ") in " + searchFolders() + "; install lammps-data or set " + POTENTIALS_ENV));
        Path folder = cache.resolve(family + "-" + name);
        Path metadata = folder.resolve("metadata.properties");
        Path stamp = folder.resolve("converter.sha256");
        String converter = converterFingerprint();
        if (Files.isRegularFile(metadata) && Files.isRegularFile(stamp) && Files.readString(stamp).equals(converter)
                && Files.getLastModifiedTime(metadata).compareTo(Files.getLastModifiedTime(file)) >= 0) {
            return folder; // converted from this file by this version of the converter
        }
        if (Files.isDirectory(folder)) { // an older conversion: replaced
            try (var files = Files.list(folder)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(folder);
        }
        Files.createDirectories(cache);
        importFile(file, null, folder);
        Files.writeString(stamp, converter);
        return folder;
    }

    /** SHA-256 of the converter's Python sources: a cached conversion by another version is made again. */
    private String converterFingerprint() throws IOException {
        try {
            java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
            try (var files = Files.list(script.getParent())) {
                for (Path source : files.filter(f -> f.toString().endsWith(".py")).sorted().toList()) {
                    digest.update(Files.readAllBytes(source));
                }
            }
            return java.util.HexFormat.of().formatHex(digest.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Optional<Path> find(String name, Format[] formats) {
        for (Path dir : searchFolders()) {
            if (Format.ofFileName(name).isPresent() && Files.isRegularFile(dir.resolve(name))) {
                return Optional.of(dir.resolve(name));
            }
            for (Format f : formats) {
                Path candidate = dir.resolve(name + f.suffix());
                if (Files.isRegularFile(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }
}
