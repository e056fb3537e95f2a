"""Builds every TorchScript artifact of the zoo from the Python sources beside this file.

Run with Debian's python3-torch (torch 1.13) or any torch <= 2.5.1, the libtorch DJL loads:
    python3 model-zoo/src/main/python/export_models.py [output_root]
Each model lands in <output_root>/<model-id>/ as <file>.pt plus metadata.properties, which the
Java side reads for cutoff, elements, dtype and units.
"""
import importlib.util
import json
import linecache
import os
import sys
from typing import Dict

# TorchScript writes some module constants in set order, which follows Python's string hashing:
# fix the hash seed so the exported bytes are reproducible (re-executes itself once).
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# TorchScript keeps the source file name of every function in its debug tables. Loading the model
# sources under a path relative to the repository makes the exported bytes independent of where the
# repository is checked out, so the drift check can compare them byte for byte.
REPO_RELATIVE = "model-zoo/src/main/python"


def load_source_module(name: str):
    path = os.path.join(HERE, name + ".py")
    with open(path) as f:
        source = f.read()
    virtual = REPO_RELATIVE + "/" + name + ".py"
    linecache.cache[virtual] = (len(source), None, source.splitlines(True), virtual)
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = virtual
    sys.modules[name] = module
    exec(compile(source, virtual, "exec"), module.__dict__)
    return module


load_source_module("pair_geometry")
_lj = load_source_module("lennard_jones")
EnergyOnly = _lj.EnergyOnly
LennardJones = _lj.LennardJones
LennardJonesHalfList = _lj.LennardJonesHalfList
_sc = load_source_module("sutton_chen")
_morse = load_source_module("morse")
_interfaces = load_source_module("interface_examples")
_nnp = load_source_module("nnp")
load_source_module("stage_programs")  # generated from the Java stage programs
_step = load_source_module("fused_step")
DEFAULT_ROOT = os.path.join(HERE, "..", "resources", "org", "fusedstage", "zoo")


def write_model(root: str, model_id: str, file_stem: str, module: torch.nn.Module, metadata: Dict[str, str],
                extra_files: Dict[str, str] = None) -> None:
    folder = os.path.join(root, model_id)
    os.makedirs(folder, exist_ok=True)
    scripted = torch.jit.script(module)
    scripted.eval()
    path = os.path.join(folder, file_stem + ".pt")
    scripted.save(path, _extra_files=extra_files or {})
    native = metadata.get("interface", "native") in ("native", "native-half-list")
    if native and metadata.get("outputs", "").startswith("energy,forces"):
        # compile_step: the whole fused step around this potential, one TorchScript module.
        step = _step.script_step(module)
        step.save(os.path.join(folder, "fused_step.pt"))
        metadata = dict(metadata, step_file="fused_step.pt")
    lines = ["# Written by model-zoo/src/main/python/export_models.py; do not edit by hand."]
    lines += ["%s=%s" % (k, metadata[k]) for k in sorted(metadata)]
    lines.append("torch_version=%s" % torch.__version__.split("+")[0])
    with open(os.path.join(folder, "metadata.properties"), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("wrote", path)


def lennard_jones_metadata(outputs: str) -> Dict[str, str]:
    return {
        "name": "Lennard-Jones (argon)",
        "file": "lennard_jones.pt",
        "cutoff": "8.5",
        "elements": "Ar",
        "dtype": "float64,float32",
        "units": "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3",
        "outputs": outputs,
        "parameters": "epsilon=0.0104 eV, sigma=3.405 A, pair energy shifted to zero at the cutoff",
        "citation": "J. E. Lennard-Jones, Proc. R. Soc. Lond. A 106, 463 (1924); argon parameters "
                    "as in ASE's LennardJones calculator and Rahman, Phys. Rev. 136, A405 (1964)",
    }


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_ROOT
    torch.manual_seed(0)
    models = []
    fast = lennard_jones_metadata("energy,forces,stress")
    fast["interface"] = "native-half-list"
    write_model(root, "lennard-jones", "lennard_jones", LennardJonesHalfList(), fast)
    models.append("lennard-jones")
    energy_only = lennard_jones_metadata("energy")
    energy_only["name"] = "Lennard-Jones (argon), energy only: forces by autograd from Java"
    energy_only["file"] = "lennard_jones_energy.pt"
    write_model(root, "lennard-jones-energy-only", "lennard_jones_energy", EnergyOnly(LennardJones()), energy_only)
    models.append("lennard-jones-energy-only")
    for element, (n, m, eps, c, a) in _sc.PARAMETERS.items():
        model_id = "sutton-chen-" + element.lower()
        module = _sc.SuttonChen(n, m, eps, c, a)
        write_model(root, model_id, "sutton_chen_" + element.lower(), module, {
            "name": "Sutton-Chen EAM (%s)" % element,
            "file": "sutton_chen_%s.pt" % element.lower(),
            "cutoff": repr(module.cutoff),
            "elements": element,
            "dtype": "float64,float32",
            "units": "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3",
            "outputs": "energy,forces,stress",
            "parameters": "n=%d, m=%d, eps=%g eV, c=%g, a=%g A; sums cut at 2.5 a with a 0.5 A cosine taper"
                          % (n, m, eps, c, a),
            "reference_lattice_constant": repr(a),
            "interface": "native-half-list",
            "citation": "A. P. Sutton and J. Chen, Phil. Mag. Lett. 61, 139 (1990)",
        })
        models.append(model_id)
    for element, (depth, alpha, r0) in _morse.PARAMETERS.items():
        model_id = "morse-" + element.lower()
        cutoff = round(r0 + 7.0 / alpha, 2)  # exp(-7) ~ 1e-3 of the well depth
        write_model(root, model_id, "morse_" + element.lower(), _morse.Morse(depth, alpha, r0, cutoff), {
            "name": "Morse (%s)" % element,
            "file": "morse_%s.pt" % element.lower(),
            "cutoff": repr(cutoff),
            "elements": element,
            "dtype": "float64,float32",
            "units": "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3",
            "outputs": "energy,forces,stress",
            "parameters": "D=%g eV, alpha=%g 1/A, r0=%g A, shifted to zero at the cutoff" % (depth, alpha, r0),
            "interface": "native-half-list",
            "citation": "L. A. Girifalco and V. G. Weizer, Phys. Rev. 114, 687 (1959)",
        })
        models.append(model_id)
    # The demo NNP: architecture from nnp.py, weights from train_nnp.py (committed with its report).
    weights = os.path.join(HERE, "weights", "nnp_demo_cu.pt")
    with open(os.path.join(HERE, "weights", "nnp_demo_cu_report.json")) as f:
        report = json.load(f)
    network = _nnp.MessagePassingPotential([29]).double()
    network.load_state_dict(torch.load(weights))
    write_model(root, "nnp-demo-cu", "nnp_demo_cu", network, {
        "name": "Demo message-passing NNP for Cu, trained on Sutton-Chen Cu labels (a demo of the MLIP "
                "workflow, not a general copper model)",
        "file": "nnp_demo_cu.pt",
        "cutoff": repr(network.cutoff),
        "elements": "Cu",
        "dtype": "float64",
        "units": "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3",
        "outputs": "energy,forces,stress",
        "training": "%d train / %d test configurations of 32 atoms; test MAE %.4f eV/atom, %.3f eV/A (train %.4f, %.3f)"
                    % (report["train_configurations"], report["test_configurations"],
                       report["test_energy_mae_ev_per_atom"], report["test_force_mae_ev_per_a"],
                       report["train_energy_mae_ev_per_atom"], report["train_force_mae_ev_per_a"]),
        "citation": "architecture after K. T. Schuett et al., J. Chem. Phys. 148, 241722 (2018) (SchNet); "
                    "trained by model-zoo/src/main/python/train_nnp.py",
    })
    models.append("nnp-demo-cu")
    nequip = lennard_jones_metadata("energy,forces,stress")
    nequip.update({"name": "Lennard-Jones (argon) behind the NequIP deployment interface: a test fixture for the "
                           "NequIP adapter, not a NequIP model", "file": "nequip_style_lj.pt", "interface": "nequip"})
    write_model(root, "nequip-interface-test", "nequip_style_lj", _interfaces.NequipStyleLennardJones(), nequip,
                {"nequip_version": "0.6.0 (FusedStage interface test)", "r_max": "8.5", "type_names": "Ar",
                 "n_species": "1", "model_dtype": "float64"})
    models.append("nequip-interface-test")
    mace = lennard_jones_metadata("energy,forces,stress")
    mace.update({"name": "Lennard-Jones (argon) behind the MACE LAMMPS-export interface: a test fixture for the "
                         "MACE adapter, not a MACE model", "file": "mace_lammps_style_lj.pt", "interface": "mace-lammps"})
    write_model(root, "mace-lammps-interface-test", "mace_lammps_style_lj", _interfaces.MaceLammpsStyleLennardJones(), mace)
    models.append("mace-lammps-interface-test")
    # The Java zoo lists its models from this index.
    with open(os.path.join(root, "index.txt"), "w") as out:
        out.write("\n".join(models) + "\n")


if __name__ == "__main__":
    main()
