package org.fusedstage.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.data.xy.XYSeries;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plots break their lines where a series has no data instead of drawing across the gap. */
class PlotsTest {

    @TempDir
    Path dir;

    @Test
    void aStretchWithoutDataBreaksTheLine() throws Exception {
        List<double[]> relaxation = new ArrayList<>();
        relaxation.add(new double[] {10, -2.0, 0.5});
        relaxation.add(new double[] {20, -2.1, 0.2});
        RunMetrics.markGap(relaxation, 30); // no sample relaxing at steps 30 and 40
        RunMetrics.markGap(relaxation, 40);
        relaxation.add(new double[] {50, -1.9, 0.9}); // the next wave
        assertEquals(4, relaxation.size(), "one gap row per stretch without data");
        XYSeries energy = Plots.series("energy", relaxation, 1);
        assertEquals(4, energy.getItemCount());
        assertNull(energy.getY(2), "a null item, where the renderer breaks the line");
        assertEquals(-1.9, energy.getY(3).doubleValue());
        Path png = dir.resolve("relaxation.png");
        try (java.io.OutputStream out = Files.newOutputStream(png)) {
            Plots.write(out, "Relaxation", "step", "energy", "fmax", relaxation);
        }
        assertTrue(Files.size(png) > 1000);
    }
}
