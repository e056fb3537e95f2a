package org.fusedstage.data;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Structures held in memory. A structure without a sample id gets {@code "sample-<index>"};
 * duplicate ids are refused.
 */
public final class InMemoryDataset implements Dataset {

    private final ImmutableList<AtomicSystem> systems;

    /** Wraps the structures, assigning ids where missing. */
    public InMemoryDataset(List<AtomicSystem> systems) {
        List<AtomicSystem> withIds = new ArrayList<>(systems.size());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < systems.size(); i++) {
            AtomicSystem s = systems.get(i);
            if (s.sampleId().isEmpty()) {
                s = s.toBuilder().optSampleId("sample-" + i).build();
            }
            String id = s.sampleId().orElseThrow();
            Preconditions.checkArgument(seen.add(id), "duplicate sample id '%s' (structure %s)", id, i);
            withIds.add(s);
        }
        this.systems = ImmutableList.copyOf(withIds);
    }

    @Override
    public int size() {
        return systems.size();
    }

    @Override
    public String id(int index) {
        return systems.get(index).sampleId().orElseThrow();
    }

    @Override
    public int atomCount(int index) {
        return systems.get(index).size();
    }

    @Override
    public AtomicSystem get(int index) {
        return systems.get(index);
    }
}
