"""benchmarks/value_ablation.py's paired leave-one-source-out runs, on the tiny random model.

The README's remove-mode figures rest on two claims checked here: replaying a finished run's
schedule reproduces it bit for bit, and the run without a source follows the same schedule with
exactly that source's slots given to other tasks of the pool."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "value_ablation.py"


@pytest.fixture
def bench():
    """A fresh copy of the benchmark module set to the tiny model (its settings are module globals)."""
    spec = importlib.util.spec_from_file_location("value_ablation", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.MODEL[0] = "tiny"
    module.INFLUENCE.update(layers=1, probe_every=1, probe_k=2)
    yield module
    from rlvr.select.base import SELECTORS

    SELECTORS.unregister(module.REPLAY)  # registered by the first replayed run: not a selector of rlvr's


def test_without_replaces_exactly_the_sources_slots(bench):
    schedule = [["a", "b", "c", "d"], ["e", "a", "f", "g"], ["h", "i", "j", "k"]]
    rest = ["b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
    for seed in range(20):
        out, fillers = bench.without(schedule, {"a"}, rest, np.random.default_rng(seed))
        assert fillers == [out[0][0], out[1][1]]  # the tasks that took a's two slots, in order
        assert out[2] == schedule[2]  # untouched steps replay as they were
        for before, after in zip(schedule, out):
            assert len(set(after)) == len(after)  # a step's tasks stay distinct
            assert "a" not in after and set(after) <= set(rest)
            assert [x for x, y in zip(before, after) if x == y] == [x for x in before if x != "a"]


def test_replayed_schedule_is_bit_identical_and_removal_follows_it(bench, tmp_path):
    from rlvr.train.planted import planted_tasks

    tasks, probe = planted_tasks(n_per_source=4, n_probe=4, seed=0)
    full_rates, values = bench.one_run(tasks, probe, tmp_path / "full", 3, 0, 4)
    assert values, "the full run reports source values"
    again, recomputed = bench.one_run(tasks, probe, tmp_path / "full", 3, 0, 4)  # finished: read back, not retrained
    np.testing.assert_array_equal(again, full_rates)
    assert (tmp_path / "full" / bench.RATES_FILE).exists()
    assert {k: v.influence for k, v in recomputed.items()} == pytest.approx({k: v.influence for k, v in values.items()})
    schedule = bench.schedule_of(tmp_path / "full")
    assert len(schedule) == 3 and all(len(step) == 4 for step in schedule)

    rates, _ = bench.one_run(tasks, probe, tmp_path / "replay", 3, 0, 4, schedule=schedule, influence=False)
    np.testing.assert_array_equal(rates, full_rates)
    assert bench.weight_drift(bench.finished_checkpoint(tmp_path / "full", 0),
                              bench.finished_checkpoint(tmp_path / "replay", 0)) == 0.0

    gone = {t.task_id for t in tasks if t.meta["source"] == "helpful"}
    rest = [t for t in tasks if t.meta["source"] != "helpful"]
    replayed, _ = bench.without(schedule, gone, list(dict.fromkeys(t.task_id for t in rest)),
                                np.random.default_rng(1))
    bench.one_run(rest, probe, tmp_path / "without", 3, 0, 4, schedule=replayed, influence=False)
    assert bench.schedule_of(tmp_path / "without") == replayed


def test_the_draws_prediction_charges_each_slot_to_the_source_that_took_it(bench):
    from types import SimpleNamespace as V

    values = {"helpful": V(influence=0.2, n_groups=4), "poisoned": V(influence=-0.3, n_groups=6),
              "impossible": V(influence=0.0, n_groups=5), "mastered": V(influence=-0.01, n_groups=5)}
    source_of = {"h1": "helpful", "h2": "helpful", "p1": "poisoned", "i1": "impossible"}
    # mastered's slots went to two helpful groups (+0.05 each), one poisoned (-0.05), one impossible (0)
    assert bench.for_the_draw("mastered", ["h1", "h2", "p1", "i1"], source_of, values) == pytest.approx(-0.06)
    assert bench.for_the_draw("unknown", ["h1"], source_of, values) is None
