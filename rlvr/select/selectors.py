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
| band       | n if band_low <= mu <= band_high, else inelig.   | SwS online difficulty filter    |
|            | (band_order: evidence n, uniform 1, or P(in band))|                                 |
| insight    | mu(1-mu) I(s; theta), s = successes of k rollouts | InSight weighted MI (2603.01907)|
|            | (insight.py, form weighted_mi; insight_form)     | reconstructed from the paper    |
| insight_signal | P(group of k mixed) (k/(n+k))^gamma          | rlvr's variant of InSight       |
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
    """SwS's online difficulty filter: only tasks whose pass rate lies in [band_low, band_high].

    Which of the kept tasks go first is `band_order`:
    - "uniform": any of them (the filter alone, as SwS applies it to accuracies it measured);
    - "evidence" (default): the most-evidenced first. A task whose mean sits in the band only
      because the prior puts it there (never rolled out) is less surely in the band than one seen
      mixed last step; ranking by n = alpha + beta prefers the confirmed ones, and per-step and
      per-visit forgetting keep the ranking rotating. The exploration floor still reaches the rest;
    - "probability": the posterior probability that the pass rate lies in the band,
      I_hi(alpha, beta) - I_lo(alpha, beta) (regularised incomplete beta): the exact Bayesian
      version, about 0.4 s per 10^6 tasks, so for pools up to ~10^5.
    In `rlvr select simulate` (5 seeds, default world) the three orders need 0.65x, 0.58x and
    0.58x uniform's rollouts, with 0.280, 0.217 and 0.202 zero-variance groups.
    """

    name = "band"
    description = "keep tasks with band_low <= mu <= band_high (SwS: 0.125..0.875), most-evidenced first"

    def scores(self) -> np.ndarray:
        c = self.config
        if c.band_order == "probability":
            from scipy.special import betainc

            a, b = self.store.alpha, self.store.beta
            return betainc(a, b, c.band_high) - betainc(a, b, c.band_low)
        mu = self.store.mean()
        inside = (mu >= c.band_low) & (mu <= c.band_high)
        return np.where(inside, self.store.evidence() if c.band_order == "evidence" else 1.0, -np.inf)


@register_selector
class InSight(Selector):
    """InSight as the paper describes it (insight.py says which parts are reconstructed).

    `insight_form` swaps the score for one of the other forms, for comparison.
    """

    name = "insight"
    description = "mu(1-mu) x I(k rollouts; theta): weighted mutual information (InSight, as in the paper)"

    def scores(self) -> np.ndarray:
        return insight_score(self.store.alpha, self.store.beta, self.config.k, self.config.insight_form,
                             self.config.insight_evidence_weight)


@register_selector
class InSightSignal(Selector):
    """rlvr's variant of InSight: expected learning signal x evidence share (insight.py, "signal")."""

    name = "insight_signal"
    description = "P(k rollouts mixed) x (k/(n+k))^gamma: expected GRPO signal x evidence share (rlvr's InSight)"

    def scores(self) -> np.ndarray:
        return insight_score(self.store.alpha, self.store.beta, self.config.k, "signal",
                             self.config.insight_evidence_weight)


@register_selector
class Pairing(Selector):
    name = "pairing"
    description = "pairs of a hard-but-solvable and an easy-but-brittle task (Beyond Variance)"
    _roles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def roles(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mu, indices of hard-but-solvable tasks, indices of easy-but-brittle tasks).

        Solvable = some success evidence (alpha above the prior), brittle = some failure evidence.
        """
        mu = self.store.mean()
        eps = 1e-9
        plus = np.flatnonzero((mu <= self.config.pair_hard_max) & (self.store.alpha > self.store.prior_alpha + eps))
        minus = np.flatnonzero((mu >= self.config.pair_easy_min) & (self.store.beta > self.store.prior_beta + eps))
        return mu, plus, minus

    def scores(self) -> np.ndarray:
        # The fallback score, mu(1-mu), for slots no pair fills; the roles are kept for choose(),
        # which runs right after within the same propose() call.
        self._roles = self.roles()
        mu = self._roles[0]
        return mu * (1.0 - mu)

    def choose(self, scores, b, rng, available):
        mu, plus, minus = self._roles if self._roles is not None else self.roles()
        self._roles = None
        plus, minus = plus[available[plus]], minus[available[minus]]
        if self.config.sampling == "proportional":
            def pick(s, m):
                return proportional(s, m, rng, np.ones(len(s), dtype=bool))
        else:
            def pick(s, m):
                return top_b(s, m, rng)
        n_explore = int(rng.binomial(b, self.config.explore)) if self.config.explore > 0 else 0
        n_pairs = (b - n_explore) // 2
        pos = plus[pick(1.0 - mu[plus], n_pairs)]  # the hardest tasks ever solved
        minus = minus[~np.isin(minus, pos)]
        neg = minus[pick(mu[minus], min(n_pairs, len(pos)))]  # the easiest tasks ever failed
        pos = pos[:len(neg)]  # a pair needs both halves
        order = np.empty(2 * len(pos), dtype=np.int64)
        order[0::2], order[1::2] = pos, neg
        saved = scores[order].copy()
        scores[order] = -np.inf
        rest = pick(scores, b - n_explore - len(order))
        free = available.copy()
        free[order] = False
        free[rest] = False
        extra = uniform_from(free, b - len(order) - len(rest), rng)
        # Record each paired task's score under its role: 1 - mu for "pair+", mu for "pair-".
        scores[order] = saved
        scores[pos] = 1.0 - mu[pos]
        scores[neg] = mu[neg]
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
