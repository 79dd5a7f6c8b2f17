"""What one GRPO step trains: role slots, DAPO dynamic sampling and TRR++ advantages.

TRL generates one batch of `prompts_per_step` groups per optimizer step from the sampler's chunk.
`StepBatcher.build` replaces that single call when any of these switches is on:

- **roles** (rlvr.train.roles): before generation, up to the configured number of the chunk's
  groups are replaced by role groups (AZR proposer prompts, SvS rewrite prompts, tasks made
  online by earlier proposals). The displaced tasks are released from the selector's pending set.
- **dynamic sampling** (DAPO, arXiv 2503.14476, verl `recipe/dapo`): after generation, groups
  whose rewards are all equal carry no GRPO signal and are dropped; more prompts are drawn from the
  selector (`dynamic_oversample` times the number still missing, never a task already rolled out
  this step) and generated, up to `dynamic_max_rounds` generation rounds in all. The batch is then
  cut to exactly `prompts_per_step` groups. If the rounds run out first, the missing slots are
  filled with zero-variance groups whose loss mask is zeroed, so they are not trained on (DAPO
  raises instead; a long run should not die on one hard step) and are counted as `padded_groups`.
  Selection before generation (the selector) stays; this is the post-generation filter.
- **TRR++** (`advantage: trr++`, Absolute Zero): the batch's advantages are recomputed as
  (r - mean) / std over all rows that share (task kind, role), instead of per group.

Advantages: TRL computes them per generation round, so per-group normalisation (the default) is
unchanged by the filter; with `scale_rewards: batch` the scale is the round's, dropped groups
included. TRR++ is computed over the assembled batch and leaves padding rows out.

Every generated group reaches the ledger and the selector (they are evidence about the task);
those not trained carry `meta["trained"] = False` and `meta["dropped"]` (zero_variance, overflow
or padding), and every group carries the generation `round` it came from. `costs()` counts
generated and trained groups and rollouts, rounds and the seconds spent on the extra rounds: the
price of the filter. One process only: the refill rounds would have to agree across ranks.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PROMPT_KEYS = ("prompt_ids", "prompt_mask")  # left-padded
COMPLETION_KEYS = ("completion_ids", "completion_mask", "old_per_token_logps", "sampling_per_token_logps",
                   "ref_per_token_logps", "importance_sampling_ratio", "tool_mask")  # right-padded


@dataclass
class _Part:
    """One generation round: its rows, TRL's output, the rows' total rewards and decoded completions."""

    rows: list[dict]
    out: dict[str, Any]
    rewards: list[float]
    completions: list
    completion_ids: list
    round: int


def group_mixed(rewards: list[float]) -> bool:
    """Whether a group's (finite) rewards differ: DAPO keeps a group iff the std of its rewards is > 0."""
    finite = [r for r in rewards if r is not None and math.isfinite(r)]
    return len(finite) > 1 and max(finite) - min(finite) > 1e-9


def trr_advantages(rewards: list[float], keys: list[tuple[str, str]], eps: float = 1e-4) -> list[float]:
    """TRR++: (r - mean_key) / (std_key + eps) over the rows sharing a (kind, role) key; NaN rewards
    (unscorable rows) and keys whose rewards are all equal get 0."""
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if math.isfinite(rewards[i]):
            by_key[key].append(i)
    out = [0.0] * len(rewards)
    for rows in by_key.values():
        values = np.array([rewards[i] for i in rows], dtype=np.float64)
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        if std <= 1e-12:
            continue
        mean = float(values.mean())
        for i in rows:
            out[i] = (rewards[i] - mean) / (std + eps)
    return out


def _pad(tensors: list[Any], left: bool, value: float) -> Any:
    import torch

    width = max(t.shape[1] for t in tensors)
    padded = []
    for t in tensors:
        extra = width - t.shape[1]
        if extra:
            fill = torch.full((t.shape[0], extra, *t.shape[2:]), value, dtype=t.dtype, device=t.device)
            t = torch.cat([fill, t] if left else [t, fill], dim=1)
        padded.append(t)
    return torch.cat(padded, dim=0)


def concat_outputs(pieces: list[tuple[dict[str, Any], list[int]]], pad_token_id: int) -> dict[str, Any]:
    """Rows `idx` of each TRL generation output, as one output (prompts left-, completions right-padded)."""
    import torch

    keys = set(pieces[0][0])
    unknown = keys - {*PROMPT_KEYS, *COMPLETION_KEYS, "advantages", "num_items_in_batch"}
    if unknown:
        raise RuntimeError(f"dynamic sampling / roles cannot merge TRL output fields {sorted(unknown)} "
                           "(multimodal or tool batches); turn dynamic_sampling and roles off for this run")
    out: dict[str, Any] = {}
    for key in keys - {"num_items_in_batch"}:
        parts = [o[key][torch.as_tensor(idx, dtype=torch.long, device=o[key].device)] for o, idx in pieces]
        if key == "advantages" or (key == "importance_sampling_ratio" and parts[0].shape[1] == 1):
            out[key] = torch.cat(parts, dim=0)
        elif key in PROMPT_KEYS:
            out[key] = _pad(parts, left=True, value=pad_token_id if key == "prompt_ids" else 0)
        else:
            value = pad_token_id if key == "completion_ids" else (1 if key == "tool_mask" else 0)
            out[key] = _pad(parts, left=False, value=value)
    mask = out["completion_mask"] if "tool_mask" not in out else out["completion_mask"] * out["tool_mask"]
    out["num_items_in_batch"] = mask.sum()
    return out


class StepBatcher:
    """Builds each training generation batch (see the module docstring)."""

    def __init__(self, *, dynamic: bool, oversample: float, max_rounds: int, trr: bool, seed: int,
                 roles: Any = None):
        self.dynamic = dynamic
        self.oversample = oversample
        self.max_rounds = max_rounds if dynamic else 1
        self.trr = trr
        self.seed = seed
        self.roles = roles  # rlvr.train.roles.OnlineRoles or None
        self.counts: dict[str, float] = defaultdict(float)

    @classmethod
    def from_config(cls, config: Any, roles: Any = None) -> StepBatcher | None:
        """A batcher when the config turns any of its switches on, else None (TRL's own step)."""
        if not (config.dynamic_sampling or config.advantage == "trr++" or roles is not None):
            return None
        return cls(dynamic=config.dynamic_sampling, oversample=config.dynamic_oversample,
                   max_rounds=config.dynamic_max_rounds, trr=config.advantage == "trr++", seed=config.seed,
                   roles=roles)

    def costs(self) -> dict[str, float]:
        return {f"dynamic_{k}" if not k.startswith("role") else k: round(v, 3) for k, v in self.counts.items()}

    # -- the step -------------------------------------------------------------------------------
    def build(self, trainer: Any, inputs: list[dict], generate: Any) -> tuple[dict[str, Any], list[dict]]:
        """(TRL generation output, its input rows) for this step; `generate` is TRL's own method."""
        if trainer.accelerator.num_processes > 1:
            raise RuntimeError("dynamic_sampling, roles and advantage=trr++ run in one process only; "
                               "launch without accelerate's multi-process mode or turn them off")
        run = trainer.run
        g = trainer.num_generations
        step = trainer.state.global_step
        groups = [inputs[i:i + g] for i in range(0, len(inputs), g)]
        needed = len(groups)
        used = {grp[0]["task_id"] for grp in groups}
        if self.roles is not None:
            groups = self.roles.compose(trainer, groups, step)
            used |= {grp[0]["task_id"] for grp in groups}
        rows = [row for grp in groups for row in grp]
        if self.dynamic and self.oversample > 1:
            rows += self._draw(trainer, math.ceil(needed * (self.oversample - 1)), used, step, 0)
        parts: list[_Part] = []
        kept: list[tuple[int, int]] = []
        zero: list[tuple[int, int]] = []
        extra_seconds = 0.0
        for rnd in range(self.max_rounds):
            t0 = time.perf_counter()
            out = generate(rows)
            if rnd:
                extra_seconds += time.perf_counter() - t0
            part = self._part(trainer, rows, out, rnd)
            parts.append(part)
            for gi in range(len(rows) // g):
                mixed = group_mixed(part.rewards[gi * g:(gi + 1) * g])
                (kept if mixed or not self.dynamic else zero).append((len(parts) - 1, gi))
            if len(kept) >= needed or rnd + 1 >= self.max_rounds:
                break
            missing = needed - len(kept)
            rows = self._draw(trainer, math.ceil(missing * max(1.0, self.oversample)), used, step, rnd + 1)
            if not rows:
                break
        chosen, overflow = kept[:needed], kept[needed:]
        padding = zero[:needed - len(chosen)]
        dropped = zero[len(padding):]
        if padding:
            log.warning("step %d: only %d of %d groups had mixed rewards after %d generation round(s); %d "
                        "zero-variance group(s) fill the batch with their loss masked", step, len(chosen), needed,
                        len(parts), len(padding))
        self._mark(run, parts, g, step, overflow, "overflow")
        self._mark(run, parts, g, step, dropped, "zero_variance")
        self._mark(run, parts, g, step, padding, "padding")
        self._mark(run, parts, g, step, chosen, None)
        out, rows = self._assemble(trainer, parts, chosen + padding, g, n_padding=len(padding))
        generated = sum(len(p.rows) // g for p in parts)
        c = self.counts
        c["steps"] += 1
        c["generated_groups"] += generated
        c["generated_rollouts"] += generated * g
        c["trained_groups"] += len(chosen)
        c["filtered_groups"] += len(zero) if self.dynamic else 0
        c["padded_groups"] += len(padding)
        c["overflow_groups"] += len(overflow)
        c["rounds"] += len(parts)
        c["extra_generation_seconds"] += extra_seconds
        metrics = trainer._metrics["train"]
        metrics["dynamic/generated_groups"].append(float(generated))
        metrics["dynamic/filtered_fraction"].append(len(zero) / generated if generated else 0.0)
        metrics["dynamic/rounds"].append(float(len(parts)))
        return out, rows

    def _part(self, trainer: Any, rows: list[dict], out: dict[str, Any], rnd: int) -> _Part:
        run = trainer.run
        per_func = run.last_rewards
        weights = trainer.reward_weights.to(per_func.device)
        finite = ~per_func.isnan().all(dim=1)
        total = (per_func * weights.unsqueeze(0)).nansum(dim=1)
        rewards = [float(r) if ok else float("nan") for r, ok in zip(total.tolist(), finite.tolist())]
        completions, ids = run.last_completions
        return _Part(list(rows), out, rewards, list(completions), list(ids), rnd)

    def _draw(self, trainer: Any, m: int, used: set[str], step: int, rnd: int) -> list[dict]:
        """Rows (each task repeated num_generations times) for up to m tasks the selector proposes now."""
        selector = trainer.run.selector
        store = selector.store
        free = store.size - sum(tid in store for tid in used)
        m = min(m, free)
        if m <= 0:
            return []
        rng = np.random.default_rng([self.seed, step, rnd, 0xDA])
        proposal = selector.propose(min(store.size, m + len(used)), rng)
        picked, spare = [], []
        for i in proposal.indices.tolist():
            tid = store.task_ids[i]
            (spare if tid in used or len(picked) >= m else picked).append(i)
        if spare:
            selector.release(spare)
        rows = []
        for i in picked:
            row = dict(trainer.train_dataset[int(i)])
            used.add(row["task_id"])
            rows += [dict(row) for _ in range(trainer.num_generations)]
        return rows

    @staticmethod
    def _mark(run: Any, parts: list[_Part], g: int, step: int, members: list[tuple[int, int]],
              reason: str | None) -> None:
        for p, gi in members:
            group = run.ledger.open_group(step, parts[p].rows[gi * g]["task_id"])
            if group is None:
                continue
            group.meta["round"] = parts[p].round
            keys = run.keys.get(group.task_id)
            if keys is not None:
                group.meta.update(kind=keys.kind, source=keys.source)
            if reason is not None:
                group.meta.update(trained=False, dropped=reason)

    def _assemble(self, trainer: Any, parts: list[_Part], members: list[tuple[int, int]], g: int,
                  n_padding: int) -> tuple[dict[str, Any], list[dict]]:
        by_part: dict[int, list[int]] = defaultdict(list)
        for p, gi in members:
            by_part[p] += list(range(gi * g, (gi + 1) * g))
        order = sorted(by_part)
        pieces = [(parts[p].out, by_part[p]) for p in order]
        rows = [parts[p].rows[i] for p in order for i in by_part[p]]
        rewards = [parts[p].rewards[i] for p in order for i in by_part[p]]
        padded_ids = {parts[p].rows[gi * g]["task_id"] for p, gi in members[len(members) - n_padding:]} \
            if n_padding else set()
        out = concat_outputs(pieces, trainer.processing_class.pad_token_id)
        if padded_ids:
            keep = [0.0 if r["task_id"] in padded_ids else 1.0 for r in rows]
            import torch

            mask = torch.tensor(keep, dtype=out["completion_mask"].dtype, device=out["completion_mask"].device)
            out["completion_mask"] = out["completion_mask"] * mask.unsqueeze(1)
            loss_mask = out["completion_mask"] if "tool_mask" not in out else out["completion_mask"] * out["tool_mask"]
            out["num_items_in_batch"] = loss_mask.sum()
        if self.trr:
            import torch

            keys = [self._trr_key(trainer.run, r["task_id"]) for r in rows]
            # padded (masked) rows are not trained: they take no part in the baselines and get no advantage
            adv = trr_advantages([float("nan") if r["task_id"] in padded_ids else x for r, x in zip(rows, rewards)],
                                 keys)
            out["advantages"] = torch.tensor(adv, dtype=out["advantages"].dtype, device=out["advantages"].device)
        completions = [parts[p].completions[i] for p in order for i in by_part[p]]
        ids = [parts[p].completion_ids[i] for p in order for i in by_part[p]]
        trainer.run.last_completions = (completions, ids)
        return out, rows

    def _trr_key(self, run: Any, task_id: str) -> tuple[str, str]:
        keys = run.keys.get(task_id)
        kind = keys.kind if keys is not None else "?"
        role = self.roles.role_of(task_id) if self.roles is not None else "solve"
        return kind, role
