package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;

/**
 * A seeded mutation fuzzer for the extxyz reader: thousands of corrupted files (flipped and
 * inserted characters, cut files, dropped/duplicated/swapped lines, junk tokens, extreme numbers)
 * must either parse or fail with the documented {@link ExtxyzFormatException}, never anything else.
 */
class ExtxyzFuzzTest {

    private static final String[] JUNK = {"NaN", "inf", "-1", "0", "1e400", "\"", "=", "{", "}", ":", "T", "F", "Xx",
        "Properties=species:S:1", "Lattice=\"1 2\"", "pbc=\"T\"", "\t", "  ", "99999999999999999999", "-0", "0x10", "1d5"};

    @Test
    void mutatedFilesFailOnlyWithTheDocumentedError() {
        String seedText = ExtxyzWriter.formatFrame(TestSystems.triclinicArgon(2, 1).toBuilder()
                .optForces(new double[9]).optEnergy(-1.0).optVelocities(new double[9]).optInfo("note", "x y").build())
                + ExtxyzWriter.formatFrame(TestSystems.argonCluster(3, 3, 2, 2));
        Random random = new Random(20261126);
        int parsed = 0;
        int rejected = 0;
        for (int round = 0; round < 4000; round++) {
            String text = mutate(seedText, random, 1 + random.nextInt(4));
            try (ExtxyzReader reader = ExtxyzReader.of(new StringReader(text), "fuzz.extxyz")) {
                while (reader.next() != null) {
                    parsed++;
                }
            } catch (ExtxyzFormatException expected) {
                rejected++;
                assertTrue(expected.getMessage().startsWith("fuzz.extxyz:"), expected.getMessage());
            } catch (IOException | RuntimeException e) {
                fail("round " + round + ": " + e + " on input:\n" + text, e);
            }
        }
        assertTrue(rejected > 1000 && parsed > 100, "both outcomes exercised: " + parsed + " frames parsed, " + rejected + " rejected");
    }

    private static String mutate(String text, Random random, int times) {
        String s = text;
        for (int t = 0; t < times && !s.isEmpty(); t++) {
            List<String> lines = new ArrayList<>(List.of(s.split("\n", -1)));
            int pos = random.nextInt(s.length());
            switch (random.nextInt(9)) {
                case 0 -> s = s.substring(0, pos) + (char) (32 + random.nextInt(95)) + s.substring(Math.min(s.length(), pos + 1));
                case 1 -> s = s.substring(0, pos) + JUNK[random.nextInt(JUNK.length)] + s.substring(pos);
                case 2 -> s = s.substring(0, pos);
                case 3 -> {
                    lines.remove(random.nextInt(lines.size()));
                    s = String.join("\n", lines);
                }
                case 4 -> {
                    int i = random.nextInt(lines.size());
                    lines.add(i, lines.get(i));
                    s = String.join("\n", lines);
                }
                case 5 -> {
                    int i = random.nextInt(lines.size());
                    int j = random.nextInt(lines.size());
                    String tmp = lines.get(i);
                    lines.set(i, lines.get(j));
                    lines.set(j, tmp);
                    s = String.join("\n", lines);
                }
                case 6 -> {
                    String[] tokens = s.split(" ");
                    tokens[random.nextInt(tokens.length)] = JUNK[random.nextInt(JUNK.length)];
                    s = String.join(" ", tokens);
                }
                case 7 -> s = s.replaceFirst("\\d+", String.valueOf(random.nextInt(40) - 5));
                default -> s = s.substring(0, pos) + "\n" + s.substring(pos);
            }
        }
        return s;
    }
}
