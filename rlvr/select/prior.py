"""An empirical-Bayes Beta prior for the pass rates of a pool, fitted from the groups seen so far.

Why. A store that starts every task at Beta(1, 1) tells every selector that an unseen task has
pass rate 1/2 and a 7/9 chance that a group of 8 is mixed. Real RLVR pools are nothing like
that: most tasks are always or never solved by the current policy (that is why TRL reports
`frac_reward_zero_std`), so the pool's pass-rate distribution is U-shaped. Under the flat prior
an unseen task looks as promising as a task just seen 4/8, and a score with an evidence term
(InSight) even prefers it, so the selector sweeps the whole pool before it revisits anything.
Fitting the prior to the pool fixes the premise rather than the score: an unseen task is then
believed to be what a random task of this pool is, and a lightly observed task is shrunk toward
the pool, not toward 1/2 (the usual empirical-Bayes treatment of many binomial rates, e.g.
Efron & Morris's baseball averages or beta-binomial hierarchical models).

What is fitted, from which groups. Beta-binomial method of moments on each task's *first*
observed group. Only first groups are used because they are the only unbiased sample of the
pool: until a task is observed it has the same belief as every other unseen task, so which
unseen task a selector picks does not depend on the task, while later visits are chosen because
of what was seen (a selector revisits tasks it believes mixed, which would bias the fit toward
1/2). A group of k rollouts with s successes estimates the pool's first two moments without
bias:

    E[s / k] = E[theta],    E[s (s - 1) / (k (k - 1))] = E[theta^2]      (k >= 2)

and the Beta with those moments has mean m1 and strength a0 + b0 = (m1 - m2) / (m2 - m1^2).
Fractional rewards count as fractional successes (s (s - 1) is then clipped at 0; the estimate of
E[theta^2] is slightly low, giving a slightly more U-shaped prior).

Drift and small samples. The policy improves, so old first groups describe an older policy: the
moments are an exponentially weighted average with the store's forgetting factor per training
step (a newer first group weighs more). They are not shrunk back toward the configured prior
when no new task is being visited: the last fit is still the best description of the pool. With
few groups the fit is noisy, so it is blended with the configured prior as `pseudo_groups`
groups' worth of evidence, and the strength is clipped to [min_strength, max_strength]: a prior
that is almost all mass at 0 and 1 (strength -> 0) would let one group fix a task's belief
forever, and a pool with no spread (m2 = m1^2) would give an infinitely strong prior.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PRIOR_MODES = ("fixed", "empirical")


@dataclass
class EmpiricalPrior:
    """Running beta-binomial moments of first-visit groups, and the Beta prior they imply.

    `base_alpha`/`base_beta` is the configured prior: the fit starts there and is blended with it
    as `pseudo_groups` groups of evidence.
    """

    base_alpha: float = 1.0
    base_beta: float = 1.0
    pseudo_groups: float = 16.0
    min_strength: float = 0.5
    max_strength: float = 100.0
    weight: float = 0.0  # forgetting-weighted number of groups behind m1, m2
    groups: int = 0  # groups ever added (not forgotten): the blend with the base prior uses this
    m1: float = 0.0  # weighted mean of s / k
    m2: float = 0.0  # weighted mean of s (s - 1) / (k (k - 1))

    def __post_init__(self) -> None:
        if not (self.base_alpha > 0 and self.base_beta > 0):
            raise ValueError("the base prior needs alpha, beta > 0")
        if self.pseudo_groups < 0:
            raise ValueError(f"prior_pseudo_groups must be >= 0, got {self.pseudo_groups}")
        if not 0 < self.min_strength <= self.max_strength:
            raise ValueError("need 0 < prior_min_strength <= prior_max_strength, got "
                             f"{self.min_strength}, {self.max_strength}")

    def decay(self, factor: float) -> None:
        """Age the moments by one forgetting factor (newer groups will weigh more)."""
        self.weight *= factor

    def add(self, successes: np.ndarray, trials: np.ndarray) -> None:
        """Fold in groups of `trials` rollouts with `successes` (groups of fewer than 2 are skipped)."""
        successes = np.asarray(successes, dtype=np.float64)
        trials = np.asarray(trials, dtype=np.float64)
        ok = trials >= 2
        if not ok.any():
            return
        s, k = successes[ok], trials[ok]
        x1 = s / k
        x2 = np.clip(s * (s - 1.0) / (k * (k - 1.0)), 0.0, x1)
        total = self.weight + len(s)
        self.m1 = (self.weight * self.m1 + float(x1.sum())) / total
        self.m2 = (self.weight * self.m2 + float(x2.sum())) / total
        self.weight = total
        self.groups += len(s)

    def fit(self) -> tuple[float, float]:
        """The Beta(a0, b0) matching the blended moments, with its strength clipped."""
        n_base = self.base_alpha + self.base_beta
        b1 = self.base_alpha / n_base
        b2 = self.base_alpha * (self.base_alpha + 1.0) / (n_base * (n_base + 1.0))
        lam = self.groups / (self.groups + self.pseudo_groups) if self.groups else 0.0
        m1 = lam * self.m1 + (1.0 - lam) * b1
        m2 = lam * self.m2 + (1.0 - lam) * b2
        m1 = min(max(m1, 1e-3), 1.0 - 1e-3)
        var = m2 - m1 * m1
        strength = (m1 - m2) / var if var > 0 else self.max_strength
        strength = min(max(strength, self.min_strength), self.max_strength)
        return m1 * strength, (1.0 - m1) * strength

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> EmpiricalPrior:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
