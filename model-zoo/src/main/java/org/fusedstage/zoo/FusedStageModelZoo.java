package org.fusedstage.zoo;

import ai.djl.repository.zoo.ModelZoo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The FusedStage model zoo: TorchScript interatomic potentials packaged in this jar, each built by
 * {@code model-zoo/src/main/python/export_models.py} from the Python sources beside it.
 *
 * <p>Load one through DJL with {@code Criteria.builder().optGroupId("org.fusedstage.zoo")
 * .optArtifactId("lennard-jones")} (the library's {@code TorchScriptPotential.fromZoo} does this).
 */
public final class FusedStageModelZoo extends ModelZoo {

    /** The group id of this zoo. */
    public static final String GROUP_ID = "org.fusedstage.zoo";

    /** Classpath folder holding one sub-folder per model and {@code index.txt}. */
    static final String RESOURCE_ROOT = "org/fusedstage/zoo/";

    /** Creates the zoo and registers every model listed in its index. */
    public FusedStageModelZoo() {
        for (String id : modelIds()) {
            addModel(new ClasspathModelLoader(GROUP_ID, id, RESOURCE_ROOT + id + "/"));
        }
    }

    /** The ids of the models in this zoo, from {@code index.txt}. */
    public static List<String> modelIds() {
        ClassLoader loader = FusedStageModelZoo.class.getClassLoader();
        try (InputStream in = loader.getResourceAsStream(RESOURCE_ROOT + "index.txt")) {
            if (in == null) {
                throw new IllegalStateException("model zoo index " + RESOURCE_ROOT + "index.txt is missing from the jar");
            }
            List<String> ids = new ArrayList<>();
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.isBlank()) {
                    ids.add(line.trim());
                }
            }
            return ids;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String getGroupId() {
        return GROUP_ID;
    }

    @Override
    public Set<String> getSupportedEngines() {
        return Set.of("PyTorch");
    }
}
