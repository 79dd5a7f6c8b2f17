"""Run directories: atomic outputs, no-op re-runs, and resume after SIGKILL at any moment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from rlvr.io.atomic import atomic_write_text, clean_temp_files
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Task

pytest.importorskip("reasoning_gym")


def pipeline_dict(n_big: int = 30, n_small: int = 5) -> dict:
    return {
        "seed": 3,
        "stages": [
            {"name": "big", "type": "synth.gym", "with": {"name": "leg_counting", "n": n_big}},
            {"name": "small", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": n_small}},
        ],
    }


def test_rerun_is_a_noop_and_changes_rerun_only_what_changed(tmp_path):
    p = Pipeline.from_mapping(pipeline_dict())
    first = run_pipeline(p, tmp_path)
    assert [ran for _, ran in first] == [True, True]
    before = (tmp_path / "big" / "tasks.parquet").stat().st_mtime_ns
    again = run_pipeline(p, tmp_path)
    assert [ran for _, ran in again] == [False, False]
    assert (tmp_path / "big" / "tasks.parquet").stat().st_mtime_ns == before

    changed = run_pipeline(Pipeline.from_mapping(pipeline_dict(n_small=6)), tmp_path)
    assert [ran for _, ran in changed] == [False, True]

    # A tampered output makes its stage stale again.
    (tmp_path / "big" / "tasks.parquet").write_bytes(b"garbage")
    healed = run_pipeline(Pipeline.from_mapping(pipeline_dict(n_small=6)), tmp_path)
    assert [ran for _, ran in healed] == [True, False]
    assert len(Task.read_parquet(tmp_path / "big" / "tasks.parquet")) == 30

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["stages"]["big"]["counts"] == {"tasks": 30}
    assert set(manifest["stages"]["big"]) >= {"config_fingerprint", "inputs", "outputs", "seconds", "status"}


def test_same_seed_same_bytes(tmp_path):
    run_pipeline(Pipeline.from_mapping(pipeline_dict()), tmp_path / "a")
    run_pipeline(Pipeline.from_mapping(pipeline_dict()), tmp_path / "b")
    for stage in ("big", "small"):
        assert (tmp_path / "a" / stage / "tasks.parquet").read_bytes() == (tmp_path / "b" / stage / "tasks.parquet").read_bytes()


def test_bad_pipelines_fail_with_clear_messages(tmp_path):
    with pytest.raises(ValueError, match="unknown stage type 'synth.nope'; valid:"):
        Pipeline.from_mapping({"stages": [{"type": "synth.nope"}]})
    with pytest.raises(ValueError, match="duplicate stage name"):
        Pipeline.from_mapping({"stages": [{"name": "a", "type": "synth.gym"}, {"name": "a", "type": "synth.gym"}]})
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['nn'\]"):
        run_pipeline(Pipeline.from_mapping({"stages": [{"type": "synth.gym", "with": {"nn": 3}}]}), tmp_path)
    with pytest.raises(ValueError, match="needs task inputs"):
        run_pipeline(Pipeline.from_mapping({"stages": [{"type": "select.estimate"}]}), tmp_path / "x")


def test_atomic_write_leaves_old_or_new_and_temp_files_are_cleaned(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    stray = tmp_path / ".tmp-f.txt.abc"
    stray.write_text("torn")
    assert clean_temp_files(tmp_path) == 1
    assert target.read_text() == "old" and not stray.exists()


def test_a_second_run_on_a_busy_folder_is_refused_and_leaves_the_first_runs_temp_files(tmp_path, capsys):
    from rlvr.cli import main
    from rlvr.rundir import RunDir

    spec = tmp_path / "p.yaml"
    spec.write_text(yaml.safe_dump(pipeline_dict(n_big=3, n_small=2)))
    run_dir = tmp_path / "run"
    first = RunDir(run_dir)
    with first.lock():
        in_flight = run_dir / "big" / ".tmp-tasks.parquet.123"  # the first run is writing this file
        in_flight.parent.mkdir(parents=True)
        in_flight.write_bytes(b"half written")
        assert main(["run", str(spec), "--out", str(run_dir)]) == 2
        assert "in use by another rlvr process" in capsys.readouterr().err
        assert in_flight.read_bytes() == b"half written"
        RunDir(run_dir)  # merely opening the folder (a reader, a card) deletes nothing either
        assert in_flight.exists()
    # The first run was killed before renaming its file: the next run to hold the lock removes it.
    assert main(["run", str(spec), "--out", str(run_dir)]) == 0
    assert not in_flight.exists() and not list(run_dir.rglob(".tmp-*"))


@pytest.mark.slow
def test_sigkill_at_any_moment_then_rerun_completes_with_identical_bytes(tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text(yaml.safe_dump(pipeline_dict(n_big=40000, n_small=2000)))
    reference = tmp_path / "reference"
    run_pipeline(Pipeline.load(spec), reference)

    run_dir = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rlvr", "run", str(spec), "--out", str(run_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for delay in (0.3, 1.5, 3.0, 4.5):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # Whatever exists is whole: every Parquet file present is readable.
        for f in Path(run_dir).rglob("*.parquet"):
            pq.read_table(f)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not list(Path(run_dir).rglob(".tmp-*"))
    for stage in ("big", "small"):
        assert (run_dir / stage / "tasks.parquet").read_bytes() == (reference / stage / "tasks.parquet").read_bytes()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert all(s["status"] == "done" for s in manifest["stages"].values())


def test_editing_a_benchmark_file_makes_the_curate_stage_stale(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"id": "b1", "question": "How many legs do 3 spiders and 2 ducks have?"}) + "\n")
    spec = {"stages": [
        {"name": "legs", "type": "synth.gym", "with": {"name": "leg_counting", "n": 5}},
        {"name": "curate", "type": "curate", "with": {"benchmarks": [str(bench)], "paraphrase": False}},
    ]}
    assert [ran for _, ran in run_pipeline(Pipeline.from_mapping(spec), tmp_path / "run")] == [True, True]
    assert [ran for _, ran in run_pipeline(Pipeline.from_mapping(spec), tmp_path / "run")] == [False, False]
    bench.write_text(bench.read_text() + json.dumps({"id": "b2", "question": "Count the legs of 4 cats."}) + "\n")
    assert [ran for _, ran in run_pipeline(Pipeline.from_mapping(spec), tmp_path / "run")] == [False, True]
