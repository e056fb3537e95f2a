package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fusedstage.Units;
import org.fusedstage.testing.Python;
import org.fusedstage.testing.TestSystems;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtxyzTest {

    @TempDir
    Path dir;

    private static AtomicSystem rich() {
        return TestSystems.triclinicArgon(2, 3).toBuilder()
                .optVelocities(new double[] {0.001, 0.002, -0.003, 0.01, 0, 0, 0, 0, 1e-4})
                .optForces(new double[] {0.1, 0.2, 0.3, -0.1, -0.2, -0.3, 0, 0, 1.5e-3})
                .optEnergy(-0.123456789012345)
                .optStress(new double[] {1e-3, 2e-4, 3e-4, 2e-4, 5e-3, 6e-4, 3e-4, 6e-4, 9e-3})
                .optMasses(new double[] {39.948, 40.5, 36.0})
                .optInfo("temperature", 300.5)
                .optInfo("step", 42L)
                .optInfo("converged", Boolean.TRUE)
                .optInfo("label", "argon with spaces")
                .optInfo("dipole", ImmutableList.of(0.5, -1.25, 2.0))
                .optArray("tags", new PerAtomArray(PerAtomArray.Type.INTEGER, 1, new String[] {"0", "1", "2"}))
                .build();
    }

    @Test
    void javaRoundTripIsExactExceptVelocityUnitConversion() throws IOException {
        List<AtomicSystem> in = List.of(rich(), TestSystems.argonCluster(4, 4, 2.5, 9), TestSystems.fccArgon(1, 5.26, 0.1, 2));
        Path file = dir.resolve("round.extxyz");
        ExtxyzWriter.writeAll(file, in);
        List<AtomicSystem> out = ExtxyzReader.readAll(file);
        assertEquals(in.size(), out.size());
        for (int i = 0; i < in.size(); i++) {
            AtomicSystem a = in.get(i);
            AtomicSystem b = out.get(i);
            assertArrayEquals(a.velocities().orElse(new double[0]), b.velocities().orElse(new double[0]), 1e-17);
            // Velocities go through ASE's momenta (m v t_ASE) and back: equal to rounding.
            AtomicSystem bWithSameVelocities = b.toBuilder().optVelocities(a.velocities().orElse(null)).build();
            assertEquals(a, bWithSameVelocities);
        }
    }

    @Test
    void aseReadsWhatWeWrite() throws IOException {
        Python.assumeModule("ase");
        AtomicSystem s = rich();
        Path file = dir.resolve("ours.extxyz");
        ExtxyzWriter.writeAll(file, List.of(s, TestSystems.argonCluster(3, 3, 2, 1)));
        String json = Python.run(String.join("\n",
                "import json, sys, ase.io, ase.units",
                "frames = ase.io.read(sys.argv[1], index=':')",
                "a = frames[0]",
                "print(json.dumps({'n': len(frames), 'positions': a.positions.ravel().tolist(),",
                "  'numbers': a.numbers.tolist(), 'cell': a.cell.array.ravel().tolist(), 'pbc': a.pbc.tolist(),",
                "  'masses': a.get_masses().tolist(), 'velocities': (a.get_velocities() * ase.units.fs).ravel().tolist(),",
                "  'energy': a.get_potential_energy(), 'forces': a.get_forces().ravel().tolist(),",
                "  'stress': a.get_stress(voigt=False).ravel().tolist(), 'tags': a.get_tags().tolist(),",
                "  'info': {k: (v.tolist() if hasattr(v, 'tolist') else v) for k, v in a.info.items()},",
                "  'pbc2': frames[1].pbc.tolist()}))"), file.toString());
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        assertEquals(2, o.get("n").getAsInt());
        assertArrayEquals(s.positions(), doubles(o.get("positions")), 0.0);
        assertArrayEquals(s.cell(), doubles(o.get("cell")), 0.0);
        assertArrayEquals(s.masses(), doubles(o.get("masses")), 0.0);
        assertArrayEquals(s.velocities().orElseThrow(), doubles(o.get("velocities")), 1e-15);
        assertArrayEquals(s.forces().orElseThrow(), doubles(o.get("forces")), 0.0);
        assertArrayEquals(s.stress().orElseThrow(), doubles(o.get("stress")), 0.0);
        assertEquals(s.energy().orElseThrow(), o.get("energy").getAsDouble(), 0.0);
        assertEquals("[true,true,true]", o.get("pbc").toString());
        assertEquals("[false,false,false]", o.get("pbc2").toString());
        assertEquals("[0,1,2]", o.get("tags").toString());
        JsonObject info = o.getAsJsonObject("info");
        assertEquals(300.5, info.get("temperature").getAsDouble());
        assertEquals(42, info.get("step").getAsInt());
        assertTrue(info.get("converged").getAsBoolean());
        assertEquals("argon with spaces", info.get("label").getAsString());
        assertEquals("triclinic-3-3", info.get("sample_id").getAsString());
        assertArrayEquals(new double[] {0.5, -1.25, 2.0}, doubles(info.get("dipole")), 0.0);
    }

    @Test
    void weReadWhatAseWrites() throws IOException {
        Python.assumeModule("ase");
        Path file = dir.resolve("ase.extxyz");
        String json = Python.run(String.join("\n",
                "import json, sys, numpy as np, ase.io, ase.units",
                "from ase import Atoms",
                "from ase.calculators.singlepoint import SinglePointCalculator",
                "rng = np.random.default_rng(1)",
                "a = Atoms('Cu2Ar', positions=rng.random((3, 3)) * 3, cell=[[4, 0.1, 0], [0.3, 4.2, 0], [0.1, 0.2, 3.9]], pbc=[True, True, False])",
                "a.set_masses([63.5, 64.0, 40.0])",
                "a.set_velocities(rng.normal(size=(3, 3)) * 0.01)",
                "a.set_tags([3, 4, 5])",
                "a.info['sample_id'] = 'abc-1'",
                "a.info['temperature'] = 250.0",
                "a.info['nsteps'] = 7",
                "a.calc = SinglePointCalculator(a, energy=-1.5, forces=rng.normal(size=(3, 3)), stress=rng.normal(size=6))",
                "b = Atoms('H', positions=[[0, 0, 0]])",
                "ase.io.write(sys.argv[1], [a, b], format='extxyz')",
                "print(json.dumps({'positions': a.positions.ravel().tolist(), 'masses': a.get_masses().tolist(),",
                "  'velocities': (a.get_velocities() * ase.units.fs).ravel().tolist(), 'forces': a.get_forces().ravel().tolist(),",
                "  'stress': a.get_stress(voigt=False).ravel().tolist(), 'cell': a.cell.array.ravel().tolist()}))"),
                file.toString());
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        List<AtomicSystem> frames = ExtxyzReader.readAll(file);
        assertEquals(2, frames.size());
        AtomicSystem a = frames.get(0);
        assertArrayEquals(new int[] {29, 29, 18}, a.atomicNumbers());
        assertArrayEquals(doubles(o.get("positions")), a.positions(), 1e-8); // ASE prints 8 decimals
        assertArrayEquals(doubles(o.get("cell")), a.cell(), 1e-8);
        assertArrayEquals(new boolean[] {true, true, false}, a.pbc());
        assertArrayEquals(doubles(o.get("masses")), a.masses(), 1e-8);
        assertArrayEquals(doubles(o.get("velocities")), a.velocities().orElseThrow(), 1e-9);
        assertArrayEquals(doubles(o.get("forces")), a.forces().orElseThrow(), 1e-8);
        assertArrayEquals(doubles(o.get("stress")), a.stress().orElseThrow(), 1e-8);
        assertEquals(-1.5, a.energy().orElseThrow());
        assertEquals("abc-1", a.sampleId().orElseThrow());
        assertEquals(250.0, a.info().get("temperature"));
        assertEquals(7L, a.info().get("nsteps"));
        assertArrayEquals(new double[] {3, 4, 5}, a.arrays().get("tags").toDoubles());
        AtomicSystem b = frames.get(1);
        assertArrayEquals(new int[] {1}, b.atomicNumbers());
        assertArrayEquals(new boolean[] {false, false, false}, b.pbc());
    }

    @Test
    void malformedFilesNameFileLineAndProblem() throws IOException {
        String good = "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\nAr 0 0 0\nAr 2 2 2\n";
        assertMalformed(good.replace("2\nLattice", "two\nLattice"), 1, "expected the atom count, got 'two'");
        assertMalformed(good.substring(0, good.lastIndexOf("Ar 2")), 4, "file ends after 1 of 2 atom lines");
        assertMalformed(good.replace("Ar 2 2 2", "Ar 2 2"), 4, "expected 4 columns (Properties), got 3");
        assertMalformed(good.replace("Ar 2 2 2", "Ar 2 x 2"), 4, "column 'pos': 'x' is not a number");
        assertMalformed(good.replace("Ar 2 2 2", "Ar 2 NaN 2"), 4, "column 'pos': non-finite value 'NaN'");
        assertMalformed(good.replace("Ar 2 2 2", "Qq 2 2 2"), 1, "unknown element 'Qq' on line 4");
        assertMalformed(good.replace("5 0 0 0 5 0 0 0 5", "5 0 0 0 5 0 0 0 0"), 1, "cell is singular");
        assertMalformed(good.replace("5 0 0 0 5 0 0 0 5", "5 0 0 0 5"), 2, "Lattice needs 9 numbers, got 5");
        assertMalformed(good.replace("pbc=\"T T T\"", "pbc=\"T T X\""), 2, "pbc flag 'X' is not T or F");
        assertMalformed(good.replace("species:S:1:pos:R:3", "species:S:1:pos:Q:3"), 2, "unknown extxyz column type 'Q'");
        assertMalformed(good.replace("5\" Properties", "5 Properties").replace("pbc=\"T T T\"", "pbc=T"), 2, "unterminated quote");
        assertMalformed("1\n", 2, "file ends before the comment line");
    }

    private static void assertMalformed(String text, long line, String fragment) {
        ExtxyzFormatException e = assertThrows(ExtxyzFormatException.class,
                () -> ExtxyzReader.of(new StringReader(text), "bad.extxyz").next());
        assertEquals(line, e.getLine(), e.getMessage());
        assertTrue(e.getMessage().startsWith("bad.extxyz:" + line + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void streamsFramesOneByOne() throws IOException {
        Path file = dir.resolve("many.extxyz");
        try (ExtxyzWriter w = ExtxyzWriter.create(file)) {
            for (int i = 0; i < 50; i++) {
                w.write(TestSystems.argonCluster(2 + i % 4, 4, 2, i));
            }
        }
        try (ExtxyzReader r = ExtxyzReader.open(file)) {
            int count = 0;
            for (AtomicSystem s = r.next(); s != null; s = r.next()) {
                assertEquals(2 + count % 4, s.size());
                count++;
            }
            assertEquals(50, count);
        }
        assertEquals(Units.ASE_TIME_UNIT_FS, 10.1805, 1e-4);
        assertTrue(Files.size(file) > 0);
    }

    private static double[] doubles(JsonElement e) {
        JsonArray a = e.getAsJsonArray();
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsDouble();
        }
        return out;
    }
}
