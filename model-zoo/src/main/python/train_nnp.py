"""Trains the zoo's demo neural-network potential ``nnp-demo-cu`` on Sutton-Chen copper.

Deterministic on a given machine (fixed seeds, one thread, float64). Writes the weights
(``model-zoo/src/main/python/weights/nnp_demo_cu.pt``, a state dict saved by this torch) and a
report with the training and test errors; ``export_models.py`` then builds the TorchScript file
from ``nnp.py`` and these weights. Run with Debian's python3-torch:
    python3 model-zoo/src/main/python/train_nnp.py
"""
import itertools
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nnp import MessagePassingPotential  # noqa: E402
from sutton_chen import PARAMETERS, SuttonChen  # noqa: E402

WEIGHTS = os.path.join(HERE, "weights", "nnp_demo_cu.pt")
REPORT = os.path.join(HERE, "weights", "nnp_demo_cu_report.json")
CU = 29


def fcc(a: float, reps: int) -> torch.Tensor:
    basis = torch.tensor([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]], dtype=torch.float64)
    cells = [torch.tensor(c, dtype=torch.float64) for c in itertools.product(range(reps), repeat=3)]
    return torch.cat([(basis + c) * a for c in cells])


def neighbor_pairs(positions: torch.Tensor, cell: torch.Tensor, radius: float):
    """Brute-force full pair list with integer shifts for one periodic structure."""
    n = positions.shape[0]
    reps = int(math.ceil(radius / cell[0, 0].item())) + 1
    i_all, j_all, s_all = [], [], []
    for s in itertools.product(range(-reps, reps + 1), repeat=3):
        shift = torch.tensor(s, dtype=torch.float64)
        d = positions[None, :, :] + shift @ cell - positions[:, None, :]
        ok = (d * d).sum(-1) < radius * radius
        if s == (0, 0, 0):
            ok &= ~torch.eye(n, dtype=torch.bool)
        i, j = torch.nonzero(ok, as_tuple=True)
        i_all.append(i)
        j_all.append(j)
        s_all.append(shift.expand(len(i), 3))
    return torch.stack([torch.cat(i_all), torch.cat(j_all)]), torch.cat(s_all)


def make_configurations(count: int, generator: torch.Generator, reference: SuttonChen):
    """Strained and rattled 32-atom Cu crystals labelled with Sutton-Chen energies and forces."""
    configs = []
    for k in range(count):
        a = 3.61 * (0.96 + 0.08 * torch.rand(1, generator=generator, dtype=torch.float64).item())
        rattle = 0.02 + 0.13 * torch.rand(1, generator=generator, dtype=torch.float64).item()
        positions = fcc(a, 2) + rattle * torch.randn(32, 3, generator=generator, dtype=torch.float64)
        cell = torch.eye(3, dtype=torch.float64) * 2 * a
        z = torch.full((32,), CU, dtype=torch.long)
        batch = torch.zeros(32, dtype=torch.long)
        pbc = torch.ones(1, 3, dtype=torch.bool)
        edges_ref, shifts_ref = neighbor_pairs(positions, cell, reference.cutoff)
        energy, forces, _ = reference(positions, z, batch, cell[None], pbc, edges_ref, shifts_ref)
        edges, shifts = neighbor_pairs(positions, cell, 5.0)
        configs.append((positions, z, batch, cell[None], pbc, edges, shifts, energy.detach(), forces.detach()))
    return configs


def loss_and_errors(model, configs, force_weight: float):
    total = torch.zeros((), dtype=torch.float64)
    e_err = 0.0
    f_err = 0.0
    for positions, z, batch, cell, pbc, edges, shifts, energy, forces in configs:
        pos = positions.clone().requires_grad_(True)
        vectors = pos[edges[1]] - pos[edges[0]] + shifts @ cell[0]
        e = model.atom_energies(vectors, edges, z).sum()
        f = -torch.autograd.grad(e, pos, create_graph=True)[0]
        de = (e - energy[0]) / positions.shape[0]
        total = total + 10.0 * de * de + force_weight * ((f - forces) ** 2).mean()
        e_err += abs(de.item())
        f_err += (f - forces).abs().mean().item()
    return total / len(configs), e_err / len(configs), f_err / len(configs)


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    generator = torch.Generator().manual_seed(1234)
    n, m, eps, c, a = PARAMETERS["Cu"]
    reference = SuttonChen(n, m, eps, c, a)
    train = make_configurations(48, generator, reference)
    test = make_configurations(16, generator, reference)
    model = MessagePassingPotential([CU])
    with torch.no_grad():
        mean_energy = sum(cfg[7][0].item() for cfg in train) / (32 * len(train))
        model.atomic_energy.fill_(mean_energy)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    epochs = 400
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss, e_mae, f_mae = loss_and_errors(model, train, force_weight=1.0)
        loss.backward()
        optimizer.step()
        if epoch == epochs // 2:
            for group in optimizer.param_groups:
                group["lr"] = 1e-3
        if epoch % 50 == 0 or epoch == epochs - 1:
            print("epoch %d loss %.3e energy MAE %.4f eV/atom force MAE %.4f eV/A" % (epoch, loss.item(), e_mae, f_mae))
    _, train_e, train_f = loss_and_errors(model, train, 1.0)
    _, test_e, test_f = loss_and_errors(model, test, 1.0)
    os.makedirs(os.path.dirname(WEIGHTS), exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS)
    report = {"reference": "zoo sutton-chen-cu (Sutton & Chen 1990, cut at 2.5 a)",
              "train_configurations": len(train), "test_configurations": len(test),
              "atoms_per_configuration": 32, "epochs": epochs,
              "train_energy_mae_ev_per_atom": round(train_e, 5), "train_force_mae_ev_per_a": round(train_f, 5),
              "test_energy_mae_ev_per_atom": round(test_e, 5), "test_force_mae_ev_per_a": round(test_f, 5),
              "torch_version": torch.__version__.split("+")[0]}
    with open(REPORT, "w") as out:
        json.dump(report, out, indent=2, sort_keys=True)
        out.write("\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
