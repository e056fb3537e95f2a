"""Small Lennard-Jones models that follow the interfaces of deployed MLIP TorchScript files, so the
library's adapters can be tested without third-party weights. They are test fixtures, not
potentials of those projects.

* ``NequipStyleLennardJones``: the NequIP/Allegro deployment convention: ``forward(data: Dict[str, Tensor])
  -> Dict[str, Tensor]`` with inputs ``pos, edge_index, edge_cell_shift, cell, pbc, atom_types, batch`` and
  outputs ``total_energy [B,1], forces [N,3], stress [B,3,3]``; metadata in TorchScript extra files
  (``nequip_version``, ``r_max``, ``type_names``, ``model_dtype``).
* ``MaceLammpsStyleLennardJones``: the MACE LAMMPS-export convention: ``forward(data: Dict[str, Tensor],
  local_or_ghost: Tensor, compute_virials: bool = False) -> Dict[str, Optional[Tensor]]`` with inputs
  ``positions, node_attrs (one-hot), edge_index, shifts (Cartesian), unit_shifts, cell, batch, ptr`` and outputs
  ``total_energy_local [B], node_energy [N], forces [N,3], virials [B,3,3]``.
"""
from typing import Dict, Optional

import torch

from lennard_jones import LennardJones
from pair_geometry import cell_volume, sum_into


class NequipStyleLennardJones(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lj = LennardJones()

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        pos = data["pos"]
        edge_index = data["edge_index"]
        batch = data["batch"]
        cell = data["cell"].reshape(-1, 3, 3)
        shifts = data["edge_cell_shift"]
        energy, forces, stress = self.lj(pos, data["atom_types"], batch, cell, data["pbc"].reshape(-1, 3),
                                         edge_index, shifts)
        return {"total_energy": energy.unsqueeze(1), "forces": forces, "stress": stress}


class MaceLammpsStyleLennardJones(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lj = LennardJones()
        self.register_buffer("atomic_numbers", torch.tensor([18], dtype=torch.int64))
        self.register_buffer("r_max", torch.tensor(8.5, dtype=torch.float64))

    def forward(self, data: Dict[str, torch.Tensor], local_or_ghost: torch.Tensor,
                compute_virials: bool = False) -> Dict[str, Optional[torch.Tensor]]:
        positions = data["positions"]
        edge_index = data["edge_index"]
        batch = data["batch"]
        n_graphs = data["ptr"].numel() - 1
        vectors = positions[edge_index[1]] - positions[edge_index[0]] + data["shifts"]
        energy_per_edge, gradient = self.lj.edge_energy_and_gradient(vectors)
        node_energy = sum_into(edge_index[0], energy_per_edge, positions.shape[0])
        energy = sum_into(batch, node_energy * local_or_ghost, n_graphs)
        forces = sum_into(edge_index[0], gradient, positions.shape[0]) - sum_into(edge_index[1], gradient, positions.shape[0])
        virials = -sum_into(batch[edge_index[0]], (vectors.unsqueeze(2) * gradient.unsqueeze(1)).reshape(-1, 9),
                            n_graphs).reshape(-1, 3, 3)
        return {"total_energy_local": energy, "node_energy": node_energy, "forces": forces, "virials": virials}
