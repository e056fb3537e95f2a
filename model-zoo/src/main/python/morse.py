"""Morse pair potential for cubic metals, exported to TorchScript for the JVM.

E = 1/2 sum_{i != j} D [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))], shifted to zero at the cutoff,
with the parameters of L. A. Girifalco and V. G. Weizer, "Application of the Morse potential function
to cubic metals", Phys. Rev. 114, 687 (1959), Table I.

Native convention (see model-zoo/README.md); analytic pair derivative.
"""
from typing import Dict, Tuple

import torch

from pair_geometry import edge_forces_and_stress, edge_vectors

# element: (D [eV], alpha [1/A], r0 [A]) from Girifalco & Weizer (1959).
PARAMETERS: Dict[str, Tuple[float, float, float]] = {
    "Cu": (0.3429, 1.3588, 2.866),
    "Ag": (0.3323, 1.3690, 3.115),
    "Au": (0.4751, 1.5830, 3.024),
    "Ni": (0.4205, 1.4199, 2.780),
    "Al": (0.2703, 1.1646, 3.253),
    "Pb": (0.2348, 1.1836, 3.733),
}


class Morse(torch.nn.Module):
    def __init__(self, depth: float, alpha: float, r0: float, cutoff: float):
        super().__init__()
        self.depth = depth
        self.alpha = alpha
        self.r0 = r0
        self.cutoff = cutoff
        e = torch.exp(torch.tensor(-alpha * (cutoff - r0), dtype=torch.float64)).item()
        self.energy_shift = depth * (e * e - 2.0 * e)

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vectors = edge_vectors(positions, batch, cell, edge_index, shifts)
        r = (vectors * vectors).sum(-1).clamp_min(1e-12).sqrt()
        inside = r < self.cutoff
        safe_r = torch.where(inside, r, torch.full_like(r, self.cutoff))
        e = torch.exp(-self.alpha * (safe_r - self.r0))
        zero = torch.zeros_like(r)
        energy = torch.where(inside, 0.5 * (self.depth * (e * e - 2.0 * e) - self.energy_shift), zero)
        de_dr = torch.where(inside, 0.5 * self.depth * (-2.0 * self.alpha) * (e * e - e), zero)
        gradient = vectors * (de_dr / safe_r).unsqueeze(1)
        return edge_forces_and_stress(energy, gradient, vectors, edge_index, batch, cell, pbc, positions.shape[0])
