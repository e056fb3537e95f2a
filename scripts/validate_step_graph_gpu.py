"""Validates the exported compile_step graph on a CUDA device, in Python (no Java needed).

    python3 scripts/validate_step_graph_gpu.py [model-id]     (default: lennard-jones)

The batch is argon crystals, so the model must accept argon (the zoo's lennard-jones); full-list and
half-list (interface=native-half-list) models get their own neighbor lists. Without CUDA it runs the
CPU part only, which checks the inputs and the graph.

1. Runs the same FIRE -> Langevin chain for 60 steps on the CPU and on CUDA in float64 with the same
   random inputs and compares the trajectories (expected: equal to ~1e-10).
2. Measures steps/s and atom-steps/s of the step graph on CUDA in float32 and float64 for a batch of
   64 x 108-atom argon crystals.
Needs a CUDA-enabled torch (<= 2.7.1 to match DJL, or newer for this check only).
"""
import itertools
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "model-zoo", "src", "main", "resources", "org", "fusedstage", "zoo")


def fcc(a, reps):
    basis = torch.tensor([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]], dtype=torch.float64)
    return torch.cat([(basis + torch.tensor(c, dtype=torch.float64)) * a for c in itertools.product(range(reps), repeat=3)])


def positive(shift):
    """Whether the first non-zero component of a lattice shift is positive."""
    for c in shift:
        if c != 0:
            return c > 0
    return False


def pairs(positions, cell, radius, half):
    """Neighbor pairs within radius: all ordered pairs, or each pair once (i < j, and an atom's own
    image only for shifts whose first non-zero component is positive) for a half list."""
    n = positions.shape[0]
    reps = int(radius / cell[0, 0].item()) + 1
    out_i, out_j, out_s = [], [], []
    for s in itertools.product(range(-reps, reps + 1), repeat=3):
        shift = torch.tensor(s, dtype=torch.float64)
        d = positions[None] + shift @ cell - positions[:, None]
        ok = (d * d).sum(-1) < radius * radius
        if s == (0, 0, 0):
            ok &= ~torch.eye(n, dtype=torch.bool)
        if half:
            upper = torch.ones(n, n, dtype=torch.bool).triu(1)
            ok &= upper | (torch.eye(n, dtype=torch.bool) if positive(s) else torch.zeros(n, n, dtype=torch.bool))
        i, j = torch.nonzero(ok, as_tuple=True)
        out_i.append(i)
        out_j.append(j)
        out_s.append(shift.expand(len(i), 3))
    return torch.cat(out_i), torch.cat(out_j), torch.cat(out_s)


def make_batch(systems, reps, seed, half):
    """Inputs of the step graph; a half-list model takes cartesian translations [3,E] as shifts."""
    g = torch.Generator().manual_seed(seed)
    pos, batch, cells, ei, es = [], [], [], [], []
    offset = 0
    for b in range(systems):
        p = fcc(5.26, reps) + 0.1 * torch.randn(4 * reps ** 3, 3, generator=g, dtype=torch.float64)
        cell = torch.eye(3, dtype=torch.float64) * 5.26 * reps
        i, j, s = pairs(p, cell, 9.5, half)
        ei.append(torch.stack([i + offset, j + offset]))
        es.append(s @ cell if half else s)
        pos.append(p)
        batch.append(torch.full((p.shape[0],), b, dtype=torch.long))
        cells.append(cell)
        offset += p.shape[0]
    n = offset
    data = {
        "positions": torch.cat(pos), "velocities": torch.zeros(n, 3, dtype=torch.float64),
        "forces": torch.zeros(n, 3, dtype=torch.float64), "energy": torch.zeros(systems, dtype=torch.float64),
        "stress": torch.zeros(systems, 3, 3, dtype=torch.float64), "masses": torch.full((n,), 39.948, dtype=torch.float64),
        "atomic_numbers": torch.full((n,), 18, dtype=torch.long), "batch": torch.cat(batch),
        "cell": torch.stack(cells), "pbc": torch.ones(systems, 3, dtype=torch.bool),
        "status": torch.zeros(systems, dtype=torch.long), "edge_index": torch.cat(ei, 1),
        "shifts": torch.cat(es).t().contiguous() if half else torch.cat(es),
    }
    state = {
        "stage0.steps": torch.zeros(systems, dtype=torch.long), "stage1.steps": torch.zeros(systems, dtype=torch.long),
        "stage0.dt": torch.full((systems,), 1.0180505671156725, dtype=torch.float64),
        "stage0.alpha": torch.full((systems,), 0.1, dtype=torch.float64),
        "stage0.n_positive": torch.full((systems,), -1, dtype=torch.long),
        "stage0.velocity": torch.zeros(n, 3, dtype=torch.float64),
    }
    table = {k: torch.tensor(v, dtype=torch.float64) for k, v in {
        "code": [0, 1], "target": [1, 2], "kind": [3, 2], "dt": [1.0180505671156725, 2.0], "budget": [0, 1000000],
        "fmax": [0.05, -1], "energy_change": [-1, -1], "temperature": [-1, 80.0], "friction": [-1, 0.01],
        "damping": [-1, -1], "mb_temperature": [-1, -1], "max_step": [0.2, -1], "step_size": [-1, -1],
        "dt_max": [10.180505671156725, -1], "n_min": [5, -1], "f_inc": [1.1, -1], "f_dec": [0.5, -1],
        "alpha_start": [0.1, -1], "f_alpha": [0.99, -1]}.items()}
    return data, state, table


def run(step, data, state, table, device, dtype, steps, seed):
    floats = {"positions", "velocities", "forces", "energy", "stress", "masses", "cell", "shifts"}
    d = {k: (v.to(dtype) if k in floats else v).to(device) for k, v in data.items()}
    s = {k: (v.to(dtype) if v.is_floating_point() else v).to(device) for k, v in state.items()}
    g = torch.Generator().manual_seed(seed)
    noises = [torch.randn(d["positions"].shape, generator=g, dtype=torch.float64) for _ in range(steps)]
    trajectory = []
    for k in range(steps):
        d["noise.1"] = noises[k].to(dtype).to(device)
        out = step(d, s, table)
        for key in ["positions", "velocities", "forces", "energy", "stress", "status"]:
            d[key] = out[key]
        for key in s:
            s[key] = out[key]
        trajectory.append(d["positions"].double().cpu())
    return trajectory


def half_list(model):
    """Whether the model's metadata declares the native-half-list interface."""
    with open(os.path.join(ZOO, model, "metadata.properties")) as f:
        return any(line.strip() == "interface=native-half-list" for line in f)


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "lennard-jones"
    half = half_list(model)
    step = torch.jit.load(os.path.join(ZOO, model, "fused_step.pt"), map_location="cpu")
    data, state, table = make_batch(4, 2, seed=1, half=half)
    cpu = run(step, data, state, table, "cpu", torch.float64, 60, seed=7)
    if not torch.cuda.is_available():
        print("CPU: 60 steps of FIRE -> Langevin ran (%s list), max |x| = %.3f A" % ("half" if half else "full",
                                                                                  cpu[-1].abs().max().item()))
        sys.exit("no CUDA device: the comparison with a GPU and its timings need one")
    step_gpu = torch.jit.load(os.path.join(ZOO, model, "fused_step.pt"), map_location="cuda")
    gpu = run(step_gpu, data, state, table, "cuda", torch.float64, 60, seed=7)
    worst = max((a - b).abs().max().item() for a, b in zip(cpu, gpu))
    print("float64 CPU vs CUDA, 60 steps of FIRE -> Langevin: max |dx| = %.3e A (%s)" % (worst, "OK" if worst < 1e-9 else "MISMATCH"))
    data, state, table = make_batch(64, 3, seed=2, half=half)
    atoms = data["positions"].shape[0]
    for dtype in (torch.float32, torch.float64):
        run(step_gpu, data, state, table, "cuda", dtype, 5, seed=3)  # warm-up
        torch.cuda.synchronize()
        start = time.time()
        run(step_gpu, data, state, table, "cuda", dtype, 50, seed=3)
        torch.cuda.synchronize()
        elapsed = (time.time() - start) / 50
        print("%s: %.2f ms/step, %.0f steps/s, %.3e atom-steps/s (64 x 108 atoms)" % (dtype, elapsed * 1e3, 1 / elapsed, atoms / elapsed))


if __name__ == "__main__":
    main()
