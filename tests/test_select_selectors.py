"""Selectors: registry, config validation, sampling rules, each selector's semantics, pending tasks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from rlvr.records import RolloutGroup
from rlvr.select.base import (
    Proposal,
    SelectConfig,
    Selector,
    make_selector,
    proportional,
    register_selector,
    selector_names,
    top_b,
)
from rlvr.select.store import PassRateStore

BUILTINS = ["band", "curriculum", "dapo", "insight", "insight_signal", "pairing", "uniform", "variance"]


def store_with(successes: list[float], trials: list[float], **kw) -> PassRateStore:
    store = PassRateStore([f"t{i}" for i in range(len(successes))], **kw)
    seen = np.array(trials) > 0
    store.update(np.flatnonzero(seen), np.array(successes)[seen], np.array(trials)[seen])
    return store


def selector(name: str, store: PassRateStore, **kw) -> Selector:
    kw.setdefault("explore", 0.0)
    return make_selector(name, store, SelectConfig(selector=name, **kw))


def test_registry_lists_refuses_duplicates_and_loads_dotted_paths():
    assert selector_names() == BUILTINS
    with pytest.raises(KeyError, match="registered: band, curriculum"):
        make_selector("nope", PassRateStore(["a"]))

    class Again(Selector):
        name = "variance"

    with pytest.raises(ValueError, match="already registered"):
        register_selector(Again)
    sel = make_selector("rlvr.select.selectors:Variance", PassRateStore(["a"]))
    assert sel.name == "variance"
    with pytest.raises(TypeError, match="not a Selector"):
        make_selector("rlvr.select.store:PassRateStore", PassRateStore(["a"]))


@pytest.mark.parametrize("bad", SelectConfig.BAD_EXAMPLES)
def test_config_rejects_bad_settings(bad):
    with pytest.raises(ValueError):
        SelectConfig(**bad)


def test_top_b_breaks_ties_uniformly_and_deterministically():
    scores = np.array([0.0] * 10 + [5.0])
    counts = Counter()
    rng = np.random.default_rng(1)
    for _ in range(3000):
        idx = top_b(scores, 3, rng)
        assert idx[0] == 10 and len(set(idx.tolist())) == 3
        counts.update(idx[1:].tolist())
    freq = np.array([counts[i] for i in range(10)]) / 3000
    np.testing.assert_allclose(freq, 0.2, atol=0.04)
    a = top_b(scores, 4, np.random.default_rng(7))
    b = top_b(scores, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert top_b(np.array([1.0, -np.inf, 2.0]), 3, rng).tolist() == [2, 0]


def test_proportional_follows_weights_and_the_floor_reaches_everything():
    w = np.array([4.0, 2.0, 1.0, 1.0, -np.inf, 0.0])
    avail = np.ones(6, dtype=bool)
    rng = np.random.default_rng(0)
    counts = Counter(proportional(w, 1, rng, avail).item() for _ in range(8000))
    assert counts[4] == counts[5] == 0
    assert counts[0] / 8000 == pytest.approx(0.5, abs=0.03) and counts[1] / 8000 == pytest.approx(0.25, abs=0.03)
    floored = Counter(proportional(w, 1, rng, avail, floor=0.3).item() for _ in range(8000))
    assert floored[4] / 8000 == pytest.approx(0.05, abs=0.015) and floored[5] > 0
    avail[0] = False
    assert 0 not in {proportional(w, 2, rng, avail, floor=0.3).tolist()[0] for _ in range(200)}


def test_uniform_is_unbiased():
    sel = selector("uniform", PassRateStore([f"t{i}" for i in range(20)]), max_pending_age=1)
    rng = np.random.default_rng(3)
    counts = Counter()
    for _ in range(1000):
        counts.update(sel.propose(5, rng).indices.tolist())
    assert min(counts.values()) > 180 and max(counts.values()) < 320


def test_variance_dapo_band_and_insight_pick_what_they_promise():
    # tasks: 0 all-solved, 1 never solved, 2 half (8 rollouts), 3 half (80 rollouts), 4 unseen, 5 7/8
    store = store_with([8, 0, 4, 40, 0, 7], [8, 8, 8, 80, 0, 8])
    rng = np.random.default_rng(0)
    assert set(selector("variance", store).propose(3, rng).indices.tolist()) == {2, 3, 4}
    assert set(selector("dapo", store).propose(4, rng).indices.tolist()) == {2, 3, 4, 5}
    assert set(selector("band", store).propose(4, rng).indices.tolist()) == {2, 3, 4, 5}
    insight = selector("insight", store).propose(6, rng).indices.tolist()
    assert insight[:2] == [4, 2]  # unseen first, then the mid task with little evidence
    assert insight.index(2) < insight.index(3) and insight.index(5) < insight.index(0)
    band = selector("band", store, band_low=0.3, band_high=0.7).scores()
    assert np.isfinite(band).tolist() == [False, False, True, True, True, False]


def test_band_orders_rank_the_kept_tasks():
    # 0 all-solved, 1 never solved, 2 half (8 rollouts), 3 half (80 rollouts), 4 unseen, 5 6/8
    store = store_with([8, 0, 4, 40, 0, 6], [8, 8, 8, 80, 0, 8])
    rng = np.random.default_rng(0)
    # evidence: in the band, most-evidenced first: 3 (80 rollouts), then 2 and 5 (8), the unseen 4 last
    ev = selector("band", store, explore=0.0).propose(4, rng).indices.tolist()
    assert ev[0] == 3 and set(ev[1:3]) == {2, 5} and ev[3] == 4
    # uniform: the plain filter, every kept task equally likely to come first
    firsts = {int(selector("band", store, band_order="uniform", explore=0.0).propose(1, np.random.default_rng(s))
                  .indices[0]) for s in range(40)}
    assert firsts == {2, 3, 4, 5}
    # probability: P(lo <= p <= hi) under each Beta belief, checked by Monte Carlo
    prob = selector("band", store, band_order="probability").scores()
    draws = np.random.default_rng(1).beta(store.alpha[:, None], store.beta[:, None], (6, 200_000))
    mc = ((draws >= 0.125) & (draws <= 0.875)).mean(axis=1)
    assert np.allclose(prob, mc, atol=0.005)
    assert prob.argmax() == 3 and prob[4] < prob[2]


def test_pairing_pairs_hard_but_solvable_with_easy_but_brittle():
    # 0: 1/16 (hard, solvable)  1: 0/16 (hard, never solved)  2: 15/16 (easy, brittle)
    # 3: 16/16 (never failed)   4: 2/16 (hard, solvable)       5: 8/16   6: 14/16
    store = store_with([1, 0, 15, 16, 2, 8, 14], [16] * 7)
    proposal = selector("pairing", store).propose(4, np.random.default_rng(0))
    assert proposal.reasons == ["pair+", "pair-", "pair+", "pair-"]
    assert proposal.indices.tolist() == [0, 2, 4, 6]
    assert proposal.scores[0] == pytest.approx(1 - store.mean()[0])
    assert proposal.scores[1] == pytest.approx(store.mean()[2])
    # more slots than pairs: the rest by variance, never the unsolvable/unfailed ones first
    p = selector("pairing", store, max_pending_age=1).propose(5, np.random.default_rng(0))
    assert p.reasons[-1] == "variance" and p.indices[-1] == 5


def test_curriculum_threshold_anneals_and_drops_solved_tasks():
    store = store_with([0, 4, 6, 8], [8, 8, 8, 8])
    sel = selector("curriculum", store, curriculum_start=0.6, curriculum_end=0.2, curriculum_steps=100)
    assert sel.threshold() == pytest.approx(0.6)
    assert np.isfinite(sel.scores()).tolist() == [True, True, False, False]
    store.advance(50)
    assert sel.threshold() == pytest.approx(0.4)
    assert np.isfinite(sel.scores()).tolist() == [True, False, False, False]
    store.advance(1000)
    assert sel.threshold() == pytest.approx(0.2)


def test_exploration_floor_reaches_ineligible_tasks():
    store = store_with([8] * 10 + [4] * 10, [8] * 20)  # tasks 0..9 always solved: dapo-ineligible
    sel = selector("dapo", store, explore=0.2, max_pending_age=1)
    rng = np.random.default_rng(0)
    reasons = Counter()
    picked_ineligible = set()
    for _ in range(300):
        p = sel.propose(5, rng)
        reasons.update(p.reasons)
        picked_ineligible |= {i for i, r in zip(p.indices.tolist(), p.reasons) if i < 10}
        assert all(r == "explore" for i, r in zip(p.indices.tolist(), p.reasons) if i < 10)
    assert picked_ineligible == set(range(10))
    assert reasons["explore"] / 1500 == pytest.approx(0.2, abs=0.03)  # each slot explores with probability 0.2


def test_pending_tasks_are_not_proposed_again_until_observed_or_expired():
    store = PassRateStore([f"t{i}" for i in range(6)])
    sel = selector("variance", store, max_pending_age=2)
    rng = np.random.default_rng(0)
    first = sel.propose(3, rng)
    second = sel.propose(3, rng)  # the read-ahead proposal: first's rewards are not in yet
    assert not set(first.indices.tolist()) & set(second.indices.tolist())
    assert sel.pending == sorted(first.indices.tolist() + second.indices.tolist())
    assert sel.score_for(int(first.indices[0])) == pytest.approx(0.25)
    third = sel.propose(3, rng)  # pool exhausted: pending tasks fill, flagged as such
    assert third.reasons == ["fill"] * 3
    groups = [RolloutGroup(step=0, task_id=f"t{i}", k=2, rewards=[1, 0], statuses=["ok"] * 2,
                           completion_lengths=[1, 1]) for i in first.indices.tolist()]
    sel.observe(groups)
    assert not set(first.indices.tolist()) & set(sel.pending)
    for _ in range(3):
        sel.propose(1, rng)
    assert len(sel.pending) <= 3  # older proposals expired


def test_proposals_are_deterministic_for_a_seed_and_record_scores():
    def run(seed: int) -> list[Proposal]:
        store = PassRateStore([f"t{i}" for i in range(40)], forgetting=0.95)
        sel = selector("insight", store, explore=0.1)
        rng = np.random.default_rng(seed)
        truth = np.linspace(0, 1, 40)
        out = []
        for step in range(10):
            p = sel.propose(6, rng)
            out.append(p)
            s = rng.binomial(8, truth[p.indices])
            sel.observe_counts(p.indices, s.astype(float), np.full(6, 8.0), step=step)
        return out

    a, b, c = run(0), run(0), run(1)
    assert all(np.array_equal(x.indices, y.indices) for x, y in zip(a, b))
    assert any(not np.array_equal(x.indices, y.indices) for x, y in zip(a, c))
    assert all(len(set(p.indices.tolist())) == 6 and len(p.scores) == 6 for p in a)


def test_batch_size_must_fit_the_pool():
    sel = selector("uniform", PassRateStore(["a", "b"]))
    with pytest.raises(ValueError, match="pool size 2"):
        sel.propose(3, np.random.default_rng(0))
