"""SNAP potentials (spectral neighbor analysis, Thompson et al., J. Comput. Phys. 285, 316 (2015))
from LAMMPS parameter files (``X.snapcoeff`` + ``X.snapparam``) as TorchScript.

The energy of atom i is beta_0 + sum_k beta_k B_k(i) (``quadraticflag 1``: plus
0.5 sum_k beta_kk B_k^2 + sum_{k<l} beta_kl B_k B_l), where the bispectrum components
B_{j1 j2 j} = 2 Re sum conj(U_j) . Z_{j1 j2 j}, Z the Clebsch-Gordan coupling of U_{j1} and U_{j2},
and U_j(i) = wself 1 + sum_neighbors sfac(r) w_elem(j) u_j(r_ij), u_j the Wigner matrices of the
4D hypersphere mapping (theta0 = (r - rmin0) rfac0 pi / (rcut_ij - rmin0)), rcut_ij =
(R_i + R_j) rcutfac. The index conventions, the recursion for u_j (VMK 4.8.2, with the inversion
symmetry for the second half), the Clebsch-Gordan table and the half weights of the middle column
follow LAMMPS's SNA class so that results agree with LAMMPS and the OpenKIM SNAP driver to
round-off. Everything is vectorized over the edges and atoms of the batch: Python loops run over
the (few, fixed) angular-momentum layers only, with precomputed index tables as buffers. Forces
and stress by autograd through the edge vectors.

Supported: any twojmax, rfac0, rmin0, rcutfac, per-element radii and weights, switchflag,
bzeroflag, quadraticflag. Not supported (refused when a file sets them): chemflag, bnormflag,
wselfallflag, switchinnerflag (the explicitly multi-element variant).
"""
import math
import os
from typing import Dict, List, Tuple

import torch

from pair_geometry import edge_forces_and_stress

from eam import SYMBOLS, EamFileError

# One error type for every parameter file: file, line and problem.
SnapFileError = EamFileError


class SnapParameters:
    """The contents of a .snapparam and a .snapcoeff file."""

    def __init__(self):
        self.header: List[str] = []
        self.rcutfac = 0.0
        self.twojmax = 0
        self.rfac0 = 0.99363
        self.rmin0 = 0.0
        self.switchflag = 1
        self.bzeroflag = 1
        self.quadraticflag = 0
        self.elements: List[str] = []
        self.radii: List[float] = []
        self.weights: List[float] = []
        self.coefficients: List[List[float]] = []


def _content(path: str) -> List[Tuple[int, List[str]]]:
    """Non-empty lines without '#' comments, with their numbers."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if text:
                out.append((number, text.split()))
    return out


def _header(path: str) -> List[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.strip().lstrip("#").strip() for line in f if line.startswith("#")][:2]


def read(coeff_path: str, param_path: str) -> SnapParameters:
    p = SnapParameters()
    p.header = _header(coeff_path)
    known = {"rcutfac": float, "twojmax": int, "rfac0": float, "rmin0": float, "switchflag": int, "bzeroflag": int,
             "quadraticflag": int}
    unsupported = ("chemflag", "bnormflag", "wselfallflag", "switchinnerflag")
    seen = set()
    for number, tokens in _content(param_path):
        key = tokens[0]
        if len(tokens) < 2:
            raise SnapFileError(param_path, number, "'%s' has no value" % key)
        if key in unsupported:
            if int(float(tokens[1])) != 0:
                raise SnapFileError(param_path, number, "%s %s is not supported (only the single-descriptor SNAP: "
                                    "chemflag, bnormflag, wselfallflag, switchinnerflag 0)" % (key, tokens[1]))
            continue
        if key not in known:
            raise SnapFileError(param_path, number, "unknown keyword '%s'" % key)
        try:
            setattr(p, key, known[key](tokens[1]) if known[key] is float else int(float(tokens[1])))
        except ValueError:
            raise SnapFileError(param_path, number, "'%s' is not a number (%s)" % (tokens[1], key))
        seen.add(key)
    for required in ("rcutfac", "twojmax"):
        if required not in seen:
            raise SnapFileError(param_path, 0, "missing keyword '%s'" % required)
    if p.twojmax < 0 or p.rcutfac <= 0:
        raise SnapFileError(param_path, 0, "twojmax must be >= 0 and rcutfac > 0")
    lines = _content(coeff_path)
    if not lines or len(lines[0][1]) < 2:
        raise SnapFileError(coeff_path, lines[0][0] if lines else 0, "expected 'nelements ncoeff'")
    nelements, ncoeff = int(lines[0][1][0]), int(lines[0][1][1])
    expected = ncoeff_for(p.twojmax, p.quadraticflag)
    if ncoeff != expected:
        raise SnapFileError(coeff_path, lines[0][0], "%d coefficients per element, but twojmax %d%s needs %d"
                            % (ncoeff, p.twojmax, " (quadratic)" if p.quadraticflag else "", expected))
    at = 1
    for _ in range(nelements):
        if at >= len(lines):
            raise SnapFileError(coeff_path, lines[-1][0], "file ends before element %d of %d" % (len(p.elements) + 1,
                                                                                             nelements))
        number, tokens = lines[at]
        if len(tokens) < 3 or tokens[0] not in SYMBOLS[1:]:
            raise SnapFileError(coeff_path, number, "expected 'Element radius weight', got '%s'" % " ".join(tokens))
        p.elements.append(tokens[0])
        p.radii.append(float(tokens[1]))
        p.weights.append(float(tokens[2]))
        at += 1
        values = []
        for _ in range(ncoeff):
            if at >= len(lines):
                raise SnapFileError(coeff_path, lines[-1][0], "file ends after %d of %d coefficients of %s (truncated)"
                                    % (len(values), ncoeff, tokens[0]))
            try:
                values.append(float(lines[at][1][0]))
            except ValueError:
                raise SnapFileError(coeff_path, lines[at][0], "'%s' is not a number" % lines[at][1][0])
            at += 1
        p.coefficients.append(values)
    return p


def bispectrum_indices(twojmax: int) -> List[Tuple[int, int, int]]:
    return [(j1, j2, j) for j1 in range(twojmax + 1) for j2 in range(j1 + 1)
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2) if j >= j1]


def ncoeff_for(twojmax: int, quadratic: int) -> int:
    n = len(bispectrum_indices(twojmax))
    return 1 + n + (n * (n + 1) // 2 if quadratic else 0)


def _clebsch_gordan(j1: int, j2: int, j: int, m1: int, m2: int) -> float:
    """LAMMPS's SNA::init_clebsch_gordan entry (VMK 8.2.1(3)), in its labels."""
    f = math.factorial
    aa2 = 2 * m1 - j1
    bb2 = 2 * m2 - j2
    m = (aa2 + bb2 + j) // 2
    if m < 0 or m > j:
        return 0.0
    total = 0.0
    for z in range(max(0, max(-(j - j2 + aa2) // 2, -(j - j1 - bb2) // 2)),
                   min((j1 + j2 - j) // 2, min((j1 - aa2) // 2, (j2 + bb2) // 2)) + 1):
        sign = -1 if z % 2 else 1
        total += sign / (f(z) * f((j1 + j2 - j) // 2 - z) * f((j1 - aa2) // 2 - z) * f((j2 + bb2) // 2 - z)
                         * f((j - j2 + aa2) // 2 + z) * f((j - j1 - bb2) // 2 + z))
    cc2 = 2 * m - j
    dcg = math.sqrt(f((j1 + j2 - j) // 2) * f((j1 - j2 + j) // 2) * f((-j1 + j2 + j) // 2) / f((j1 + j2 + j) // 2 + 1))
    sfaccg = math.sqrt(f((j1 + aa2) // 2) * f((j1 - aa2) // 2) * f((j2 + bb2) // 2) * f((j2 - bb2) // 2)
                       * f((j + cc2) // 2) * f((j - cc2) // 2) * (j + 1))
    return total * dcg * sfaccg


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncation toward zero), as LAMMPS's index arithmetic uses it."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


class Tables:
    """Index tables of the U recursion, the Z coupling and the B contraction for one twojmax."""

    def __init__(self, twojmax: int):
        self.twojmax = twojmax
        self.block = [sum((k + 1) ** 2 for k in range(j)) for j in range(twojmax + 2)]
        self.nu = self.block[twojmax + 1]
        # U recursion, layer by layer: left rows (2 mb <= j) from layer j-1, then the full layer.
        self.left_target: List[int] = []   # position in the layer's left block
        self.a_source: List[int] = []      # global index of u_{j-1}(mb, ma), or 0 with coefficient 0
        self.a_coef: List[float] = []
        self.b_source: List[int] = []
        self.b_coef: List[float] = []
        self.left_offsets = [0]
        self.full_source: List[int] = []   # per layer position: position in the left block
        self.full_sign_r: List[float] = []
        self.full_sign_i: List[float] = []
        self.full_offsets = [0]
        for j in range(twojmax + 1):
            rows = j // 2 + 1
            for mb in range(rows):
                for ma in range(j + 1):
                    self.left_target.append(mb * (j + 1) + ma)
                    prev = self.block[j - 1] if j > 0 else 0
                    if j > 0 and ma < j:
                        self.a_source.append(prev + mb * j + ma)
                        self.a_coef.append(math.sqrt((j - ma) / (j - mb)))
                    else:
                        self.a_source.append(0)
                        self.a_coef.append(0.0)
                    if j > 0 and ma >= 1:
                        self.b_source.append(prev + mb * j + ma - 1)
                        self.b_coef.append(-math.sqrt(ma / (j - mb)))
                    else:
                        self.b_source.append(0)
                        self.b_coef.append(0.0)
            self.left_offsets.append(len(self.left_target))
            # The full layer, as LAMMPS's in-place copy leaves it: u[j-mb][j-ma] = (-1)^(ma+mb) conj(u[mb][ma])
            # for 2 mb <= j, in order (for even j the middle row's left half ends as it was, its middle conj).
            layer = [(p, 1.0, 1.0) for p in range((j + 1) * (j + 1))]  # (left position, sign_r, sign_i)
            for p in range(rows * (j + 1)):
                layer[p] = (p, 1.0, 1.0)
            state = {p: (p, 1.0, 1.0) for p in range(rows * (j + 1))}
            for mb in range(rows):
                for ma in range(j + 1):
                    src = state[mb * (j + 1) + ma]
                    sign = 1.0 if (ma + mb) % 2 == 0 else -1.0
                    target = (j - mb) * (j + 1) + (j - ma)
                    state[target] = (src[0], sign * src[1], -sign * src[2])
            for p in range((j + 1) * (j + 1)):
                layer[p] = state[p]
            for (source, sr, si) in layer:
                self.full_source.append(source)
                self.full_sign_r.append(sr)
                self.full_sign_i.append(si)
            self.full_offsets.append(len(self.full_source))
        # Z coupling terms and the B contraction.
        bidx = bispectrum_indices(twojmax)
        cg: Dict[Tuple[int, int, int], List[float]] = {}
        zblock: Dict[Tuple[int, int, int], int] = {}
        self.z_u1: List[int] = []
        self.z_u2: List[int] = []
        self.z_coef: List[float] = []
        self.z_target: List[int] = []
        nz = 0
        for j1 in range(twojmax + 1):
            for j2 in range(j1 + 1):
                for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                    cg[(j1, j2, j)] = [_clebsch_gordan(j1, j2, j, m1, m2) for m1 in range(j1 + 1) for m2 in range(j2 + 1)]
                    zblock[(j1, j2, j)] = nz
                    block = cg[(j1, j2, j)]
                    for mb in range(j // 2 + 1):
                        for ma in range(j + 1):
                            ma1min = max(0, _c_div(2 * ma - j - j2 + j1, 2))
                            ma2max = _c_div(2 * ma - j - (2 * ma1min - j1) + j2, 2)
                            na = min(j1, _c_div(2 * ma - j + j2 + j1, 2)) - ma1min + 1
                            mb1min = max(0, _c_div(2 * mb - j - j2 + j1, 2))
                            mb2max = _c_div(2 * mb - j - (2 * mb1min - j1) + j2, 2)
                            nb = min(j1, _c_div(2 * mb - j + j2 + j1, 2)) - mb1min + 1
                            for ib in range(nb):
                                mb1 = mb1min + ib
                                mb2 = mb2max - ib
                                for ia in range(na):
                                    ma1 = ma1min + ia
                                    ma2 = ma2max - ia
                                    self.z_u1.append(self.block[j1] + (j1 + 1) * mb1 + ma1)
                                    self.z_u2.append(self.block[j2] + (j2 + 1) * mb2 + ma2)
                                    self.z_coef.append(block[ma1 * (j2 + 1) + ma2] * block[mb1 * (j2 + 1) + mb2])
                                    self.z_target.append(nz)
                            nz += 1
        self.nz = nz
        self.b_u: List[int] = []
        self.b_z: List[int] = []
        self.b_weight: List[float] = []
        self.b_target: List[int] = []
        for k, (j1, j2, j) in enumerate(bidx):
            jjz = zblock[(j1, j2, j)]
            jju = self.block[j]
            for mb in range(j // 2 + 1):
                for ma in range(j + 1):
                    if 2 * mb < j or ma < mb:
                        weight = 1.0
                    elif ma == mb:
                        weight = 0.5
                    else:
                        weight = 0.0
                    if weight > 0:
                        self.b_u.append(jju + mb * (j + 1) + ma)
                        self.b_z.append(jjz + mb * (j + 1) + ma)
                        self.b_weight.append(weight)
                        self.b_target.append(k)
        self.nb = len(bidx)
        # The adjoint: dE/dU_j(ma, mb) on the left half = sum over Z entries of all triples mapping to
        # that U entry of factor * dE/dB_{k} * Z (LAMMPS's compute_yi), so the forces need no pass back
        # through the couplings. G (dE/dU per part) = 2 * weight * Y on the left half, 0 on the right.
        bindex = {t: k for k, t in enumerate(bidx)}
        self.y_z: List[int] = []
        self.y_u: List[int] = []
        self.y_b: List[int] = []
        self.y_factor: List[float] = []
        for (j1, j2, j), start in zblock.items():
            if j >= j1:
                k = bindex[(j1, j2, j)]
                factor = 3.0 if (j1 == j and j2 == j) else 2.0 if j1 == j else 1.0
            elif j >= j2:
                k = bindex[(j, j2, j1)]
                factor = 2.0 if j2 == j else 1.0
            else:
                k = bindex[(j2, j, j1)]
                factor = 1.0
            if j1 > j:
                factor *= (j1 + 1) / (j + 1.0)
            position = 0
            for mb in range(j // 2 + 1):
                for ma in range(j + 1):
                    self.y_z.append(start + position)
                    self.y_u.append(self.block[j] + mb * (j + 1) + ma)
                    self.y_b.append(k)
                    self.y_factor.append(factor)
                    position += 1
        # Weight of each U entry in dE/dU = 2 w Y: 1 on the left half, 0.5 at the middle column's centre.
        self.u_weight = [0.0] * self.nu
        for j in range(twojmax + 1):
            for mb in range(j // 2 + 1):
                for ma in range(j + 1):
                    if 2 * mb < j or ma < mb:
                        self.u_weight[self.block[j] + mb * (j + 1) + ma] = 2.0
                    elif ma == mb:
                        self.u_weight[self.block[j] + mb * (j + 1) + ma] = 1.0


class SNAP(torch.nn.Module):
    """Energy, forces and stress of a SNAP parameter set (interface native: full neighbor list, integer shifts)."""

    def __init__(self, p: SnapParameters):
        super().__init__()
        t = Tables(p.twojmax)
        n_el = len(p.elements)
        self.twojmax = p.twojmax
        self.rfac0 = p.rfac0
        self.rmin0 = p.rmin0
        self.switchflag = p.switchflag
        self.quadratic = p.quadraticflag
        self.nb = t.nb
        self.nz = t.nz
        self.nu = t.nu
        self.left_offsets = t.left_offsets
        self.full_offsets = t.full_offsets
        self.block = t.block
        self.cutoff = 2.0 * max(p.radii) * p.rcutfac
        self.chunk = max(1, 4_000_000 // len(t.z_coef))  # atoms per chunk of the coupling: ~4e6 terms
        i64 = torch.int64
        f64 = torch.float64
        self.register_buffer("left_target", torch.tensor(t.left_target, dtype=i64))
        self.register_buffer("a_source", torch.tensor(t.a_source, dtype=i64))
        self.register_buffer("a_coef", torch.tensor(t.a_coef, dtype=f64))
        self.register_buffer("b_source", torch.tensor(t.b_source, dtype=i64))
        self.register_buffer("b_coef", torch.tensor(t.b_coef, dtype=f64))
        self.register_buffer("full_source", torch.tensor(t.full_source, dtype=i64))
        self.register_buffer("full_sign_r", torch.tensor(t.full_sign_r, dtype=f64))
        self.register_buffer("full_sign_i", torch.tensor(t.full_sign_i, dtype=f64))
        self.register_buffer("z_u1", torch.tensor(t.z_u1, dtype=i64))
        self.register_buffer("z_u2", torch.tensor(t.z_u2, dtype=i64))
        self.register_buffer("z_coef", torch.tensor(t.z_coef, dtype=f64))
        self.register_buffer("z_target", torch.tensor(t.z_target, dtype=i64))
        self.register_buffer("b_u", torch.tensor(t.b_u, dtype=i64))
        self.register_buffer("b_z", torch.tensor(t.b_z, dtype=i64))
        self.register_buffer("b_weight", torch.tensor(t.b_weight, dtype=f64))
        self.register_buffer("b_target", torch.tensor(t.b_target, dtype=i64))
        self.register_buffer("y_z", torch.tensor(t.y_z, dtype=i64))
        self.register_buffer("y_u", torch.tensor(t.y_u, dtype=i64))
        self.register_buffer("y_b", torch.tensor(t.y_b, dtype=i64))
        self.register_buffer("y_factor", torch.tensor(t.y_factor, dtype=f64))
        self.register_buffer("u_weight", torch.tensor(t.u_weight, dtype=f64))
        diagonal = [0.0] * t.nu
        for j in range(p.twojmax + 1):
            for ma in range(j + 1):
                diagonal[t.block[j] + ma * (j + 1) + ma] = 1.0  # wself = 1
        self.register_buffer("self_term", torch.tensor(diagonal, dtype=f64))
        bzero = [0.0] * t.nb
        if p.bzeroflag:
            bzero = [float(j + 1) for (j1, j2, j) in bispectrum_indices(p.twojmax)]  # wself^3 (j+1)
        self.register_buffer("bzero", torch.tensor(bzero, dtype=f64))
        type_of_z = [-1] * len(SYMBOLS)
        for index, symbol in enumerate(p.elements):
            type_of_z[SYMBOLS.index(symbol)] = index
        self.register_buffer("type_of_z", torch.tensor(type_of_z, dtype=i64))
        self.register_buffer("radius", torch.tensor(p.radii, dtype=f64))
        self.register_buffer("weight", torch.tensor(p.weights, dtype=f64))
        self.rcutfac = p.rcutfac
        self.register_buffer("beta0", torch.tensor([c[0] for c in p.coefficients], dtype=f64))
        self.register_buffer("beta", torch.tensor([c[1:1 + t.nb] for c in p.coefficients], dtype=f64))
        quad = torch.zeros(n_el, t.nb, t.nb, dtype=f64)
        if p.quadraticflag:
            for e, c in enumerate(p.coefficients):
                k = 1 + t.nb
                for a in range(t.nb):
                    quad[e, a, a] = 0.5 * c[k]
                    k += 1
                    for b in range(a + 1, t.nb):
                        quad[e, a, b] = c[k]
                        k += 1
        self.register_buffer("quad", quad)

    def wigner(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, r: torch.Tensor,
               rcut: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """u_j for every edge, [E, nu] real and imaginary parts, LAMMPS's layout."""
        theta0 = (r - self.rmin0) * self.rfac0 * 3.141592653589793 / (rcut - self.rmin0)
        z0 = r / torch.tan(theta0)
        r0inv = 1.0 / torch.sqrt(r * r + z0 * z0)
        a_r = (r0inv * z0).unsqueeze(1)
        a_i = (-r0inv * z).unsqueeze(1)
        b_r = (r0inv * y).unsqueeze(1)
        b_i = (-r0inv * x).unsqueeze(1)
        layers_r: List[torch.Tensor] = [torch.ones_like(r).unsqueeze(1)]
        layers_i: List[torch.Tensor] = [torch.zeros_like(r).unsqueeze(1)]
        u_r = layers_r[0]
        u_i = layers_i[0]
        for j in range(1, self.twojmax + 1):
            lo = self.left_offsets[j]
            hi = self.left_offsets[j + 1]
            # u so far, indexed globally: the previous layer sits at the end.
            prev_r = u_r.index_select(1, self.a_source[lo:hi])
            prev_i = u_i.index_select(1, self.a_source[lo:hi])
            ca = self.a_coef[lo:hi].to(r.dtype)
            ta_r = ca * (a_r * prev_r + a_i * prev_i)
            ta_i = ca * (a_r * prev_i - a_i * prev_r)
            prev_r = u_r.index_select(1, self.b_source[lo:hi])
            prev_i = u_i.index_select(1, self.b_source[lo:hi])
            cb = self.b_coef[lo:hi].to(r.dtype)
            tb_r = cb * (b_r * prev_r + b_i * prev_i)
            tb_i = cb * (b_r * prev_i - b_i * prev_r)
            left_r = tb_r + ta_r
            left_i = tb_i + ta_i
            f_lo = self.full_offsets[j]
            f_hi = self.full_offsets[j + 1]
            source = self.full_source[f_lo:f_hi]
            layer_r = left_r.index_select(1, source) * self.full_sign_r[f_lo:f_hi].to(r.dtype)
            layer_i = left_i.index_select(1, source) * self.full_sign_i[f_lo:f_hi].to(r.dtype)
            u_r = torch.cat([u_r, layer_r], 1)
            u_i = torch.cat([u_i, layer_i], 1)
        return u_r, u_i

    @torch.jit.export
    def descriptors(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor,
                    edge_index: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """The bispectrum components B [atoms, nb] (after bzero), for checks of the model on top of them."""
        vectors = self.edge_vectors(positions, batch, cell, edge_index, shifts)
        types = self.type_of_z.index_select(0, atomic_numbers)
        weighted_r, weighted_i = self.neighbor_terms(vectors, types, edge_index)
        tot_r, tot_i = self.totals(weighted_r, weighted_i, edge_index[0], positions.shape[0])
        return self.bispectrum(tot_r, tot_i)

    def switch(self, r: torch.Tensor, rcut: torch.Tensor) -> torch.Tensor:
        if self.switchflag == 1:
            return torch.where(r <= self.rmin0, torch.ones_like(r),
                               0.5 * (torch.cos((r - self.rmin0) * 3.141592653589793 / (rcut - self.rmin0)) + 1.0))
        return torch.ones_like(r)

    @staticmethod
    def edge_vectors(positions: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor, edge_index: torch.Tensor,
                     shifts: torch.Tensor) -> torch.Tensor:
        """r_j - r_i + shift . cell per edge (a full neighbor list, integer shifts)."""
        i = edge_index[0]
        translation = torch.bmm(shifts.to(positions.dtype).unsqueeze(1), cell[batch[i]]).squeeze(1)
        return positions.index_select(0, edge_index[1]) - positions.index_select(0, i) + translation

    def neighbor_terms(self, vectors: torch.Tensor, types: torch.Tensor,
                       edge_index: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """sfac w u(r) per edge [E, nu]: each neighbor's contribution to its centre's U."""
        ti = types.index_select(0, edge_index[0])
        tj = types.index_select(0, edge_index[1])
        radius = self.radius.to(vectors.dtype)
        rcut = (radius.index_select(0, ti) + radius.index_select(0, tj)) * self.rcutfac
        r2 = (vectors * vectors).sum(1)
        inside = (r2 < rcut * rcut) & (r2 > 1e-20)
        # Edges beyond their cutoff (kept by the skin) get a safe length and weight zero.
        r = torch.where(inside, r2, rcut * rcut * 0.25).sqrt()
        sfac = self.switch(r, rcut) * self.weight.to(r.dtype).index_select(0, tj) * inside.to(r.dtype)
        u_r, u_i = self.wigner(vectors[:, 0], vectors[:, 1], vectors[:, 2], r, rcut)
        return u_r * sfac.unsqueeze(1), u_i * sfac.unsqueeze(1)

    def totals(self, weighted_r: torch.Tensor, weighted_i: torch.Tensor, centre: torch.Tensor,
               n_atoms: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """U per atom: wself on the diagonal plus its neighbors' terms (no gradient: forces go through the adjoint)."""
        index = centre.unsqueeze(1).expand(centre.shape[0], self.nu)
        tot_r = torch.zeros(n_atoms, self.nu, dtype=weighted_r.dtype, device=weighted_r.device).scatter_add(
            0, index, weighted_r.detach())
        tot_i = torch.zeros(n_atoms, self.nu, dtype=weighted_r.dtype, device=weighted_r.device).scatter_add(
            0, index, weighted_i.detach())
        return tot_r + self.self_term.to(weighted_r.dtype), tot_i

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor,
                pbc: torch.Tensor, edge_index: torch.Tensor,
                shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n_atoms = positions.shape[0]
        n_systems = cell.shape[0]
        i = edge_index[0]
        vectors = self.edge_vectors(positions, batch, cell, edge_index, shifts).detach()
        vectors.requires_grad_(True)
        types = self.type_of_z.index_select(0, atomic_numbers)
        weighted_r, weighted_i = self.neighbor_terms(vectors, types, edge_index)
        tot_r, tot_i = self.totals(weighted_r, weighted_i, i, n_atoms)
        # Energies and dE/dU per chunk of atoms: the Clebsch-Gordan couplings have tens of thousands
        # of terms per atom (twojmax 8), so chunks bound the memory; dE/dU is taken by autograd
        # within the chunk, where the coupling's intermediates live only briefly.
        atom_types = types.clamp(min=0)
        energy_parts: List[torch.Tensor] = []
        grad_r_parts: List[torch.Tensor] = []
        grad_i_parts: List[torch.Tensor] = []
        for start in range(0, n_atoms, self.chunk):
            stop = min(start + self.chunk, n_atoms)
            part_r = tot_r[start:stop]
            part_i = tot_i[start:stop]
            z_r, z_i = self.couplings(part_r, part_i)
            b = self.contract(part_r, part_i, z_r, z_i).detach()
            b.requires_grad_(True)
            e = self.model_energy(b, atom_types[start:stop])
            grads = torch.autograd.grad([e.sum()], [b], allow_unused=True)  # dE/dB: the (small) model only
            beta = grads[0]
            if beta is None:
                beta = torch.zeros_like(b)
            gr, gi = self.adjoint(beta, z_r, z_i)
            grad_r_parts.append(gr)
            grad_i_parts.append(gi)
            energy_parts.append(e.detach())
        energy_atom = torch.cat(energy_parts)
        grad_r = torch.cat(grad_r_parts)
        grad_i = torch.cat(grad_i_parts)
        # E depends on the edge vectors only through U = sum sfac u: dE/dd = sum_k dE/dU_k dU_k/dd,
        # so a surrogate linear in u with the (fixed) dE/dU has the same gradient.
        surrogate = (grad_r.index_select(0, i) * weighted_r).sum() + (grad_i.index_select(0, i) * weighted_i).sum()
        grads = torch.autograd.grad([surrogate], [vectors], allow_unused=True)
        g = grads[0]
        if g is None:
            g = torch.zeros_like(vectors)
        energy = torch.zeros(n_systems, dtype=vectors.dtype, device=vectors.device).scatter_add(0, batch, energy_atom)
        zero_edges = torch.zeros(vectors.shape[0], dtype=vectors.dtype, device=vectors.device)
        _, forces, stress = edge_forces_and_stress(zero_edges, g, vectors.detach(), edge_index, batch, cell, pbc, n_atoms)
        return energy, forces, stress

    def atom_energy(self, tot_r: torch.Tensor, tot_i: torch.Tensor, atom_types: torch.Tensor) -> torch.Tensor:
        """Energy of each atom from its U (rows of tot_r, tot_i)."""
        return self.model_energy(self.bispectrum(tot_r, tot_i), atom_types)

    def bispectrum(self, tot_r: torch.Tensor, tot_i: torch.Tensor) -> torch.Tensor:
        """B [atoms, nb] from U: the Clebsch-Gordan couplings Z, then 2 Re conj(U) Z, less bzero."""
        z_r, z_i = self.couplings(tot_r, tot_i)
        return self.contract(tot_r, tot_i, z_r, z_i)

    def couplings(self, tot_r: torch.Tensor, tot_i: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Z [atoms, nz]: Clebsch-Gordan couplings of pairs of U entries, summed per Z entry.

        Works on transposed [entries, atoms] arrays: gathering whole rows and summing rows with
        index_add is several times faster on a CPU than gathering columns."""
        n = tot_r.shape[0]
        ur = tot_r.t().contiguous()
        ui = tot_i.t().contiguous()
        u1_r = ur.index_select(0, self.z_u1)
        u1_i = ui.index_select(0, self.z_u1)
        u2_r = ur.index_select(0, self.z_u2)
        u2_i = ui.index_select(0, self.z_u2)
        coef = self.z_coef.to(tot_r.dtype).unsqueeze(1)
        z_r = torch.zeros(self.nz, n, dtype=tot_r.dtype, device=tot_r.device).index_add_(0, self.z_target,
                                                                                          coef * (u1_r * u2_r - u1_i * u2_i))
        z_i = torch.zeros(self.nz, n, dtype=tot_r.dtype, device=tot_r.device).index_add_(0, self.z_target,
                                                                                          coef * (u1_r * u2_i + u1_i * u2_r))
        return z_r.t(), z_i.t()

    def contract(self, tot_r: torch.Tensor, tot_i: torch.Tensor, z_r: torch.Tensor, z_i: torch.Tensor) -> torch.Tensor:
        """B = 2 sum w Re(conj(U) Z), the middle column's centre at half weight, less bzero."""
        n = tot_r.shape[0]
        terms = self.b_weight.to(tot_r.dtype).unsqueeze(1) * (
            tot_r.t().index_select(0, self.b_u) * z_r.t().index_select(0, self.b_z)
            + tot_i.t().index_select(0, self.b_u) * z_i.t().index_select(0, self.b_z))
        b = 2.0 * torch.zeros(self.nb, n, dtype=tot_r.dtype, device=tot_r.device).index_add_(0, self.b_target, terms)
        return b.t() - self.bzero.to(tot_r.dtype)

    def adjoint(self, beta: torch.Tensor, z_r: torch.Tensor, z_i: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """dE/dU (real and imaginary parts) from dE/dB and Z, as LAMMPS's compute_yi: no pass back through the couplings."""
        n = beta.shape[0]
        weight = self.y_factor.to(beta.dtype).unsqueeze(1) * beta.t().index_select(0, self.y_b)
        y_r = torch.zeros(self.nu, n, dtype=beta.dtype, device=beta.device).index_add_(0, self.y_u, weight * z_r.t().index_select(0, self.y_z))
        y_i = torch.zeros(self.nu, n, dtype=beta.dtype, device=beta.device).index_add_(0, self.y_u, weight * z_i.t().index_select(0, self.y_z))
        w = self.u_weight.to(beta.dtype).unsqueeze(1)
        return (y_r * w).t(), (y_i * w).t()

    def model_energy(self, b: torch.Tensor, atom_types: torch.Tensor) -> torch.Tensor:
        """Energy of each atom from its bispectrum components: SNAP's linear (or quadratic) model."""
        energy = self.beta0.to(b.dtype).index_select(0, atom_types) \
            + (self.beta.to(b.dtype).index_select(0, atom_types) * b).sum(1)
        if self.quadratic == 1:
            q = self.quad.to(b.dtype).index_select(0, atom_types)
            energy = energy + (b.unsqueeze(2) * q * b.unsqueeze(1)).sum(2).sum(1)
        return energy


ACTIVATIONS = {"linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3}


def read_mliap_descriptor(path: str) -> SnapParameters:
    """An ML-IAP SNAP descriptor file (``X.mliap.descriptor``): the SNAP settings and elements."""
    p = SnapParameters()
    p.header = _header(path)
    seen = set()
    for number, tokens in _content(path):
        key, values = tokens[0], tokens[1:]
        if not values:
            raise SnapFileError(path, number, "'%s' has no value" % key)
        try:
            if key in ("rcutfac", "rfac0", "rmin0"):
                setattr(p, key, float(values[0]))
            elif key in ("twojmax", "bzeroflag", "switchflag"):
                setattr(p, key, int(float(values[0])))
            elif key == "elems":
                p.elements = values
            elif key == "radelems":
                p.radii = [float(v) for v in values]
            elif key == "welems":
                p.weights = [float(v) for v in values]
            elif key == "nelems":
                pass
            elif key in ("nmax", "lmax", "alpha"):
                raise SnapFileError(path, number, "'%s': an SO3 descriptor file; only SNAP descriptors are supported" % key)
            elif key in ("chemflag", "bnormflag", "wselfallflag", "switchinnerflag", "quadraticflag"):
                if int(float(values[0])) != 0:
                    raise SnapFileError(path, number, "%s %s is not supported" % (key, values[0]))
            else:
                raise SnapFileError(path, number, "unknown keyword '%s'" % key)
        except ValueError:
            raise SnapFileError(path, number, "'%s' is not a number (%s)" % (" ".join(values), key))
        seen.add(key)
    for required in ("rcutfac", "twojmax", "elems", "radelems", "welems"):
        if required not in seen:
            raise SnapFileError(path, 0, "missing keyword '%s'" % required)
    if not (len(p.elements) == len(p.radii) == len(p.weights)):
        raise SnapFileError(path, 0, "elems, radelems and welems must list as many values")
    p.coefficients = [[0.0] * (1 + len(bispectrum_indices(p.twojmax))) for _ in p.elements]
    return p


class NeuralNetwork:
    """An ML-IAP ``nn`` model file (``X.nn.mliap.model``): per element, the descriptors' shift and
    scale and the weights of each layer, as LAMMPS's MLIAPModelNN reads them."""

    def __init__(self):
        self.layers: List[int] = []
        self.activations: List[int] = []
        self.shift: List[List[float]] = []
        self.scale: List[List[float]] = []
        self.weights: List[List[List[List[float]]]] = []  # [element][layer][node][inputs]
        self.biases: List[List[List[float]]] = []


def read_nn(path: str, ndescriptors: int, nelements: int) -> NeuralNetwork:
    lines = _content(path)
    if not lines or len(lines[0][1]) != 2:
        raise SnapFileError(path, lines[0][0] if lines else 0, "expected 'nelements nparams'")
    if int(lines[0][1][0]) != nelements:
        raise SnapFileError(path, lines[0][0], "%s elements, but the descriptor file has %d" % (lines[0][1][0], nelements))
    nparams = int(lines[0][1][1])
    net = NeuralNetwork()
    number, tokens = lines[1]
    if not tokens[0].startswith("NET") or int(tokens[1]) != ndescriptors:
        raise SnapFileError(path, number, "expected 'NET %d nlayers activation nodes ...'" % ndescriptors)
    nlayers = int(tokens[2])
    for layer in range(nlayers):
        name = tokens[3 + 2 * layer]
        if name not in ACTIVATIONS:
            raise SnapFileError(path, number, "unknown activation '%s'" % name)
        net.activations.append(ACTIVATIONS[name])
        net.layers.append(int(tokens[4 + 2 * layer]))
    expected = sum((n_in + 1) * n for n_in, n in zip([ndescriptors] + net.layers[:-1], net.layers))
    if expected != nparams:
        raise SnapFileError(path, number, "the layers need %d parameters, the file announces %d" % (expected, nparams))
    values = [float(v) for _, t in lines[2:] for v in t]
    per_element = 2 * ndescriptors + nparams
    if len(values) != nelements * per_element:
        raise SnapFileError(path, lines[-1][0], "%d numbers after the header, expected %d (truncated or extra values)"
                            % (len(values), nelements * per_element))
    for e in range(nelements):
        block = values[e * per_element:(e + 1) * per_element]
        net.shift.append(block[:ndescriptors])
        net.scale.append(block[ndescriptors:2 * ndescriptors])
        coeff = block[2 * ndescriptors:]
        k = 0
        layers_w: List[List[List[float]]] = []
        layers_b: List[List[float]] = []
        for n_in, n in zip([ndescriptors] + net.layers[:-1], net.layers):
            w = []
            b = []
            for node in range(n):
                b.append(coeff[k + node * (n_in + 1)])
                w.append(coeff[k + node * (n_in + 1) + 1:k + (node + 1) * (n_in + 1)])
            layers_w.append(w)
            layers_b.append(b)
            k += (n_in + 1) * n
        net.weights.append(layers_w)
        net.biases.append(layers_b)
    return net


class MliapNN(SNAP):
    """ML-IAP neural network on SNAP descriptors: E_i = NN_elem((B_i - shift) / scale)."""

    def __init__(self, p: SnapParameters, net: NeuralNetwork):
        super().__init__(p)
        self.nlayers = len(net.layers)
        self.activation_codes = net.activations
        f64 = torch.float64
        self.register_buffer("nn_shift", torch.tensor(net.shift, dtype=f64))
        self.register_buffer("nn_scale", torch.tensor(net.scale, dtype=f64))
        width = max(max(net.layers), len(net.shift[0]))
        # Weights padded to one [elements, layers, width, width] tensor (TorchScript holds no ragged lists).
        w = torch.zeros(len(net.weights), self.nlayers, width, width, dtype=f64)
        b = torch.zeros(len(net.weights), self.nlayers, width, dtype=f64)
        for e in range(len(net.weights)):
            for layer in range(self.nlayers):
                matrix = torch.tensor(net.weights[e][layer], dtype=f64)
                w[e, layer, :matrix.shape[0], :matrix.shape[1]] = matrix
                b[e, layer, :matrix.shape[0]] = torch.tensor(net.biases[e][layer], dtype=f64)
        self.register_buffer("nn_weight", w)
        self.register_buffer("nn_bias", b)
        self.layer_sizes = net.layers
        self.width = width

    def model_energy(self, b: torch.Tensor, atom_types: torch.Tensor) -> torch.Tensor:
        x = (b - self.nn_shift.to(b.dtype).index_select(0, atom_types)) / self.nn_scale.to(b.dtype).index_select(0, atom_types)
        if x.shape[1] < self.width:
            x = torch.cat([x, torch.zeros(x.shape[0], self.width - x.shape[1], dtype=x.dtype, device=x.device)], 1)
        weight = self.nn_weight.to(b.dtype).index_select(0, atom_types)
        bias = self.nn_bias.to(b.dtype).index_select(0, atom_types)
        for layer in range(self.nlayers):
            x = torch.bmm(weight[:, layer], x.unsqueeze(2)).squeeze(2) + bias[:, layer]
            code = self.activation_codes[layer]
            if code == 1:
                x = torch.sigmoid(x)
            elif code == 2:
                x = torch.tanh(x)
            elif code == 3:
                x = torch.relu(x)
            # padded nodes stay 0 for linear, tanh and relu; sigmoid(0) = 0.5 is cut by zero weights next layer
        return x[:, 0]


def mliap_metadata(p: SnapParameters, net: NeuralNetwork, model_path: str, file_stem: str, header: List[str]) -> Dict[str, str]:
    m = metadata(p, model_path, file_stem)
    m["name"] = "%s (ML-IAP neural network on SNAP descriptors)" % file_stem
    m["format"] = "mliap-nn"
    m["parameters"] = "twojmax=%d rcutfac=%r, network %s" % (p.twojmax, p.rcutfac, net.layers)
    m["citation"] = " | ".join(h for h in header if h) or m["citation"]
    return m


def metadata(p: SnapParameters, coeff_path: str, file_stem: str) -> Dict[str, str]:
    return {
        "name": "%s (SNAP%s)" % (file_stem, ", quadratic" if p.quadraticflag else ""),
        "file": file_stem + ".pt",
        "cutoff": repr(2.0 * max(p.radii) * p.rcutfac),
        "elements": ",".join(p.elements),
        "dtype": "float64,float32",
        "units": "energy=eV,length=Angstrom,forces=eV/Angstrom,stress=eV/Angstrom^3",
        "outputs": "energy,forces,stress",
        "interface": "native",
        "format": "snap",
        "source": os.path.abspath(coeff_path),
        "parameters": "twojmax=%d rcutfac=%r rfac0=%r rmin0=%r switchflag=%d bzeroflag=%d quadraticflag=%d, %d bispectrum "
                      "components" % (p.twojmax, p.rcutfac, p.rfac0, p.rmin0, p.switchflag, p.bzeroflag, p.quadraticflag,
                                      len(bispectrum_indices(p.twojmax))),
        "citation": " | ".join(h for h in p.header if h) or "(no header in the file)",
    }
