package org.fusedstage.zoo;

import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooProvider;

/** Registers {@link FusedStageModelZoo} with DJL through {@link java.util.ServiceLoader}. */
public final class FusedStageZooProvider implements ZooProvider {

    @Override
    public String getName() {
        return FusedStageModelZoo.GROUP_ID;
    }

    @Override
    public ModelZoo getModelZoo() {
        return new FusedStageModelZoo();
    }
}
