"""Batched periodic-image pair geometry shared by the zoo's pair potentials.

All systems of a batch are concatenated (``positions [N,3]``, ``batch [N]``); this module builds a
padded per-system view ``[B, M, 3]`` and loops over the lattice translations needed so that every
pair closer than the cutoff is seen, also when a cell is smaller than twice the cutoff.
"""
from typing import List, Tuple

import torch


@torch.jit.script
def padded_view(positions: torch.Tensor, batch: torch.Tensor, n_systems: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Scatter flat positions [N,3] into a zero-padded [B, M, 3] view and its validity mask [B, M]."""
    n_atoms = positions.shape[0]
    counts = torch.bincount(batch, minlength=n_systems)
    max_atoms = int(counts.max().item())
    starts = torch.cumsum(counts, 0) - counts
    local = torch.arange(n_atoms, device=positions.device) - starts[batch]
    padded = positions.new_zeros((n_systems, max_atoms, 3)).index_put((batch, local), positions)
    valid = torch.zeros((n_systems, max_atoms), dtype=torch.bool, device=positions.device)
    valid = valid.index_put((batch, local), torch.ones_like(batch, dtype=torch.bool))
    return padded, valid


@torch.jit.script
def image_counts(cell: torch.Tensor, pbc: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Number of lattice translations needed along each periodic axis, [B, 3] (0 on open axes).

    Along axis i the spacing between lattice planes is 1 / |b_i| with b_i the i-th reciprocal
    vector (column i of inv(cell)); images up to ceil(cutoff / spacing) cover the cutoff sphere.
    """
    eye = torch.eye(3, dtype=cell.dtype, device=cell.device).expand_as(cell)
    # Open axes get a unit vector so the cell stays invertible; their count is zeroed below.
    safe_cell = torch.where(pbc.unsqueeze(-1), cell, eye)
    reciprocal_norms = torch.linalg.inv(safe_cell).pow(2).sum(dim=1).sqrt()  # column norms -> [B, 3]
    counts = torch.ceil(cutoff * reciprocal_norms).to(torch.long)
    return torch.where(pbc, counts, torch.zeros_like(counts))


@torch.jit.script
def translations(max_counts: List[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """All integer lattice translations within +-max_counts, [S, 3], the zero translation first."""
    axes = [torch.arange(-n, n + 1, dtype=dtype, device=device) for n in max_counts]
    grid = torch.cartesian_prod(axes[0], axes[1], axes[2]).reshape(-1, 3)
    is_zero = (grid == 0).all(dim=1)
    return torch.cat([grid[is_zero], grid[~is_zero]], dim=0)
