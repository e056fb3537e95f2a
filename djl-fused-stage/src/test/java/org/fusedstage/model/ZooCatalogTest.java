package org.fusedstage.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ZooCatalogTest {

    @Test
    void listsEveryZooModelWithItsMetadata() {
        Map<String, PotentialMetadata> models = ZooCatalog.list();
        assertEquals(org.fusedstage.zoo.FusedStageModelZoo.modelIds(), java.util.List.copyOf(models.keySet()));
        assertEquals(8.5, models.get("lennard-jones").cutoff());
        assertEquals(2.5 * 3.61, models.get("sutton-chen-cu").cutoff(), 1e-12);
        assertTrue(models.get("sutton-chen-cu").citation().contains("Sutton"));
        assertEquals(ModelInterface.NEQUIP, models.get("nequip-interface-test").modelInterface());
        String table = ZooCatalog.table();
        assertTrue(table.contains("morse-cu") && table.contains("Girifalco"), table);
    }
}
