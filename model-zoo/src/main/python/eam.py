"""Embedded-atom potentials from LAMMPS/DYNAMO parameter files, evaluated exactly as LAMMPS does.

Reads the three formats of LAMMPS's ``pair_style eam`` family:
  * ``eam``: DYNAMO funcfl, one element (``Cu_u3.eam``): F(rho), Z(r) and rho(r) on their own grids,
    with the pair term r phi(r) = 27.2 * 0.529 * Z_i(r) Z_j(r);
  * ``eam/alloy``: DYNAMO setfl (``Cu_mishin1.eam.alloy``, ``CuNi.eam.alloy``): per element F(rho)
    and rho(r), then r phi_ij(r) for i >= j;
  * ``eam/fs``: Finnis-Sinclair (``Fe_mm.eam.fs``, ``CuZr_mm.eam.fs``): per element F(rho) and one
    density function per neighbor element.

The tables are prepared as LAMMPS's PairEAM prepares them (file2array: funcfl grids re-sampled by
its four-point interpolation; array2spline/interpolate: the same cubic coefficients per grid
interval) and evaluated by the formulas of PairEAM::compute: the grid index and fraction taken with
the same truncation and clamps (r beyond the table keeps the last interval at p = 1; rho beyond
the table adds the linear term fp (rho - rhomax)), and forces from the analytic derivative
coefficients, not by autograd, so results agree with LAMMPS to round-off.

Interface native-half-list (each pair once, cartesian translations; see model-zoo/README.md).
"""
import math
import os
from typing import Dict, List, Tuple

import torch

from pair_geometry import HalfListPairPotential

SYMBOLS = ("X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
           "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb "
           "Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf "
           "Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og").split()

FORMATS = ("eam", "eam/alloy", "eam/fs")


class EamFileError(Exception):
    """A parameter file (EAM, SNAP, ML-IAP) that cannot be read: names file, line and problem."""

    def __init__(self, path: str, line: int, problem: str):
        super().__init__("%s:%d: %s" % (path, line, problem))


def format_of(path: str) -> str:
    """The format from the file name, as LAMMPS's potential files are named."""
    name = os.path.basename(path)
    if name.endswith(".eam.alloy") or name.endswith(".alloy"):
        return "eam/alloy"
    if name.endswith(".eam.fs") or name.endswith(".fs"):
        return "eam/fs"
    if name.endswith(".eam"):
        return "eam"
    raise EamFileError(path, 0, "unknown format (the name ends in none of .eam, .eam.alloy, .eam.fs): give --format")


class _Reader:
    """Lines and value streams of a parameter file, as LAMMPS's PotentialFileReader reads them."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # comments in old files; numbers are ASCII either way
        self.lines = text.splitlines()
        self.at = 0  # index of the next line

    def line(self, what: str) -> List[str]:
        if self.at >= len(self.lines):
            raise EamFileError(self.path, self.at, "file ends before " + what)
        self.at += 1
        return self.lines[self.at - 1].split()

    def number(self, token: str, what: str, integer: bool = False) -> float:
        try:
            return int(token) if integer else float(token)
        except ValueError:
            raise EamFileError(self.path, self.at, "'%s' is not %s (%s)" % (token, "an integer" if integer else "a number",
                                                                            what))

    def values(self, n: int, what: str) -> List[float]:
        """n numbers from the next lines; extra numbers on the last line are dropped (next_dvector)."""
        out: List[float] = []
        while len(out) < n:
            if self.at >= len(self.lines):
                raise EamFileError(self.path, self.at, "file ends after %d of %d values of %s (truncated table)"
                                   % (len(out), n, what))
            tokens = self.line(what)
            for token in tokens:
                if len(out) == n:
                    break
                value = self.number(token, what)
                if not math.isfinite(value):
                    raise EamFileError(self.path, self.at, "non-finite value '%s' in %s" % (token, what))
                out.append(value)
        return out

    def grid(self, what: str) -> Tuple[int, float, int, float, float]:
        tokens = self.line(what)
        if len(tokens) < 5:
            raise EamFileError(self.path, self.at, "expected Nrho drho Nr dr cutoff, got '%s'" % " ".join(tokens))
        nrho = int(self.number(tokens[0], "Nrho", True))
        nr = int(self.number(tokens[2], "Nr", True))
        drho, dr, cut = (self.number(tokens[k], name) for k, name in ((1, "drho"), (3, "dr"), (4, "cutoff")))
        if nrho < 5 or nr < 5 or not (drho > 0 and dr > 0 and cut > 0):
            raise EamFileError(self.path, self.at, "bad grid: Nrho=%d drho=%g Nr=%d dr=%g cutoff=%g (need at least 5 "
                               "points and positive spacings)" % (nrho, drho, nr, dr, cut))
        return nrho, drho, nr, dr, cut


class Tables:
    """The arrays of PairEAM after file2array, 1-based as in LAMMPS (index 0 unused)."""

    def __init__(self):
        self.format = ""
        self.header: List[str] = []
        self.elements: List[str] = []
        self.numbers: List[int] = []
        self.masses: List[float] = []
        self.nrho = 0
        self.drho = 0.0
        self.nr = 0
        self.dr = 0.0
        self.rhomax = 0.0
        self.cut = 0.0
        self.frho: List[List[float]] = []   # per element
        self.rhor: List[List[float]] = []   # the density functions
        self.z2r: List[List[float]] = []    # r phi for each element pair i >= j
        self.type2rhor: List[List[int]] = []  # [i][j]: LAMMPS's type2rhor[i][j]
        self.type2z2r: List[List[int]] = []


def _one_based(values: List[float]) -> List[float]:
    return [0.0] + values


def read(path: str, fmt: str) -> Tables:
    if fmt not in FORMATS:
        raise EamFileError(path, 0, "unknown format '%s' (formats: %s)" % (fmt, ", ".join(FORMATS)))
    reader = _Reader(path)
    return _read_funcfl(reader) if fmt == "eam" else _read_setfl(reader, fmt)


def _read_funcfl(reader: _Reader) -> Tables:
    t = Tables()
    t.format = "eam"
    t.header = [" ".join(reader.line("the comment line"))]
    tokens = reader.line("the element line (atomic number, mass)")
    if len(tokens) < 2:
        raise EamFileError(reader.path, reader.at, "expected the atomic number and mass, got '%s'" % " ".join(tokens))
    number = int(reader.number(tokens[0], "atomic number", True))
    mass = reader.number(tokens[1], "mass")
    if not 1 <= number < len(SYMBOLS):
        raise EamFileError(reader.path, reader.at, "atomic number %d is not an element" % number)
    nrho, drho, nr, dr, cut = reader.grid("the grid line")
    frho = _one_based(reader.values(nrho, "F(rho)"))
    zr = _one_based(reader.values(nr, "Z(r)"))
    rhor = _one_based(reader.values(nr, "rho(r)"))
    t.elements, t.numbers, t.masses, t.cut = [SYMBOLS[number]], [number], [mass], cut
    # PairEAM::file2array for one active funcfl file: the common grid and its re-sampling.
    t.dr, t.drho = dr, drho
    rmax = (nr - 1) * dr
    t.rhomax = (nrho - 1) * drho
    t.nr = int(rmax / dr + 0.5)
    t.nrho = int(t.rhomax / drho + 0.5)
    t.frho = [_resample(frho, nrho, drho, t.nrho, t.drho)]
    t.rhor = [_resample(rhor, nr, dr, t.nr, t.dr)]
    zi = _resample(zr, nr, dr, t.nr, t.dr)
    t.z2r = [[0.0] + [27.2 * 0.529 * zi[m] * zi[m] for m in range(1, t.nr + 1)]]
    t.type2rhor = [[0]]
    t.type2z2r = [[0]]
    return t


def _resample(f: List[float], n_file: int, d_file: float, n: int, delta: float) -> List[float]:
    """PairEAM::file2array's four-point interpolation of a funcfl table onto the common grid."""
    sixth = 1.0 / 6.0
    out = [0.0] * (n + 1)
    for m in range(1, n + 1):
        r = (m - 1) * delta
        p = r / d_file + 1.0
        k = int(p)
        k = min(k, n_file - 2)
        k = max(k, 2)
        p -= k
        p = min(p, 2.0)
        cof1 = -sixth * p * (p - 1.0) * (p - 2.0)
        cof2 = 0.5 * (p * p - 1.0) * (p - 2.0)
        cof3 = -0.5 * p * (p + 1.0) * (p - 2.0)
        cof4 = sixth * p * (p * p - 1.0)
        out[m] = cof1 * f[k - 1] + cof2 * f[k] + cof3 * f[k + 1] + cof4 * f[k + 2]
    return out


def _read_setfl(reader: _Reader, fmt: str) -> Tables:
    t = Tables()
    t.format = fmt
    t.header = [" ".join(reader.line("comment line %d" % k)) for k in (1, 2, 3)]
    tokens = reader.line("the element line (Nelements Element1 ...)")
    if not tokens:
        raise EamFileError(reader.path, reader.at, "expected Nelements and the element names")
    count = int(reader.number(tokens[0], "Nelements", True))
    if count < 1 or len(tokens) != count + 1:
        raise EamFileError(reader.path, reader.at, "the element line announces %s element(s) but names %d: '%s'"
                           % (tokens[0], len(tokens) - 1, " ".join(tokens)))
    t.elements = tokens[1:]
    for symbol in t.elements:
        if symbol not in SYMBOLS[1:]:
            raise EamFileError(reader.path, reader.at, "'%s' is not an element symbol" % symbol)
    t.nrho, t.drho, t.nr, t.dr, t.cut = reader.grid("the grid line")
    t.rhomax = (t.nrho - 1) * t.drho
    n = len(t.elements)
    fs_rhor: List[List[List[float]]] = []
    for i, symbol in enumerate(t.elements):
        tokens = reader.line("the line of element %s (atomic number, mass)" % symbol)
        if len(tokens) < 2:
            raise EamFileError(reader.path, reader.at, "expected the atomic number and mass of %s" % symbol)
        t.numbers.append(int(reader.number(tokens[0], "atomic number", True)))
        t.masses.append(reader.number(tokens[1], "mass"))
        t.frho.append(_one_based(reader.values(t.nrho, "F(rho) of " + symbol)))
        if fmt == "eam/fs":
            fs_rhor.append([_one_based(reader.values(t.nr, "rho(r) of %s-%s" % (symbol, other))) for other in t.elements])
        else:
            t.rhor.append(_one_based(reader.values(t.nr, "rho(r) of " + symbol)))
    for i in range(n):
        for j in range(i + 1):
            t.z2r.append(_one_based(reader.values(t.nr, "r*phi(r) of %s-%s" % (t.elements[i], t.elements[j]))))
    if fmt == "eam/fs":
        # PairEAMFS::file2array: rhor[i*N + j] = fs->rhor[i][j]; type2rhor[i][j] = i*N + j.
        t.rhor = [fs_rhor[i][j] for i in range(n) for j in range(n)]
        t.type2rhor = [[i * n + j for j in range(n)] for i in range(n)]
    else:
        t.type2rhor = [[i for _ in range(n)] for i in range(n)]
    t.type2z2r = [[_lower_index(i, j) for j in range(n)] for i in range(n)]
    return t


def _lower_index(i: int, j: int) -> int:
    row, column = (i, j) if i >= j else (j, i)
    return row * (row + 1) // 2 + column


def spline(n: int, delta: float, f: List[float]) -> List[List[float]]:
    """PairEAM::interpolate: rows m = 1..n of seven coefficients (row 0 unused)."""
    s = [[0.0] * 7 for _ in range(n + 1)]
    for m in range(1, n + 1):
        s[m][6] = f[m]
    s[1][5] = s[2][6] - s[1][6]
    s[2][5] = 0.5 * (s[3][6] - s[1][6])
    s[n - 1][5] = 0.5 * (s[n][6] - s[n - 2][6])
    s[n][5] = s[n][6] - s[n - 1][6]
    for m in range(3, n - 1):
        s[m][5] = ((s[m - 2][6] - s[m + 2][6]) + 8.0 * (s[m + 1][6] - s[m - 1][6])) / 12.0
    for m in range(1, n):
        s[m][4] = 3.0 * (s[m + 1][6] - s[m][6]) - 2.0 * s[m][5] - s[m + 1][5]
        s[m][3] = s[m][5] + s[m + 1][5] - 2.0 * (s[m + 1][6] - s[m][6])
    s[n][4] = 0.0
    s[n][3] = 0.0
    for m in range(1, n + 1):
        s[m][2] = s[m][5] / delta
        s[m][1] = 2.0 * s[m][4] / delta
        s[m][0] = 3.0 * s[m][3] / delta
    return s


class EAM(HalfListPairPotential):
    """Energy, forces and stress of an EAM parameter file, by PairEAM::compute's formulas."""

    def __init__(self, t: Tables):
        super().__init__(t.cut)
        self.nr = t.nr
        self.nrho = t.nrho
        self.rdr = 1.0 / t.dr
        self.rdrho = 1.0 / t.drho
        self.rhomax = t.rhomax
        f64 = torch.float64
        self.register_buffer("frho_spline", torch.tensor([spline(t.nrho, t.drho, f) for f in t.frho], dtype=f64))
        self.register_buffer("rhor_spline", torch.tensor([spline(t.nr, t.dr, f) for f in t.rhor], dtype=f64))
        self.register_buffer("z2r_spline", torch.tensor([spline(t.nr, t.dr, f) for f in t.z2r], dtype=f64))
        type_of_z = [-1] * len(SYMBOLS)
        for index, symbol in enumerate(t.elements):
            type_of_z[SYMBOLS.index(symbol)] = index
        self.register_buffer("type_of_z", torch.tensor(type_of_z, dtype=torch.int64))
        self.register_buffer("type2rhor", torch.tensor(t.type2rhor, dtype=torch.int64))
        self.register_buffer("type2z2r", torch.tensor(t.type2z2r, dtype=torch.int64))

    def edge_terms(self, r2: torch.Tensor, inside: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
                   system_of_edge: torch.Tensor, batch: torch.Tensor, atomic_numbers: torch.Tensor, n_atoms: int,
                   n_systems: int) -> Tuple[torch.Tensor, torch.Tensor]:
        frho = self.frho_spline.to(r2.dtype)
        rhor = self.rhor_spline.to(r2.dtype)
        z2r = self.z2r_spline.to(r2.dtype)
        types = self.type_of_z.index_select(0, atomic_numbers)
        ti = types.index_select(0, i)
        tj = types.index_select(0, j)
        r = r2.sqrt()
        # Grid interval m (1-based) and fraction p as PairEAM::compute takes them: truncation, m at
        # most nr - 1, p at most 1 (r beyond the table keeps the last interval's end).
        p = r * self.rdr + 1.0
        m = torch.trunc(p).clamp(max=float(self.nr - 1))
        p = (p - m).clamp(max=1.0)
        m = m.to(torch.int64)
        into_i = rhor[self.type2rhor[tj, ti], m]  # density at i due to j
        into_j = rhor[self.type2rhor[ti, tj], m]  # density at j due to i
        rho_i = ((into_i[:, 3] * p + into_i[:, 4]) * p + into_i[:, 5]) * p + into_i[:, 6]
        rho_j = ((into_j[:, 3] * p + into_j[:, 4]) * p + into_j[:, 5]) * p + into_j[:, 6]
        rho = torch.zeros(n_atoms, dtype=r2.dtype, device=r2.device).scatter_add_(0, i, rho_i * inside)
        rho = rho.scatter_add_(0, j, rho_j * inside)
        # Embedding: rho beyond the table adds the linear term fp (rho - rhomax), as LAMMPS does.
        q = rho * self.rdrho + 1.0
        k = torch.trunc(q).clamp(min=1.0, max=float(self.nrho - 1))
        q = (q - k).clamp(max=1.0)
        f = frho[types, k.to(torch.int64)]
        fp = (f[:, 0] * q + f[:, 1]) * q + f[:, 2]
        embedding = ((f[:, 3] * q + f[:, 4]) * q + f[:, 5]) * q + f[:, 6]
        embedding = embedding + torch.where(rho > self.rhomax, fp * (rho - self.rhomax), torch.zeros_like(rho))
        # Pair terms and the force coefficient c = psip / r (dE/dd = c d).
        rhoip = (into_j[:, 0] * p + into_j[:, 1]) * p + into_j[:, 2]
        rhojp = (into_i[:, 0] * p + into_i[:, 1]) * p + into_i[:, 2]
        z = z2r[self.type2z2r[ti, tj], m]
        z2p = (z[:, 0] * p + z[:, 1]) * p + z[:, 2]
        z2 = ((z[:, 3] * p + z[:, 4]) * p + z[:, 5]) * p + z[:, 6]
        recip = 1.0 / r
        phi = z2 * recip
        phip = z2p * recip - phi * recip
        psip = fp.index_select(0, i) * rhojp + fp.index_select(0, j) * rhoip + phip
        energy = torch.zeros(n_systems, dtype=r2.dtype, device=r2.device).scatter_add_(0, system_of_edge, phi * inside)
        energy = energy.scatter_add_(0, batch, embedding)
        return energy, psip * recip * inside


def metadata(t: Tables, source: str, file_stem: str) -> Dict[str, str]:
    """metadata.properties entries of a converted file: elements, masses, cutoff and the file's header as citation."""
    citation = " | ".join(line for line in t.header if line)
    return {
        "name": "%s (%s)" % (file_stem, t.format),
        "file": file_stem + ".pt",
        "cutoff": repr(t.cut),
        "elements": ",".join(t.elements),
        "masses": ",".join("%s=%r" % (e, m) for e, m in zip(t.elements, t.masses)),
        "dtype": "float64,float32",
        "units": "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3",
        "outputs": "energy,forces,stress",
        "interface": "native-half-list",
        "format": t.format,
        "source": os.path.abspath(source),
        "parameters": "tabulated EAM: Nrho=%d drho=%r Nr=%d dr=%r, LAMMPS's cubic splines" % (t.nrho, t.drho, t.nr, t.dr),
        "citation": citation or "(no header in the file)",
    }
