"""compile_step: one whole fused step of FusedStage as a single TorchScript module.

``FusedStep`` wraps a potential that follows the native convention and performs, in one call, the
step that ``org.fusedstage.dynamics.FusedStage`` performs eagerly in Java: masked pre-updates of
every sub-stage, the forward pass, masked post-updates, per-stage step counters, convergence
criteria (fmax, energy_change) and step budgets, migration to the next status, and the reset of
stage state for samples that enter a stage. The chain of stages is passed as tensors (``table``),
so one exported graph serves any chain of built-in stages.

Stage kinds: 0 DemoDynamics, 1 VelocityVerlet, 2 Langevin (BAOAB), 3 FIRE, 4 SteepestDescent.
Random numbers come in as inputs (``data["noise.<code>"]`` for Langevin, ``data["mb.<code>"]`` for
Maxwell-Boltzmann velocities of entering samples), drawn by Java from the same per-sample streams as
the eager step, so eager and compiled runs agree. The arithmetic mirrors the Java code formula by
formula.

Inputs (all on the batch device except ``table``, which stays on the CPU):
  data:  positions, velocities, forces, energy, stress, masses, atomic_numbers, batch, cell, pbc,
         status, edge_index, shifts, noise.<code>, mb.<code>
  state: stage<code>.steps, stage<code>.converged (1 once the sample completed the stage), stage<code>.previous_energy, and for FIRE stage<code>.dt,
         stage<code>.alpha, stage<code>.n_positive, stage<code>.velocity
  table: per-stage tensors of length S (see FIELDS below); optional ``stress`` (0 in every entry:
         the forward leaves the stress out, through the potential's ``energy_forces``)
Output: a dict with the updated data and state entries (no ``stress`` when it was left out) and the
marker ``graph_version_2``.
"""
import math
from typing import Dict, Tuple

import torch

from pair_geometry import sum_into

EV_PER_A_AMU_TO_A_PER_FS2 = 1.0 / 103.642696562
BOLTZMANN_EV_PER_K = 8.617333262e-5

DEMO = 0
VELOCITY_VERLET = 1
LANGEVIN = 2
FIRE = 3
STEEPEST_DESCENT = 4


def segment_sum(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    return sum_into(batch, values, n_systems)


def segment_max(values: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    out = torch.full((n_systems,), float("-inf"), dtype=values.dtype, device=values.device)
    return out.scatter_reduce(0, batch, values, reduce="amax", include_self=True)


def system_norm(vectors: torch.Tensor, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    return segment_sum((vectors * vectors).sum(1), batch, n_systems).sqrt()


def clamp_per_system(dr: torch.Tensor, max_step: float, batch: torch.Tensor, n_systems: int) -> torch.Tensor:
    norm = system_norm(dr, batch, n_systems)
    scale = torch.where(norm > max_step, norm.pow(-1) * max_step, torch.ones_like(norm))
    return dr * scale[batch].unsqueeze(1)


class EnergyForces(torch.nn.Module):
    """Gives a native potential without its own ``energy_forces`` method one (its forward, less the
    stress), so that the step can leave the stress out for any potential."""

    def __init__(self, potential: torch.nn.Module):
        super().__init__()
        self.potential = potential

    def forward(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor, cell: torch.Tensor,
                pbc: torch.Tensor, edge_index: torch.Tensor,
                shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.potential(positions, atomic_numbers, batch, cell, pbc, edge_index, shifts)

    @torch.jit.export
    def energy_forces(self, positions: torch.Tensor, atomic_numbers: torch.Tensor, batch: torch.Tensor,
                      cell: torch.Tensor, pbc: torch.Tensor, edge_index: torch.Tensor,
                      shifts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        energy, forces, stress = self.potential(positions, atomic_numbers, batch, cell, pbc, edge_index, shifts)
        return energy, forces


class FusedStep(torch.nn.Module):
    def __init__(self, potential: torch.nn.Module):
        super().__init__()
        self.potential = potential if hasattr(potential, "energy_forces") else EnergyForces(potential)
        self.conversion = EV_PER_A_AMU_TO_A_PER_FS2
        self.boltzmann = BOLTZMANN_EV_PER_K
        # Stage kinds (TorchScript reads module attributes, not module globals).
        self.demo = DEMO
        self.velocity_verlet = VELOCITY_VERLET
        self.langevin = LANGEVIN
        self.fire_kind = FIRE
        self.steepest_descent = STEEPEST_DESCENT

    def accelerations(self, forces: torch.Tensor, masses: torch.Tensor) -> torch.Tensor:
        return forces / masses.unsqueeze(1) * self.conversion

    def forward(self, data: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor],
                table: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        x = data["positions"]
        v = data["velocities"]
        f = data["forces"]
        masses = data["masses"]
        batch = data["batch"]
        status = data["status"]
        n_systems = status.shape[0]
        codes = table["code"]
        kinds = table["kind"]
        n_stages = codes.shape[0]
        out: Dict[str, torch.Tensor] = {}

        # 1. Masks of the samples each stage owns, taken before any update.
        system_masks = [status == int(codes[s]) for s in range(n_stages)]
        atom_masks = [m[batch] for m in system_masks]
        vector_masks = [m.unsqueeze(1).expand(x.shape[0], 3) for m in atom_masks]
        # On a CPU, stages that own no sample skip their updates (one flag read each, a few
        # microseconds, far less than the dozens of masked ops they would run for nothing). On a
        # GPU a read would stall the queue, so every stage runs its masked updates there.
        reads_flags = not status.is_cuda
        occupied = [bool(m.any()) if reads_flags else True for m in system_masks]

        # 2. Masked pre-updates, in chain order.
        for s in range(n_stages):
            code = int(codes[s])
            kind = int(kinds[s])
            dt = float(table["dt"][s])
            mask3 = vector_masks[s]
            if not occupied[s]:
                pass
            elif kind == self.demo or kind == self.velocity_verlet:
                v1 = v + self.accelerations(f, masses) * (0.5 * dt)
                x = torch.where(mask3, x + v1 * dt, x)
                v = torch.where(mask3, v1, v)
            elif kind == self.langevin:
                temperature = float(table["temperature"][s])
                friction = float(table["friction"][s])
                v1 = v + self.accelerations(f, masses) * (0.5 * dt)
                x1 = x + v1 * (0.5 * dt)
                c1 = math.exp(-friction * dt)  # a double, as Java's Math.exp (a 0-d tensor here lost precision)
                c2 = math.sqrt(1.0 - c1 * c1)
                sigma = (masses.unsqueeze(1).pow(-1) * (self.boltzmann * temperature * self.conversion)).sqrt()
                v1 = v1 * c1 + data["noise." + str(code)] * sigma * c2
                x1 = x1 + v1 * (0.5 * dt)
                v = torch.where(mask3, v1, v)
                x = torch.where(mask3, x1, x)
            elif kind == self.fire_kind:
                x, new_state = self.fire(x, f, batch, n_systems, system_masks[s], mask3, state, table, s, code)
                for key, value in new_state.items():
                    state[key] = value
            elif kind == self.steepest_descent:
                dr = clamp_per_system(f * float(table["step_size"][s]), float(table["max_step"][s]), batch, n_systems)
                x = torch.where(mask3, x + dr, x)

        # 3. One forward pass for the whole batch, with the stress unless the table turns it off
        #    (table["stress"] 0: the output then has no "stress" entry).
        compute_stress = True
        if "stress" in table:
            compute_stress = bool(table["stress"][0] != 0)
        if compute_stress:
            energy, f, stress = self.potential(x, data["atomic_numbers"], batch, data["cell"], data["pbc"],
                                               data["edge_index"], data["shifts"])
            out["stress"] = stress
        else:
            energy, f = self.potential.energy_forces(x, data["atomic_numbers"], batch, data["cell"], data["pbc"],
                                                     data["edge_index"], data["shifts"])

        # 4. Masked post-updates and per-stage step counters.
        for s in range(n_stages):
            code = int(codes[s])
            kind = int(kinds[s])
            dt = float(table["dt"][s])
            mask3 = vector_masks[s]
            if not occupied[s]:
                continue
            if kind == self.demo:
                damping = float(table["damping"][s])
                v2 = (v + self.accelerations(f, masses) * (0.5 * dt)) * (1.0 - damping)
                v = torch.where(mask3, v2, v)
            elif kind == self.velocity_verlet or kind == self.langevin:
                v = torch.where(mask3, v + self.accelerations(f, masses) * (0.5 * dt), v)
            key = "stage" + str(code) + ".steps"
            state[key] = torch.where(system_masks[s], state[key] + 1, state[key])

        # 5. Convergence and budgets (all evaluated on the masks from step 1), then migration.
        before = status
        fmax = segment_max((f * f).sum(1).sqrt(), batch, n_systems)
        leaving_list = []
        converged_list = []
        for s in range(n_stages):
            code = int(codes[s])
            met = system_masks[s]
            criteria = False
            fmax_threshold = float(table["fmax"][s])
            if fmax_threshold >= 0:
                met = met & (fmax <= fmax_threshold)
                criteria = True
            change_threshold = float(table["energy_change"][s])
            if change_threshold >= 0:
                key = "stage" + str(code) + ".previous_energy"
                previous = state[key]
                change = (energy - previous).abs()
                change = torch.where(torch.isnan(change), torch.full_like(change, float("inf")), change)
                state[key] = torch.where(system_masks[s], energy, previous)
                met = met & (change <= change_threshold)
                criteria = True
            if not criteria:
                met = torch.zeros_like(met)
            leaving = met
            budget = int(table["budget"][s])
            if budget > 0:
                spent = (state["stage" + str(code) + ".steps"] >= budget) & system_masks[s]
                leaving = met | spent
                if not criteria:
                    met = spent  # a budget-only stage (MD) completes by its budget
            key = "stage" + str(code) + ".converged"
            state[key] = torch.where(leaving, met.to(state[key].dtype), state[key])
            leaving_list.append(leaving)
            converged_list.append(met)
        # Samples that ran out of steps before their criteria held go to the unconverged target
        # (the next stage, the exit status or REJECTED, as the chain asks); converged ones to the target.
        for s in range(n_stages):
            status = torch.where(leaving_list[s], torch.full_like(status, int(table["unconverged_target"][s])), status)
            status = torch.where(converged_list[s], torch.full_like(status, int(table["target"][s])), status)

        # 6. Samples entering a stage get its state reset (and Maxwell-Boltzmann velocities if asked).
        for s in range(n_stages):
            code = int(codes[s])
            kind = int(kinds[s])
            entering = (status == code) & (before != code)
            if reads_flags and not bool(entering.any()):
                continue
            prefix = "stage" + str(code) + "."
            for counter in [prefix + "steps", prefix + "converged"]:
                state[counter] = torch.where(entering, torch.zeros_like(state[counter]), state[counter])
            if prefix + "previous_energy" in state:
                previous = state[prefix + "previous_energy"]
                state[prefix + "previous_energy"] = torch.where(entering, torch.full_like(previous, float("inf")), previous)
            entering3 = entering[batch].unsqueeze(1).expand(x.shape[0], 3)
            if kind == self.fire_kind:
                state[prefix + "dt"] = torch.where(entering, torch.full_like(state[prefix + "dt"], float(table["dt"][s])), state[prefix + "dt"])
                state[prefix + "alpha"] = torch.where(entering, torch.full_like(state[prefix + "alpha"], float(table["alpha_start"][s])), state[prefix + "alpha"])
                state[prefix + "n_positive"] = torch.where(entering, torch.full_like(state[prefix + "n_positive"], -1), state[prefix + "n_positive"])
                state[prefix + "velocity"] = torch.where(entering3, torch.zeros_like(state[prefix + "velocity"]), state[prefix + "velocity"])
            mb_temperature = float(table["mb_temperature"][s])
            if mb_temperature >= 0:
                xi = data["mb." + str(code)]
                sigma = (masses.unsqueeze(1).pow(-1) * (self.boltzmann * mb_temperature * self.conversion)).sqrt()
                vmb = xi * sigma
                momentum = segment_sum(vmb * masses.unsqueeze(1), batch, n_systems)
                total_mass = segment_sum(masses, batch, n_systems).unsqueeze(1)
                vmb = vmb - (momentum / total_mass)[batch]
                v = torch.where(entering3, vmb, v)

        out["positions"] = x
        out["velocities"] = v
        out["forces"] = f
        out["energy"] = energy
        out["status"] = status
        out["graph_version_2"] = torch.ones(1)  # marks graphs that record per-stage convergence
        for key, value in state.items():
            out[key] = value
        return out

    def fire(self, x: torch.Tensor, f: torch.Tensor, batch: torch.Tensor, n_systems: int, system_mask: torch.Tensor,
             mask3: torch.Tensor, state: Dict[str, torch.Tensor], table: Dict[str, torch.Tensor], s: int,
             code: int) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        prefix = "stage" + str(code) + "."
        v = state[prefix + "velocity"]
        dt = state[prefix + "dt"]
        alpha = state[prefix + "alpha"]
        n = state[prefix + "n_positive"]
        n_min = int(table["n_min"][s])
        # As the eager FIRE: every per-atom update is cv v + cf F (displacement: step times the
        # new v), and the rule needs only v.v, F.F and F.v per sample.
        vv = segment_sum((v * v).sum(1), batch, n_systems)
        ff = segment_sum((f * f).sum(1), batch, n_systems)
        fv = segment_sum((f * v).sum(1), batch, n_systems)
        started = n >= 0
        downhill = (fv > 0) & started
        uphill = started & ~downhill
        accelerate = downhill & (n > n_min)
        ones = torch.ones_like(dt)
        zeros = torch.zeros_like(dt)
        ratio = torch.where(ff > 0, vv.sqrt() / ff.sqrt(), zeros)
        cv = torch.where(downhill, 1 - alpha, torch.where(uphill, zeros, ones))
        cf = torch.where(downhill, alpha * ratio, zeros)
        new_dt = torch.where(accelerate, (dt * float(table["f_inc"][s])).clamp(max=float(table["dt_max"][s])), dt)
        new_dt = torch.where(uphill, dt * float(table["f_dec"][s]), new_dt)
        new_alpha = torch.where(accelerate, alpha * float(table["f_alpha"][s]), alpha)
        new_alpha = torch.where(uphill, ones * float(table["alpha_start"][s]), new_alpha)
        new_n = torch.where(downhill, n + 1, n)
        new_n = torch.where(uphill | ~started, torch.zeros_like(n), new_n)
        cf = cf + new_dt * self.conversion
        dr = new_dt * (cv * cv * vv + 2 * cv * cf * fv + cf * cf * ff).clamp(min=0.0).sqrt()
        max_step = float(table["max_step"][s])
        step = torch.where(dr > max_step, new_dt * max_step / dr, new_dt)
        coefficients = torch.stack([cv, cf, step], 1)[batch]
        new_v = v * coefficients[:, 0:1] + f * coefficients[:, 1:2]
        updated: Dict[str, torch.Tensor] = {
            prefix + "velocity": torch.where(mask3, new_v, v),
            prefix + "dt": torch.where(system_mask, new_dt, dt),
            prefix + "alpha": torch.where(system_mask, new_alpha, alpha),
            prefix + "n_positive": torch.where(system_mask, new_n, n),
        }
        return torch.where(mask3, x + new_v * coefficients[:, 2:3], x), updated
