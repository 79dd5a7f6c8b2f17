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

InSight's score (`insight_score`) is always [difficulty term] x [evidence term]; three forms:

- "weighted_mi" (the `insight` selector: the paper, as far as it can be established): a smooth
  difficulty weight on the *mean* belief times the mutual information between theta and the
  success count of the k rollouts about to be drawn, mu(1-mu) * I(s; theta).
  What is from the paper (arXiv 2603.01907, abstract and public summaries; no code was
  released): a Beta belief per item updated with each group's successes and failures; the score
  is a weighted mutual information, a product of an information term (epistemic, evidence) and
  a difficulty weight (aleatoric); the weight uses the mean belief, not a Thompson draw; the
  multi-rollout case scores the k outcomes of a group jointly. What is reconstructed: the weight
  mu(1-mu) (the summaries say only "smooth difficulty weight"; mu(1-mu) is the Bernoulli
  variance, the paper's difficulty term in the uncertainty decomposition below), the joint MI
  over the count s rather than k times the one-outcome MI, and the prior / forgetting (the
  store's settings, shared by every selector).
- "signal" (rlvr's variant, the `insight_signal` selector): the difficulty term is the *Bayesian* expected learning signal of a
  group, the probability that k rollouts are not all equal (GRPO's advantages, and so its
  gradient, are zero otherwise), under the whole belief rather than at its mean:

      P_mix = 1 - E[theta^k] - E[(1-theta)^k],
      E[theta^k] = B(alpha + k, beta) / B(alpha, beta) = prod_{j<k} (alpha + j) / (n + j)

  (`prob_mixed`; for k = 2 it is 2 E[theta(1-theta)] = 2 mu(1-mu) n/(n+1)). The evidence term is
  the share of the current uncertainty that k rollouts remove, from the factorisation above,
  raised to the power gamma = `evidence_weight`:

      score = P_mix(alpha, beta, k) * (k / (n + k)) ** gamma,   k/(n+k) = VR / Var[theta]

  gamma = 1 is the variance share itself; gamma = 1/2 (default) is the expected RMS move of the
  mean belief in units of its current standard deviation (VR = Var_s E[theta | s], the law of
  total variance); gamma = 0 drops the evidence term (pure expected signal).
- "variance_reduction" (the default before; kept for comparison): form 2 literally,
  mu(1-mu) k / ((n+1)(n+k)), the plug-in mu(1-mu) as difficulty.
- "weighted_mi": the paper's wording taken literally: mu(1-mu) * I(s; theta) for k rollouts.

Why "signal" replaced "variance_reduction" as the default. Both old forms score *information
about theta*, whose evidence term falls like 1/n^2 (or 1/n for MI) and is largest at the prior:
with the flat Beta(1, 1) prior an unseen task scored 0.067 against 0.010 for a task just seen
4/8, so InSight swept the whole pool before revisiting anything and behaved almost like uniform
in `rlvr select simulate` (0.85x uniform's rollouts to target, 45% zero-variance groups). What
training wants is learning signal; information is only a means to find it. P_mix is small both
for tasks known to be always/never solved and for an unseen task under a realistic U-shaped pool
prior (store prior="empirical"), and large for a task known to be mixed; the evidence term then
only breaks the tie in favour of tasks whose belief is least settled, which matters because a
task trained on every step changes fastest (its belief goes stale: with gamma = 0 the simulator
shows InSight hammering the same few tasks long after they were memorised). gamma = 1/2 was the
measured choice (rlvr select simulate, default world and --difficulty-sd 2 / --n-train 10000;
README's select section has the table); gamma = 1 and the MI-shaped evidence term ln(1 + k/n)/2
explored more and needed more rollouts, gamma = 0 was sensitive to the store's forgetting.

Cost: "signal" is about 6k + 6 vectorised passes over the pool (k = 8: ~20 ms at 10^6 tasks, linear in k);
"weighted_mi" needs k + 1 log-gamma evaluations per task and is only practical for small pools.
"""

from __future__ import annotations

import numpy as np

INSIGHT_FORMS = ("signal", "variance_reduction", "weighted_mi")


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


def prob_mixed(alpha: np.ndarray, beta: np.ndarray, k: int) -> np.ndarray:
    """P(a group of k rollouts is not all equal) = 1 - E[theta^k] - E[(1-theta)^k], theta ~ Beta.

    Exact for integer k: E[theta^k] = prod_{j<k} (alpha + j) / (n + j). In-place products over
    the pool, no special functions (this runs at every proposal).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    n = alpha + beta
    up, down, den = np.ones_like(n), np.ones_like(n), np.ones_like(n)
    tmp = np.empty_like(n)
    for j in range(int(k)):
        up *= np.add(alpha, j, out=tmp)
        down *= np.add(beta, j, out=tmp)
        den *= np.add(n, j, out=tmp)
    up += down
    up /= den
    np.subtract(1.0, up, out=up)
    return np.maximum(up, 0.0, out=up)  # rounding can leave -1e-17 where the belief is certain


def evidence_share(alpha: np.ndarray, beta: np.ndarray, k: int | float) -> np.ndarray:
    """k / (n + k): the share of Var[theta] that k rollouts are expected to remove."""
    n = np.add(alpha, beta, dtype=np.float64)
    if n.ndim == 0:
        return k / (n + k)
    n += k
    return np.divide(k, n, out=n)


def insight_score(alpha: np.ndarray, beta: np.ndarray, k: int, form: str = "weighted_mi",
                  evidence_weight: float = 0.5) -> np.ndarray:
    """InSight's acquisition score per task (see the module docstring for the three forms).

    `evidence_weight` (gamma) is used by form "signal" only.
    """
    if form == "signal":
        score = prob_mixed(alpha, beta, k)
        if evidence_weight:
            share = evidence_share(alpha, beta, k)
            if evidence_weight == 0.5:
                np.sqrt(share, out=share)
            else:
                np.power(share, evidence_weight, out=share)
            score *= share
        return score
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
