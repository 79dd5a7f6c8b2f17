"""A Beta belief about every task's pass rate under the current policy, for the whole pool at once.

Selectors need, for each of up to millions of tasks, "how often does the policy solve this now,
and how sure are we". `PassRateStore` keeps that as a Beta(alpha, beta) posterior per task in
flat numpy arrays, so scoring the whole pool is a handful of vectorised operations.

Model (ALGORITHMS.md section 2):

- prior Beta(prior_alpha, prior_beta), the same for every task (default 1, 1: uniform). With
  `prior="empirical"` that is only the starting point: the prior is refitted to the pool after
  every update from the tasks' first observed groups (rlvr/select/prior.py says how and why), so
  an unseen task is believed to be a typical task of this pool and a lightly observed one is
  shrunk toward the pool rather than toward 1/2. `prior_alpha`/`prior_beta` are always the
  prior in force; a refit shifts every task's alpha and beta by the change, leaving each task's
  own (forgotten) evidence alpha - prior_alpha, beta - prior_beta as it was;
- a group of k rollouts with rewards r_1..r_k in [0, 1] adds s = sum(r) to alpha and k - s to
  beta. Fractional rewards count fractionally (a reward of 0.25 is a quarter success), which is
  the Beta posterior under a Bernoulli likelihood tempered per rollout;
- rollouts whose verifier status is "error" are left out: a crashed verifier says nothing about
  the policy (they are counted in `ObserveStats.excluded`, never silently dropped);
- forgetting: the policy drifts while it trains, so old evidence goes stale. With
  `forgetting = lam < 1`, every task's evidence in excess of the prior shrinks by lam per
  training step, whether or not the task was looked at: alpha <- prior_alpha + lam**dt *
  (alpha - prior_alpha), likewise beta. A task's mean is kept and its evidence decays toward the
  prior, so a task judged "always solved" long ago becomes worth a look again;
- forgetting per visit: training moves a task's own pass rate far more than the drift of the
  pool (GRPO raises the likelihood of exactly that prompt's correct completions; in the learner
  simulator a task trained every step was memorised while a slowly forgotten belief still
  called it mixed). With `visit_forgetting = lam_v < 1` a task's evidence in excess of the
  prior is multiplied by lam_v each time a new group of it arrives, before the group is added
  (0.5: the newest group weighs as much as all older ones together). Batch-sized work only;
- offline estimates (`rlvr select estimate` writes `Task.difficulty.pass_rate` and `.evidence`)
  seed the belief: alpha += w * pass_rate * evidence, beta += w * (1 - pass_rate) * evidence,
  with w = `offline_weight` (lower it when the estimate came from another model).

The constructor's defaults are the plain model (fixed Beta(1, 1), no forgetting); the settings
measured best in `rlvr select simulate` (empirical prior, forgetting 0.995 per step, 0.5 per
visit) are SelectConfig's defaults, so build stores with `SelectConfig(...).make_store(tasks)`.

Use:

    store = PassRateStore.from_tasks(tasks, forgetting=0.99)
    store.observe(groups)                 # list[RolloutGroup] from training
    mu, n = store.mean(), store.evidence()
    store.save(run_dir / "pass_rates.parquet"); PassRateStore.load(path, task_ids=...)
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rlvr.records import UNSCORED_STATUSES, Difficulty, RolloutGroup, Task, write_table
from rlvr.select.prior import PRIOR_MODES, EmpiricalPrior

log = logging.getLogger(__name__)

FORMAT = "rlvr.select.store/1"
# Verifier statuses that carry no information about the policy and are left out of updates.
UNINFORMATIVE_STATUSES = UNSCORED_STATUSES  # one rule for every pass rate (rlvr.records)


@dataclass
class ObserveStats:
    """What one `observe` call did with its groups: nothing is dropped without a count."""

    groups: int = 0
    rollouts: int = 0
    mixed: int = 0  # groups whose rewards were not all equal
    excluded: int = 0  # rollouts left out because their verifier status was uninformative
    unknown: int = 0  # groups whose task_id is not in the store (skipped)

    def __iadd__(self, other: ObserveStats) -> ObserveStats:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def _check_prior(prior_alpha: float, prior_beta: float, forgetting: float, prior: str = "fixed",
                 visit_forgetting: float = 1.0) -> None:
    if not 0.0 < visit_forgetting <= 1.0:
        raise ValueError(f"visit_forgetting must be in (0, 1] (1 = never forget), got {visit_forgetting}")
    if prior not in PRIOR_MODES:
        raise ValueError(f"prior must be one of {PRIOR_MODES} (fixed: prior_alpha/prior_beta; empirical: fitted "
                         f"to the pool), got {prior!r}")
    if not (prior_alpha > 0 and prior_beta > 0):
        raise ValueError(f"prior_alpha and prior_beta must be > 0 (a proper Beta prior), got {prior_alpha}, {prior_beta}")
    if not 0.0 < forgetting <= 1.0:
        raise ValueError(f"forgetting must be in (0, 1] (1 = never forget), got {forgetting}")


class PassRateStore:
    """Beta(alpha, beta) pass-rate beliefs for a fixed, ordered pool of tasks.

    Index i of every array is the i-th task id given at construction; keep the training dataset
    in the same order (the TRL sampler checks the lengths match).
    """

    def __init__(self, task_ids: Sequence[str], *, prior_alpha: float = 1.0, prior_beta: float = 1.0,
                 forgetting: float = 1.0, prior: str = "fixed", prior_pseudo_groups: float = 16.0,
                 prior_min_strength: float = 0.5, prior_max_strength: float = 100.0,
                 visit_forgetting: float = 1.0):
        _check_prior(prior_alpha, prior_beta, forgetting, prior, visit_forgetting)
        self.task_ids: list[str] = list(task_ids)
        self._index = {tid: i for i, tid in enumerate(self.task_ids)}
        if len(self._index) != len(self.task_ids):
            dupes = len(self.task_ids) - len(self._index)
            raise ValueError(f"PassRateStore: {dupes} duplicate task id(s); deduplicate the pool first")
        n = len(self.task_ids)
        self.prior_alpha = float(prior_alpha)
        self.prior_beta = float(prior_beta)
        self.forgetting = float(forgetting)
        self.visit_forgetting = float(visit_forgetting)
        self.prior = prior
        # The configured prior and the running moments of first groups (used when prior="empirical").
        self.empirical = EmpiricalPrior(self.prior_alpha, self.prior_beta, prior_pseudo_groups,
                                        prior_min_strength, prior_max_strength)
        self.alpha = np.full(n, self.prior_alpha)
        self.beta = np.full(n, self.prior_beta)
        self.n_groups = np.zeros(n, dtype=np.int64)  # groups observed (never forgotten: a ledger count)
        self.n_rollouts = np.zeros(n, dtype=np.int64)
        self.last_step = np.full(n, -1, dtype=np.int64)  # -1: never observed
        self.last_mean = np.full(n, np.nan)  # mean reward of the last group
        self.last_mixed = np.full(n, -1, dtype=np.int8)  # -1 unseen, 0 last group all-equal, 1 mixed
        self.step = 0  # the latest training step whose groups were observed

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_tasks(cls, tasks: Sequence[Task], *, offline_weight: float = 1.0, **store_kw) -> PassRateStore:
        """A store over `tasks`, seeded with their offline estimates (difficulty.pass_rate/evidence)."""
        if offline_weight < 0:
            raise ValueError(f"offline_weight must be >= 0 (0 ignores offline estimates), got {offline_weight}")
        store = cls([t.task_id for t in tasks], **store_kw)
        rate = np.array([t.difficulty.pass_rate if t.difficulty.pass_rate is not None else np.nan for t in tasks],
                        dtype=np.float64)
        evidence = np.array([t.difficulty.evidence or 0 for t in tasks], dtype=np.float64)
        known = np.isfinite(rate) & (evidence > 0)
        if np.any(known) and offline_weight > 0:
            r = np.clip(rate[known], 0.0, 1.0)
            w = offline_weight * evidence[known]
            store.alpha[known] += w * r
            store.beta[known] += w * (1.0 - r)
            log.info("seeded %d of %d tasks from offline pass-rate estimates", int(known.sum()), len(tasks))
        return store

    # -- lookups -------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.task_ids)

    def __len__(self) -> int:
        return len(self.task_ids)

    def index_of(self, task_id: str) -> int:
        try:
            return self._index[task_id]
        except KeyError:
            raise KeyError(f"task {task_id!r} is not in this PassRateStore ({self.size} tasks)") from None

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._index

    def mean(self) -> np.ndarray:
        """Posterior mean pass rate mu = alpha / (alpha + beta), per task."""
        return self.alpha / (self.alpha + self.beta)

    def evidence(self) -> np.ndarray:
        """n = alpha + beta: prior pseudo-counts plus (forgotten) observed rollouts."""
        return self.alpha + self.beta

    def variance(self) -> np.ndarray:
        """Posterior variance of the pass rate: mu (1 - mu) / (n + 1)."""
        n = self.alpha + self.beta
        mu = self.alpha / n
        return mu * (1.0 - mu) / (n + 1.0)

    def success_evidence(self) -> np.ndarray:
        """alpha - prior_alpha: (forgotten) successes seen, offline estimates included."""
        return self.alpha - self.prior_alpha

    def failure_evidence(self) -> np.ndarray:
        return self.beta - self.prior_beta

    # -- updates -------------------------------------------------------------------------------
    def advance(self, step: int) -> None:
        """Move the clock to training step `step`, forgetting lam**(step - self.step) of the evidence."""
        if step <= self.step:
            return
        if self.forgetting < 1.0:
            factor = self.forgetting ** (step - self.step)
            # prior + f (x - prior) = f x + (1 - f) prior: two in-place passes per array, no
            # temporaries; this touches the whole pool once per training step.
            for arr, prior in ((self.alpha, self.prior_alpha), (self.beta, self.prior_beta)):
                arr *= factor
                arr += (1.0 - factor) * prior
            self.empirical.decay(factor)
        self.step = int(step)

    def set_prior(self, prior_alpha: float, prior_beta: float) -> None:
        """Replace the prior of every task, keeping each task's own evidence (two passes over the pool)."""
        da, db = prior_alpha - self.prior_alpha, prior_beta - self.prior_beta
        if da:
            self.alpha += da
        if db:
            self.beta += db
        self.prior_alpha, self.prior_beta = float(prior_alpha), float(prior_beta)


    def update(self, indices: np.ndarray, successes: np.ndarray, trials: np.ndarray, *,
               step: int | None = None, mixed: np.ndarray | None = None) -> None:
        """Vectorised core: task indices[j] had `trials[j]` rollouts summing to `successes[j]`.

        Repeated indices accumulate. `step` (default: the current one) first advances the clock.
        `mixed[j]` says whether group j's rewards were not all equal (default: 0 < s < trials).
        """
        indices = np.asarray(indices, dtype=np.int64)
        successes = np.asarray(successes, dtype=np.float64)
        trials = np.asarray(trials, dtype=np.float64)
        if not (indices.shape == successes.shape == trials.shape):
            raise ValueError("update: indices, successes and trials must have the same shape")
        if np.any(successes < 0) or np.any(successes > trials):
            raise ValueError("update: successes must lie in [0, trials] for every group")
        if step is not None:
            self.advance(step)
        if mixed is None:
            mixed = (successes > 0) & (successes < trials)
        if self.prior == "empirical":
            # First groups only (see prior.py); a task twice in one update counts its first group.
            _, first = np.unique(indices, return_index=True)
            first = first[self.n_groups[indices[first]] == 0]
            self.empirical.add(successes[first], trials[first])
        if self.visit_forgetting < 1.0:
            u = np.unique(indices)
            for arr, prior in ((self.alpha, self.prior_alpha), (self.beta, self.prior_beta)):
                arr[u] = prior + self.visit_forgetting * (arr[u] - prior)
        np.add.at(self.alpha, indices, successes)
        np.add.at(self.beta, indices, trials - successes)
        np.add.at(self.n_groups, indices, 1)
        np.add.at(self.n_rollouts, indices, trials.astype(np.int64))
        seen = trials > 0
        self.last_step[indices[seen]] = self.step
        self.last_mean[indices[seen]] = successes[seen] / trials[seen]
        self.last_mixed[indices[seen]] = np.asarray(mixed, dtype=bool)[seen].astype(np.int8)
        if self.prior == "empirical":
            self.set_prior(*self.empirical.fit())

    def observe(self, groups: Sequence[RolloutGroup]) -> ObserveStats:
        """Fold rollout groups into the beliefs, in step order; returns what was used and skipped."""
        stats = ObserveStats()
        by_step: dict[int, list[RolloutGroup]] = {}
        for g in groups:
            by_step.setdefault(int(g.step), []).append(g)
        for step in sorted(by_step):
            idx, succ, trials, mixed = [], [], [], []
            for g in by_step[step]:
                stats.groups += 1
                i = self._index.get(g.task_id)
                if i is None:
                    stats.unknown += 1
                    continue
                rewards = g.scored_rewards()
                stats.excluded += g.k - len(rewards)
                stats.rollouts += len(rewards)
                is_mixed = len(set(rewards)) > 1
                stats.mixed += is_mixed
                idx.append(i)
                succ.append(float(sum(min(max(r, 0.0), 1.0) for r in rewards)))
                trials.append(float(len(rewards)))
                mixed.append(is_mixed)
            if idx:
                self.update(np.array(idx), np.array(succ), np.array(trials), step=step, mixed=np.array(mixed))
            else:
                self.advance(step)
        if stats.unknown:
            log.warning("PassRateStore.observe: %d group(s) name tasks outside the pool; skipped", stats.unknown)
        return stats

    # -- export --------------------------------------------------------------------------------
    def to_tasks(self, tasks: Sequence[Task]) -> list[Task]:
        """Copies of `tasks` whose difficulty.pass_rate/evidence hold the current belief."""
        mu, n = self.mean(), self.evidence() - (self.prior_alpha + self.prior_beta)
        out = []
        for t in tasks:
            i = self.index_of(t.task_id)
            d = Difficulty(t.difficulty.nominal, float(mu[i]), int(round(max(n[i], 0.0))))
            out.append(dataclasses.replace(t, difficulty=d))
        return out

    def summary(self) -> dict[str, object]:
        seen = self.n_groups > 0
        mu = self.mean()
        return {
            "tasks": self.size,
            "seen": int(seen.sum()),
            "groups": int(self.n_groups.sum()),
            "rollouts": int(self.n_rollouts.sum()),
            "mean_pass_rate_seen": round(float(mu[seen].mean()), 4) if seen.any() else None,
            "last_group_mixed": int((self.last_mixed == 1).sum()),
            "last_group_all_equal": int((self.last_mixed == 0).sum()),
            "step": self.step,
        }

    # -- persistence ---------------------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        meta = {"format": FORMAT, "prior_alpha": self.prior_alpha, "prior_beta": self.prior_beta,
                "forgetting": self.forgetting, "visit_forgetting": self.visit_forgetting,
                "step": self.step, "prior": self.prior,
                "empirical": self.empirical.to_dict()}
        table = pa.table({
            "task_id": pa.array(self.task_ids, pa.string()),
            "alpha": self.alpha, "beta": self.beta,
            "n_groups": self.n_groups, "n_rollouts": self.n_rollouts,
            "last_step": self.last_step, "last_mean": self.last_mean,
            "last_mixed": self.last_mixed,
        })
        return table.replace_schema_metadata({"rlvr": json.dumps(meta, sort_keys=True)})

    def save(self, path: str | Path) -> Path:
        """Write the beliefs atomically as Parquet (same state -> same bytes)."""
        return write_table(path, self.to_arrow())

    @classmethod
    def load(cls, path: str | Path, task_ids: Sequence[str] | None = None) -> PassRateStore:
        """Restore a saved store. With `task_ids`, realign to that pool: tasks new to it start at
        the prior, tasks no longer in it are dropped (both counted in the log)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no saved pass-rate store here")
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"rlvr")
        meta = json.loads(raw) if raw else {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not a pass-rate store written by rlvr (format {meta.get('format')!r})")
        saved_ids = table.column("task_id").to_pylist()
        # Files written before the empirical prior existed have a fixed prior and no "empirical" entry.
        emp = EmpiricalPrior.from_dict(meta.get("empirical") or {"base_alpha": meta["prior_alpha"],
                                                                  "base_beta": meta["prior_beta"]})
        store = cls(saved_ids if task_ids is None else task_ids, prior_alpha=emp.base_alpha,
                    prior_beta=emp.base_beta, forgetting=meta["forgetting"], prior=meta.get("prior", "fixed"),
                    prior_pseudo_groups=emp.pseudo_groups, prior_min_strength=emp.min_strength,
                    prior_max_strength=emp.max_strength, visit_forgetting=meta.get("visit_forgetting", 1.0))
        store.empirical = emp
        store.set_prior(meta["prior_alpha"], meta["prior_beta"])  # tasks new to the pool start here
        store.step = int(meta["step"])
        cols = {name: table.column(name).to_numpy() for name in table.column_names if name != "task_id"}
        if task_ids is None:
            src, dst = np.arange(len(saved_ids)), np.arange(len(saved_ids))
        else:
            pos = [(j, store._index.get(tid)) for j, tid in enumerate(saved_ids)]
            kept = [(j, i) for j, i in pos if i is not None]
            src = np.array([j for j, _ in kept], dtype=np.int64)
            dst = np.array([i for _, i in kept], dtype=np.int64)
            log.info("restored %d task beliefs from %s; %d new task(s) start at the prior, %d saved task(s) "
                     "are no longer in the pool", len(kept), path, store.size - len(kept), len(saved_ids) - len(kept))
        for name in ("alpha", "beta", "n_groups", "n_rollouts", "last_step", "last_mean", "last_mixed"):
            getattr(store, name)[dst] = cols[name][src]
        return store
