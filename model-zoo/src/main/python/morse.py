"""Morse pair potential for cubic metals, exported to TorchScript for the JVM.

E = 1/2 sum_{i != j} D [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))], shifted to zero at the cutoff,
with the parameters of L. A. Girifalco and V. G. Weizer, "Application of the Morse potential function
to cubic metals", Phys. Rev. 114, 687 (1959), Table I.

Interface native-half-list (each pair once, cartesian translations; see model-zoo/README.md and
pair_geometry.HalfListPairPotential); analytic pair derivative.
"""
from typing import Dict, Tuple

import torch

from pair_geometry import HalfListPairPotential

# element: (D [eV], alpha [1/A], r0 [A]) from Girifalco & Weizer (1959).
PARAMETERS: Dict[str, Tuple[float, float, float]] = {
    "Cu": (0.3429, 1.3588, 2.866),
    "Ag": (0.3323, 1.3690, 3.115),
    "Au": (0.4751, 1.5830, 3.024),
    "Ni": (0.4205, 1.4199, 2.780),
    "Al": (0.2703, 1.1646, 3.253),
    "Pb": (0.2348, 1.1836, 3.733),
}


class Morse(HalfListPairPotential):
    def __init__(self, depth: float, alpha: float, r0: float, cutoff: float):
        super().__init__(cutoff)
        self.depth = depth
        self.alpha = alpha
        self.r0 = r0
        e = torch.exp(torch.tensor(-alpha * (cutoff - r0), dtype=torch.float64)).item()
        self.energy_shift = depth * (e * e - 2.0 * e)

    def pair_terms(self, r2: torch.Tensor, inside: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        r = r2.sqrt()
        e = torch.exp((r - self.r0) * -self.alpha)
        energy = (self.depth * (e * e - 2.0 * e) - self.energy_shift) * inside
        # c = (dE/dr) / r with dE/dr = D (-2 alpha) (e^2 - e)
        coefficient = (self.depth * -2.0 * self.alpha) * (e * e - e) / r * inside
        return energy, coefficient
