"""The information quantities behind the InSight selector, for Beta beliefs over a pass rate.

theta ~ Beta(alpha, beta) is the belief about a task's pass rate; mu = alpha / n, n = alpha + beta.
Two ways to say "how much would k more rollouts of this task teach us about theta":

1. Mutual information of one outcome y ~ Bernoulli(theta) with theta, in nats (exact):

       I(y; theta) = h(mu) + mu [psi(alpha+1) - psi(n+1)] + (1-mu) [psi(beta+1) - psi(n+1)]

   with h the binary entropy and psi the digamma function: H(y) = h(mu), and
   E[theta ln theta] = mu [psi(alpha+1) - psi(n+1)] gives E[H(y | theta)]. For large n it tends to
   1/(2n): almost pure evidence, which is why InSight multiplies in a difficulty weight.
   `mutual_information_k` is the same quantity for the count s of k rollouts (s is
   Beta-Binomial), summed exactly over s = 0..k.

2. Expected reduction of the posterior variance after k rollouts (law of total variance with a
   Beta-Binomial count s), which factorises exactly:

       Var[theta] - E_s Var[theta | s] = mu (1 - mu) * k / ((n + 1)(n + k))
                                        = [difficulty mu(1-mu)] x [evidence k / ((n+1)(n+k))]

InSight's score (`insight_score`) is form 2 by default: the difficulty term favours tasks the
policy solves about half the time, the evidence term favours tasks we know little about, and both
use the mean belief (no Thompson draw), so the score is stable from step to step. Form
"weighted_mi" is the paper's wording taken literally: mu(1-mu) * I(s; theta) for k rollouts.
tests/test_select_insight.py checks both identities against direct computation.

Behaviour to expect: the evidence term of form 1 falls like 1/n^2, so under top-B selection
InSight keeps returning to the least-observed tasks (including ones it has seen all-0 or all-1,
once forgetting has thinned their evidence) and samples a task at a rate that grows only like
sqrt(mu(1-mu)); form 2's information falls like 1/n, giving a rate closer to mu(1-mu). Both
explore far more than the variance selector, which is what they are for; `rlvr select simulate`
measures what that exploration costs or gains on a simulated learner.
"""

from __future__ import annotations

import numpy as np

INSIGHT_FORMS = ("variance_reduction", "weighted_mi")


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """h(p) in nats, with h(0) = h(1) = 0."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log(p) + (1.0 - p) * np.log1p(-p))
    return np.where((p <= 0.0) | (p >= 1.0), 0.0, h)


def mutual_information(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """I(y; theta) in nats for one Bernoulli outcome, theta ~ Beta(alpha, beta) (exact)."""
    from scipy.special import digamma

    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    n = alpha + beta
    mu = alpha / n
    psi_n1 = digamma(n + 1.0)
    return binary_entropy(mu) + mu * (digamma(alpha + 1.0) - psi_n1) + (1.0 - mu) * (digamma(beta + 1.0) - psi_n1)


def beta_binomial_pmf(alpha: np.ndarray, beta: np.ndarray, k: int) -> np.ndarray:
    """P(s) for s = 0..k rollouts solved, theta ~ Beta(alpha, beta); shape (k+1, *alpha.shape)."""
    from scipy.special import betaln, gammaln

    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    s = np.arange(k + 1, dtype=np.float64).reshape((-1,) + (1,) * alpha.ndim)
    log_choose = gammaln(k + 1.0) - gammaln(s + 1.0) - gammaln(k - s + 1.0)
    return np.exp(log_choose + betaln(alpha + s, beta + k - s) - betaln(alpha, beta))


def mutual_information_k(alpha: np.ndarray, beta: np.ndarray, k: int) -> np.ndarray:
    """I(s; theta) in nats for the success count s of k rollouts (exact sum over s = 0..k).

    I = H(s) - E_theta H(s | theta), and for the Binomial likelihood
    E_theta[H(s | theta)] = -sum_s P(s) [ln C(k,s) + s E(ln theta | s) + (k-s) E(ln(1-theta) | s)]
    with theta | s ~ Beta(alpha + s, beta + k - s).
    """
    from scipy.special import digamma, gammaln

    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    pmf = beta_binomial_pmf(alpha, beta, k)
    s = np.arange(k + 1, dtype=np.float64).reshape((-1,) + (1,) * alpha.ndim)
    log_choose = gammaln(k + 1.0) - gammaln(s + 1.0) - gammaln(k - s + 1.0)
    psi_nk = digamma(alpha + beta + k)
    e_log_lik = log_choose + s * (digamma(alpha + s) - psi_nk) + (k - s) * (digamma(beta + k - s) - psi_nk)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_s = -np.sum(np.where(pmf > 0, pmf * np.log(pmf), 0.0), axis=0)
    return h_s + np.sum(pmf * e_log_lik, axis=0)


def variance_reduction(alpha: np.ndarray, beta: np.ndarray, k: int | float) -> np.ndarray:
    """Expected posterior-variance reduction from k rollouts: mu(1-mu) k / ((n+1)(n+k))."""
    alpha = np.asarray(alpha, dtype=np.float64)
    n = alpha + np.asarray(beta, dtype=np.float64)
    mu = alpha / n
    return mu * (1.0 - mu) * (k / ((n + 1.0) * (n + k)))


def insight_score(alpha: np.ndarray, beta: np.ndarray, k: int, form: str = "variance_reduction") -> np.ndarray:
    """InSight's acquisition score per task (see the module docstring for both forms)."""
    if form == "variance_reduction":
        # Written with in-place operations: this runs over the whole pool at every proposal.
        n = alpha + beta
        score = alpha / n  # mu
        score *= beta / n  # mu (1 - mu), with 1 - mu = beta / n exactly
        n1 = n + 1.0
        n += k
        n *= n1
        score *= k
        score /= n
        return score
    if form == "weighted_mi":
        mu = alpha / (alpha + beta)
        return mu * (1.0 - mu) * mutual_information_k(alpha, beta, k)
    raise ValueError(f"unknown InSight form {form!r}; valid: {', '.join(INSIGHT_FORMS)}")
