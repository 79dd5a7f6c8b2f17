"""The world suite: each learning rule teaches what it says, worlds differ, the default is chosen by worst case."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr.cli import main
from rlvr.select.simulate import Learner, SimConfig, World
from rlvr.select.worlds import (
    WORLDS,
    choose_default,
    format_worlds,
    parse_worlds,
    run_worlds,
    world_config,
    worst_case,
)

SMALL = dict(n_train=300, n_heldout=100, max_steps=60, batch=16, seeds=2, target=0.45)


def learner(**kw) -> Learner:
    config = SimConfig(**{**SMALL, **kw})
    return Learner(World.sample(config, np.random.default_rng(0)), config, np.random.default_rng(1))


def test_advantage_rule_weighs_groups_by_advantage_mass_and_all_equal_still_zero():
    lr = learner(learning_rule="advantage", noise=0.0)
    strength = lr.strength(np.arange(5), np.array([0, 2, 4, 6, 8]))
    np.testing.assert_allclose(strength, 4 * np.array([0, 0.25 * 0.75, 0.25, 0.75 * 0.25, 0]))
    mixed = learner(noise=0.0).strength(np.arange(5), np.array([0, 2, 4, 6, 8]))
    assert strength[1] < mixed[1]  # 4a(1-a) < 2 sqrt(a(1-a)) away from a = 1/2


def test_expected_rule_teaches_from_all_equal_groups():
    lr = learner(learning_rule="expected", noise=0.0, policy_forgetting=0.0)
    idx = np.arange(8)
    p = lr.pass_rates(idx)
    np.testing.assert_allclose(lr.strength(idx, np.zeros(8, dtype=int)), 4 * p * (1 - p))
    lr.train(idx, np.zeros(8, dtype=int))  # every group failed, yet the policy moves
    assert lr.theta.any()


def test_worlds_override_what_they_say():
    base = SimConfig(**SMALL)
    for name, (_, overrides) in WORLDS.items():
        cfg = world_config(base, name)
        for key, value in overrides.items():
            assert getattr(cfg, key) == value, (name, key)
    assert len({tuple(sorted(o.items())) for _, o in WORLDS.values()}) == len(WORLDS)
    rules = {world_config(base, w).learning_rule for w in WORLDS}
    sds = {world_config(base, w).difficulty_sd for w in WORLDS}
    assert {"mixed", "advantage"} <= rules and {2.0, 3.5} <= sds
    assert any(world_config(base, w).reward_noise > 0 for w in WORLDS)
    assert any(world_config(base, w).item_lr > base.item_lr for w in WORLDS)


def test_parse_worlds():
    assert parse_worlds("all") == list(WORLDS) == parse_worlds(None)
    assert parse_worlds("mixed,noisy") == ["mixed", "noisy"]
    with pytest.raises(ValueError, match="unknown world"):
        parse_worlds("mixed,moon")


def test_worst_case_and_default_choice_follow_the_rows():
    rows = [
        {"world": "a", "selector": "uniform", "ratio_vs_uniform": 1.0},
        {"world": "a", "selector": "x", "ratio_vs_uniform": 0.5},
        {"world": "a", "selector": "y", "ratio_vs_uniform": 0.7},
        {"world": "b", "selector": "uniform", "ratio_vs_uniform": 1.0},
        {"world": "b", "selector": "x", "ratio_vs_uniform": 0.95},  # x wins a, but is worst in b
        {"world": "b", "selector": "y", "ratio_vs_uniform": 0.75},
    ]
    summary = {o["selector"]: o for o in worst_case(rows)}
    assert summary["x"]["worst_ratio"] == 0.95 and summary["x"]["worst_world"] == "b"
    assert summary["x"]["worlds_won"] == 1 and summary["y"]["worlds_won"] == 1
    assert choose_default(rows) == "y"


def test_suite_runs_every_selector_in_every_world_and_ratios_are_relative_to_uniform():
    config = SimConfig(**{**SMALL, "selectors": ["uniform", "variance", "insight"]})
    rows = run_worlds(config, ["mixed", "advantage"])
    assert {(r["world"], r["selector"]) for r in rows} == {
        (w, s) for w in ("mixed", "advantage") for s in ("uniform", "variance", "insight")}
    for r in rows:
        if r["selector"] == "uniform":
            assert r["ratio_vs_uniform"] == pytest.approx(1.0)
        assert r["ratio_vs_uniform"] > 0
    assert "smallest worst case" in format_worlds(rows)


def test_cli_worlds(tmp_path, capsys):
    out = tmp_path / "w"
    assert main(["select", "simulate", "--worlds", "mixed,noisy", "--out", str(out), "--selectors", "uniform",
                 "variance", "--n-train", "200", "--n-heldout", "50", "--max-steps", "30", "--batch", "8",
                 "--seeds", "1", "--target", "0.42"]) == 0
    text = capsys.readouterr().out
    assert "mixed" in text and "noisy" in text and "worst" in text
    assert (out / "worlds.csv").read_text().count("\n") == 1 + 2 * 2
    assert (out / "worst_case.csv").exists()
