package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtxyzDatasetTest {

    @TempDir
    Path dir;

    @Test
    void indexesOnceAndReadsAnyFrameLazily() throws Exception {
        List<AtomicSystem> systems = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            AtomicSystem s = TestSystems.argonCluster(2 + i % 6, 4, 2, i);
            systems.add(i % 5 == 0 ? s.toBuilder().optInfo("sample_id", "quoted id " + i).build() : s);
        }
        Path file = dir.resolve("data.extxyz");
        ExtxyzWriter.writeAll(file, systems);
        ExtxyzDataset dataset = ExtxyzDataset.open(file);
        assertEquals(40, dataset.size());
        for (int i : new int[] {39, 0, 17, 5}) {
            assertEquals(systems.get(i).sampleId().orElseThrow(), dataset.id(i));
            assertEquals(systems.get(i).size(), dataset.atomCount(i));
            assertEquals(systems.get(i), dataset.get(i));
        }
    }

    @Test
    void framesWithoutIdsGetFileAndIndexAndDuplicatesAreRefused() throws Exception {
        Path file = dir.resolve("plain.xyz");
        Files.writeString(file, "1\nProperties=species:S:1:pos:R:3\nAr 0 0 0\n1\n\nAr 1 1 1\n");
        ExtxyzDataset dataset = ExtxyzDataset.open(file);
        assertEquals("plain.xyz:1", dataset.id(1));
        assertEquals("plain.xyz:1", dataset.get(1).sampleId().orElseThrow());
        Path dup = dir.resolve("dup.xyz");
        Files.writeString(dup, "1\nsample_id=a\nAr 0 0 0\n1\nsample_id=a\nAr 1 1 1\n");
        ExtxyzFormatException e = assertThrows(ExtxyzFormatException.class, () -> ExtxyzDataset.open(dup));
        assertTrue(e.getMessage().contains("dup.xyz:4: duplicate sample id 'a' (first at line 1)"), e.getMessage());
        Path truncated = dir.resolve("cut.xyz");
        Files.writeString(truncated, "2\nsample_id=a\nAr 0 0 0\n");
        ExtxyzFormatException cut = assertThrows(ExtxyzFormatException.class, () -> ExtxyzDataset.open(truncated));
        assertTrue(cut.getMessage().contains("truncated frame"), cut.getMessage());
    }
}
