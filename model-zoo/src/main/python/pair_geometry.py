"""Edge geometry shared by the zoo's potentials.

Potentials receive a neighbor list built by the library (``edge_index [2,E]`` int64 with rows
(i, j), integer lattice translations ``shifts [E,3]``) that may include pairs out to cutoff + skin;
edge vectors are d = r_j - r_i + shift . cell, and pairs beyond the cutoff must contribute zero.
"""
from typing import Tuple

import torch


@torch.jit.script
def cell_volume(cell: torch.Tensor) -> torch.Tensor:
    """|a0 . (a1 x a2)| per system, [B] (a triple product: LAPACK's det is slow for 3x3 blocks)."""
    return (cell[:, 0] * torch.cross(cell[:, 1], cell[:, 2], dim=1)).sum(dim=1).abs()


@torch.jit.script
def edge_vectors(positions: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor, edge_index: torch.Tensor,
                 shifts: torch.Tensor) -> torch.Tensor:
    """d = r_j - r_i + shift . cell[system of i], [E, 3]."""
    i = edge_index[0]
    j = edge_index[1]
    translation = torch.bmm(shifts.unsqueeze(1), cell[batch[i]]).squeeze(1)
    return positions[j] - positions[i] + translation


@torch.jit.script
def edge_forces_and_stress(energy_per_edge: torch.Tensor, vectors: torch.Tensor, edge_index: torch.Tensor,
                           batch: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor,
                           n_atoms: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Energy per system, forces and stress from per-edge energies that depend on edge vectors only.

    One autograd pass gives g = dE/dd per edge; d = r_j - r_i (+T) so dE/dr_j = g, dE/dr_i = -g and
    F = -dE/dr. The virial is sum_edges d (x) g per system, the stress that over the volume (zero for
    systems not periodic on all axes).
    """
    n_systems = cell.shape[0]
    i = edge_index[0]
    j = edge_index[1]
    system_of_edge = batch[i]
    energy = torch.zeros(n_systems, dtype=vectors.dtype, device=vectors.device).index_add(0, system_of_edge, energy_per_edge)
    grads = torch.autograd.grad([energy_per_edge.sum()], [vectors], allow_unused=True)
    g = grads[0]
    if g is None:
        g = torch.zeros_like(vectors)
    forces = torch.zeros((n_atoms, 3), dtype=vectors.dtype, device=vectors.device)
    forces = forces.index_add(0, i, g).index_add(0, j, -g)
    virial = torch.zeros((n_systems, 9), dtype=vectors.dtype, device=vectors.device)
    virial = virial.index_add(0, system_of_edge, (vectors.unsqueeze(2) * g.unsqueeze(1)).reshape(-1, 9))
    volume = cell_volume(cell)
    periodic = pbc.all(dim=1)
    safe_volume = torch.where(periodic, volume, torch.ones_like(volume))
    stress = virial.reshape(n_systems, 3, 3) / safe_volume[:, None, None]
    stress = torch.where(periodic[:, None, None], stress, torch.zeros_like(stress))
    return energy.detach(), forces.detach(), stress.detach()
