package org.fusedstage.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The output folder of a run: which files a run writes, the checks before it writes any (a
 * folder, no stale outputs without --resume, no symbolic links), and atomic replacement of the
 * files that are rewritten whole (summary, invalid list, plots).
 */
final class OutputFolder {

    /** Every file a run writes. */
    static final List<String> FILES = List.of("results.extxyz", "rejects.extxyz", "trajectory.extxyz", "summary.csv",
            "invalid.csv", "relaxation.png", "md.png", "throughput.png");

    private final Path dir;

    private OutputFolder(Path dir) {
        this.dir = dir;
    }

    /**
     * Checks the folder for a run before anything is written (see {@link #create}).
     *
     * @param resume whether the run continues one in this folder
     * @throws IllegalArgumentException if the path is a file, an output is a symbolic link, or a
     *     fresh run would mix with the outputs of an earlier one
     */
    static OutputFolder check(Path dir, boolean resume) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--output " + dir + " is a file, not a folder");
        }
        List<String> stale = new ArrayList<>();
        for (String name : FILES) {
            Path file = dir.resolve(name);
            if (Files.isSymbolicLink(file)) {
                throw new IllegalArgumentException(file + " is a symbolic link: fused-stage never writes through links "
                        + "(remove it or choose another --output)");
            }
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                stale.add(name);
            }
        }
        if (!resume && !stale.isEmpty()) {
            throw new IllegalArgumentException(dir + " already holds " + String.join(", ", stale) + " of an earlier run: add "
                    + "--resume to continue it, or choose another --output");
        }
        return new OutputFolder(dir);
    }

    /** Creates the folder (once everything that could refuse the run has been checked). */
    OutputFolder create() throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException("--output " + dir + " is not a folder");
        }
        return this;
    }

    /** A file of the folder. */
    Path resolve(String name) {
        return dir.resolve(name);
    }

    /** The folder. */
    Path path() {
        return dir;
    }

    /** What writes a whole file. */
    @FunctionalInterface
    interface Content {
        void write(OutputStream out) throws IOException;
    }

    /**
     * Replaces {@code name} atomically: written to a temporary file beside it, then moved over it,
     * so a reader (or a killed run) sees the old file or the new one, never half of one, and a link
     * put in its place is replaced, not followed.
     */
    void replace(String name, Content content) throws IOException {
        Path target = dir.resolve(name);
        Path temporary = Files.createTempFile(dir, "." + name, ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(temporary)) {
                content.write(out);
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
