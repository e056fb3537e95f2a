"""Converts a published EAM parameter file into a TorchScript potential folder for FusedStage.

    python3 import_potential.py FILE [--format eam|eam/alloy|eam/fs|snap|mliap-nn] --output DIR

FILE is an EAM file or a SNAP potential (its .snapcoeff, .snapparam or LAMMPS .snap file).

Writes DIR/<name>.pt (the potential, native-half-list convention), DIR/fused_step.pt (its compiled
step graph) and DIR/metadata.properties (cutoff, elements, masses, the file's header as citation).
The folder appears whole or not at all: everything is written into a temporary folder beside it
and renamed at the end. A file that cannot be read exits with status 2 and one line naming file,
line and problem. Needs Debian's python3-torch (torch 1.13) or any torch <= 2.5.1.
"""
import os
import shutil
import sys
import tempfile

if os.environ.get("PYTHONHASHSEED") != "0":  # reproducible bytes, as export_models.py
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models  # noqa: E402  (loads the zoo's sources under repository-relative names)

eam = export_models.load_source_module("eam")
snap = export_models.load_source_module("snap")

FORMATS = ("eam", "eam/alloy", "eam/fs", "snap", "mliap-nn")


def mliap_descriptor(model: str) -> str:
    """The SNAP descriptor file beside an ML-IAP nn model file (X.nn.mliap.model)."""
    stem = model[:-len(".nn.mliap.model")] if model.endswith(".nn.mliap.model") else model.rsplit(".", 1)[0]
    for candidate in (stem + ".snap.mliap.descriptor", stem + ".nn.mliap.descriptor", stem + ".mliap.descriptor"):
        if os.path.isfile(candidate):
            return candidate
    raise snap.SnapFileError(model, 0, "no descriptor file beside it (tried %s.snap.mliap.descriptor, .nn.mliap.descriptor, "
                             ".mliap.descriptor)" % os.path.basename(stem))


def snap_files(path: str):
    """(coeff, param) of a SNAP potential named by its .snapcoeff, .snapparam or LAMMPS .snap file."""
    folder = os.path.dirname(os.path.abspath(path))
    if path.endswith(".snap"):
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                tokens = line.split("#", 1)[0].split()
                if len(tokens) >= 4 and tokens[0] == "pair_coeff":
                    return os.path.join(folder, tokens[3]), os.path.join(folder, tokens[4])
        raise snap.SnapFileError(path, 0, "no 'pair_coeff * * X.snapcoeff X.snapparam ...' line")
    stem = path.rsplit(".", 1)[0]
    return stem + ".snapcoeff", stem + ".snapparam"


def format_of(path: str) -> str:
    if path.endswith((".snapcoeff", ".snapparam", ".snap")):
        return "snap"
    if path.endswith(".nn.mliap.model"):
        return "mliap-nn"
    return eam.format_of(path)


def main(argv) -> int:
    args = list(argv)
    fmt = None
    output = None
    files = []
    while args:
        a = args.pop(0)
        if a == "--format" and args:
            fmt = args.pop(0)
        elif a == "--output" and args:
            output = args.pop(0)
        else:
            files.append(a)
    if len(files) != 1 or output is None:
        print("usage: import_potential.py FILE [--format eam|eam/alloy|eam/fs] --output DIR", file=sys.stderr)
        return 2
    source = files[0]
    try:
        if not os.path.isfile(source):
            raise eam.EamFileError(source, 0, "no such file")
        fmt = fmt or format_of(source)
        if fmt not in FORMATS:
            raise eam.EamFileError(source, 0, "unknown format '%s' (formats: %s)" % (fmt, ", ".join(FORMATS)))
        if fmt == "snap":
            coeff, param = snap_files(source)
            for required in (coeff, param):
                if not os.path.isfile(required):
                    raise snap.SnapFileError(required, 0, "no such file (a SNAP potential needs its .snapcoeff and .snapparam)")
            stem = os.path.basename(coeff)[:-len(".snapcoeff")]
            parameters = snap.read(coeff, param)
            module, metadata = snap.SNAP(parameters), snap.metadata(parameters, coeff, stem.replace(".", "_"))
        elif fmt == "mliap-nn":
            descriptor = mliap_descriptor(source)
            parameters = snap.read_mliap_descriptor(descriptor)
            net = snap.read_nn(source, len(snap.bispectrum_indices(parameters.twojmax)), len(parameters.elements))
            stem = os.path.basename(source)[:-len(".mliap.model")].replace(".", "_")
            module = snap.MliapNN(parameters, net)
            metadata = snap.mliap_metadata(parameters, net, source, stem, snap._header(source))
        else:
            tables = eam.read(source, fmt)
            stem = os.path.basename(source).split(".")[0]
            module, metadata = eam.EAM(tables), eam.metadata(tables, source, stem)
    except eam.EamFileError as e:
        print(str(e), file=sys.stderr)
        return 2
    output = os.path.abspath(output)
    if os.path.exists(output) and os.listdir(output):
        print("%s exists and is not empty: choose another --output" % output, file=sys.stderr)
        return 2
    parent = os.path.dirname(output)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".import-", dir=parent)
    try:
        export_models.write_model(staging, "model", metadata["file"][:-len(".pt")], module, metadata)
        if os.path.exists(output):
            os.rmdir(output)
        os.rename(os.path.join(staging, "model"), output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
