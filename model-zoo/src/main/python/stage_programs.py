"""The arithmetic of every built-in stage kind, for the step graph (fused_step.py).

GENERATED from the Java stage programs (org.fusedstage.dynamics, `StageProgram`) by
org.fusedstage.compile.ScriptEmitter: do not edit. Regenerate with `./fused-stage emit-programs`.
"""
import math
from typing import Dict, List

import torch

from pair_geometry import sum_into


# The step graph's interface, as org.fusedstage.compile.StepGraph defines it: the version Java
# calls, what the graph's list inputs and outputs are, in order.
DATA_INPUTS = ("positions", "velocities", "forces", "energy", "stress", "masses", "atomic_numbers", "batch",
               "cell", "pbc", "status", "edge_index", "shifts")
RANDOM_INPUTS = ("noise", "mb")
TABLE_COLUMNS = ("code", "target", "unconverged_target", "budget", "fmax", "energy_change", "criteria",
                 "stress", "kind", "dt", "temperature", "friction", "damping", "mb_temperature", "max_step",
                 "step_size", "dt_max", "n_min", "f_inc", "f_dec", "alpha_start", "f_alpha")
DATA_OUTPUTS = ("positions", "velocities", "forces", "energy", "status", "stress")


def interface_version() -> int:
    """The interface version (StepGraph.GRAPH_VERSION), which Java checks when it loads a graph."""
    return 3


def data_fields(data: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The fixed data inputs by name (StepGraph.DATA_INPUTS); each stage's random inputs follow."""
    return {"positions": data[0], "velocities": data[1], "forces": data[2], "energy": data[3],
            "stress": data[4], "masses": data[5], "atomic_numbers": data[6], "batch": data[7],
            "cell": data[8], "pbc": data[9], "status": data[10], "edge_index": data[11], "shifts": data[12]}


def random_fields(fields: Dict[str, torch.Tensor], data: List[torch.Tensor], s: int, code: int) -> None:
    """Stage s's random inputs (StepGraph.RANDOM_INPUTS), named <input>.<code>; empty where it draws none."""
    fields["noise." + str(code)] = data[13 + 2 * s]
    fields["mb." + str(code)] = data[14 + 2 * s]


def table_columns(rows: List[List[float]]) -> Dict[str, List[float]]:
    """The stage table's rows by name (StepGraph.TABLE_COLUMNS), one number per stage."""
    return {"code": rows[0], "target": rows[1], "unconverged_target": rows[2], "budget": rows[3],
            "fmax": rows[4], "energy_change": rows[5], "criteria": rows[6], "stress": rows[7],
            "kind": rows[8], "dt": rows[9], "temperature": rows[10], "friction": rows[11],
            "damping": rows[12], "mb_temperature": rows[13], "max_step": rows[14], "step_size": rows[15],
            "dt_max": rows[16], "n_min": rows[17], "f_inc": rows[18], "f_dec": rows[19],
            "alpha_start": rows[20], "f_alpha": rows[21]}


def state_names(kind: int) -> List[str]:
    """A stage's state in the order the graph takes it, without the stage's prefix (StepGraph.stateNames)."""
    if kind == 0:  # DEMO
        return ["steps", "converged", "previous_energy"]
    elif kind == 1:  # VELOCITY_VERLET
        return ["steps", "converged", "previous_energy"]
    elif kind == 2:  # LANGEVIN
        return ["steps", "converged", "previous_energy"]
    elif kind == 3:  # FIRE
        return ["steps", "converged", "previous_energy", "dt", "alpha", "n_positive", "velocity"]
    elif kind == 4:  # STEEPEST_DESCENT
        return ["steps", "converged", "previous_energy"]
    raise ValueError("unknown stage kind")


def data_outputs(fields: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
    """The data outputs, in order (StepGraph.DATA_OUTPUTS); the state follows in the order it came."""
    return [fields["positions"], fields["velocities"], fields["forces"], fields["energy"], fields["status"],
            fields["stress"]]


def segment_sum(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    return sum_into(batch, values, n_systems)


def segment_max(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    out = torch.full((n_systems,), float("-inf"), dtype=values.dtype, device=values.device)
    return out.scatter_reduce(0, batch, values, reduce="amax", include_self=True)


def row_sums(values: torch.Tensor) -> torch.Tensor:
    """x + y + z of each row of [N,3] (a product with ones: torch's sum over a dimension of 3 is
    several times slower on a CPU)."""
    return torch.mv(values, torch.ones(3, dtype=values.dtype, device=values.device))


def to_atoms(values: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """A per-sample value [B] on each of the sample's atoms, [N,1] (index_select: advanced
    indexing is slower on a CPU)."""
    return values.index_select(0, batch).unsqueeze(1)


def inverse_mass(masses: torch.Tensor) -> torch.Tensor:
    column = masses.unsqueeze(1)
    return torch.where(column > 0, 1.0 / column, torch.zeros_like(column))


def inverse_mass_of(fields: Dict[str, torch.Tensor]) -> torch.Tensor:
    """1/m per atom, made once per step: the masses do not change within one."""
    if "inverse_mass" not in fields:
        fields["inverse_mass"] = inverse_mass(fields["masses"])
    return fields["inverse_mass"]


def bookkeeping_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    t0 = state[prefix + "steps"]
    t1 = (t0 + 1)
    u0 = torch.where(mask, t1, t0)
    state[prefix + "steps"] = u0


def bookkeeping_converge(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = state[prefix + "converged"]
    t1 = table["budget"][s]
    t2 = (t1 > 0.0)
    t3 = table["criteria"][s]
    t4 = (t3 > 0.0)
    t5 = table["energy_change"][s]
    t6 = (t5 >= 0.0)
    t7 = fields["energy"]
    if t4:
        t9 = table["fmax"][s]
        t10 = (t9 >= 0.0)
        if t10:
            t12 = fields["forces"]
            t13 = segment_max(row_sums(t12 * t12).sqrt(), batch, n_systems)
            t14 = (t13 <= t9)
            t15 = (mask & t14)
            t11 = t15
        else:
            t11 = mask
        if t6:
            t17 = state[prefix + "previous_energy"]
            t18 = (t7 - t17)
            t19 = t18.abs()
            t20 = torch.isnan(t19)
            t21 = torch.where(t20, float("inf"), t19)
            t22 = (t21 <= t5)
            t23 = (t11 & t22)
            t16 = t23
        else:
            t16 = t11
        t24 = (t16 & mask)
        t8 = t24
    else:
        t25 = (~mask)
        t26 = (mask & t25)
        t8 = t26
    t27 = state[prefix + "steps"]
    t28 = (t27 >= t1)
    t29 = (t28 & mask)
    if t2:
        t31 = (t8 | t29)
        t30 = t31
    else:
        t30 = t8
    if t2:
        if t4:
            t33 = t8
        else:
            t33 = t29
        t32 = t33
    else:
        t32 = t8
    t34 = torch.where(t32, torch.full((n_systems,), 1, dtype=torch.int64, device=real.device), 0)
    t35 = torch.where(t30, t34, t0)
    new_state[prefix + "converged"] = torch.where(mask, t35, t0)
    t36 = fields["status"]
    t37 = table["target"][s]
    t38 = table["unconverged_target"][s]
    t39 = torch.where(t30, torch.full_like(t36, t38), t36)
    t40 = torch.where(t32, t37, t39)
    new_fields["status"] = torch.where(mask, t40, t36).to(t36.dtype)
    if t6:
        t41 = state[prefix + "previous_energy"]
        new_state[prefix + "previous_energy"] = torch.where(mask, t7, t41)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def bookkeeping_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    t0 = state[prefix + "steps"]
    u0 = torch.where(mask, 0, t0)
    t1 = state[prefix + "converged"]
    u1 = torch.where(mask, 0, t1)
    t2 = state[prefix + "previous_energy"]
    u2 = torch.where(mask, float("inf"), t2)
    state[prefix + "steps"] = u0
    state[prefix + "converged"] = u1
    state[prefix + "previous_energy"] = u2


def demo_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    real = fields["positions"]
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    u0 = torch.where(mask_atoms, t7, t0)
    t8 = (t7 * t3)
    t9 = (real + t8)
    u1 = torch.where(mask_atoms, t9, real)
    fields["velocities"] = u0
    fields["positions"] = u1


def demo_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    t8 = table["damping"][s]
    t9 = (1.0 - t8)
    t10 = (t7 * t9)
    u0 = torch.where(mask_atoms, t10, t0)
    fields["velocities"] = u0


def velocity_verlet_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    u0 = torch.where(mask_atoms, t7, t0)
    fields["velocities"] = u0


def velocity_verlet_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = table["mb_temperature"][s]
    t1 = (t0 >= 0.0)
    if t1:
        t2 = fields["velocities"]
        t3 = fields["mb." + str(code)]
        t4 = inverse_mass_of(fields)
        t5 = (t0 * 8.314462618063042e-7)
        t6 = (t4 * t5)
        t7 = t6.sqrt()
        t8 = (t3 * t7)
        t9 = fields["masses"].unsqueeze(1)
        t10 = t8 - (segment_sum(t8 * t9, batch, n_systems) / segment_sum(t9, batch, n_systems)).index_select(0, batch)
        new_fields["velocities"] = torch.where(mask_atoms, t10, t2)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    real = fields["positions"]
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    t8 = table["friction"][s]
    t9 = (-t8)
    t10 = (t9 * t3)
    t11 = math.exp(t10)
    t12 = (t7 * t11)
    t13 = fields["noise." + str(code)]
    t14 = table["temperature"][s]
    t15 = (t14 * 8.314462618063042e-7)
    t16 = (t2 * t15)
    t17 = t16.sqrt()
    t18 = (t11 * t11)
    t19 = (1.0 - t18)
    t20 = math.sqrt(t19)
    t21 = (t17 * t20)
    t22 = (t13 * t21)
    t23 = (t12 + t22)
    u0 = torch.where(mask_atoms, t23, t0)
    t24 = (t3 * 0.5)
    t25 = (t7 * t24)
    t26 = (real + t25)
    t27 = (t23 * t24)
    t28 = (t26 + t27)
    u1 = torch.where(mask_atoms, t28, real)
    fields["velocities"] = u0
    fields["positions"] = u1


def fire_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    t0 = state[prefix + "velocity"]
    t1 = state[prefix + "n_positive"]
    t2 = (t1 >= 0)
    t3 = fields["forces"]
    t4 = segment_sum(row_sums(t3 * t0), batch, n_systems)
    t5 = (t4 > 0.0)
    t6 = (t2 & t5)
    t7 = state[prefix + "alpha"]
    t8 = (1.0 - t7)
    t9 = (~t6)
    t10 = (t2 & t9)
    t11 = torch.where(t10, torch.full((n_systems,), 0.0, dtype=real.dtype, device=real.device), 1.0)
    t12 = torch.where(t6, t8, t11)
    t13 = (t0 * to_atoms(t12, batch))
    t14 = segment_sum(row_sums(t3 * t3), batch, n_systems)
    t15 = (t14 > 0.0)
    t16 = segment_sum(row_sums(t0 * t0), batch, n_systems)
    t17 = t16.sqrt()
    t18 = t14.sqrt()
    t19 = (t17 / t18)
    t20 = torch.where(t15, t19, 0.0)
    t21 = (t7 * t20)
    t22 = torch.where(t6, t21, 0.0)
    t23 = table["n_min"][s]
    t24 = (t1 > t23)
    t25 = (t6 & t24)
    t26 = state[prefix + "dt"]
    t27 = table["f_inc"][s]
    t28 = (t26 * t27)
    t29 = table["dt_max"][s]
    t30 = t28.clamp(max=t29)
    t31 = table["f_dec"][s]
    t32 = (t26 * t31)
    t33 = torch.where(t10, t32, t26)
    t34 = torch.where(t25, t30, t33)
    t35 = (t34 * 0.009648533212388882)
    t36 = (t22 + t35)
    t37 = (t3 * to_atoms(t36, batch))
    t38 = (t13 + t37)
    u0 = torch.where(mask_atoms, t38, t0)
    t39 = (t12 * t12)
    t40 = (t39 * t16)
    t41 = (2.0 * t12)
    t42 = (t41 * t36)
    t43 = (t42 * t4)
    t44 = (t40 + t43)
    t45 = (t36 * t36)
    t46 = (t45 * t14)
    t47 = (t44 + t46)
    t48 = t47.clamp(min=0.0)
    t49 = t48.sqrt()
    t50 = (t34 * t49)
    t51 = table["max_step"][s]
    t52 = (t50 > t51)
    t53 = (t34 * t51)
    t54 = (t53 / t50)
    t55 = torch.where(t52, t54, t34)
    t56 = (t38 * to_atoms(t55, batch))
    t57 = (real + t56)
    u1 = torch.where(mask_atoms, t57, real)
    u2 = torch.where(mask, t34, t26)
    t58 = table["f_alpha"][s]
    t59 = (t7 * t58)
    t60 = table["alpha_start"][s]
    t61 = torch.where(t10, t60, t7)
    t62 = torch.where(t25, t59, t61)
    u3 = torch.where(mask, t62, t7)
    t63 = (t1 + 1)
    t64 = torch.where(t6, t63, 0)
    u4 = torch.where(mask, t64, t1)
    state[prefix + "velocity"] = u0
    fields["positions"] = u1
    state[prefix + "dt"] = u2
    state[prefix + "alpha"] = u3
    state[prefix + "n_positive"] = u4


def fire_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    t0 = state[prefix + "dt"]
    t1 = table["dt"][s]
    u0 = torch.where(mask, t1, t0)
    t2 = state[prefix + "alpha"]
    t3 = table["alpha_start"][s]
    u1 = torch.where(mask, t3, t2)
    t4 = state[prefix + "n_positive"]
    u2 = torch.where(mask, -1, t4)
    t5 = state[prefix + "velocity"]
    u3 = torch.where(mask_atoms, 0.0, t5)
    state[prefix + "dt"] = u0
    state[prefix + "alpha"] = u1
    state[prefix + "n_positive"] = u2
    state[prefix + "velocity"] = u3


def steepest_descent_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    t0 = fields["forces"]
    t1 = table["step_size"][s]
    t2 = (t0 * t1)
    t3 = segment_sum(row_sums(t2 * t2), batch, n_systems)
    t4 = t3.sqrt()
    t5 = table["max_step"][s]
    t6 = (t4 > t5)
    t7 = (t5 / t4)
    t8 = torch.where(t6, t7, 1.0)
    t9 = (t2 * to_atoms(t8, batch))
    t10 = (real + t9)
    u0 = torch.where(mask_atoms, t10, real)
    fields["positions"] = u0


def pre_update(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the pre_update phase of a stage of this kind on the samples of mask."""
    if kind == 0:  # DEMO
        demo_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 1:  # VELOCITY_VERLET: the same arithmetic as demo_pre_update
        demo_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 2:  # LANGEVIN
        langevin_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 3:  # FIRE
        fire_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 4:  # STEEPEST_DESCENT
        steepest_descent_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)


def post_update(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the post_update phase of a stage of this kind on the samples of mask."""
    if kind == 0:  # DEMO
        demo_post_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 1:  # VELOCITY_VERLET
        velocity_verlet_post_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 2:  # LANGEVIN: the same arithmetic as velocity_verlet_post_update
        velocity_verlet_post_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)


def enter(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the enter phase of a stage of this kind on the samples of mask."""
    if kind == 1:  # VELOCITY_VERLET
        velocity_verlet_enter(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 2:  # LANGEVIN: the same arithmetic as velocity_verlet_enter
        velocity_verlet_enter(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 3:  # FIRE
        fire_enter(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
