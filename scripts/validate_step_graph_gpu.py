"""Validates the exported compile_step graph on a CUDA device, in Python (no Java needed).

    python3 scripts/validate_step_graph_gpu.py [model-id] [--no-timings] [--systems=8,64] [--cpu-timings] [--cpu-only]
                                                               (default model: lennard-jones)

The batch is fcc crystals of the model's element (argon or copper: lennard-jones, morse-cu,
sutton-chen-cu, nnp-demo-cu); full-list and half-list (interface=native-half-list) models get their
own neighbor lists, out to the cutoff + 1 A. Without CUDA it runs the CPU part only, which checks
the inputs and the graph.

1. Runs the same FIRE -> Langevin chain for 60 steps on the CPU and on CUDA in float64 with the same
   random inputs and compares the trajectories (expected: equal to ~1e-10).
2. Compares forces with the graph executor's optimizations on and off over changing batch shapes
   (FusedStage runs with them off: the profiling executor has produced wrong autograd gradients on
   CUDA in older torch releases).
3. Prints a table per batch size (8 x 108 to 512 x 108 atoms) and dtype: the bare forward pass, the
   step graph, and the same step module run op by op from Python, half the samples relaxing and half
   in Langevin MD, inputs resident on the device, the stress left out (as in the bench job).
   ``--cpu-timings`` prints a small table on the CPU when there is no CUDA device (a dry run).
   ``--cpu-only`` ends with success after the CPU part where there is no CUDA device
   (``PythonStepGraphTest`` runs it, so that the graph's Python callers are checked in CI).
Needs a CUDA-enabled torch (<= 2.5.1 to match DJL, or newer for this check only).
"""
import itertools
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "model-zoo", "src", "main", "resources", "org", "fusedstage", "zoo")
sys.path.insert(0, os.path.join(ROOT, "model-zoo", "src", "main", "python"))
from fused_step import graph_inputs, graph_outputs  # noqa: E402  (the graph's list inputs from named dicts)
from stage_programs import DATA_INPUTS, DATA_OUTPUTS  # noqa: E402


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


# fcc crystals of the zoo's single-element models: atomic number, mass (amu), lattice constant (A).
CRYSTALS = {"Ar": (18, 39.948, 5.26), "Cu": (29, 63.546, 3.61)}
ELEMENT = "Ar"
RADIUS = 9.5  # the model's cutoff + the library's 1 A skin


def make_batch(systems, reps, seed, half):
    """Inputs of the step graph for fcc crystals of ELEMENT; a half-list model takes cartesian
    translations [3,E] as shifts."""
    number, mass, a = CRYSTALS[ELEMENT]
    g = torch.Generator().manual_seed(seed)
    pos, batch, cells, ei, es = [], [], [], [], []
    offset = 0
    for b in range(systems):
        p = fcc(a, reps) + 0.1 * torch.randn(4 * reps ** 3, 3, generator=g, dtype=torch.float64)
        cell = torch.eye(3, dtype=torch.float64) * a * reps
        i, j, s = pairs(p, cell, RADIUS, half)
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
        "stress": torch.zeros(systems, 3, 3, dtype=torch.float64), "masses": torch.full((n,), mass, dtype=torch.float64),
        "atomic_numbers": torch.full((n,), number, dtype=torch.long), "batch": torch.cat(batch),
        "cell": torch.stack(cells), "pbc": torch.ones(systems, 3, dtype=torch.bool),
        "status": torch.zeros(systems, dtype=torch.long), "edge_index": torch.cat(ei, 1),
        "shifts": torch.cat(es).t().contiguous() if half else torch.cat(es),
    }
    state = {
        "stage0.steps": torch.zeros(systems, dtype=torch.long), "stage1.steps": torch.zeros(systems, dtype=torch.long),
        "stage0.converged": torch.zeros(systems, dtype=torch.long), "stage1.converged": torch.zeros(systems, dtype=torch.long),
        "stage0.previous_energy": torch.full((systems,), float("inf"), dtype=torch.float64),
        "stage1.previous_energy": torch.full((systems,), float("inf"), dtype=torch.float64),
        "stage0.dt": torch.full((systems,), 1.0180505671156725, dtype=torch.float64),
        "stage0.alpha": torch.full((systems,), 0.1, dtype=torch.float64),
        "stage0.n_positive": torch.full((systems,), -1, dtype=torch.long),
        "stage0.velocity": torch.zeros(n, 3, dtype=torch.float64),
    }
    table = {k: torch.tensor(v, dtype=torch.float64) for k, v in {
        "code": [0, 1], "target": [1, 2], "kind": [3, 2], "dt": [1.0180505671156725, 2.0], "budget": [0, 1000000],
        "fmax": [0.05, -1], "energy_change": [-1, -1], "criteria": [1, 0], "unconverged_target": [1, 2], "temperature": [-1, 80.0], "friction": [-1, 0.01],
        "damping": [-1, -1], "mb_temperature": [-1, -1], "max_step": [0.2, -1], "step_size": [-1, -1], "stress": [1, 1],
        "dt_max": [10.180505671156725, -1], "n_min": [5, -1], "f_inc": [1.1, -1], "f_dec": [0.5, -1],
        "alpha_start": [0.1, -1], "f_alpha": [0.99, -1]}.items()}
    return data, state, table


def run(step, data, state, table, device, dtype, steps, seed):
    d, s = on_device(data, state, device, dtype)
    g = torch.Generator().manual_seed(seed)
    noises = [torch.randn(d["positions"].shape, generator=g, dtype=torch.float64) for _ in range(steps)]
    trajectory = []
    for k in range(steps):
        d["noise.1"] = noises[k].to(dtype).to(device)
        out = graph_outputs(step(*graph_inputs(d, s, table)), table)
        for key in DATA_OUTPUTS:
            d[key] = out[key]
        for key in s:
            s[key] = out[key]
        trajectory.append(d["positions"].double().cpu())
    return trajectory


def read_metadata(model):
    with open(os.path.join(ZOO, model, "metadata.properties")) as f:
        return dict(line.strip().split("=", 1) for line in f if "=" in line and not line.startswith("#"))


def optimizer_check(potential, device):
    """Forces with the graph executor's optimizations on against off, over changing batch shapes
    (as FusedStage feeds them): the profiling executor has produced wrong autograd gradients on
    CUDA in older torch releases, which is why FusedStage turns it off."""
    worst = 0.0
    for systems, reps, seed in [(2, 2, 11), (3, 2, 12), (2, 3, 13), (5, 2, 14), (2, 2, 15)]:
        data, _, _ = make_batch(systems, reps, seed=seed, half=HALF)
        d, _ = on_device(data, {}, device, torch.float64)
        args = [d[k] for k in ("positions", "atomic_numbers", "batch", "cell", "pbc", "edge_index", "shifts")]
        torch._C._set_graph_executor_optimize(False)
        reference = potential(*args)[1]
        torch._C._set_graph_executor_optimize(True)
        for _ in range(3):  # profiled, then optimized runs
            worst = max(worst, (potential(*args)[1] - reference).abs().max().item())
    torch._C._set_graph_executor_optimize(True)
    return worst


def on_device(data, state, device, dtype):
    floats = {"positions", "velocities", "forces", "energy", "stress", "masses", "cell", "shifts"}
    d = {k: (v.to(dtype) if k in floats else v).to(device) for k, v in data.items()}
    s = {k: (v.to(dtype) if v.is_floating_point() else v).to(device) for k, v in state.items()}
    return d, s


def seconds_per_call(call, device, repeats, rounds=5):
    """Fastest round's mean time of ``repeats`` calls (after two warm-up calls: the profiling
    executor specializes a graph on its second run)."""
    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    call()
    call()
    sync()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        sync()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def timings(step_graph, potential, device, sizes, dtypes, repeats):
    """Per executor setting, size and dtype: the bare forward, the step graph (compile_step) and
    the same step module run op by op from Python (the un-scripted FusedStep around the same
    scripted potential: a host language dispatching every op, as an eager step does), with all
    inputs resident on the device and the stress left out, as in the whole job. FusedStage runs
    TorchScript with the graph executor's optimizations off (JniUtils.setGraphExecutorOptimize(false):
    see README), the first block; the second turns them on (kernel fusion) for comparison."""
    sys.path.insert(0, os.path.join(ROOT, "model-zoo", "src", "main", "python"))
    from fused_step import FusedStep
    step_ops = FusedStep(potential)
    print("| executor optimizations | systems x atoms | dtype | forward ms | compiled step ms | compiled orchestration "
          "| op-by-op step ms | op-by-op orchestration | compiled speed-up | atom-steps/s compiled |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for optimize in (False, True):
        torch._C._set_graph_executor_optimize(optimize)
        for systems, reps in sizes:
            data, state, table = make_batch(systems, reps, seed=2, half=HALF)
            table["stress"] = torch.zeros(2, dtype=torch.float64)
            # Half the samples relax (FIRE), half run Langevin: both stages work every step.
            data["status"][systems // 2:] = 1
            atoms = data["positions"].shape[0]
            for dtype in dtypes:
                d, s = on_device(data, state, device, dtype)
                d["noise.1"] = torch.randn(d["positions"].shape, dtype=dtype, device=device)
                args = [d[k] for k in ("positions", "atomic_numbers", "batch", "cell", "pbc", "edge_index", "shifts")]

                # What the graph calls: energy_forces where the potential has one, else its forward.
                bare = potential.energy_forces if hasattr(potential, "energy_forces") else potential

                def forward():
                    bare(*args)

                def stepper(module):
                    # The graph's lists, made once and updated in place from its outputs, as FusedStage does.
                    data_list, state_list, rows = graph_inputs(d, s, table)
                    # (output, input) positions of what a step updates; the stress is left out
                    updated = [(i, DATA_INPUTS.index(key)) for i, key in enumerate(DATA_OUTPUTS) if key != "stress"]

                    def call():
                        out = module(data_list, state_list, rows)
                        for i, at in updated:
                            data_list[at] = out[i]
                        state_list[:] = out[len(DATA_OUTPUTS):]
                    return call

                t_forward = seconds_per_call(forward, device, repeats)
                t_graph = seconds_per_call(stepper(step_graph), device, repeats)
                t_ops = seconds_per_call(stepper(step_ops), device, repeats)
                print("| %s | %d x %d | %s | %.3f | %.3f | %.0f %% | %.3f | %.0f %% | %.2fx | %.3e |" % (
                    "on" if optimize else "off (as FusedStage)", systems, atoms // systems,
                    str(dtype).replace("torch.", ""), t_forward * 1e3, t_graph * 1e3, (t_graph / t_forward - 1) * 100,
                    t_ops * 1e3, (t_ops / t_forward - 1) * 100, t_ops / t_graph, atoms / t_graph))
                sys.stdout.flush()
    torch._C._set_graph_executor_optimize(True)


def main():
    global HALF, ELEMENT, RADIUS
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    model = args[0] if args else "lennard-jones"
    metadata = read_metadata(model)
    HALF = metadata.get("interface") == "native-half-list"
    ELEMENT = metadata["elements"].split(",")[0]
    RADIUS = float(metadata["cutoff"]) + 1.0
    if ELEMENT not in CRYSTALS:
        sys.exit("no test crystal for %s (models of %s)" % (model, ", ".join(CRYSTALS)))
    step = torch.jit.load(os.path.join(ZOO, model, "fused_step.pt"), map_location="cpu")
    data, state, table = make_batch(4, 2, seed=1, half=HALF)
    cpu = run(step, data, state, table, "cpu", torch.float64, 60, seed=7)
    if not torch.cuda.is_available():
        print("CPU: 60 steps of FIRE -> Langevin ran (%s, %s list), max |x| = %.3f A" % (
            model, "half" if HALF else "full", cpu[-1].abs().max().item()))
        if "--cpu-timings" in sys.argv:  # a dry run of the timing table on the CPU, small sizes
            potential = torch.jit.load(os.path.join(ZOO, model, metadata["file"]), map_location="cpu")
            print("forces, executor optimizations on vs off, changing shapes: max |dF| = %.3e eV/A" % optimizer_check(potential, "cpu"))
            timings(step, potential, "cpu", [(8, 2)], [torch.float64], 5)
        if "--cpu-only" in sys.argv:  # a check of the graph's inputs and outputs from Python (CI runs it)
            return
        sys.exit("no CUDA device: the comparison with a GPU and its timings need one")
    print("torch %s, %s, model %s" % (torch.__version__, torch.cuda.get_device_name(0), model))
    step_gpu = torch.jit.load(os.path.join(ZOO, model, "fused_step.pt"), map_location="cuda")
    gpu = run(step_gpu, data, state, table, "cuda", torch.float64, 60, seed=7)
    worst = max((a - b).abs().max().item() for a, b in zip(cpu, gpu))
    print("float64 CPU vs CUDA, 60 steps of FIRE -> Langevin: max |dx| = %.3e A (%s)" % (worst, "OK" if worst < 1e-9 else "MISMATCH"))
    potential = torch.jit.load(os.path.join(ZOO, model, metadata["file"]), map_location="cuda")
    print("CUDA forces, executor optimizations on vs off, changing shapes: max |dF| = %.3e eV/A" % optimizer_check(potential, "cuda"))
    if "--no-timings" not in sys.argv:
        sizes = [(8, 3), (64, 3), (512, 2), (512, 3)]
        for arg in sys.argv:
            if arg.startswith("--systems="):  # e.g. --systems=8,64: those counts of 108-atom crystals
                sizes = [(int(count), 3) for count in arg.split("=", 1)[1].split(",")]
        dtypes = [getattr(torch, name) for name in metadata.get("dtype", "float64").split(",")]
        timings(step_gpu, potential, "cuda", sizes, sorted(dtypes, key=str), 20)


HALF = False

if __name__ == "__main__":
    main()
