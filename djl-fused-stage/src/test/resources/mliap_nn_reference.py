"""Independent float64 evaluation of an ML-IAP nn model file, for MliapNeuralNetworkTest.

    python3 mliap_nn_reference.py MODEL.pt NN_FILE STRUCTURE.json

Reads the network from the file with its own parser (plain Python and numpy, following the file
format of LAMMPS's MLIAPModelNN: NET line, shift, scale, then per node its bias and weights), takes
the SNAP descriptors from the converted module (checked against LAMMPS+KIM by SnapAgainstKimTest),
searches neighbors by brute force and prints the total energy.
"""
import itertools
import json
import sys

import numpy as np
import torch

module = torch.jit.load(sys.argv[1])
numbers = []
for line in open(sys.argv[2]):
    text = line.split("#")[0].split()
    numbers.append(text)
rows = [t for t in numbers if t]
nelements, nparams = int(rows[0][0]), int(rows[0][1])
net = rows[1]
nd, nlayers = int(net[1]), int(net[2])
layers = [(net[3 + 2 * k], int(net[4 + 2 * k])) for k in range(nlayers)]
values = np.array([float(v) for r in rows[2:] for v in r])
shift, scale, coeff = values[:nd], values[nd:2 * nd], values[2 * nd:2 * nd + nparams]

s = json.load(open(sys.argv[3]))
pos = np.array(s["positions"]).reshape(-1, 3)
cell = np.array(s["cell"]).reshape(3, 3)
n = len(pos)
cut = float(s["cutoff"]) + 0.5
I, J, S = [], [], []
for t in itertools.product(range(-2, 3), repeat=3):
    d = pos[None, :, :] - pos[:, None, :] + np.array(t) @ cell
    r2 = (d * d).sum(2)
    ii, jj = np.nonzero((r2 < cut * cut) & (r2 > 1e-12))
    I += list(ii)
    J += list(jj)
    S += [t] * len(ii)
b = module.descriptors(torch.tensor(pos), torch.tensor(s["numbers"]), torch.zeros(n, dtype=torch.long),
                       torch.tensor(cell).unsqueeze(0), torch.tensor([I, J]), torch.tensor(S)).detach().numpy()


def activate(name, x):
    return {"linear": x, "tanh": np.tanh(x), "sigmoid": 1 / (1 + np.exp(-x)), "relu": np.maximum(x, 0)}[name]


total = 0.0
for atom in range(n):
    x = (b[atom] - shift) / scale
    k = 0
    width = nd
    for name, nodes in layers:
        out = np.zeros(nodes)
        for node in range(nodes):
            base = k + node * (width + 1)
            out[node] = coeff[base] + coeff[base + 1:base + 1 + width] @ x
        x = activate(name, out)
        k += (width + 1) * nodes
        width = nodes
    total += x[0]
print(repr(total))
