package org.fusedstage.examples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory figures from {@code /proc/self/status}, for the benchmarks (Linux). */
public final class ProcessMemory {

    private ProcessMemory() {}

    /** Resident set size in MiB. */
    public static double residentMiB() {
        return statusMiB("VmRSS:");
    }

    /** Peak resident set size (high-water mark) in MiB. */
    public static double peakResidentMiB() {
        return statusMiB("VmHWM:");
    }

    private static double statusMiB(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Double.NaN;
    }
}
