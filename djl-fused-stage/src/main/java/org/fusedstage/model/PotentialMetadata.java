package org.fusedstage.model;

import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.fusedstage.data.Batch;
import org.fusedstage.data.Elements;

/**
 * Describes a potential: its name, cutoff radius (A), supported elements (empty = any), dtypes,
 * units, outputs (energy, forces, stress) and where it comes from.
 *
 * <p>Zoo models ship it as {@code metadata.properties} next to their TorchScript file (keys
 * {@code name}, {@code cutoff}, {@code elements} as symbols, {@code dtype}, {@code units},
 * {@code outputs}, {@code citation}).
 */
public final class PotentialMetadata {

    private final String name;
    /** The largest cutoff accepted, A. */
    public static final double MAX_CUTOFF = 1000;

    private final double cutoff;
    private final ImmutableSet<Integer> elements;
    private final ImmutableSet<DataType> dataTypes;
    private final String units;
    private final boolean forces;
    private final boolean stress;
    private final String citation;
    private final ImmutableList<Integer> elementOrder;
    private final ModelInterface modelInterface;

    private PotentialMetadata(Builder b) {
        this.name = b.name;
        this.cutoff = b.cutoff;
        this.elements = ImmutableSet.copyOf(b.elements);
        this.dataTypes = ImmutableSet.copyOf(b.dataTypes);
        this.units = b.units;
        this.forces = b.forces;
        this.stress = b.stress;
        this.citation = b.citation;
        this.elementOrder = ImmutableList.copyOf(b.elementOrder);
        this.modelInterface = b.modelInterface;
    }

    /** Starts a builder; every setting is optional. */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * Reads a {@code metadata.properties} file.
     *
     * @throws IllegalArgumentException naming the file and the bad key
     */
    public static PotentialMetadata read(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Properties p = new Properties();
            p.load(r);
            return fromProperties(p, file.toString());
        }
    }

    /** Reads metadata from a stream of properties. */
    public static PotentialMetadata read(InputStream in, String source) throws IOException {
        Properties p = new Properties();
        p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
        return fromProperties(p, source);
    }

    private static PotentialMetadata fromProperties(Properties p, String source) {
        Builder b = builder(p.getProperty("name", source));
        try {
            String cutoff = p.getProperty("cutoff");
            if (cutoff != null) {
                b.optCutoff(Double.parseDouble(cutoff.trim()));
            }
            String elements = p.getProperty("elements", "").trim();
            for (String symbol : elements.isEmpty() ? new String[0] : elements.split("[,\\s]+")) {
                b.addElement(Elements.numberOf(symbol)
                        .orElseThrow(() -> new IllegalArgumentException("unknown element '" + symbol + "'")));
            }
            String dtype = p.getProperty("dtype");
            if (dtype != null) {
                b.dataTypes.clear();
                for (String t : dtype.split("[,\\s]+")) {
                    b.dataTypes.add(parseDataType(t));
                }
            }
            String outputs = p.getProperty("outputs", "energy,forces");
            Set<String> outs = new TreeSet<>(Arrays.asList(outputs.toLowerCase(Locale.ROOT).split("[,\\s]+")));
            Preconditions.checkArgument(outs.contains("energy"), "outputs must include energy, got '%s'", outputs);
            b.optForces(outs.contains("forces")).optStress(outs.contains("stress"));
            b.optUnits(p.getProperty("units", b.units));
            String iface = p.getProperty("interface");
            if (iface != null) {
                b.optInterface(ModelInterface.parse(iface));
            }
            b.optCitation(p.getProperty("citation", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        return b.build();
    }

    private static DataType parseDataType(String t) {
        return switch (t.trim().toLowerCase(Locale.ROOT)) {
            case "float32", "float" -> DataType.FLOAT32;
            case "float64", "double" -> DataType.FLOAT64;
            default -> throw new IllegalArgumentException("unknown dtype '" + t + "' (float32 or float64)");
        };
    }

    /** Human-readable model name. */
    public String name() {
        return name;
    }

    /** Interaction cutoff in A (NaN when unknown). */
    public double cutoff() {
        return cutoff;
    }

    /** Supported atomic numbers; empty means any element. */
    public ImmutableSet<Integer> elements() {
        return elements;
    }

    /** Floating-point types the model accepts. */
    public ImmutableSet<DataType> dataTypes() {
        return dataTypes;
    }

    /** Units of inputs and outputs, as text. */
    public String units() {
        return units;
    }

    /** Whether the model computes forces itself (else they come from autograd in Java). */
    public boolean providesForces() {
        return forces;
    }

    /** Whether the model computes stress. */
    public boolean providesStress() {
        return stress;
    }

    /** Source or citation. */
    public String citation() {
        return citation;
    }

    /** Supported atomic numbers in the model's own order (its type indices). */
    public ImmutableList<Integer> elementOrder() {
        return elementOrder;
    }

    /** The calling convention declared in the metadata, or null. */
    public ModelInterface modelInterface() {
        return modelInterface;
    }

    /**
     * Checks that the batch has only supported elements and a supported dtype.
     *
     * @throws IllegalArgumentException naming the problem and what to change
     */
    public void validate(Batch batch) {
        Preconditions.checkArgument(
                dataTypes.contains(batch.getDataType()),
                "model '%s' accepts dtype %s but the batch is %s: build the batch with optDataType(%s)",
                name,
                dataTypes,
                batch.getDataType(),
                dataTypes.iterator().next());
        if (elements.isEmpty()) {
            return;
        }
        Set<Integer> unknown = new TreeSet<>();
        for (long z : batch.atomicNumbers().toLongArray()) {
            if (!elements.contains((int) z)) {
                unknown.add((int) z);
            }
        }
        if (!unknown.isEmpty()) {
            StringBuilder symbols = new StringBuilder();
            unknown.forEach(z -> symbols.append(symbols.length() == 0 ? "" : ", ").append(Elements.symbolOf(z)));
            StringBuilder known = new StringBuilder();
            elements.forEach(z -> known.append(known.length() == 0 ? "" : ", ").append(Elements.symbolOf(z)));
            throw new IllegalArgumentException("model '" + name + "' knows only " + known
                    + " but the batch contains " + symbols + ": choose a model trained for these elements");
        }
    }

    @Override
    public String toString() {
        return "PotentialMetadata(" + name + ", cutoff=" + cutoff + " A, elements=" + elements
                + ", dtypes=" + dataTypes + ", forces=" + forces + ", stress=" + stress + ")";
    }

    /** Builder of {@link PotentialMetadata}. */
    public static final class Builder {
        private final String name;
        private double cutoff = Double.NaN;
        private final Set<Integer> elements = new TreeSet<>();
        private final java.util.List<Integer> elementOrder = new java.util.ArrayList<>();
        private ModelInterface modelInterface;
        private final Set<DataType> dataTypes = new java.util.LinkedHashSet<>(
                Arrays.asList(DataType.FLOAT64, DataType.FLOAT32));
        private String units = "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3";
        private boolean forces = true;
        private boolean stress;
        private String citation = "";

        private Builder(String name) {
            this.name = Preconditions.checkNotNull(name);
        }

        /** Cutoff in A. */
        public Builder optCutoff(double cutoff) {
            // Interatomic potentials reach a few nm at most; a larger value is a broken file, and
            // would make every periodic neighbor search astronomically large.
            Preconditions.checkArgument(cutoff > 0 && cutoff <= MAX_CUTOFF, "cutoff must be in (0, %s] A, got %s", MAX_CUTOFF, cutoff);
            this.cutoff = cutoff;
            return this;
        }

        /** Adds a supported atomic number. */
        public Builder addElement(int z) {
            Preconditions.checkArgument(Elements.isKnown(z), "unknown atomic number %s", z);
            if (elements.add(z)) {
                elementOrder.add(z);
            }
            return this;
        }

        /** The calling convention of the module. */
        public Builder optInterface(ModelInterface modelInterface) {
            this.modelInterface = modelInterface;
            return this;
        }

        /** Restricts the accepted dtypes. */
        public Builder optDataTypes(DataType... types) {
            dataTypes.clear();
            dataTypes.addAll(Arrays.asList(types));
            return this;
        }

        /** Units description. */
        public Builder optUnits(String units) {
            this.units = units;
            return this;
        }

        /** Whether the model returns forces (default true). */
        public Builder optForces(boolean forces) {
            this.forces = forces;
            return this;
        }

        /** Whether the model returns stress (default false). */
        public Builder optStress(boolean stress) {
            this.stress = stress;
            return this;
        }

        /** Source or citation. */
        public Builder optCitation(String citation) {
            this.citation = citation;
            return this;
        }

        /** Builds the metadata. */
        public PotentialMetadata build() {
            return new PotentialMetadata(this);
        }
    }
}
