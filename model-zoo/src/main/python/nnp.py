"""A small message-passing neural-network potential (SchNet-like), for demos.

Architecture: a learned embedding per element; Gaussian radial basis of the edge length with a
cosine cutoff; two interaction blocks (continuous filters from the radial basis, messages summed
over neighbors, a residual update); a per-atom readout summed per system. Forces and stress by
autograd with respect to the edge vectors, as MLIPs do.

The zoo's ``nnp-demo-cu`` is trained by ``train_nnp.py`` on copper configurations labelled by the
zoo's Sutton-Chen Cu potential: a demo of the MLIP workflow, not a general-purpose copper model.
"""
from typing import List, Tuple

import torch

from pair_geometry import cosine_taper, edge_forces_and_stress, edge_gradient, edge_vectors, sum_into


class MessagePassingPotential(torch.nn.Module):
    def __init__(self, elements: List[int], cutoff: float = 5.0, features: int = 16, basis: int = 12,
                 interactions: int = 2):
        super().__init__()
        self.cutoff = cutoff
        table = torch.full((119,), -1, dtype=torch.long)
        for index, z in enumerate(elements):
            table[z] = index
        self.register_buffer("type_of_z", table)
        self.embedding = torch.nn.Embedding(len(elements), features)
        self.register_buffer("centers", torch.linspace(0.5, cutoff, basis, dtype=torch.float64))
        self.width = (cutoff - 0.5) / basis
        self.filters = torch.nn.ModuleList([torch.nn.Linear(basis, features) for _ in range(interactions)])
        self.updates = torch.nn.ModuleList([torch.nn.Linear(features, features) for _ in range(interactions)])
        self.readout1 = torch.nn.Linear(features, features)
        self.readout2 = torch.nn.Linear(features, 1)
        # Per-element energy offset (eV), fitted with the network.
        self.atomic_energy = torch.nn.Parameter(torch.zeros(len(elements), dtype=torch.float64))

    def atom_energies(self, vectors: torch.Tensor, edge_index: torch.Tensor, atomic_numbers: torch.Tensor) -> torch.Tensor:
        types = self.type_of_z[atomic_numbers]
        h = self.embedding(types)
        r = (vectors * vectors).sum(-1).clamp_min(1e-12).sqrt()
        taper = torch.where(r < self.cutoff, cosine_taper(r, 0.0, self.cutoff), torch.zeros_like(r))
        rbf = torch.exp(-((r.unsqueeze(1) - self.centers) / self.width) ** 2) * taper.unsqueeze(1)
        i = edge_index[0]
        j = edge_index[1]
        for filt, update in zip(self.filters, self.updates):
            messages = filt(rbf) * h[j]
            h = h + torch.nn.functional.silu(update(sum_into(i, messages, h.shape[0])))
        out = self.readout2(torch.nn.functional.silu(self.readout1(h))).squeeze(1)
        return out + self.atomic_energy[types]

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vectors = edge_vectors(positions, batch, cell, edge_index, shifts).detach().requires_grad_(True)
        energy = sum_into(batch, self.atom_energies(vectors, edge_index, atomic_numbers), cell.shape[0])
        gradient = edge_gradient(energy, vectors)
        zero = torch.zeros(vectors.shape[0], dtype=vectors.dtype, device=vectors.device)
        _, forces, stress = edge_forces_and_stress(zero, gradient, vectors.detach(), edge_index, batch, cell, pbc,
                                                   positions.shape[0])
        return energy.detach(), forces, stress
