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

Inputs and outputs are lists (DJL passes a list in one call, a dict one entry at a time), in the
orders ``org.fusedstage.compile.StepGraph`` defines and ``stage_programs.py`` writes out
(``data_fields``, ``random_fields``, ``table_columns``, ``state_names``, ``data_outputs``):
  data:  positions, velocities, forces, energy, stress, masses, atomic_numbers, batch, cell, pbc,
         status, edge_index, shifts, then per stage in chain order noise.<code> and mb.<code>
         (empty tensors where the stage draws none)
  state: per stage in chain order, its state (``state_names(kind)``, named stage<code>.<name> in the
         graph): every stage's bookkeeping (steps, converged: 1 once the sample completed the stage,
         previous_energy) and its kind's own (FIRE: dt, alpha, n_positive, velocity)
  table: [columns, stages] float64 on the CPU (StepGraph.TABLE_COLUMNS); row ``stress`` 0 in every
         entry: the forward leaves the stress out, through the potential's ``energy_forces``
Output: positions, velocities, forces, energy, status, stress (what came in where the forward left
it out), then the state in the order it came. The method ``graph_version`` reports the interface
version (``interface_version()``), which Java checks when it loads the graph.

``graph_inputs`` and ``graph_outputs`` convert from and to named dicts for Python callers.
"""
from typing import Dict, List, Tuple

import torch

from stage_programs import (DATA_INPUTS, DATA_OUTPUTS, RANDOM_INPUTS, TABLE_COLUMNS, bookkeeping_converge,
                            bookkeeping_enter, bookkeeping_post_update, data_fields, data_outputs, enter,
                            interface_version, post_update, pre_update, random_fields, state_names, table_columns,
                            to_atoms)


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

    @torch.jit.export
    def graph_version(self) -> int:
        return interface_version()

    def forward(self, data: List[torch.Tensor], state_in: List[torch.Tensor], table: torch.Tensor) -> List[torch.Tensor]:
        # The stage table as numbers, read once per step: the stage programs look their parameters
        # up in lists (a tensor element read per lookup would cost two ops each).
        rows: List[List[float]] = table.tolist()
        params = table_columns(rows)
        codes = [int(c) for c in params["code"]]
        kinds = [int(k) for k in params["kind"]]
        n_stages = len(codes)
        # The inputs by name, for the stage programs.
        fields = data_fields(data)
        state: Dict[str, torch.Tensor] = {}
        state_keys: List[str] = []
        for s in range(n_stages):
            random_fields(fields, data, s, codes[s])
            for name in state_names(kinds[s]):
                state_keys.append("stage" + str(codes[s]) + "." + name)
        for i in range(len(state_keys)):
            state[state_keys[i]] = state_in[i]
        batch = fields["batch"]
        status = fields["status"]

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
        for s in range(n_stages):
            if occupied[s]:
                code = codes[s]
                pre_update(kinds[s], fields, state, params, s, "stage" + str(code) + ".", code, system_masks[s],
                           atom_masks[s], batch)
        x = fields["positions"]

        # 3. One forward pass for the whole batch, with the stress unless the table turns it off
        #    (table["stress"] 0: the stress output is then what came in).
        compute_stress = params["stress"][0] != 0.0
        if compute_stress:
            energy, f, stress = self.potential(x, fields["atomic_numbers"], batch, fields["cell"], fields["pbc"],
                                               fields["edge_index"], fields["shifts"])
            fields["stress"] = stress
        else:
            energy, f = self.potential.energy_forces(x, fields["atomic_numbers"], batch, fields["cell"], fields["pbc"],
                                                     fields["edge_index"], fields["shifts"])

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

        fields["status"] = status
        out = data_outputs(fields)
        for key in state_keys:
            out.append(state[key])
        return out


def graph_inputs(data: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor],
                 table: Dict[str, torch.Tensor]) -> Tuple[List[torch.Tensor], List[torch.Tensor], torch.Tensor]:
    """The step graph's inputs from named dicts, for Python callers (FusedStage builds the lists
    itself): data by name (``noise.<code>``, ``mb.<code>`` where a stage draws them), state as
    ``stage<code>.<name>``, the table by column (every column of TABLE_COLUMNS, one value per stage)."""
    codes = [int(c) for c in table["code"].tolist()]
    kinds = [int(k) for k in table["kind"].tolist()]
    empty = torch.zeros(0, dtype=torch.float64)
    data_list = [data[key] for key in DATA_INPUTS]
    for code in codes:
        data_list += [data.get(name + "." + str(code), empty) for name in RANDOM_INPUTS]
    state_list = [state["stage" + str(code) + "." + name] for code, kind in zip(codes, kinds) for name in state_names(kind)]
    rows = torch.stack([table[column].to(torch.float64).cpu() for column in TABLE_COLUMNS])
    return data_list, state_list, rows


def graph_outputs(outputs: List[torch.Tensor], table: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The step graph's outputs by name (``stage<code>.<name>`` for the state), for Python callers."""
    codes = [int(c) for c in table["code"].tolist()]
    kinds = [int(k) for k in table["kind"].tolist()]
    keys = list(DATA_OUTPUTS) + ["stage" + str(code) + "." + name for code, kind in zip(codes, kinds)
                                 for name in state_names(kind)]
    return dict(zip(keys, outputs))


def script_step(potential: torch.nn.Module) -> torch.jit.ScriptModule:
    """The step graph around ``potential``, scripted, with every function and method call inlined
    into ``forward``. FusedStage runs TorchScript with the graph executor's optimizations off,
    and then each call is a frame of its own (about 4 us on a CPU, against 0.5 us for a small op):
    a step calls the stage programs' helpers dozens of times. Inlined at export, the saved graph
    is one flat function."""
    step = torch.jit.script(FusedStep(potential))
    torch._C._jit_pass_inline(step.forward.graph)
    return step
