"""Exports a compiled step graph (compile_step) for a user's TorchScript potential.

    python3 export_step.py POTENTIAL.pt OUTPUT.pt

The potential must follow the zoo's native convention (see model-zoo/README.md). Use torch 1.13
(Debian's python3-torch) or any torch <= 2.5.1, the libtorch that DJL loads. FusedStage finds the
step graph as ``fused_step.pt`` beside the potential, or through the compile option
``step_module=PATH``.
"""
import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fused_step import script_step  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: export_step.py POTENTIAL.pt OUTPUT.pt")
    potential = torch.jit.load(sys.argv[1], map_location="cpu")
    step = script_step(potential)
    step.save(sys.argv[2])
    print("wrote", sys.argv[2])


if __name__ == "__main__":
    main()
