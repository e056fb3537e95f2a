package org.fusedstage.model;

import java.util.Locale;

/** The calling conventions of TorchScript potentials that {@link TorchScriptPotential} adapts. */
public enum ModelInterface {
    /**
     * The zoo's own: {@code forward(positions, atomic_numbers, batch, cell, pbc, edge_index, shifts)
     * -> (energy [B], forces [N,3][, stress [B,3,3]])} or {@code -> energy [B]}.
     */
    NATIVE("native forward(positions [N,3], atomic_numbers [N], batch [N], cell [B,3,3], pbc [B,3], "
            + "edge_index [2,E], shifts [E,3]) -> (energy [B], forces [N,3][, stress [B,3,3]]) or energy [B]"),
    /**
     * The native inputs over a half neighbor list: every pair (and every periodic image of an atom
     * with itself) appears once, and the last input is each edge's cartesian translation
     * {@code [3,E]} in A (component-major: row k holds component k), so that the edge vector is
     * {@code r_j - r_i + translation[:, e]}. Half the edges and no per-edge cell arithmetic: the
     * fast form for pair potentials and EAM (the zoo's {@code lennard-jones}, {@code morse-*} and
     * {@code sutton-chen-*}).
     */
    NATIVE_HALF_LIST("native-half-list forward(positions [N,3], atomic_numbers [N], batch [N], cell [B,3,3], "
            + "pbc [B,3], edge_index [2,E] each pair once, translation [3,E] in A) -> (energy [B], forces [N,3]"
            + "[, stress [B,3,3]])"),
    /**
     * NequIP/Allegro deployments: {@code forward(Dict[str, Tensor]) -> Dict[str, Tensor]} with keys
     * {@code pos, edge_index, edge_cell_shift, cell, pbc, atom_types, batch} in and {@code total_energy,
     * forces[, stress]} out; {@code r_max} and {@code type_names} in the file's extra files.
     */
    NEQUIP("NequIP deployment forward(data: Dict[str, Tensor]) with pos, edge_index, edge_cell_shift, cell, pbc, "
            + "atom_types, batch -> Dict with total_energy, forces[, stress]; extra files r_max and type_names"),
    /**
     * MACE's LAMMPS export: {@code forward(Dict[str, Tensor] data, Tensor local_or_ghost)} with keys
     * {@code positions, node_attrs, edge_index, shifts, unit_shifts, cell, batch, ptr} in and
     * {@code total_energy_local, forces[, virials]} out. Cutoff and elements come from metadata.
     */
    MACE_LAMMPS("MACE LAMMPS export forward(data: Dict[str, Tensor], local_or_ghost) with positions, node_attrs, "
            + "edge_index, shifts, unit_shifts, cell, batch, ptr -> Dict with total_energy_local, forces[, virials]");

    private final String description;

    ModelInterface(String description) {
        this.description = description;
    }

    /** What the convention expects, for error messages. */
    public String description() {
        return description;
    }

    /** Parses "native", "native-half-list", "nequip" or "mace-lammps" (case-insensitive). */
    public static ModelInterface parse(String name) {
        String key = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        return switch (key) {
            case "native" -> NATIVE;
            case "native-half-list" -> NATIVE_HALF_LIST;
            case "nequip", "allegro" -> NEQUIP;
            case "mace-lammps", "mace" -> MACE_LAMMPS;
            default -> throw new IllegalArgumentException("unknown model interface '" + name
                    + "': expected native, native-half-list, nequip or mace-lammps");
        };
    }

    /** Whether the module takes the native positional inputs (either edge layout). */
    public boolean isNative() {
        return this == NATIVE || this == NATIVE_HALF_LIST;
    }

    /** All conventions, one per line, for error messages. */
    public static String expected() {
        StringBuilder sb = new StringBuilder();
        for (ModelInterface i : values()) {
            sb.append("\n  - ").append(i.description);
        }
        return sb.toString();
    }
}
