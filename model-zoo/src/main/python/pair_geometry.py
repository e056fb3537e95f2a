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


class HalfListPairPotential(torch.nn.Module):
    """Forward of a pair potential over a half neighbor list (interface ``native-half-list``).

    Inputs as the native convention, but every pair appears once and the last input is each edge's
    cartesian translation [3,E] in A. Pair potentials give ``pair_terms(r2, inside)``: the pair
    energy (eV, zero where ``inside`` is 0) and the coefficient c with dE_pair/dd = c d
    (c = (dE/dr) / r). Many-body potentials whose forces are still central pair forces (EAM,
    Finnis-Sinclair) override ``edge_terms`` instead (which also gets the atomic numbers, for
    multi-element tables): energy per system and c per edge.
    Works on separate x, y, z rows: one-dimensional index_select and scatter_add are several times
    faster on a CPU than their [E,3] forms, and sums over components become plain additions.
    """

    def __init__(self, cutoff: float):
        super().__init__()
        self.cutoff = cutoff

    def pair_terms(self, r2: torch.Tensor, inside: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("pair_terms")

    def edge_terms(self, r2: torch.Tensor, inside: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
                   system_of_edge: torch.Tensor, batch: torch.Tensor, atomic_numbers: torch.Tensor, n_atoms: int,
                   n_systems: int) -> Tuple[torch.Tensor, torch.Tensor]:
        pair_energy, coefficient = self.pair_terms(r2, inside)
        energy = torch.zeros(n_systems, dtype=r2.dtype, device=r2.device).scatter_add_(0, system_of_edge, pair_energy)
        return energy, coefficient

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                translation: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        energy, forces, dx, dy, dz, gx, gy, gz, system_of_edge = self.pair_forces(positions, atomic_numbers, batch, cell,
                                                                                 edge_index, translation)
        # Virial W = sum over pairs d (x) g, symmetric for central forces: six sums per
        # system, each scattered by the edge's system directly (no per-component index arithmetic).
        n_systems = cell.shape[0]
        parts = [torch.zeros(n_systems, dtype=dx.dtype, device=dx.device).scatter_add_(0, system_of_edge, value)
                 for value in [dx * gx, dx * gy, dx * gz, dy * gy, dy * gz, dz * gz]]
        virial = torch.stack([parts[0], parts[1], parts[2], parts[1], parts[3], parts[4], parts[2], parts[4], parts[5]],
                             1).reshape(n_systems, 3, 3)
        return energy, forces, stress_from_virial(virial, cell, pbc)

    @torch.jit.export
    def energy_forces(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                      cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                      translation: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(energy, forces) without the stress: the virial's six per-system sums over the edges cost
        about a third of the forward, and relaxations at fixed cell and MD at fixed volume read none."""
        energy, forces, dx, dy, dz, gx, gy, gz, system_of_edge = self.pair_forces(positions, atomic_numbers, batch, cell,
                                                                                 edge_index, translation)
        return energy, forces

    def pair_forces(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor,
                    edge_index: torch.Tensor, translation: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                        torch.Tensor]:
        """Energy per system, forces, the edge vectors' rows dx, dy, dz, the gradient rows g = dE/dd
        and each edge's system."""
        n_atoms = positions.shape[0]
        n_systems = cell.shape[0]
        i = edge_index[0]
        j = edge_index[1]
        columns = positions.t().contiguous()
        shift = translation.contiguous()
        dx = columns[0].index_select(0, j) - columns[0].index_select(0, i) + shift[0]
        dy = columns[1].index_select(0, j) - columns[1].index_select(0, i) + shift[1]
        dz = columns[2].index_select(0, j) - columns[2].index_select(0, i) + shift[2]
        r2 = dx * dx + dy * dy + dz * dz
        # A 0/1 mask rather than torch.where (several times slower on a CPU). Pairs beyond the
        # cutoff (kept by the skin) are at least rc apart, so their terms stay finite.
        inside = (r2 < self.cutoff * self.cutoff).to(r2.dtype)
        system_of_edge = batch.index_select(0, i)
        energy, coefficient = self.edge_terms(r2, inside, i, j, system_of_edge, batch, atomic_numbers, n_atoms, n_systems)
        # F_i = +g (the edge vector points from i to j), F_j = -g: the two sums are taken apart and
        # subtracted per atom, which spares negating g over every edge.
        gx = dx * coefficient
        gy = dy * coefficient
        gz = dz * coefficient
        components = []
        for g in [gx, gy, gz]:
            on_i = torch.zeros(n_atoms, dtype=r2.dtype, device=r2.device).scatter_add_(0, i, g)
            on_j = torch.zeros(n_atoms, dtype=r2.dtype, device=r2.device).scatter_add_(0, j, g)
            components.append(on_i - on_j)
        return energy, torch.stack(components, 1), dx, dy, dz, gx, gy, gz, system_of_edge
