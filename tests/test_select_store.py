"""PassRateStore: Beta updates (fractional, errors excluded), forgetting, offline init, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr.records import Difficulty, Message, Provenance, RolloutGroup, Task, VerifierSpec
from rlvr.select.store import PassRateStore


def group(task_id: str, rewards: list[float], step: int = 0, statuses: list[str] | None = None) -> RolloutGroup:
    k = len(rewards)
    return RolloutGroup(step=step, task_id=task_id, k=k, rewards=rewards, statuses=statuses or ["ok"] * k,
                        completion_lengths=[3] * k)


def make_task(i: int, pass_rate: float | None = None, evidence: int = 0) -> Task:
    return Task(kind="test.store", prompt=[Message("user", f"question {i}")], answer=i,
                verifier=VerifierSpec("exact"), provenance=Provenance("test"),
                difficulty=Difficulty(pass_rate=pass_rate, evidence=evidence))


def test_groups_update_beta_counts_fractionally_and_skip_errors():
    store = PassRateStore(["a", "b", "c"])
    stats = store.observe([
        group("a", [1, 0, 1, 1]),
        group("b", [0.25, 0.25, 1.0, 0.0], statuses=["ok", "ok", "ok", "wrong"]),
        group("c", [0.0, 1.0, 0.0], statuses=["wrong", "ok", "error"]),
        group("zzz", [1.0]),
    ])
    np.testing.assert_allclose(store.alpha, [1 + 3, 1 + 1.5, 1 + 1])
    np.testing.assert_allclose(store.beta, [1 + 1, 1 + 2.5, 1 + 1])
    assert (stats.groups, stats.rollouts, stats.excluded, stats.unknown, stats.mixed) == (4, 10, 1, 1, 3)
    assert store.n_rollouts.tolist() == [4, 4, 2]
    assert store.last_mixed.tolist() == [1, 1, 1]
    store.observe([group("a", [1, 1, 1, 1], step=1)])
    assert store.last_mixed[0] == 0 and store.last_mean[0] == 1.0 and store.last_step[0] == 1
    assert store.n_groups.tolist() == [2, 1, 1]


def test_repeated_indices_in_one_update_accumulate():
    store = PassRateStore(["a", "b"])
    store.update(np.array([0, 0, 1]), np.array([2.0, 3.0, 0.0]), np.array([4.0, 4.0, 4.0]))
    assert store.alpha.tolist() == [6.0, 1.0] and store.beta.tolist() == [4.0, 5.0]
    with pytest.raises(ValueError, match="successes must lie"):
        store.update(np.array([0]), np.array([5.0]), np.array([4.0]))


def test_forgetting_decays_evidence_toward_prior_and_keeps_the_excess_ratio():
    store = PassRateStore(["a", "b"], prior_alpha=2.0, prior_beta=1.0, forgetting=0.9)
    store.update(np.array([0]), np.array([6.0]), np.array([8.0]), step=0)
    excess = (store.alpha - 2.0, store.beta - 1.0)
    store.advance(3)
    np.testing.assert_allclose(store.alpha - 2.0, excess[0] * 0.9 ** 3)
    np.testing.assert_allclose(store.beta - 1.0, excess[1] * 0.9 ** 3)
    assert store.alpha[1] == 2.0 and store.beta[1] == 1.0  # an unseen task stays at the prior
    store.advance(2)  # the clock never runs backwards
    assert store.step == 3
    store.advance(10_000)
    np.testing.assert_allclose([store.alpha[0], store.beta[0]], [2.0, 1.0], atol=1e-12)


def test_observe_applies_forgetting_between_steps_in_order():
    store = PassRateStore(["a"], forgetting=0.5)
    store.observe([group("a", [1, 1], step=2), group("a", [0, 0], step=1)])
    # step 1 first: beta += 2 -> (1, 3); then one step of forgetting: (1, 2); then alpha += 2 -> (3, 2)
    np.testing.assert_allclose([store.alpha[0], store.beta[0]], [3.0, 2.0])


def test_offline_estimates_seed_the_belief():
    tasks = [make_task(0, 0.75, 8), make_task(1), make_task(2, 0.0, 4)]
    store = PassRateStore.from_tasks(tasks, offline_weight=0.5)
    np.testing.assert_allclose(store.alpha, [1 + 3.0, 1.0, 1.0])
    np.testing.assert_allclose(store.beta, [1 + 1.0, 1.0, 1 + 2.0])
    assert store.n_groups.tolist() == [0, 0, 0]
    updated = store.to_tasks(tasks)
    assert updated[0].difficulty.pass_rate == pytest.approx(4 / 6) and updated[0].difficulty.evidence == 4
    with pytest.raises(ValueError, match="offline_weight"):
        PassRateStore.from_tasks(tasks, offline_weight=-1)


def test_save_load_round_trip_is_exact_and_byte_stable(tmp_path):
    store = PassRateStore([f"t{i}" for i in range(50)], prior_alpha=0.5, prior_beta=2.0, forgetting=0.97)
    rng = np.random.default_rng(0)
    for step in range(5):
        idx = rng.choice(50, 10, replace=False)
        store.update(idx, rng.integers(0, 9, 10).astype(float), np.full(10, 8.0), step=step)
    a = store.save(tmp_path / "a.parquet")
    b = store.save(tmp_path / "b.parquet")
    assert a.read_bytes() == b.read_bytes()
    back = PassRateStore.load(a)
    for name in ("alpha", "beta", "n_groups", "n_rollouts", "last_step", "last_mixed"):
        np.testing.assert_array_equal(getattr(back, name), getattr(store, name))
    np.testing.assert_array_equal(np.isnan(back.last_mean), np.isnan(store.last_mean))
    assert (back.step, back.forgetting, back.prior_alpha, back.prior_beta) == (4, 0.97, 0.5, 2.0)
    assert back.task_ids == store.task_ids


def test_load_realigns_to_a_new_pool(tmp_path):
    store = PassRateStore(["a", "b", "c"])
    store.observe([group("a", [1, 1]), group("c", [0, 0])])
    path = store.save(tmp_path / "s.parquet")
    back = PassRateStore.load(path, task_ids=["c", "new", "a"])
    assert back.alpha.tolist() == [1.0, 1.0, 3.0] and back.beta.tolist() == [3.0, 1.0, 1.0]
    assert back.n_groups.tolist() == [1, 0, 1] and back.last_mixed.tolist() == [0, -1, 0]


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        PassRateStore(["a", "a"])
    with pytest.raises(ValueError, match="prior"):
        PassRateStore(["a"], prior_alpha=0)
    with pytest.raises(ValueError, match="forgetting"):
        PassRateStore(["a"], forgetting=1.5)
    with pytest.raises(KeyError, match="not in this PassRateStore"):
        PassRateStore(["a"]).index_of("b")
    with pytest.raises(FileNotFoundError):
        PassRateStore.load(tmp_path / "missing.parquet")
    Task.write_parquet(tmp_path / "tasks.parquet", [make_task(0)])
    with pytest.raises(ValueError, match="not a pass-rate store"):
        PassRateStore.load(tmp_path / "tasks.parquet")


def test_empirical_prior_recovers_the_pool_distribution_from_first_groups():
    rng = np.random.default_rng(0)
    n, k = 4000, 8
    store = PassRateStore([f"t{i}" for i in range(n)], prior="empirical")
    theta = rng.beta(0.4, 0.6, n)  # a U-shaped pool: most tasks near 0 or 1
    for step, idx in enumerate(np.array_split(rng.permutation(n), 8)):
        store.update(idx, rng.binomial(k, theta[idx]).astype(float), np.full(len(idx), float(k)), step=step)
    a0, b0 = store.prior_alpha, store.prior_beta
    assert a0 / (a0 + b0) == pytest.approx(0.4, abs=0.02)
    assert a0 + b0 == pytest.approx(1.0, rel=0.15)  # blended with Beta(1, 1) as 16 of 4016 groups
    # each task's own evidence is its counts over the prior in force, whatever the prior became
    seen = store.n_groups > 0
    np.testing.assert_allclose((store.alpha - a0 + store.beta - b0)[seen], k)


def test_empirical_prior_uses_first_groups_only_and_shifts_unseen_tasks():
    store = PassRateStore(["a", "b", "c", "d"], prior="empirical", prior_pseudo_groups=0.0, prior_min_strength=0.1)
    store.update(np.array([0, 1]), np.array([0.0, 8.0]), np.array([8.0, 8.0]), step=0)
    fitted = (store.prior_alpha, store.prior_beta)
    assert fitted[0] == pytest.approx(fitted[1]) and sum(fitted) == pytest.approx(0.1)  # all-0/all-1: clipped
    assert (store.alpha[2], store.beta[2]) == pytest.approx(fitted)  # unseen tasks moved with the prior
    store.update(np.array([0, 0]), np.array([4.0, 4.0]), np.array([8.0, 8.0]), step=1)  # revisits: no refit
    assert (store.prior_alpha, store.prior_beta) == pytest.approx(fitted)
    with pytest.raises(ValueError, match="prior must be one of"):
        PassRateStore(["a"], prior="flat")


def test_fixed_prior_stays_put():
    store = PassRateStore(["a", "b"], prior_alpha=2.0, prior_beta=3.0)
    store.update(np.array([0]), np.array([0.0]), np.array([8.0]))
    assert (store.prior_alpha, store.prior_beta, store.alpha[1], store.beta[1]) == (2.0, 3.0, 2.0, 3.0)


def test_visit_forgetting_discounts_older_evidence_when_a_task_is_observed_again():
    store = PassRateStore(["a", "b"], visit_forgetting=0.5)
    store.update(np.array([0, 1]), np.array([8.0, 2.0]), np.array([8.0, 4.0]), step=0)
    store.update(np.array([0]), np.array([0.0]), np.array([8.0]), step=1)
    # a: (1 + 8, 1) -> halve the excess -> (5, 1) -> + (0, 8); b untouched by a's visit
    np.testing.assert_allclose([store.alpha[0], store.beta[0]], [5.0, 9.0])
    np.testing.assert_allclose([store.alpha[1], store.beta[1]], [3.0, 3.0])


def test_empirical_store_round_trips_and_new_tasks_start_at_the_fitted_prior(tmp_path):
    rng = np.random.default_rng(3)
    store = PassRateStore([f"t{i}" for i in range(40)], prior="empirical", forgetting=0.9, visit_forgetting=0.5)
    for step in range(4):
        idx = rng.choice(40, 10, replace=False)
        store.update(idx, rng.choice([0.0, 8.0, 3.0], 10), np.full(10, 8.0), step=step)
    path = store.save(tmp_path / "s.parquet")
    back = PassRateStore.load(path)
    np.testing.assert_array_equal(back.alpha, store.alpha)
    assert (back.prior, back.prior_alpha, back.prior_beta, back.visit_forgetting) == \
        (store.prior, store.prior_alpha, store.prior_beta, 0.5)
    assert back.empirical == store.empirical
    grown = PassRateStore.load(path, task_ids=["t0", "fresh"])
    assert (grown.alpha[1], grown.beta[1]) == (store.prior_alpha, store.prior_beta)
    assert grown.alpha[0] == store.alpha[0]
    # the next update refits from the same running moments as the original store would
    unseen = np.flatnonzero(store.n_groups == 0)[:1]
    for s in (store, back):
        s.update(unseen, np.array([5.0]), np.array([8.0]), step=5)
    assert (back.prior_alpha, back.prior_beta) == pytest.approx((store.prior_alpha, store.prior_beta))
