package org.fusedstage.dynamics;

import java.util.Map;
import java.util.ServiceLoader;
import org.fusedstage.data.Batch;

/**
 * A whole chain's step as one compiled module call ({@code FusedStage.Builder.optCompileStep}).
 * The {@code compile} package provides it; FusedStage finds it through {@link ServiceLoader}
 * ({@link Loader}), so {@code dynamics} does not depend on {@code compile} (which depends on it).
 */
public interface CompiledStep extends AutoCloseable {

    /** Runs one step of every sample in {@code batch}: forward pass, stage updates, criteria, migration. */
    void step(Batch batch);

    /** A compiled step for another chain of the same potential that shares this one's loaded module. */
    CompiledStep sharedWith(ChainPlan plan);

    @Override
    void close();

    /** Makes compiled steps; registered in {@code META-INF/services}. */
    interface Loader {
        /**
         * Loads the compiled step of a chain.
         *
         * @throws IllegalArgumentException naming a stage, criterion, option or file that has no compiled form
         * @throws Exception if the module cannot be loaded
         */
        CompiledStep load(ChainPlan plan, Map<String, String> options) throws Exception;
    }

    /** The compiled step of {@code plan} from the first {@link Loader} on the class path. */
    static CompiledStep load(ChainPlan plan, Map<String, String> options) throws Exception {
        Loader loader = ServiceLoader.load(Loader.class, CompiledStep.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new IllegalStateException("compileStep: no compiled step on the class path "
                        + "(the compile package registers one in META-INF/services)"));
        return loader.load(plan, options);
    }
}
