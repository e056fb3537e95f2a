"""Lennard-Jones pair potential for batched systems, exported to TorchScript for the JVM.

E = sum_{i<j, r_ij < rc} 4 eps [(sigma/r)^12 - (sigma/r)^6] - E_shift, with the pair energy shifted
to zero at the cutoff (ASE's ``LennardJones(smooth=False)`` default and LAMMPS' ``pair_modify shift
yes``). Defaults are argon: eps = 0.0104 eV, sigma = 3.405 A, rc = 8.5 A.

Interface (the zoo's native potential convention, see model-zoo/README.md):
    forward(positions [N,3], atomic_numbers [N] int64, batch [N] int64, cell [B,3,3], pbc [B,3] bool)
        -> (energy [B] eV, forces [N,3] eV/A, stress [B,3,3] eV/A^3)
Stress is the virial stress (1/V) dE/d(strain); zero for systems that are not periodic on all axes.
"""
from typing import List, Tuple

import torch

from pair_geometry import image_counts, padded_view, translations


class LennardJones(torch.nn.Module):
    def __init__(self, epsilon: float = 0.0104, sigma: float = 3.405, cutoff: float = 8.5):
        super().__init__()
        self.epsilon = epsilon
        self.sigma = sigma
        self.cutoff = cutoff
        sr6 = (sigma / cutoff) ** 6
        self.energy_shift = 4.0 * epsilon * (sr6 * sr6 - sr6)

    def energy(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
               cell: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
        """Energy per system [B] in eV; differentiable in positions and cell."""
        n_systems = cell.shape[0]
        padded, valid = padded_view(positions, batch, n_systems)
        counts = image_counts(cell.detach(), pbc, self.cutoff)  # [B, 3]
        max_counts: List[int] = counts.max(dim=0).values.tolist()
        shifts = translations(max_counts, positions.dtype, positions.device)  # [S, 3]
        pair_valid = valid.unsqueeze(2) & valid.unsqueeze(1)  # [B, M, M]
        not_self = ~torch.eye(padded.shape[1], dtype=torch.bool, device=positions.device).unsqueeze(0)
        cutoff2 = self.cutoff * self.cutoff
        energy = positions.new_zeros(n_systems)
        for s in range(shifts.shape[0]):
            shift = shifts[s]
            # A translation applies to a system only within that system's own image counts.
            applies = (shift.abs().unsqueeze(0) <= counts.to(shift.dtype)).all(dim=1)  # [B]
            offset = torch.einsum("k,bkj->bj", shift, cell)  # [B, 3]
            delta = padded.unsqueeze(1) + offset[:, None, None, :] - padded.unsqueeze(2)  # r_j + T - r_i
            r2 = (delta * delta).sum(-1)  # [B, M, M]
            mask = pair_valid & (r2 < cutoff2) & applies[:, None, None]
            if s == 0:
                mask = mask & not_self
            safe_r2 = torch.where(mask, r2, torch.ones_like(r2))
            sr6 = (self.sigma * self.sigma / safe_r2) ** 3
            pair = 4.0 * self.epsilon * (sr6 * sr6 - sr6) - self.energy_shift
            # Each pair is seen from both ends: count half of it each time.
            energy = energy + 0.5 * torch.where(mask, pair, torch.zeros_like(pair)).sum(dim=(1, 2))
        return energy

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        positions = positions.detach().requires_grad_(True)
        # Homogeneous strain applied to positions and cell: dE/d(strain) is the virial.
        strain = torch.zeros_like(cell).requires_grad_(True)
        deform = torch.eye(3, dtype=cell.dtype, device=cell.device) + strain
        strained_positions = torch.bmm(positions.unsqueeze(1), deform[batch]).squeeze(1)
        strained_cell = torch.bmm(cell, deform)
        energy = self.energy(strained_positions, atomic_numbers, batch, strained_cell, pbc)
        grads = torch.autograd.grad([energy.sum()], [positions, strain])
        forces = grads[0]
        virial = grads[1]
        if forces is None or virial is None:
            raise RuntimeError("autograd returned no gradient")
        volume = torch.linalg.det(cell).abs()
        periodic = pbc.all(dim=1)
        safe_volume = torch.where(periodic, volume, torch.ones_like(volume))
        stress = virial / safe_volume[:, None, None]
        stress = torch.where(periodic[:, None, None], stress, torch.zeros_like(stress))
        return energy.detach(), -forces, stress.detach()


class EnergyOnly(torch.nn.Module):
    """Wraps a potential so that forward returns energies only: forces then come from Java autograd."""

    def __init__(self, potential: LennardJones):
        super().__init__()
        self.potential = potential

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
        return self.potential.energy(positions, atomic_numbers, batch, cell, pbc)
