"""The arithmetic of every built-in stage kind, for the step graph (fused_step.py).

GENERATED from the Java stage programs (org.fusedstage.dynamics, `StageProgram`) by
org.fusedstage.compile.ScriptEmitter: do not edit. Regenerate with `./fused-stage emit-programs`.
"""
import math
from typing import Dict

import torch

from pair_geometry import sum_into


def segment_sum(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    return sum_into(batch, values, n_systems)


def segment_max(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    out = torch.full((n_systems,), float("-inf"), dtype=values.dtype, device=values.device)
    return out.scatter_reduce(0, batch, values, reduce="amax", include_self=True)


def inverse_mass(masses: torch.Tensor) -> torch.Tensor:
    column = masses.unsqueeze(1)
    return torch.where(column > 0, 1.0 / column, torch.zeros_like(column))


def bookkeeping_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (state[prefix + "steps"] + 1)
    new_state[prefix + "steps"] = torch.where(mask, t0, state[prefix + "steps"]).to(state[prefix + "steps"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def bookkeeping_converge(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["budget"][s]) > 0.0)
    t1 = (float(table["criteria"][s]) > 0.0)
    t2 = (float(table["energy_change"][s]) >= 0.0)
    t3 = (float(table["fmax"][s]) >= 0.0)
    t4 = segment_max((fields["forces"] * fields["forces"]).sum(1).sqrt(), batch, n_systems)
    t5 = (t4 <= float(table["fmax"][s]))
    t6 = (mask & t5)
    t7 = (t6 if t3 else mask)
    t8 = (fields["energy"] - state[prefix + "previous_energy"])
    t9 = t8.abs()
    t10 = torch.isnan(t9)
    t11 = torch.where(t10, torch.full_like(t9, float("inf")), t9)
    t12 = (t11 <= float(table["energy_change"][s]))
    t13 = (t7 & t12)
    t14 = (t13 if t2 else t7)
    t15 = (t14 & mask)
    t16 = (~mask)
    t17 = (mask & t16)
    t18 = (t15 if t1 else t17)
    t19 = (state[prefix + "steps"] >= float(table["budget"][s]))
    t20 = (t19 & mask)
    t21 = (t18 | t20)
    t22 = (t21 if t0 else t18)
    t23 = (t18 if t1 else t20)
    t24 = (t23 if t0 else t18)
    t25 = torch.where(t24, torch.full((n_systems,), 1, dtype=torch.int64, device=real.device), torch.full((n_systems,), 0, dtype=torch.int64, device=real.device))
    t26 = torch.where(t22, t25, state[prefix + "converged"])
    new_state[prefix + "converged"] = torch.where(mask, t26, state[prefix + "converged"]).to(state[prefix + "converged"].dtype)
    t27 = torch.where(t22, torch.full_like(fields["status"], float(table["unconverged_target"][s])), fields["status"])
    t28 = torch.where(t24, torch.full_like(t27, float(table["target"][s])), t27)
    new_fields["status"] = torch.where(mask, t28, fields["status"]).to(fields["status"].dtype)
    if t2:
        new_state[prefix + "previous_energy"] = torch.where(mask, fields["energy"], state[prefix + "previous_energy"]).to(state[prefix + "previous_energy"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def bookkeeping_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    new_state[prefix + "steps"] = torch.where(mask, torch.full_like(state[prefix + "steps"], 0), state[prefix + "steps"]).to(state[prefix + "steps"].dtype)
    new_state[prefix + "converged"] = torch.where(mask, torch.full_like(state[prefix + "converged"], 0), state[prefix + "converged"]).to(state[prefix + "converged"].dtype)
    new_state[prefix + "previous_energy"] = torch.where(mask, torch.full_like(state[prefix + "previous_energy"], float("inf")), state[prefix + "previous_energy"]).to(state[prefix + "previous_energy"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def demo_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["dt"][s]) * 0.004824266606194441)
    t1 = (inverse_mass(fields["masses"]) * t0)
    t2 = (fields["forces"] * t1)
    t3 = (fields["velocities"] + t2)
    new_fields["velocities"] = torch.where(mask_atoms, t3, fields["velocities"]).to(fields["velocities"].dtype)
    t4 = (t3 * float(table["dt"][s]))
    t5 = (fields["positions"] + t4)
    new_fields["positions"] = torch.where(mask_atoms, t5, fields["positions"]).to(fields["positions"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def demo_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["dt"][s]) * 0.004824266606194441)
    t1 = (inverse_mass(fields["masses"]) * t0)
    t2 = (fields["forces"] * t1)
    t3 = (fields["velocities"] + t2)
    t4 = (1.0 - float(table["damping"][s]))
    t5 = (t3 * t4)
    new_fields["velocities"] = torch.where(mask_atoms, t5, fields["velocities"]).to(fields["velocities"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def velocity_verlet_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["dt"][s]) * 0.004824266606194441)
    t1 = (inverse_mass(fields["masses"]) * t0)
    t2 = (fields["forces"] * t1)
    t3 = (fields["velocities"] + t2)
    new_fields["velocities"] = torch.where(mask_atoms, t3, fields["velocities"]).to(fields["velocities"].dtype)
    t4 = (t3 * float(table["dt"][s]))
    t5 = (fields["positions"] + t4)
    new_fields["positions"] = torch.where(mask_atoms, t5, fields["positions"]).to(fields["positions"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def velocity_verlet_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["dt"][s]) * 0.004824266606194441)
    t1 = (inverse_mass(fields["masses"]) * t0)
    t2 = (fields["forces"] * t1)
    t3 = (fields["velocities"] + t2)
    new_fields["velocities"] = torch.where(mask_atoms, t3, fields["velocities"]).to(fields["velocities"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def velocity_verlet_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["mb_temperature"][s]) >= 0.0)
    if t0:
        t1 = (float(table["mb_temperature"][s]) * 8.314462618063042e-7)
        t2 = (inverse_mass(fields["masses"]) * t1)
        t3 = t2.sqrt()
        t4 = (fields["mb." + str(code)] * t3)
        t5 = t4 - (segment_sum(t4 * fields["masses"].unsqueeze(1), batch, n_systems) / segment_sum(fields["masses"].unsqueeze(1), batch, n_systems))[batch]
        new_fields["velocities"] = torch.where(mask_atoms, t5, fields["velocities"]).to(fields["velocities"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["dt"][s]) * 0.004824266606194441)
    t1 = (inverse_mass(fields["masses"]) * t0)
    t2 = (fields["forces"] * t1)
    t3 = (fields["velocities"] + t2)
    t4 = (-float(table["friction"][s]))
    t5 = (t4 * float(table["dt"][s]))
    t6 = math.exp(t5)
    t7 = (t3 * t6)
    t8 = (float(table["temperature"][s]) * 8.314462618063042e-7)
    t9 = (inverse_mass(fields["masses"]) * t8)
    t10 = t9.sqrt()
    t11 = (t6 * t6)
    t12 = (1.0 - t11)
    t13 = math.sqrt(t12)
    t14 = (t10 * t13)
    t15 = (fields["noise." + str(code)] * t14)
    t16 = (t7 + t15)
    new_fields["velocities"] = torch.where(mask_atoms, t16, fields["velocities"]).to(fields["velocities"].dtype)
    t17 = (float(table["dt"][s]) * 0.5)
    t18 = (t3 * t17)
    t19 = (fields["positions"] + t18)
    t20 = (t16 * t17)
    t21 = (t19 + t20)
    new_fields["positions"] = torch.where(mask_atoms, t21, fields["positions"]).to(fields["positions"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_post_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["dt"][s]) * 0.004824266606194441)
    t1 = (inverse_mass(fields["masses"]) * t0)
    t2 = (fields["forces"] * t1)
    t3 = (fields["velocities"] + t2)
    new_fields["velocities"] = torch.where(mask_atoms, t3, fields["velocities"]).to(fields["velocities"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def langevin_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (float(table["mb_temperature"][s]) >= 0.0)
    if t0:
        t1 = (float(table["mb_temperature"][s]) * 8.314462618063042e-7)
        t2 = (inverse_mass(fields["masses"]) * t1)
        t3 = t2.sqrt()
        t4 = (fields["mb." + str(code)] * t3)
        t5 = t4 - (segment_sum(t4 * fields["masses"].unsqueeze(1), batch, n_systems) / segment_sum(fields["masses"].unsqueeze(1), batch, n_systems))[batch]
        new_fields["velocities"] = torch.where(mask_atoms, t5, fields["velocities"]).to(fields["velocities"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def fire_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (state[prefix + "n_positive"] >= 0)
    t1 = segment_sum((fields["forces"] * state[prefix + "velocity"]).sum(1), batch, n_systems)
    t2 = (t1 > 0.0)
    t3 = (t0 & t2)
    t4 = (1.0 - state[prefix + "alpha"])
    t5 = (~t3)
    t6 = (t0 & t5)
    t7 = torch.where(t6, torch.full((n_systems,), 0.0, dtype=real.dtype, device=real.device), torch.full((n_systems,), 1.0, dtype=real.dtype, device=real.device))
    t8 = torch.where(t3, t4, t7)
    t9 = (state[prefix + "velocity"] * t8[batch].unsqueeze(1))
    t10 = segment_sum((fields["forces"] * fields["forces"]).sum(1), batch, n_systems)
    t11 = (t10 > 0.0)
    t12 = segment_sum((state[prefix + "velocity"] * state[prefix + "velocity"]).sum(1), batch, n_systems)
    t13 = t12.sqrt()
    t14 = t10.sqrt()
    t15 = (t13 / t14)
    t16 = torch.where(t11, t15, torch.full_like(t15, 0.0))
    t17 = (state[prefix + "alpha"] * t16)
    t18 = torch.where(t3, t17, torch.full_like(t17, 0.0))
    t19 = (state[prefix + "n_positive"] > float(table["n_min"][s]))
    t20 = (t3 & t19)
    t21 = (state[prefix + "dt"] * float(table["f_inc"][s]))
    t22 = t21.clamp(max=float(table["dt_max"][s]))
    t23 = (state[prefix + "dt"] * float(table["f_dec"][s]))
    t24 = torch.where(t6, t23, state[prefix + "dt"])
    t25 = torch.where(t20, t22, t24)
    t26 = (t25 * 0.009648533212388882)
    t27 = (t18 + t26)
    t28 = (fields["forces"] * t27[batch].unsqueeze(1))
    t29 = (t9 + t28)
    new_state[prefix + "velocity"] = torch.where(mask_atoms, t29, state[prefix + "velocity"]).to(state[prefix + "velocity"].dtype)
    t30 = (t8 * t8)
    t31 = (t30 * t12)
    t32 = (2.0 * t8)
    t33 = (t32 * t27)
    t34 = (t33 * t1)
    t35 = (t31 + t34)
    t36 = (t27 * t27)
    t37 = (t36 * t10)
    t38 = (t35 + t37)
    t39 = t38.clamp(min=0.0)
    t40 = t39.sqrt()
    t41 = (t25 * t40)
    t42 = (t41 > float(table["max_step"][s]))
    t43 = (t25 * float(table["max_step"][s]))
    t44 = (t43 / t41)
    t45 = torch.where(t42, t44, t25)
    t46 = (t29 * t45[batch].unsqueeze(1))
    t47 = (fields["positions"] + t46)
    new_fields["positions"] = torch.where(mask_atoms, t47, fields["positions"]).to(fields["positions"].dtype)
    new_state[prefix + "dt"] = torch.where(mask, t25, state[prefix + "dt"]).to(state[prefix + "dt"].dtype)
    t48 = (state[prefix + "alpha"] * float(table["f_alpha"][s]))
    t49 = torch.where(t6, torch.full_like(state[prefix + "alpha"], float(table["alpha_start"][s])), state[prefix + "alpha"])
    t50 = torch.where(t20, t48, t49)
    new_state[prefix + "alpha"] = torch.where(mask, t50, state[prefix + "alpha"]).to(state[prefix + "alpha"].dtype)
    t51 = (state[prefix + "n_positive"] + 1)
    t52 = torch.where(t3, t51, torch.full_like(t51, 0))
    new_state[prefix + "n_positive"] = torch.where(mask, t52, state[prefix + "n_positive"]).to(state[prefix + "n_positive"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def fire_enter(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    new_state[prefix + "dt"] = torch.where(mask, torch.full_like(state[prefix + "dt"], float(table["dt"][s])), state[prefix + "dt"]).to(state[prefix + "dt"].dtype)
    new_state[prefix + "alpha"] = torch.where(mask, torch.full_like(state[prefix + "alpha"], float(table["alpha_start"][s])), state[prefix + "alpha"]).to(state[prefix + "alpha"].dtype)
    new_state[prefix + "n_positive"] = torch.where(mask, torch.full_like(state[prefix + "n_positive"], -1), state[prefix + "n_positive"]).to(state[prefix + "n_positive"].dtype)
    new_state[prefix + "velocity"] = torch.where(mask_atoms, torch.full_like(state[prefix + "velocity"], 0.0), state[prefix + "velocity"]).to(state[prefix + "velocity"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def steepest_descent_pre_update(fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    n_systems = mask.shape[0]
    mask_atoms = mask[batch].unsqueeze(1)
    real = fields["positions"]
    new_fields: Dict[str, torch.Tensor] = {}
    new_state: Dict[str, torch.Tensor] = {}
    t0 = (fields["forces"] * float(table["step_size"][s]))
    t1 = segment_sum((t0 * t0).sum(1), batch, n_systems)
    t2 = t1.sqrt()
    t3 = (t2 > float(table["max_step"][s]))
    t4 = (float(table["max_step"][s]) / t2)
    t5 = torch.where(t3, t4, torch.full_like(t4, 1.0))
    t6 = (t0 * t5[batch].unsqueeze(1))
    t7 = (fields["positions"] + t6)
    new_fields["positions"] = torch.where(mask_atoms, t7, fields["positions"]).to(fields["positions"].dtype)
    for key, value in new_fields.items():
        fields[key] = value
    for key, value in new_state.items():
        state[key] = value


def pre_update(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the pre_update phase of a stage of this kind on the samples of mask."""
    if kind == 0:  # DEMO
        demo_pre_update(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 1:  # VELOCITY_VERLET
        velocity_verlet_pre_update(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 2:  # LANGEVIN
        langevin_pre_update(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 3:  # FIRE
        fire_pre_update(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 4:  # STEEPEST_DESCENT
        steepest_descent_pre_update(fields, state, table, s, prefix, code, mask, batch)


def post_update(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the post_update phase of a stage of this kind on the samples of mask."""
    if kind == 0:  # DEMO
        demo_post_update(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 1:  # VELOCITY_VERLET
        velocity_verlet_post_update(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 2:  # LANGEVIN
        langevin_post_update(fields, state, table, s, prefix, code, mask, batch)


def enter(kind: int, fields: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int, prefix: str, code: int, mask: torch.Tensor, batch: torch.Tensor) -> None:
    """Runs the enter phase of a stage of this kind on the samples of mask."""
    if kind == 1:  # VELOCITY_VERLET
        velocity_verlet_enter(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 2:  # LANGEVIN
        langevin_enter(fields, state, table, s, prefix, code, mask, batch)
    elif kind == 3:  # FIRE
        fire_enter(fields, state, table, s, prefix, code, mask, batch)
