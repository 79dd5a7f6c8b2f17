"""What rlvr's GRPOTrainer subclass does: selection, ledger annotations, influence hooks and resumable checkpoints.

The classes themselves (RlvrGRPOTrainer, RlvrCallback) live in rlvr/train/grpo.py, the one module
that imports TRL, with the table of TRL/transformers methods they rely on; this module holds the
state they share (RunState) and the work they delegate, importable without torch or TRL.

TRL does the GRPO work (generation, rewards, advantages, loss, optimisation). rlvr overrides these
methods and adds one callback:

- `_get_train_sampler`: the selector's sampler (rlvr.select.sampler) instead of RepeatSampler;
- `_calculate_rewards`: keeps the decoded completions of the generation batch for the ledger (the
  reward functions themselves are rlvr.select.rewards.VerifierRewards, which build the
  RolloutGroups and update the pass-rate store);
- `_generate_and_score_completions`: when roles, dynamic sampling or TRR++ are on, lets
  rlvr.train.dynamic.StepBatcher build the batch from one or more TRL generation rounds; then,
  after TRL computed the advantages, attaches them (and
  truncation flags, completion text, kind and source) to the ledger's groups, and tags each row
  with its index so the influence hooks know whose gradient they see;
- `training_step` / `compute_loss` / `_clip_grad_norm`: switch the influence hooks on around TRL's
  backward pass, refresh the probe gradient when due, record the step's clip coefficient;
- `_save_checkpoint`: flushes the ledger, lets TRL write its checkpoint, then writes rlvr's state
  (pass-rate store, sampler position and random state, ledger parts, costs) and finally
  `rlvr_state.json`, the marker that makes the checkpoint complete. Only complete checkpoints are
  resumed from; rotation happens after the marker, so a kill never leaves zero usable checkpoints.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlvr.io.atomic import atomic_write_text
from rlvr.records import pooled_pass_rate
from rlvr.select.sampler import SelectorSampler
from rlvr.train.data import Keys
from rlvr.train.ledger import Ledger

log = logging.getLogger(__name__)

MARKER = "rlvr_state.json"
STORE_FILE = "pass_rates.parquet"


@dataclass
class RunState:
    """Everything rlvr keeps beside TRL during a run, shared by the trainer and its callback."""

    ledger: Ledger
    store: Any  # rlvr.select.store.PassRateStore
    selector: Any  # rlvr.select.base.Selector
    keys: dict[str, Keys]
    keep_chars: int
    probe: Any = None  # rlvr.train.probe.Probe
    probe_every: int = 10
    influence: Any = None  # rlvr.train.influence.Influence
    sampler_state: dict[str, Any] | None = None
    keep_checkpoints: int = 2
    sampler: SelectorSampler | None = None
    indices_per_step: int = 0  # sampler indices one optimizer step trains on (all processes)
    last_completions: tuple[list, list] | None = None
    gen_keys: list[tuple[int, str]] = field(default_factory=list)  # row -> (step, task_id), this generation
    pending_influence: dict[tuple[int, str], float] = field(default_factory=lambda: defaultdict(float))
    step_lr: float = 0.0
    clip_coef: float = 1.0
    current_rows: Any = None
    step_seconds: list[float] = field(default_factory=list)
    probe_losses: list[tuple[int, float]] = field(default_factory=list)
    base_costs: dict[str, Any] = field(default_factory=dict)  # costs of the run before a resume
    roles: Any = None  # rlvr.train.roles.OnlineRoles: self-play roles (None: off)
    batcher: Any = None  # rlvr.train.dynamic.StepBatcher: roles, dynamic sampling, TRR++ (None: TRL's step)
    last_rewards: Any = None  # the last generation batch's rewards per function (rows x functions)

    def progress(self, step: int) -> dict[str, str]:
        """A few numbers for the progress bar: the last step's reward and zero-variance share, the probe."""
        out: dict[str, str] = {}
        last = [g for g in self.ledger.buffered_groups()
                if g.phase == "train" and g.step == step - 1 and g.meta.get("trained", True)]
        if last:
            rewards = [r for g in last for r in g.rewards]
            out["reward"] = f"{sum(rewards) / len(rewards):.2f}"
            out["zero_var"] = f"{sum(not g.mixed for g in last) / len(last):.2f}"
        probe = [g for g in self.ledger.buffered_groups() if g.phase == "probe"]
        if probe:
            top = max(g.step for g in probe)
            rate = pooled_pass_rate([g for g in probe if g.step == top])
            out["probe"] = f"{rate:.2f}" if rate is not None else "-"
        return out

    def costs(self) -> dict[str, Any]:
        """Seconds and counts spent on influence and probing, including before a resume."""
        out: dict[str, Any] = dict(self.base_costs)

        def add(name: str, value: float) -> None:
            out[name] = round(out.get(name, 0) + value, 3)

        if self.influence is not None:
            add("influence_seconds", self.influence.seconds)
            add("influence_refreshes", self.influence.refreshes)
            add("influence_empty_refreshes", self.influence.empty_refreshes)
            add("influence_stale_refreshes", self.influence.stale_refreshes)
            out["influence_probe_max_age"] = max(out.get("influence_probe_max_age", 0), self.influence.max_age)
            if self.influence.min_ess is not None:
                out["influence_probe_min_ess"] = round(min(out.get("influence_probe_min_ess", 1.0),
                                                           self.influence.min_ess), 4)
            out.update(influence_params=self.influence.n_params,
                       influence_modules=[n for n, _ in self.influence.modules],
                       influence_blocks=self.influence.blocks, influence_model_blocks=self.influence.model_blocks,
                       influence_geometry=self.influence.geometry)
        if self.batcher is not None:
            for name, value in self.batcher.costs().items():
                add(name, value)
        if self.probe is not None:
            add("probe_seconds", self.probe.seconds)
            add("probe_evaluations", self.probe.evaluations)
        return out


def annotate_generation(trainer: Any, inputs: list[dict], advantages: Any, step: int) -> None:
    """Attach TRL's advantages, truncation flags and completion text to this batch's ledger groups."""
    run: RunState = trainer.run
    completions, completion_ids = run.last_completions or ([None] * len(inputs), [[]] * len(inputs))
    stop = {*trainer.eos_token_ids, trainer.processing_class.pad_token_id}
    rows = [(x["task_id"], float(a), bool(ids) and ids[-1] not in stop, _text(c))
            for x, a, ids, c in zip(inputs, advantages.tolist(), completion_ids, completions)]
    if trainer.accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        rows = list(gather_object(rows))
    if not trainer.accelerator.is_main_process:
        return
    by_task: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_task[row[0]].append(row)
    for task_id, members in by_task.items():
        group = run.ledger.open_group(step, task_id)
        if group is None:
            log.warning("no ledger group for task %s at step %d; its advantages are not recorded", task_id, step)
            continue
        keys = run.keys.get(task_id)
        group.meta.update(advantages=[round(m[1], 6) for m in members], truncated=[m[2] for m in members])
        if keys is not None:
            group.meta.update(kind=keys.kind, source=keys.source)
        if run.keep_chars:
            group.meta["completions"] = [m[3][: run.keep_chars] for m in members]


def _text(completion: Any) -> str:
    from rlvr.select.rewards import completion_text

    return completion_text(completion) if completion is not None else ""


def finalize_influence(run: RunState, trainer: Any = None) -> None:
    """Turn the step's raw dot products into influence on the ledger groups: x clip coefficient x
    how much of the step's gradient the optimiser applies over the run (`update_weight`: the step's
    learning rate for SGD; for AdamW, its momentum's share at every remaining step's learning rate).

    In a multi-process run each rank scored its own rows; the sums are gathered on every rank.
    """
    if run.influence is None:
        return
    from rlvr.train.influence import update_weight

    optimizer = trainer.optimizer if trainer is not None else None
    for key, dots in run.influence.settle(optimizer).items():  # in the geometry of the update just made
        run.pending_influence[key] = run.pending_influence[key] + np.asarray(dots, dtype=np.float64)
    pending = dict(run.pending_influence)
    if trainer is not None and trainer.accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        pending = defaultdict(float)
        for key, dot in gather_object(list(run.pending_influence.items())):
            pending[tuple(key)] += dot
    lr_at, horizon, beta1 = lr_schedule(trainer, run.step_lr)
    geometry = run.influence.geometry
    for (step, task_id), dot in pending.items():
        scale = run.clip_coef * update_weight(step, horizon, lr_at, beta1 if geometry == "adamw" else None)
        if not run.ledger.add_influence(step, task_id, scale * np.asarray(dot, dtype=np.float64), geometry):
            log.warning("influence for task %s at step %d has no ledger group; dropped", task_id, step)
    run.pending_influence.clear()


def lr_schedule(trainer: Any, step_lr: float) -> tuple[Any, int, float | None]:
    """(learning rate at optimizer step t, the run's total steps, AdamW's beta1 or None) from the
    trainer's scheduler and optimiser; without a trainer (or a scheduler it cannot read) the step's
    own learning rate at every step."""
    def constant(t: int) -> float:
        return step_lr

    if trainer is None:
        return constant, 0, None
    horizon = int(getattr(trainer.state, "max_steps", 0) or 0)
    inner = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    groups = getattr(inner, "param_groups", None) or [{}]
    betas = groups[0].get("betas")
    beta1 = float(betas[0]) if betas and betas[0] else None
    sched = getattr(trainer, "lr_scheduler", None)
    sched = getattr(sched, "scheduler", sched)  # accelerate's wrapper
    lambdas, bases = getattr(sched, "lr_lambdas", None), getattr(sched, "base_lrs", None)
    if not lambdas or not bases:
        return constant, horizon, beta1
    return (lambda t: float(bases[0]) * float(lambdas[0](t))), horizon, beta1


def write_rlvr_state(run: RunState, folder: Path, step: int) -> None:
    """rlvr's part of a checkpoint; the marker file is written last and makes the checkpoint complete."""
    sub = folder / "rlvr"
    sub.mkdir(parents=True, exist_ok=True)
    run.store.save(sub / STORE_FILE)
    if run.roles is not None:
        run.roles.save(sub / "roles")
    state = {
        "step": step,
        "ledger_parts": [p.name for p in run.ledger.part_files()],
        "ledger_rows": run.ledger.rows_written,
        "sampler": _jsonable(run.sampler.state_dict(consumed=step * run.indices_per_step or None))
        if run.sampler is not None else None,
        "costs": run.costs(),
        "step_seconds": [round(s, 4) for s in run.step_seconds],
        "probe_losses": run.probe_losses,
    }
    atomic_write_text(folder / MARKER, json.dumps(state, sort_keys=True) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def checkpoints(folder: Path) -> list[tuple[int, Path, bool]]:
    """(step, path, complete) for every checkpoint-N folder, oldest first."""
    out = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_dir() and p.name.startswith("checkpoint-") and p.name.split("-")[-1].isdigit():
                out.append((int(p.name.split("-")[-1]), p, (p / MARKER).exists()))
    return sorted(out)


def latest_complete(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest complete checkpoint and its rlvr state; incomplete newer ones are deleted."""
    found = None
    for _step, path, complete in checkpoints(folder):
        if complete:
            found = (path, json.loads((path / MARKER).read_text(encoding="utf-8")))
    for step, path, complete in checkpoints(folder):
        if not complete and (found is None or step > int(found[1]["step"])):
            log.info("removing incomplete checkpoint %s (the run was killed while writing it)", path)
            shutil.rmtree(path, ignore_errors=True)
    return found


def rotate_checkpoints(folder: Path, keep: int) -> None:
    complete = [(s, p) for s, p, c in checkpoints(folder) if c]
    newest = complete[-1][0] if complete else None
    for _step, path in complete[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    for step, path, c in checkpoints(folder):
        if not c and newest is not None and step < newest:
            shutil.rmtree(path, ignore_errors=True)
