"""compile_step: one whole fused step of FusedStage as a single TorchScript module.

``FusedStep`` wraps a potential that follows the native convention and performs, in one call, the
step that ``org.fusedstage.dynamics.FusedStage`` performs eagerly in Java: masked pre-updates of
every sub-stage, the forward pass, masked post-updates, per-stage step counters, convergence
criteria (fmax, energy_change) and step budgets, migration to the next status, and the reset of
stage state for samples that enter a stage. The chain of stages is passed as tensors (``table``),
so one exported graph serves any chain of built-in stages.

The arithmetic of each stage kind (its pre-update, post-update and entry reset) is not written
here: it comes from ``stage_programs.py``, which Java generates from the same stage programs the
eager step evaluates (``org.fusedstage.compile.ScriptEmitter``), so each formula exists once; so
do the counters, criteria, budgets, migration and entry resets every stage shares
(``bookkeeping_*``). This file holds the order of a step: masks, the phases, the forward pass.
Random numbers come in as inputs (``data["noise.<code>"]`` for Langevin, ``data["mb.<code>"]`` for
Maxwell-Boltzmann velocities of entering samples), drawn by Java from the same per-sample streams as
the eager step, so eager and compiled runs agree.

Inputs (all on the batch device except ``table``, which stays on the CPU):
  data:  positions, velocities, forces, energy, stress, masses, atomic_numbers, batch, cell, pbc,
         status, edge_index, shifts, noise.<code>, mb.<code>
  state: the state the stage programs declare, as stage<code>.<name>: every stage's bookkeeping
         (steps, converged: 1 once the sample completed the stage, previous_energy) and its kind's
         own (FIRE: dt, alpha, n_positive, velocity)
  table: per-stage tensors of length S (StepGraph.TABLE_COLUMNS in Java); optional ``stress`` (0 in every entry:
         the forward leaves the stress out, through the potential's ``energy_forces``)
Output: a dict with the updated data and state entries (no ``stress`` when it was left out) and the
marker ``graph_version_2``.
"""
from typing import Dict, List, Tuple

import torch

from stage_programs import (bookkeeping_converge, bookkeeping_enter, bookkeeping_post_update, enter, post_update,
                            pre_update, to_atoms)


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

    def forward(self, data: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor],
                table: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        batch = data["batch"]
        status = data["status"]
        out: Dict[str, torch.Tensor] = {}
        # The stage table as numbers, read once per step: the stage programs look their parameters
        # up in lists (a tensor element read per lookup would cost two ops each).
        params: Dict[str, List[float]] = {}
        for key, column in table.items():
            values: List[float] = column.tolist()
            params[key] = values
        codes = [int(c) for c in params["code"]]
        kinds = [int(k) for k in params["kind"]]
        n_stages = len(codes)

        # 1. Masks of the samples each stage owns, taken before any update (and gathered to atoms
        #    once per stage for the per-atom writes).
        system_masks = [status == codes[s] for s in range(n_stages)]
        # On a CPU, stages that own no sample skip their updates (one flag read each, a few
        # microseconds, far less than the dozens of masked ops they would run for nothing). On a
        # GPU a read would stall the queue, so every stage runs its masked updates there.
        reads_flags = not status.is_cuda
        occupied = [bool(m.any()) if reads_flags else True for m in system_masks]
        atom_masks = [to_atoms(system_masks[s], batch) if occupied[s] else system_masks[s] for s in range(n_stages)]

        # 2. Masked pre-updates, in chain order (the stage programs read and write ``fields``).
        fields: Dict[str, torch.Tensor] = {}
        for key, value in data.items():
            fields[key] = value
        for s in range(n_stages):
            if occupied[s]:
                code = codes[s]
                pre_update(kinds[s], fields, state, params, s, "stage" + str(code) + ".", code, system_masks[s],
                           atom_masks[s], batch)
        x = fields["positions"]

        # 3. One forward pass for the whole batch, with the stress unless the table turns it off
        #    (table["stress"] 0: the output then has no "stress" entry).
        compute_stress = True
        if "stress" in params:
            compute_stress = params["stress"][0] != 0.0
        if compute_stress:
            energy, f, stress = self.potential(x, data["atomic_numbers"], batch, data["cell"], data["pbc"],
                                               data["edge_index"], data["shifts"])
            out["stress"] = stress
        else:
            energy, f = self.potential.energy_forces(x, data["atomic_numbers"], batch, data["cell"], data["pbc"],
                                                     data["edge_index"], data["shifts"])

        # 4. Masked post-updates and per-stage step counters.
        fields["positions"] = x
        fields["forces"] = f
        fields["energy"] = energy
        for s in range(n_stages):
            if not occupied[s]:
                continue
            code = codes[s]
            prefix = "stage" + str(code) + "."
            post_update(kinds[s], fields, state, params, s, prefix, code, system_masks[s], atom_masks[s], batch)
            bookkeeping_post_update(fields, state, params, s, prefix, code, system_masks[s], atom_masks[s], batch)

        # 5. Convergence and budgets (all evaluated on the masks from step 1), then migration.
        before = status
        for s in range(n_stages):
            if occupied[s]:
                code = codes[s]
                bookkeeping_converge(fields, state, params, s, "stage" + str(code) + ".", code, system_masks[s],
                                     atom_masks[s], batch)
        status = fields["status"]

        # 6. Samples entering a stage get its state reset (and Maxwell-Boltzmann velocities if asked).
        #    On a CPU one read says whether any sample moved at all (in most steps none did).
        moved = status != before
        if not reads_flags or bool(moved.any()):
            for s in range(n_stages):
                code = codes[s]
                entering = (status == code) & moved
                if reads_flags and not bool(entering.any()):
                    continue
                prefix = "stage" + str(code) + "."
                entering_atoms = to_atoms(entering, batch)
                bookkeeping_enter(fields, state, params, s, prefix, code, entering, entering_atoms, batch)
                enter(kinds[s], fields, state, params, s, prefix, code, entering, entering_atoms, batch)

        out["positions"] = fields["positions"]
        out["velocities"] = fields["velocities"]
        out["forces"] = f
        out["energy"] = energy
        out["status"] = status
        out["graph_version_2"] = torch.ones(1)  # marks graphs that record per-stage convergence
        for key, value in state.items():
            out[key] = value
        return out


def script_step(potential: torch.nn.Module) -> torch.jit.ScriptModule:
    """The step graph around ``potential``, scripted, with every function and method call inlined
    into ``forward``. FusedStage runs TorchScript with the graph executor's optimizations off,
    and then each call is a frame of its own (about 4 us on a CPU, against 0.5 us for a small op):
    a step calls the stage programs' helpers dozens of times. Inlined at export, the saved graph
    is one flat function."""
    step = torch.jit.script(FusedStep(potential))
    torch._C._jit_pass_inline(step.forward.graph)
    return step
