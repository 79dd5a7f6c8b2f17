"""The built-in selectors: uniform, variance, dapo, band, insight, pairing, curriculum.

Each is a `scores()` over the whole pool read from the store's Beta beliefs (mu = posterior mean
pass rate, n = evidence); the base class turns scores into a batch (top-B or proportional, with
an exploration floor) and handles pending tasks. All read the *mean* belief, never a sampled one.

| name       | score per task                                   | source                          |
|------------|--------------------------------------------------|---------------------------------|
| uniform    | 1 for every task (ties broken at random)         | plain GRPO / TRL RepeatSampler  |
| variance   | mu (1 - mu)                                      | "largest variance" heuristics   |
| dapo       | 1 unless the task's last group was all-equal     | DAPO dynamic sampling, moved    |
|            | (then ineligible)                                | before generation               |
| band       | 1 if band_low <= mu <= band_high, else ineligible| SwS online difficulty filter    |
| insight    | mu(1-mu) k / ((n+1)(n+k))  (see insight.py)      | InSight weighted MI (2603.01907)|
| pairing    | half "hard but solvable" (lowest mu <= pair_hard_max with a success seen), half "easy but brittle" (highest mu >= pair_easy_min with a failure seen), interleaved as pairs; the rest by mu(1-mu) | Beyond Variance (2602.03452) |
| curriculum | 1 if mu <= tau(step), else ineligible; tau anneals curriculum_start -> curriculum_end | DRIVE hard-focus stage |

DAPO in verl generates first and throws away all-equal groups, paying for their rollouts; the
"dapo" selector here skips a task whose *previous* group was all-equal, so it never pays twice.
The pairing selector only chooses the pair; Beyond Variance's pair-level advantage reweighting is
the trainer's business (each proposed index carries its role, "pair+" or "pair-", in
`Proposal.reasons`).
"""

from __future__ import annotations

import numpy as np

from rlvr.select.base import Selector, proportional, register_selector, top_b, uniform_from
from rlvr.select.insight import insight_score


@register_selector
class Uniform(Selector):
    name = "uniform"
    description = "every task equally likely (the baseline)"

    def scores(self) -> np.ndarray:
        return np.zeros(self.store.size)


@register_selector
class Variance(Selector):
    name = "variance"
    description = "largest mu(1-mu): tasks solved about half the time"

    def scores(self) -> np.ndarray:
        mu = self.store.mean()
        return mu * (1.0 - mu)


@register_selector
class Dapo(Selector):
    name = "dapo"
    description = "skip tasks whose last group was all-equal (DAPO's filter, before generating)"

    def scores(self) -> np.ndarray:
        return np.where(self.store.last_mixed == 0, -np.inf, 1.0)


@register_selector
class Band(Selector):
    name = "band"
    description = "keep tasks with band_low <= mu <= band_high (SwS: 0.125..0.875)"

    def scores(self) -> np.ndarray:
        mu = self.store.mean()
        inside = (mu >= self.config.band_low) & (mu <= self.config.band_high)
        return np.where(inside, 1.0, -np.inf)


@register_selector
class InSight(Selector):
    name = "insight"
    description = "expected posterior-variance reduction mu(1-mu) k/((n+1)(n+k)) (InSight)"

    def scores(self) -> np.ndarray:
        return insight_score(self.store.alpha, self.store.beta, self.config.k, self.config.insight_form)


@register_selector
class Pairing(Selector):
    name = "pairing"
    description = "pairs of a hard-but-solvable and an easy-but-brittle task (Beyond Variance)"

    def role_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hard-but-solvable score, easy-but-brittle score, fallback score); -inf = not in role."""
        mu = self.store.mean()
        eps = 1e-9
        solvable = self.store.success_evidence() > eps
        brittle = self.store.failure_evidence() > eps
        plus = np.where(solvable & (mu <= self.config.pair_hard_max), 1.0 - mu, -np.inf)
        minus = np.where(brittle & (mu >= self.config.pair_easy_min), mu, -np.inf)
        return plus, minus, mu * (1.0 - mu)

    def scores(self) -> np.ndarray:
        plus, minus, fallback = self.role_scores()
        return np.maximum(np.maximum(plus, minus), fallback)

    def choose(self, scores, b, rng, available):
        plus, minus, fallback = self.role_scores()
        for arr in (plus, minus, fallback):
            arr[~available] = -np.inf
        n_explore = int(rng.binomial(b, self.config.explore)) if self.config.explore > 0 else 0
        n_pairs = (b - n_explore) // 2
        pick = (lambda s, m: proportional(s, m, rng, np.isfinite(s))) if self.config.sampling == "proportional" \
            else (lambda s, m: top_b(s, m, rng))
        pos = pick(plus, n_pairs)
        minus[pos] = -np.inf
        neg = pick(minus, min(n_pairs, len(pos)))  # a pair needs both halves
        pos = pos[:len(neg)]
        order = np.empty(2 * len(pos), dtype=np.int64)
        order[0::2], order[1::2] = pos, neg
        fallback[order] = -np.inf
        rest = pick(fallback, b - n_explore - len(order))
        free = available.copy()
        free[order] = False
        free[rest] = False
        extra = uniform_from(free, b - len(order) - len(rest), rng)
        # Record each task's score under the role it was chosen for.
        scores[order[0::2]] = plus[order[0::2]]
        scores[order[1::2]] = minus[order[1::2]]
        reasons = ["pair+", "pair-"] * len(pos) + ["variance"] * len(rest) + ["explore"] * len(extra)
        return np.concatenate([order, rest, extra]), reasons


@register_selector
class Curriculum(Selector):
    name = "curriculum"
    description = "hard-focus curriculum: keep tasks with mu <= tau(step), tau annealing down (DRIVE)"

    def threshold(self) -> float:
        c = self.config
        frac = min(self.store.step / c.curriculum_steps, 1.0)
        return c.curriculum_start + (c.curriculum_end - c.curriculum_start) * frac

    def scores(self) -> np.ndarray:
        return np.where(self.store.mean() <= self.threshold(), 1.0, -np.inf)
