"""The arithmetic of every built-in stage kind, for the step graph (fused_step.py).

GENERATED from the Java stage programs (org.fusedstage.dynamics, `StageProgram`) by
org.fusedstage.compile.ScriptEmitter: do not edit. Regenerate with `./fused-stage emit-programs`.
"""
import math
from typing import Dict, List

import torch

from pair_geometry import sum_into


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
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = state[prefix + "steps"]
    t1 = (t0 + 1)
    new_state[prefix + "steps"] = torch.where(mask, t1, t0)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


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
            t14 = table["fmax"][s]
            t15 = (t13 <= t14)
            t16 = (mask & t15)
            t11 = t16
        else:
            t11 = mask
        if t6:
            t18 = state[prefix + "previous_energy"]
            t19 = (t7 - t18)
            t20 = t19.abs()
            t21 = torch.isnan(t20)
            t22 = torch.where(t21, float("inf"), t20)
            t23 = table["energy_change"][s]
            t24 = (t22 <= t23)
            t25 = (t11 & t24)
            t17 = t25
        else:
            t17 = t11
        t26 = (t17 & mask)
        t8 = t26
    else:
        t27 = (~mask)
        t28 = (mask & t27)
        t8 = t28
    t29 = state[prefix + "steps"]
    t30 = table["budget"][s]
    t31 = (t29 >= t30)
    t32 = (t31 & mask)
    if t2:
        t34 = (t8 | t32)
        t33 = t34
    else:
        t33 = t8
    if t2:
        if t4:
            t36 = t8
        else:
            t36 = t32
        t35 = t36
    else:
        t35 = t8
    t37 = torch.where(t35, torch.full((n_systems,), 1, dtype=torch.int64, device=real.device), 0)
    t38 = torch.where(t33, t37, t0)
    new_state[prefix + "converged"] = torch.where(mask, t38, t0)
    t39 = fields["status"]
    t40 = table["target"][s]
    t41 = table["unconverged_target"][s]
    t42 = torch.where(t33, torch.full_like(t39, t41), t39)
    t43 = torch.where(t35, t40, t42)
    new_fields["status"] = torch.where(mask, t43, t39).to(t39.dtype)
    if t6:
        t44 = state[prefix + "previous_energy"]
        new_state[prefix + "previous_energy"] = torch.where(mask, t7, t44)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def bookkeeping_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = state[prefix + "steps"]
    new_state[prefix + "steps"] = torch.where(mask, 0, t0)
    t1 = state[prefix + "converged"]
    new_state[prefix + "converged"] = torch.where(mask, 0, t1)
    t2 = state[prefix + "previous_energy"]
    new_state[prefix + "previous_energy"] = torch.where(mask, float("inf"), t2)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def demo_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    new_fields["velocities"] = torch.where(mask_atoms, t7, t0)
    t8 = fields["positions"]
    t9 = table["dt"][s]
    t10 = (t7 * t9)
    t11 = (t8 + t10)
    new_fields["positions"] = torch.where(mask_atoms, t11, t8)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def demo_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
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
    new_fields["velocities"] = torch.where(mask_atoms, t10, t0)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def velocity_verlet_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    new_fields["velocities"] = torch.where(mask_atoms, t7, t0)
    t8 = fields["positions"]
    t9 = table["dt"][s]
    t10 = (t7 * t9)
    t11 = (t8 + t10)
    new_fields["positions"] = torch.where(mask_atoms, t11, t8)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def velocity_verlet_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    new_fields["velocities"] = torch.where(mask_atoms, t7, t0)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def velocity_verlet_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = table["mb_temperature"][s]
    t1 = (t0 >= 0.0)
    if t1:
        t2 = fields["velocities"]
        t3 = fields["mb." + str(code)]
        t4 = inverse_mass_of(fields)
        t5 = table["mb_temperature"][s]
        t6 = (t5 * 8.314462618063042e-7)
        t7 = (t4 * t6)
        t8 = t7.sqrt()
        t9 = (t3 * t8)
        t10 = fields["masses"].unsqueeze(1)
        t11 = t9 - (segment_sum(t9 * t10, batch, n_systems) / segment_sum(t10, batch, n_systems)).index_select(0, batch)
        new_fields["velocities"] = torch.where(mask_atoms, t11, t2)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
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
    t10 = table["dt"][s]
    t11 = (t9 * t10)
    t12 = math.exp(t11)
    t13 = (t7 * t12)
    t14 = fields["noise." + str(code)]
    t15 = table["temperature"][s]
    t16 = (t15 * 8.314462618063042e-7)
    t17 = (t2 * t16)
    t18 = t17.sqrt()
    t19 = (t12 * t12)
    t20 = (1.0 - t19)
    t21 = math.sqrt(t20)
    t22 = (t18 * t21)
    t23 = (t14 * t22)
    t24 = (t13 + t23)
    new_fields["velocities"] = torch.where(mask_atoms, t24, t0)
    t25 = fields["positions"]
    t26 = (t10 * 0.5)
    t27 = (t7 * t26)
    t28 = (t25 + t27)
    t29 = (t24 * t26)
    t30 = (t28 + t29)
    new_fields["positions"] = torch.where(mask_atoms, t30, t25)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = fields["velocities"]
    t1 = fields["forces"]
    t2 = inverse_mass_of(fields)
    t3 = table["dt"][s]
    t4 = (t3 * 0.004824266606194441)
    t5 = (t2 * t4)
    t6 = (t1 * t5)
    t7 = (t0 + t6)
    new_fields["velocities"] = torch.where(mask_atoms, t7, t0)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = table["mb_temperature"][s]
    t1 = (t0 >= 0.0)
    if t1:
        t2 = fields["velocities"]
        t3 = fields["mb." + str(code)]
        t4 = inverse_mass_of(fields)
        t5 = table["mb_temperature"][s]
        t6 = (t5 * 8.314462618063042e-7)
        t7 = (t4 * t6)
        t8 = t7.sqrt()
        t9 = (t3 * t8)
        t10 = fields["masses"].unsqueeze(1)
        t11 = t9 - (segment_sum(t9 * t10, batch, n_systems) / segment_sum(t10, batch, n_systems)).index_select(0, batch)
        new_fields["velocities"] = torch.where(mask_atoms, t11, t2)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def fire_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
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
    new_state[prefix + "velocity"] = torch.where(mask_atoms, t38, t0)
    t39 = fields["positions"]
    t40 = (t12 * t12)
    t41 = (t40 * t16)
    t42 = (2.0 * t12)
    t43 = (t42 * t36)
    t44 = (t43 * t4)
    t45 = (t41 + t44)
    t46 = (t36 * t36)
    t47 = (t46 * t14)
    t48 = (t45 + t47)
    t49 = t48.clamp(min=0.0)
    t50 = t49.sqrt()
    t51 = (t34 * t50)
    t52 = table["max_step"][s]
    t53 = (t51 > t52)
    t54 = (t34 * t52)
    t55 = (t54 / t51)
    t56 = torch.where(t53, t55, t34)
    t57 = (t38 * to_atoms(t56, batch))
    t58 = (t39 + t57)
    new_fields["positions"] = torch.where(mask_atoms, t58, t39)
    new_state[prefix + "dt"] = torch.where(mask, t34, t26)
    t59 = table["f_alpha"][s]
    t60 = (t7 * t59)
    t61 = table["alpha_start"][s]
    t62 = torch.where(t10, t61, t7)
    t63 = torch.where(t25, t60, t62)
    new_state[prefix + "alpha"] = torch.where(mask, t63, t7)
    t64 = (t1 + 1)
    t65 = torch.where(t6, t64, 0)
    new_state[prefix + "n_positive"] = torch.where(mask, t65, t1)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def fire_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = state[prefix + "dt"]
    t1 = table["dt"][s]
    new_state[prefix + "dt"] = torch.where(mask, t1, t0)
    t2 = state[prefix + "alpha"]
    t3 = table["alpha_start"][s]
    new_state[prefix + "alpha"] = torch.where(mask, t3, t2)
    t4 = state[prefix + "n_positive"]
    new_state[prefix + "n_positive"] = torch.where(mask, -1, t4)
    t5 = state[prefix + "velocity"]
    new_state[prefix + "velocity"] = torch.where(mask_atoms, 0.0, t5)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def steepest_descent_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = fields["positions"]
    t1 = fields["forces"]
    t2 = table["step_size"][s]
    t3 = (t1 * t2)
    t4 = segment_sum(row_sums(t3 * t3), batch, n_systems)
    t5 = t4.sqrt()
    t6 = table["max_step"][s]
    t7 = (t5 > t6)
    t8 = (t6 / t5)
    t9 = torch.where(t7, t8, 1.0)
    t10 = (t3 * to_atoms(t9, batch))
    t11 = (t0 + t10)
    new_fields["positions"] = torch.where(mask_atoms, t11, t0)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def pre_update(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the pre_update phase of a stage of this kind on the samples of mask."""
    if kind == 0:  # DEMO
        demo_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 1:  # VELOCITY_VERLET
        velocity_verlet_pre_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
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
    elif kind == 2:  # LANGEVIN
        langevin_post_update(fields, state, table, s, prefix, code, mask, mask_atoms, batch)


def enter(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, List[float]], s: int, prefix: str, code: int, mask: torch.Tensor, mask_atoms: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the enter phase of a stage of this kind on the samples of mask."""
    if kind == 1:  # VELOCITY_VERLET
        velocity_verlet_enter(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 2:  # LANGEVIN
        langevin_enter(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
    elif kind == 3:  # FIRE
        fire_enter(fields, state, table, s, prefix, code, mask, mask_atoms, batch)
