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
def sum_into(index: torch.Tensor, values: torch.Tensor, size: int) -> torch.Tensor:
    """out[k] = sum of values[e] with index[e] == k, out has ``size`` rows.

    scatter_add rather than index_add: on CPU torch's index_add is about ten times slower.
    """
    if values.dim() == 1:
        return torch.zeros(size, dtype=values.dtype, device=values.device).scatter_add(0, index, values)
    expanded = index.unsqueeze(1).expand(values.shape[0], values.shape[1])
    return torch.zeros((size, values.shape[1]), dtype=values.dtype, device=values.device).scatter_add(0, expanded, values)


@torch.jit.script
def stress_from_virial(virial: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
    """Stress [B,3,3] = virial (sum over edges of d (x) dE/dd) / volume, zero for systems not
    periodic on all axes."""
    volume = cell_volume(cell)
    periodic = pbc.all(dim=1)
    safe_volume = torch.where(periodic, volume, torch.ones_like(volume))
    stress = virial / safe_volume[:, None, None]
    return torch.where(periodic[:, None, None], stress, torch.zeros_like(stress))


@torch.jit.script
def edge_forces_and_stress(energy_per_edge: torch.Tensor, gradient: torch.Tensor, vectors: torch.Tensor,
                           edge_index: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor,
                           n_atoms: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Energy per system, forces and stress from per-edge energies and their gradients g = dE/dd.

    d = r_j - r_i (+T), so dE/dr_j = g, dE/dr_i = -g and F = -dE/dr. The virial is
    sum_edges d (x) g per system, the stress that over the volume (zero for systems not periodic on
    all axes).
    """
    n_systems = cell.shape[0]
    i = edge_index[0]
    j = edge_index[1]
    system_of_edge = batch[i]
    energy = sum_into(system_of_edge, energy_per_edge, n_systems)
    forces = sum_into(i, gradient, n_atoms) - sum_into(j, gradient, n_atoms)
    virial = sum_into(system_of_edge, (vectors.unsqueeze(2) * gradient.unsqueeze(1)).reshape(-1, 9), n_systems)
    return energy, forces, stress_from_virial(virial.reshape(n_systems, 3, 3), cell, pbc)


@torch.jit.script
def edge_gradient(energy_per_edge: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """g = dE/dd by autograd, for potentials without an analytic derivative."""
    grads = torch.autograd.grad([energy_per_edge.sum()], [vectors], allow_unused=True)
    g = grads[0]
    if g is None:
        g = torch.zeros_like(vectors)
    return g


@torch.jit.script
def cosine_taper(r: torch.Tensor, inner: float, outer: float) -> torch.Tensor:
    """1 below ``inner``, 0 beyond ``outer``, 0.5 (1 + cos(pi x)) in between: energies and forces
    stay continuous at the cutoff, so MD conserves energy."""
    x = ((r - inner) / (outer - inner)).clamp(0.0, 1.0)
    return 0.5 * (1.0 + torch.cos(x * 3.141592653589793))
