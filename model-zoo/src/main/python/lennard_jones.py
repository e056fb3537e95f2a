"""Lennard-Jones pair potential for batched systems, exported to TorchScript for the JVM.

E = 1/2 sum_{i != j, r_ij < rc} 4 eps [(sigma/r)^12 - (sigma/r)^6] - E_shift, with the pair energy
shifted to zero at the cutoff (ASE's ``LennardJones(smooth=False)`` and LAMMPS' ``pair_modify
shift yes``). Defaults are argon: eps = 0.0104 eV, sigma = 3.405 A, rc = 8.5 A.

Two interfaces (see model-zoo/README.md):

``LennardJones`` follows the zoo's native convention:
    forward(positions [N,3], atomic_numbers [N] int64, batch [N] int64, cell [B,3,3], pbc [B,3] bool,
            edge_index [2,E] int64, shifts [E,3])
        -> (energy [B] eV, forces [N,3] eV/A, stress [B,3,3] eV/A^3)
with both directions of every pair (a full list, possibly out to cutoff + skin). The NequIP/MACE
interface fixtures and the energy-only export build on it.

``LennardJonesHalfList`` (the zoo's ``lennard-jones``) follows the native-half-list convention: the
same inputs, but every pair appears once and the last input is each edge's cartesian translation
[3,E] in A (component-major), computed by the library once per neighbor-list build. Half the edges,
no per-edge cell gather and one-dimensional gathers/scatters make its forward about five times
faster than the full-list form on a CPU (BENCHMARKS.md).

Forces and stress use the analytic pair derivative; the energy-only export differentiates the same
energy expression by autograd from Java, which the tests compare.
"""
from typing import Tuple

import torch

from pair_geometry import HalfListPairPotential, edge_forces_and_stress, edge_vectors, sum_into


class LennardJones(torch.nn.Module):
    def __init__(self, epsilon: float = 0.0104, sigma: float = 3.405, cutoff: float = 8.5):
        super().__init__()
        self.epsilon = epsilon
        self.sigma = sigma
        self.cutoff = cutoff
        sr6 = (sigma / cutoff) ** 6
        self.energy_shift = 4.0 * epsilon * (sr6 * sr6 - sr6)

    def edge_energy_and_gradient(self, vectors: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Half the shifted pair energy of each ordered edge (each pair appears twice; 0 beyond rc) and
        its analytic gradient with respect to the edge vector: de/dd = 2 d de/dr2 with
        de/dr2 = 0.5 * 4 eps (-6 sr12 + 3 sr6) / r2."""
        r2 = (vectors * vectors).sum(-1)
        inside = r2 < self.cutoff * self.cutoff
        safe_r2 = torch.where(inside, r2, torch.full_like(r2, self.cutoff * self.cutoff))
        sr6 = (self.sigma * self.sigma / safe_r2) ** 3
        sr12 = sr6 * sr6
        zero = torch.zeros_like(r2)
        energy = torch.where(inside, 2.0 * self.epsilon * (sr12 - sr6) - 0.5 * self.energy_shift, zero)
        de_dr2 = torch.where(inside, 2.0 * self.epsilon * (3.0 * sr6 - 6.0 * sr12) / safe_r2, zero)
        return energy, vectors * (2.0 * de_dr2).unsqueeze(1)

    def edge_energy(self, vectors: torch.Tensor) -> torch.Tensor:
        return self.edge_energy_and_gradient(vectors)[0]

    def energy(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
               cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """Energy per system [B] in eV, differentiable in positions (for the energy-only export)."""
        vectors = edge_vectors(positions, batch, cell, edge_index, shifts)
        return sum_into(batch[edge_index[0]], self.edge_energy(vectors), cell.shape[0])

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vectors = edge_vectors(positions, batch, cell, edge_index, shifts)
        energy, gradient = self.edge_energy_and_gradient(vectors)
        return edge_forces_and_stress(energy, gradient, vectors, edge_index, batch, cell, pbc, positions.shape[0])


class EnergyOnly(torch.nn.Module):
    """Wraps a potential so that forward returns energies only: forces then come from Java autograd."""

    def __init__(self, potential: LennardJones):
        super().__init__()
        self.potential = potential

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        return self.potential.energy(positions, atomic_numbers, batch, cell, pbc, edge_index, shifts)


class LennardJonesHalfList(HalfListPairPotential):
    """The same potential over a half neighbor list with cartesian translations (see the module doc)."""

    def __init__(self, epsilon: float = 0.0104, sigma: float = 3.405, cutoff: float = 8.5):
        super().__init__(cutoff)
        self.epsilon = epsilon
        self.sigma = sigma
        sr6 = (sigma / cutoff) ** 6
        self.energy_shift = 4.0 * epsilon * (sr6 * sr6 - sr6)

    def pair_terms(self, r2: torch.Tensor, inside: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # With x = 1/r2^3: E = 4 eps (s12 x^2 - s6 x) - shift and c = 2 dE/dr2 = (24 eps s6 x - 48 eps s12 x^2) / r2
        # (s6 = sigma^6, s12 = sigma^12), each as a scaled term plus one addcmul: every operation
        # here is a pass over all edges, and on a CPU the forward is bound by those passes (15
        # before, 10 now; the forward at CLI-sized batches ~10 % faster, BENCHMARKS.md).
        s6 = self.sigma ** 6
        inverse = r2.reciprocal()
        x = inverse * inverse * inverse
        x_inside = x * inside
        energy = torch.addcmul(inside * (-self.energy_shift), x_inside, x, value=4.0 * self.epsilon * s6 * s6)
        energy = torch.add(energy, x_inside, alpha=-4.0 * self.epsilon * s6)
        w = x_inside * inverse
        coefficient = torch.addcmul(w * (24.0 * self.epsilon * s6), w, x, value=-48.0 * self.epsilon * s6 * s6)
        return energy, coefficient
