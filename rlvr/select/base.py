"""The selector interface, its settings, the sampling rules they share, and the registry.

A selector reads a `PassRateStore` and answers one question: which tasks should the next batch
roll out? Every selector has the same three calls:

    proposal = selector.propose(batch_size, rng)   # -> Proposal(indices, scores, reasons)
    selector.observe(groups)                       # list[RolloutGroup] -> store update
    selector.score_for(index)                      # the score a pending task was proposed with

A selector only says how much it wants each task (`scores()`: higher is better, -inf means "not
eligible"); turning scores into a batch is shared here:

- "top" sampling takes the top-B scores, breaking exact ties uniformly at random (so "uniform"
  is just all-equal scores), and fills up with ineligible tasks only when too few are eligible;
- "proportional" sampling draws B distinct tasks with probability proportional to the score;
- an exploration floor `explore` = eps keeps every task alive: in top mode each batch slot goes,
  with probability eps, to a task drawn uniformly from the rest of the pool; in proportional
  mode eps of the probability mass is spread uniformly. No task's chance ever reaches zero.

Read-ahead lag. Training frameworks ask for batch t+1 before the rewards of batch t are in
(accelerate's DataLoader prefetches one batch). A task proposed but not yet observed is
"pending"; proposals skip pending tasks (unless the pool runs out), so lag never makes a selector
roll out the same task twice on stale beliefs. Pending entries older than `max_pending_age`
proposals are forgotten (their groups were never reported, e.g. after a resume).

Register a selector with `@register_selector`; `make_selector(name, store, config)` accepts a
registered name or a dotted path "pkg.module:Class".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from rlvr.records import RolloutGroup
from rlvr.registry import Registry
from rlvr.select.insight import INSIGHT_FORMS
from rlvr.select.prior import PRIOR_MODES
from rlvr.select.store import ObserveStats, PassRateStore

log = logging.getLogger(__name__)

SAMPLING_MODES = ("top", "proportional")
BAND_ORDERS = ("evidence", "uniform", "probability")


@dataclass
class SelectConfig:
    """Settings of the pass-rate store and of every built-in selector (CLI flags / YAML / `with:`)."""

    # Default: InSight as the paper describes it (weighted MI), chosen by worst case over the world
    # suite (`rlvr select simulate --worlds`, 5 seeds, 7 worlds; README's select section): worst
    # 1.00x uniform's rollouts (the noisy world, where luck-only tasks fool every selector), tied
    # within two standard errors with dapo (0.995x), and the lower mean over the suite (0.74x vs
    # 0.76x). variance (worst 1.30x) and band (1.62x) chase luck-only tasks; insight_signal has the
    # best mean (0.71x) but a worse worst case (1.02x).
    selector: str = field(default="insight", metadata={"help": "selector name (see `rlvr select list`) or pkg.mod:Class"})
    sampling: str = field(default="top", metadata={"help": "top (top-B scores) or proportional (sample by score)",
                                                   "choices": SAMPLING_MODES})
    explore: float = field(default=0.05, metadata={"help": "exploration floor: share of each batch drawn uniformly"})
    k: int = field(default=8, metadata={"help": "rollouts per task (TRL num_generations); InSight's evidence term"})
    prior_alpha: float = field(default=1.0, metadata={"help": "Beta prior pseudo-successes"})
    prior_beta: float = field(default=1.0, metadata={"help": "Beta prior pseudo-failures"})
    forgetting: float = field(default=0.995, metadata={"help": "per-step decay of evidence toward the prior (1 = keep all)"})
    # A task's pass rate moves most when it is itself trained on (GRPO raises the likelihood of that
    # prompt's own correct completions), so its older evidence is halved each time it is observed.
    visit_forgetting: float = field(default=0.5, metadata={"help": "decay of a task's older evidence each time "
                                                                   "it is observed (1 = keep all)"})
    prior: str = field(default="empirical", metadata={"help": "fixed (prior_alpha, prior_beta for every task) or "
                                                              "empirical (refitted to the pool's first groups)",
                                                      "choices": PRIOR_MODES})
    prior_min_strength: float = field(default=0.5, metadata={"help": "empirical prior: least alpha0 + beta0"})
    prior_pseudo_groups: float = field(default=16.0, metadata={"help": "empirical prior: groups' worth of weight "
                                                                       "of prior_alpha/prior_beta in the fit"})
    offline_weight: float = field(default=1.0, metadata={"help": "weight of offline estimates (select estimate)"})
    band_low: float = field(default=0.125, metadata={"help": "band selector: lowest pass rate kept (SwS 0.125)"})
    band_high: float = field(default=0.875, metadata={"help": "band selector: highest pass rate kept (SwS 0.875)"})
    band_order: str = field(default="evidence", metadata={
        "help": "band selector: order among the tasks kept: evidence (most-evidenced first), uniform (SwS's plain "
                "filter), probability (posterior P(band_low <= p <= band_high), exact; ~0.4 s per 10^6 tasks)",
        "choices": BAND_ORDERS})
    pair_hard_max: float = field(default=0.25, metadata={"help": "pairing: hard-but-solvable tasks have mu <= this"})
    pair_easy_min: float = field(default=0.75, metadata={"help": "pairing: easy-but-brittle tasks have mu >= this"})
    curriculum_start: float = field(default=0.5, metadata={"help": "curriculum: keep tasks with mu <= this at step 0"})
    curriculum_end: float = field(default=0.25, metadata={"help": "curriculum: ... and <= this after the anneal"})
    curriculum_steps: int = field(default=500, metadata={"help": "curriculum: steps to anneal start -> end"})
    insight_form: str = field(default="weighted_mi", metadata={"help": "InSight score form (see insight.py)",
                                                           "choices": INSIGHT_FORMS})
    insight_evidence_weight: float = field(default=0.5, metadata={"help": "InSight 'signal' form: exponent gamma "
                                                                          "of the evidence term k/(n+k)"})
    max_pending_age: int = field(default=4, metadata={"help": "proposals after which an unreported task is no longer pending"})
    seed: int = field(default=0, metadata={"help": "seed of make_rng() (the TRL sampler uses the trainer's seed)"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"sampling": "greedy"}, {"explore": 1.5}, {"k": 0}, {"prior_alpha": 0}, {"forgetting": 0},
        {"band_low": 0.9, "band_high": 0.1}, {"pair_hard_max": 0.8, "pair_easy_min": 0.5},
        {"curriculum_steps": 0}, {"insight_form": "thompson"}, {"prior": "flat"}, {"prior_min_strength": 0},
        {"visit_forgetting": 0}, {"band_order": "random"}, {"insight_evidence_weight": -1}, {"max_pending_age": 0}, {"selector": ""},
    )

    def __post_init__(self) -> None:
        if not self.selector:
            raise ValueError("selector: give a selector name, e.g. insight, variance, uniform")
        if self.sampling not in SAMPLING_MODES:
            raise ValueError(f"sampling must be one of {SAMPLING_MODES}, got {self.sampling!r}")
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore is a share of the batch in [0, 1], got {self.explore}")
        if self.k < 1:
            raise ValueError(f"k (rollouts per task) must be at least 1, got {self.k}")
        if not (self.prior_alpha > 0 and self.prior_beta > 0):
            raise ValueError("prior_alpha and prior_beta must be > 0; use 1, 1 for a uniform prior")
        if not 0.0 < self.forgetting <= 1.0:
            raise ValueError(f"forgetting must be in (0, 1]; 1 keeps all evidence, got {self.forgetting}")
        if not 0.0 < self.visit_forgetting <= 1.0:
            raise ValueError(f"visit_forgetting must be in (0, 1]; 1 keeps all evidence, got {self.visit_forgetting}")
        if not 0.0 <= self.insight_evidence_weight <= 2.0:
            raise ValueError(f"insight_evidence_weight must be in [0, 2], got {self.insight_evidence_weight}")
        if self.prior not in PRIOR_MODES:
            raise ValueError(f"prior must be one of {PRIOR_MODES}, got {self.prior!r}")
        if not 0 < self.prior_min_strength <= 100.0:
            raise ValueError(f"prior_min_strength must be in (0, 100], got {self.prior_min_strength}")
        if self.prior_pseudo_groups < 0:
            raise ValueError(f"prior_pseudo_groups must be >= 0, got {self.prior_pseudo_groups}")
        if self.offline_weight < 0:
            raise ValueError(f"offline_weight must be >= 0, got {self.offline_weight}")
        if not 0.0 <= self.band_low <= self.band_high <= 1.0:
            raise ValueError(f"need 0 <= band_low <= band_high <= 1, got {self.band_low}, {self.band_high}")
        if self.band_order not in BAND_ORDERS:
            raise ValueError(f"band_order must be one of {BAND_ORDERS}, got {self.band_order!r}")
        if not 0.0 < self.pair_hard_max < self.pair_easy_min < 1.0:
            raise ValueError("need 0 < pair_hard_max < pair_easy_min < 1 (e.g. 0.25 and 0.75)")
        if not 0.0 <= self.curriculum_end <= self.curriculum_start <= 1.0:
            raise ValueError("need 0 <= curriculum_end <= curriculum_start <= 1 (the threshold anneals down)")
        if self.curriculum_steps < 1:
            raise ValueError(f"curriculum_steps must be at least 1, got {self.curriculum_steps}")
        if self.insight_form not in INSIGHT_FORMS:
            raise ValueError(f"insight_form must be one of {INSIGHT_FORMS}, got {self.insight_form!r}")
        if self.max_pending_age < 1:
            raise ValueError(f"max_pending_age must be at least 1, got {self.max_pending_age}")

    def make_rng(self) -> np.random.Generator:
        """The random generator to pass to `propose` when you drive a selector yourself."""
        return np.random.default_rng(self.seed)

    def make_store(self, tasks=None, task_ids: Sequence[str] | None = None) -> PassRateStore:
        """A store with these prior/forgetting settings, from tasks (offline estimates used) or ids."""
        kw = {"prior_alpha": self.prior_alpha, "prior_beta": self.prior_beta, "forgetting": self.forgetting,
              "prior": self.prior, "prior_min_strength": self.prior_min_strength,
              "prior_pseudo_groups": self.prior_pseudo_groups, "visit_forgetting": self.visit_forgetting}
        if tasks is not None:
            return PassRateStore.from_tasks(tasks, offline_weight=self.offline_weight, **kw)
        if task_ids is None:
            raise ValueError("make_store: pass tasks or task_ids")
        return PassRateStore(task_ids, **kw)


@dataclass
class Proposal:
    """One batch a selector chose: task indices, the score each was chosen with, and why.

    `reasons[j]` is "top" / "sampled" (by score), "explore" (exploration floor), "fill" (too few
    eligible tasks), or a selector-specific role such as "pair+" / "pair-".
    """

    number: int
    selector: str
    indices: np.ndarray
    scores: np.ndarray
    reasons: list[str]

    def __len__(self) -> int:
        return len(self.indices)


def top_b(scores: np.ndarray, b: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the b largest finite scores; exact ties at the cut are broken uniformly at random."""
    finite = np.isfinite(scores)
    n_finite = int(np.count_nonzero(finite))
    if b <= 0 or n_finite == 0:
        return np.empty(0, dtype=np.int64)
    # Partitioning an array that is mostly -inf is slow (one huge tie), so work on the finite part
    # when it is small; a few -inf entries (pending tasks) are harmless.
    cand = np.flatnonzero(finite) if n_finite < len(scores) // 2 else None
    sub = scores if cand is None else scores[cand]
    if b >= n_finite:
        chosen = np.flatnonzero(np.isfinite(sub))
        chosen = chosen[np.argsort(-sub[chosen], kind="stable")]
    else:
        part = np.argpartition(sub, len(sub) - b)[len(sub) - b:]
        cut = sub[part].min()
        above = np.flatnonzero(sub > cut)
        tied = np.flatnonzero(sub == cut)
        chosen = np.concatenate([above[np.argsort(-sub[above], kind="stable")],
                                 rng.choice(tied, size=b - len(above), replace=False)])
    return (chosen if cand is None else cand[chosen]).astype(np.int64)


def proportional(weights: np.ndarray, b: int, rng: np.random.Generator, available: np.ndarray,
                 floor: float = 0.0) -> np.ndarray:
    """b distinct available indices drawn with probability (1-floor) w/sum(w) + floor/N_available.

    Weights that are -inf or <= 0 get only the floor share.
    """
    w = np.where(available & np.isfinite(weights) & (weights > 0), weights, 0.0)
    n_avail = int(available.sum())
    total = w.sum()
    if n_avail == 0 or b <= 0:
        return np.empty(0, dtype=np.int64)
    if total <= 0:
        p = available / n_avail
    else:
        p = (1.0 - floor) * (w / total) + (floor / n_avail) * available
    b = min(b, int(np.count_nonzero(p)))
    return rng.choice(len(p), size=b, replace=False, p=p).astype(np.int64)


def uniform_from(mask: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Up to m distinct indices drawn uniformly where mask is True."""
    if m <= 0:
        return np.empty(0, dtype=np.int64)
    candidates = np.flatnonzero(mask)
    return rng.choice(candidates, size=min(m, len(candidates)), replace=False).astype(np.int64)


class Selector:
    """Base class: subclasses set `name` and implement `scores()`; see the module docstring."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, store: PassRateStore, config: SelectConfig | None = None):
        self.store = store
        self.config = config or SelectConfig(selector=self.name or "custom")
        self.proposals = 0
        self._pending: dict[int, tuple[float, int]] = {}  # index -> (score, proposal number)
        self.stats = ObserveStats()
        self.expired = 0  # proposed tasks whose groups never came back

    # -- what subclasses provide ---------------------------------------------------------------
    def scores(self) -> np.ndarray:
        """Desirability of every task in the pool (float64, higher first; -inf = not eligible).

        Must return a new array: propose() modifies it in place (pending tasks, recorded scores).
        """
        raise NotImplementedError

    def choose(self, scores: np.ndarray, b: int, rng: np.random.Generator,
               available: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Turn scores into up to b indices; `available` is False for pending tasks, whose scores
        are already -inf. Override to assign roles (see the pairing selector)."""
        if self.config.sampling == "proportional":
            idx = proportional(scores, b, rng, available, floor=self.config.explore)
            return idx, ["sampled"] * len(idx)
        n_explore = int(rng.binomial(b, self.config.explore)) if self.config.explore > 0 else 0
        idx = top_b(scores, b - n_explore, rng)
        free = available.copy()
        free[idx] = False
        extra = uniform_from(free, n_explore, rng)
        return np.concatenate([idx, extra]), ["top"] * len(idx) + ["explore"] * len(extra)

    # -- shared machinery ------------------------------------------------------------------------
    def propose(self, batch_size: int, rng: np.random.Generator) -> Proposal:
        """The next batch of `batch_size` distinct task indices, best first."""
        n = self.store.size
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be between 1 and the pool size {n}, got {batch_size}")
        self._expire_pending()
        scores = np.asarray(self.scores(), dtype=np.float64)
        available = np.ones(n, dtype=bool)
        pending = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        available[pending] = False
        recorded = scores[pending].copy()
        scores[pending] = -np.inf
        idx, reasons = self.choose(scores, batch_size, rng, available)
        if len(idx) < batch_size:  # too few eligible tasks: any free task, then pending ones
            taken = np.zeros(n, dtype=bool)
            taken[idx] = True
            extra = uniform_from(available & ~taken, batch_size - len(idx), rng)
            taken[extra] = True
            last = uniform_from(~taken, batch_size - len(idx) - len(extra), rng)
            idx = np.concatenate([idx, extra, last]).astype(np.int64)
            reasons = list(reasons) + ["fill"] * (len(extra) + len(last))
        scores[pending] = recorded
        proposal = Proposal(self.proposals, self.name, idx, scores[idx], list(reasons))
        self.proposals += 1
        for i, s in zip(idx.tolist(), proposal.scores.tolist()):
            self._pending[i] = (s, proposal.number)
        return proposal

    def _expire_pending(self) -> None:
        oldest = self.proposals - self.config.max_pending_age
        stale = [i for i, (_, num) in self._pending.items() if num < oldest]
        for i in stale:
            del self._pending[i]
        if stale:
            # Expected after a resume (skipped batches) or at the end of training; log the first time.
            level = logging.DEBUG if self.expired else logging.WARNING
            log.log(level, "%s: %d proposed task(s) were never reported back within %d proposals; no longer pending",
                    self.name, len(stale), self.config.max_pending_age)
            self.expired += len(stale)

    def restore_pending(self, proposal: Proposal) -> None:
        """Mark a proposal made before a checkpoint, and not yet observed, as pending again (on resume)."""
        for i, score in zip(np.asarray(proposal.indices).tolist(), np.asarray(proposal.scores).tolist()):
            self._pending[int(i)] = (float(score), int(proposal.number))

    def score_for(self, index: int) -> float | None:
        """The score a pending (proposed, not yet observed) task was proposed with."""
        entry = self._pending.get(int(index))
        return entry[0] if entry else None

    @property
    def pending(self) -> list[int]:
        return sorted(self._pending)

    def release(self, indices: Sequence[int]) -> None:
        """Forget that these proposed tasks are pending: they were proposed but will not be rolled out."""
        for i in indices:
            self._pending.pop(int(i), None)

    def observe(self, groups: Sequence[RolloutGroup]) -> ObserveStats:
        """Update the store with finished groups and clear their tasks from the pending set."""
        stats = self.store.observe(groups)
        for g in groups:
            if g.task_id in self.store:
                self._pending.pop(self.store.index_of(g.task_id), None)
        self.stats += stats
        return stats

    def observe_counts(self, indices: np.ndarray, successes: np.ndarray, trials: np.ndarray, step: int) -> None:
        """Array form of `observe` (binary or summed rewards per group), used by the simulator."""
        self.store.update(indices, successes, trials, step=step)
        for i in np.asarray(indices).tolist():
            self._pending.pop(i, None)


def _as_selector_class(obj: Any, name: str) -> type[Selector]:
    if not (isinstance(obj, type) and issubclass(obj, Selector)):
        raise TypeError(f"{name} is not a Selector subclass")
    return obj


# The built-in selectors live in selectors.py, imported on first lookup (see rlvr.builtins).
SELECTORS: Registry[type[Selector]] = Registry("selector", check=_as_selector_class,
                                               dotted_hint=" (or pkg.module:Class)")


def register_selector(cls: type[Selector]) -> type[Selector]:
    """Class decorator: add a selector under `cls.name`; a second class with that name is refused."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name` class attribute to be registered")
    return SELECTORS.register(cls.name, cls)


def selector_names() -> list[str]:
    return SELECTORS.names()


def get_selector_class(name: str) -> type[Selector]:
    return SELECTORS.get(name)


def make_selector(name: str | None, store: PassRateStore, config: SelectConfig | None = None) -> Selector:
    """Build the selector `name` (default: config.selector) over `store`."""
    config = config or SelectConfig(selector=name or "insight")
    return get_selector_class(name or config.selector)(store, config)
