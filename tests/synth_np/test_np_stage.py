"""`rlvr synth np` and the `synth.np` pipeline stage: valid Parquet, equal shares, provenance,
byte-identical reruns, difficulty spreads and helpful errors."""

from __future__ import annotations

from collections import Counter

import pytest

from rlvr.cli import main
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Task
from rlvr.synth.np.stage import NPStageConfig, make_tasks, resolve_tasks
from rlvr.verify import check_gold


def test_cli_writes_every_family(tmp_path, capsys):
    out = tmp_path / "tasks.parquet"
    args = ["synth", "np", "--task", "all", "--n", "20", "--difficulty", "0.3", "--seed", "5", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "wrote 20 tasks" in printed and "np.tsp" in printed and "distinct" in printed
    tasks = Task.read_parquet(out)
    assert Counter(t.kind for t in tasks) == {name: 2 for name in resolve_tasks("all")}
    for t in tasks:
        assert t.provenance.seed == 5 and t.provenance.index in (0, 1) and t.provenance.config_fingerprint
        assert t.difficulty.nominal == 0.3 and t.fingerprint and t.meta["instance"]
    report = check_gold(tasks)
    assert report.checked == 20 and not report.failures
    first = out.read_bytes()
    assert main(args) == 0
    assert out.read_bytes() == first, "same seed must give the same bytes"


def test_cli_settings_and_list(tmp_path, capsys):
    out = tmp_path / "tsp.parquet"
    assert main(["synth", "np", "--task", "tsp", "--n", "3", "--config", "cities=[5,6]",
                 "--config", "sa_steps=50", "--out", str(out)]) == 0
    assert all(5 <= t.meta["size"]["cities"] <= 6 for t in Task.read_parquet(out))
    assert main(["synth", "np", "--list"]) == 0
    assert "np.hamiltonian_cycle" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--task", "sudoku"], "unknown NP task 'sudoku'"),
    (["--task", "all", "--config", "cities=[5,6]"], "pick a single task"),
    (["--task", "tsp", "--config", "citys=[5,6]"], "valid: cities, distances, reward, sa_steps"),
    (["--task", "tsp", "--config", "cities=[6,5]"], "swap them"),
    (["--difficulty", "1.5"], "difficulty must be in [0, 1]"),
    (["--n", "0"], "n must be at least 1"),
])
def test_cli_errors_say_what_to_change(tmp_path, capsys, args, message):
    assert main(["synth", "np", *args, "--out", str(tmp_path / "x.parquet")]) == 2
    assert message in capsys.readouterr().err


def test_difficulty_spread_and_short_names():
    config = NPStageConfig(task="knapsack, np.subset_sum", n=30, difficulty=0.2, difficulty_max=0.8, seed=1)
    tasks = make_tasks(config)
    assert Counter(t.kind for t in tasks) == {"np.knapsack": 15, "np.subset_sum": 15}
    ds = [t.difficulty.nominal for t in tasks]
    assert min(ds) >= 0.2 and max(ds) <= 0.8 and len(set(ds)) > 10
    big = [t.meta["size"]["items"] for t in tasks if t.kind == "np.knapsack" and t.difficulty.nominal > 0.7]
    small = [t.meta["size"]["items"] for t in tasks if t.kind == "np.knapsack" and t.difficulty.nominal < 0.3]
    assert big and small and min(big) > max(small) - 10


def test_pipeline_stage_runs_and_resumes(tmp_path):
    pipeline = Pipeline.from_mapping({
        "seed": 3,
        "stages": [{"name": "np", "type": "synth.np", "with": {"task": "clique,set_cover", "n": 8, "difficulty": 0.5}}],
    })
    (rec, ran), = run_pipeline(pipeline, tmp_path / "run")
    assert ran and rec.counts == {"tasks": 8, "np.max_clique": 4, "np.set_cover": 4}
    tasks = Task.read_parquet(tmp_path / "run" / rec.tasks)
    assert {t.provenance.seed for t in tasks} == {3}
    (rec2, ran2), = run_pipeline(pipeline, tmp_path / "run")
    assert not ran2 and rec2.outputs == rec.outputs


def test_same_bytes_across_processes_and_hash_seeds(tmp_path):
    import os
    import subprocess
    import sys

    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"t{hash_seed}.parquet"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "rlvr", "synth", "np", "--task", "all", "--n", "10", "--seed", "9",
                        "--difficulty", "0.5", "--out", str(out)], check=True, env=env, capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
