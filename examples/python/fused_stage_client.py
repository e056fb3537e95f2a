#!/usr/bin/env python3
"""Relax and run MD on ASE structures through `fused-stage serve`, from Python.

    ./fused-stage serve &                       # http://127.0.0.1:8080/
    python3 examples/python/fused_stage_client.py [http://127.0.0.1:8080]

Needs `requests` and ASE (Debian: python3-requests python3-ase). Structures travel as JSON with
ASE's names (numbers, positions, cell, pbc, id); results come back the same way, with the final
energy (eV) and forces (eV/A), which this turns into ASE Atoms with a SinglePointCalculator.
"""
import sys

import requests
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator


def to_json(atoms, sample_id):
    return {
        "id": sample_id,
        "numbers": atoms.numbers.tolist(),
        "positions": atoms.positions.tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": atoms.pbc.tolist(),
    }


def to_atoms(result):
    atoms = Atoms(numbers=result["numbers"], positions=result["positions"], cell=result["cell"], pbc=result["pbc"])
    atoms.calc = SinglePointCalculator(atoms, energy=result["energy"], forces=result["forces"])
    atoms.info.update(id=result["id"], converged=result["converged"], steps=result["steps"])
    return atoms


def run(url, atoms, sample_id, wait=600):
    """Submits one structure and waits for its result (up to `wait` seconds, then polls)."""
    r = requests.post(f"{url}/jobs", params={"wait": wait}, json=to_json(atoms, sample_id), timeout=wait + 30)
    if r.status_code >= 400:  # 4xx/5xx: one line in "error"
        raise RuntimeError(f"{sample_id}: HTTP {r.status_code}: {r.json()['error']}")
    body = r.json()
    while body["status"] == "pending":  # still running after `wait`: ask again
        body = requests.get(f"{url}/jobs/{body['id']}", timeout=30).json()
    if body["status"] != "done":
        raise RuntimeError(f"{sample_id}: {body['status']}: {body.get('error', '')}")
    return to_atoms(body)


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    for i in range(3):
        atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)
        atoms.rattle(stdev=0.1, seed=i)
        result = run(url, atoms, f"py-{i}")
        print(f"{result.info['id']}: E = {result.get_potential_energy():.4f} eV, "
              f"max |F| = {abs(result.get_forces()).max():.4f} eV/A, steps {result.info['steps']}")
    bad = Atoms("Cu2", positions=[[0, 0, 0], [2.5, 0, 0]])
    try:
        run(url, bad, "py-copper")
    except RuntimeError as e:
        print(f"refused as expected: {e}")


if __name__ == "__main__":
    main()
