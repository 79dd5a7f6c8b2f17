"""The learner simulator: its model keeps its stated assumptions, runs are reproducible, outputs and CLI."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr.cli import main
from rlvr.select.simreport import format_table, target_checks, write_outputs
from rlvr.select.simulate import Learner, SimConfig, World, simulate, simulate_run, summarize

SMALL = dict(n_train=300, n_heldout=100, max_steps=80, batch=16, seeds=2, target=0.45)


@pytest.mark.parametrize("bad", SimConfig.BAD_EXAMPLES)
def test_config_rejects_bad_settings(bad):
    with pytest.raises(ValueError):
        SimConfig(**bad)


def learner(**kw) -> Learner:
    config = SimConfig(**{**SMALL, **kw})
    world = World.sample(config, np.random.default_rng(0))
    return Learner(world, config, np.random.default_rng(1))


def test_all_equal_groups_teach_nothing_and_mixed_groups_do():
    lr = learner(noise=0.0, policy_forgetting=0.0)
    idx = np.arange(8)
    before = lr.heldout_pass_rate()
    lr.train(idx, np.array([0, 8, 0, 8, 0, 8, 0, 8]))
    assert lr.heldout_pass_rate() == before and not lr.theta.any() and not lr.memo.any()
    lr.train(idx, np.full(8, 4))
    assert lr.heldout_pass_rate() > before
    assert lr.memo[:8] == pytest.approx(0.1 * 1.0)  # item_lr * 2 sqrt(1/4)


def test_luck_only_tasks_teach_nothing_without_noise():
    lr = learner(noise=0.0, noisy_share=1.0)
    assert np.all((lr.world.luck >= 0.25) & (lr.world.luck <= 0.75))
    np.testing.assert_allclose(lr.pass_rates(np.arange(5)), lr.world.luck[:5])
    lr.train(np.arange(8), np.full(8, 4))
    assert not lr.theta.any()


def test_repeat_decay_shrinks_transfer_and_forgetting_fades_skills():
    plain, decayed = learner(noise=0.0), learner(noise=0.0, repeat_decay=1.0)
    for lr in (plain, decayed):
        for _ in range(5):
            lr.train(np.arange(4), np.full(4, 4))
    assert decayed.theta.sum() < plain.theta.sum()
    fading = learner(noise=0.0, policy_forgetting=0.1)
    fading.train(np.arange(4), np.full(4, 4))
    gained = fading.theta.copy()
    fading.train(np.arange(4), np.zeros(4, dtype=int))
    np.testing.assert_allclose(fading.theta, 0.9 * gained)


def test_rollouts_follow_the_pass_rates():
    lr = learner(k=8)
    idx = np.arange(lr.world.n_train)
    p = lr.pass_rates(idx)
    s = np.stack([lr.rollout(idx) for _ in range(40)])
    np.testing.assert_allclose(s.mean(), 8 * p.mean(), rtol=0.02)
    expected_zero_var = np.mean(p ** 8 + (1 - p) ** 8)
    assert np.mean((s == 0) | (s == 8)) == pytest.approx(expected_zero_var, abs=0.02)


def test_runs_are_reproducible_and_face_the_same_world():
    config = SimConfig(**SMALL)
    a, b = simulate_run(config, "insight", 1), simulate_run(config, "insight", 1)
    np.testing.assert_array_equal(a.heldout, b.heldout)
    u = simulate_run(config, "uniform", 1)
    assert u.heldout[0] == a.heldout[0]  # same tasks, same starting policy
    assert simulate_run(config, "insight", 0).heldout[0] != a.heldout[0]


def test_selection_uses_the_feedback():
    # Wide difficulty spread: uniform wastes most groups; a selector that reads the store must not.
    config = SimConfig(**{**SMALL, "difficulty_sd": 5.0, "max_steps": 120, "selectors": ["uniform", "variance"]})
    rows = {r["selector"]: r for r in summarize(simulate(config), config)}
    assert rows["variance"]["zero_variance_frac_mean"] < rows["uniform"]["zero_variance_frac_mean"] - 0.1
    assert rows["variance"]["final_heldout_mean"] > rows["uniform"]["final_heldout_mean"]


def test_outputs_are_complete_and_byte_stable(tmp_path):
    config = SimConfig(**{**SMALL, "selectors": ["uniform", "variance", "insight", "band"]})
    results = simulate(config)
    summary = summarize(results, config)
    assert [r["selector"] for r in summary] == config.selectors
    assert summary[0]["ratio_vs_uniform"] == pytest.approx(1.0) or np.isnan(summary[0]["ratio_vs_uniform"])
    first = write_outputs(tmp_path / "a", results, summary, config)
    second = write_outputs(tmp_path / "b", results, summary, config)
    assert {p.name for p in first} == {"summary.csv", "per_seed.csv", "curves.csv", "config.json", "heldout.png",
                                       "zero_variance.png", "rollouts_to_target.png"}
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes(), p.name
    header = (tmp_path / "a" / "summary.csv").read_text().splitlines()[0].split(",")
    assert {"rollouts_to_target_mean", "rollouts_to_target_sd", "zero_variance_frac_mean",
            "final_heldout_mean"} <= set(header)
    names = [name for name, _, _ in target_checks(summary)]
    assert names[0].startswith("insight rollouts <=") and any("band zero-variance" in n for n in names)
    assert "insight" in format_table(summary)


def test_cli_simulate_and_list(tmp_path, capsys):
    assert main(["select", "list"]) == 0
    assert "insight" in capsys.readouterr().out
    out = tmp_path / "sim"
    args = ["select", "simulate", "--out", str(out), "--seeds", "2", "--n-train", "300", "--n-heldout", "100",
            "--max-steps", "60", "--batch", "16", "--selectors", "uniform", "insight", "variance"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "x uniform" in printed and "insight rollouts <= variance" in printed
    assert (out / "summary.csv").exists() and (out / "heldout.png").stat().st_size > 1000
    assert main(["select", "simulate", "--out", str(out), "--selectors", "nope"]) == 2
