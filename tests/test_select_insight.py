"""The InSight identities of ALGORITHMS.md section 2, checked against direct computation.

- exact one-outcome MI (digamma form) == H(y) - integral of Beta(theta) h(theta) d theta;
- k-rollout MI (exact Beta-Binomial sum) == H(s) - integral of Beta(theta) H(Binomial(k, theta));
- expected posterior-variance reduction == Var[theta] - sum_s P(s) Var[theta | s] (exact sums)
  == mu(1-mu) k / ((n+1)(n+k));
- MI -> 1/(2n) for large evidence;
- P(a group of k is mixed) under Beta(alpha, beta) == 1 - P(s=0) - P(s=k) of the Beta-Binomial
  (exact) == Monte Carlo, and for k = 2 equals 2 E[theta(1-theta)] = 2 mu(1-mu) n/(n+1);
- the "signal" form's evidence term k/(n+k) is exactly VR / Var[theta].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from rlvr.select.insight import (
    beta_binomial_pmf,
    binary_entropy,
    evidence_share,
    insight_score,
    mutual_information,
    mutual_information_k,
    prob_mixed,
    variance_reduction,
)

BELIEFS = [(1.0, 1.0), (0.5, 0.5), (2.0, 7.0), (9.0, 3.0), (30.0, 30.0), (0.3, 4.0), (120.0, 5.0)]


def beta_var(a: float, b: float) -> float:
    n = a + b
    return a * b / (n * n * (n + 1))


@pytest.mark.parametrize("a,b", BELIEFS)
def test_one_outcome_mi_matches_numerical_integration(a, b):
    mu = a / (a + b)
    expected_h, _ = integrate.quad(lambda t: stats.beta.pdf(t, a, b) * float(binary_entropy(t)), 0, 1, limit=200)
    direct = float(binary_entropy(mu)) - expected_h
    assert float(mutual_information(a, b)) == pytest.approx(direct, rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("a,b", BELIEFS)
@pytest.mark.parametrize("k", [1, 4, 8])
def test_k_rollout_mi_matches_numerical_integration(a, b, k):
    pmf = beta_binomial_pmf(np.array(a), np.array(b), k)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pmf, stats.betabinom.pmf(np.arange(k + 1), k, a, b), rtol=1e-9)
    h_s = -sum(p * math.log(p) for p in pmf if p > 0)

    def cond_entropy(t):
        return float(stats.binom.entropy(k, t)) if 0 < t < 1 else 0.0

    expected, _ = integrate.quad(lambda t: stats.beta.pdf(t, a, b) * cond_entropy(t), 0, 1, limit=200)
    assert float(mutual_information_k(a, b, k)) == pytest.approx(h_s - expected, rel=1e-5, abs=1e-9)
    if k == 1:
        assert float(mutual_information_k(a, b, 1)) == pytest.approx(float(mutual_information(a, b)), rel=1e-9)


@pytest.mark.parametrize("a,b", BELIEFS)
@pytest.mark.parametrize("k", [1, 2, 8, 16])
def test_variance_reduction_factorises_exactly(a, b, k):
    pmf = stats.betabinom.pmf(np.arange(k + 1), k, a, b)
    expected_post = sum(p * beta_var(a + s, b + k - s) for s, p in enumerate(pmf))
    exact = beta_var(a, b) - expected_post
    n, mu = a + b, a / (a + b)
    assert exact == pytest.approx(mu * (1 - mu) * k / ((n + 1) * (n + k)), rel=1e-10)
    assert float(variance_reduction(a, b, k)) == pytest.approx(exact, rel=1e-10)
    vr = insight_score(np.array([a]), np.array([b]), k, form="variance_reduction")[0]
    assert float(vr) == pytest.approx(exact, rel=1e-10)
    assert float(evidence_share(a, b, k)) == pytest.approx(exact / beta_var(a, b), rel=1e-10)


def test_variance_reduction_by_monte_carlo():
    a, b, k = 3.0, 5.0, 8
    rng = np.random.default_rng(0)
    theta = rng.beta(a, b, 400_000)
    s = rng.binomial(k, theta)
    post_var = np.array([beta_var(a + x, b + k - x) for x in range(k + 1)])[s]
    assert beta_var(a, b) - post_var.mean() == pytest.approx(float(variance_reduction(a, b, k)), rel=0.01)


def test_mi_tends_to_one_over_two_n():
    for n in (1e3, 1e4):
        for mu in (0.2, 0.5):
            assert float(mutual_information(mu * n, (1 - mu) * n)) == pytest.approx(1 / (2 * n), rel=0.01)


def test_insight_score_leaves_inputs_alone_and_prefers_mid_rate_low_evidence():
    alpha = np.array([1.0, 5.0, 50.0, 1.0, 9.0])
    beta = np.array([1.0, 5.0, 50.0, 9.0, 1.0])
    a0, b0 = alpha.copy(), beta.copy()
    s = insight_score(alpha, beta, 8, form="variance_reduction")
    np.testing.assert_array_equal(alpha, a0)
    np.testing.assert_array_equal(beta, b0)
    assert s[0] > s[1] > s[2]  # same mean, more evidence -> lower
    assert s[1] > s[3] and s[3] == pytest.approx(s[4])  # same evidence, farther from 1/2 -> lower
    w = insight_score(alpha, beta, 8, form="weighted_mi")
    assert w[0] > w[1] > w[2] and w[1] > w[3]
    with pytest.raises(ValueError, match="unknown InSight form"):
        insight_score(alpha, beta, 8, form="thompson")


@pytest.mark.parametrize("a,b", BELIEFS)
@pytest.mark.parametrize("k", [1, 2, 8, 16])
def test_prob_mixed_is_one_minus_the_all_equal_outcomes(a, b, k):
    pmf = stats.betabinom.pmf(np.arange(k + 1), k, a, b)
    expected = 0.0 if k == 1 else 1.0 - pmf[0] - pmf[k]
    assert float(prob_mixed(np.array([a]), np.array([b]), k)[0]) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if k == 2:
        n, mu = a + b, a / (a + b)
        assert float(prob_mixed(a, b, 2)) == pytest.approx(2 * mu * (1 - mu) * n / (n + 1), rel=1e-10)


def test_prob_mixed_by_monte_carlo():
    a, b, k = 0.3, 0.45, 8
    rng = np.random.default_rng(1)
    s = rng.binomial(k, rng.beta(a, b, 400_000))
    assert np.mean((s > 0) & (s < k)) == pytest.approx(float(prob_mixed(a, b, k)), abs=0.004)


def test_signal_form_prefers_known_mixed_over_unseen_under_a_u_shaped_prior():
    # A pool prior Beta(0.3, 0.45) (most tasks always or never solved): an unseen task, one seen
    # 4/8, one seen 0/8, one seen 8/8, and one seen 4/8 many times.
    a0, b0 = 0.3, 0.45
    alpha = np.array([a0, a0 + 4, a0, a0 + 8, a0 + 40])
    beta = np.array([b0, b0 + 4, b0 + 8, b0, b0 + 40])
    s = insight_score(alpha, beta, 8, form="signal")  # rlvr's variant (insight_signal), gamma = 1/2
    assert s[1] > s[0] > max(s[2], s[3])
    assert s[1] > s[4]  # same mean, more evidence -> lower
    pure = insight_score(alpha, beta, 8, form="signal", evidence_weight=0.0)
    np.testing.assert_allclose(pure, prob_mixed(alpha, beta, 8))
    np.testing.assert_allclose(insight_score(alpha, beta, 8, form="signal", evidence_weight=1.0),
                               pure * evidence_share(alpha, beta, 8))
    # the old form ranks the unseen task first: the sweep the "signal" form avoids
    old = insight_score(alpha, beta, 8, form="variance_reduction")
    assert old[0] > old[1]
