"""`rlvr synth fim` and the `synth.fim` pipeline stage, on the built-in corpus (no shared data)."""

from __future__ import annotations

import json

import pytest

from rlvr.cli import main
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Task
from rlvr.synth.fim.config import FimConfig, FimStageConfig

pytestmark = pytest.mark.slow  # embeds spans of the built-in corpus


def test_cli_writes_tasks_and_counts(tmp_path, capsys):
    out = tmp_path / "fim.parquet"
    rc = main(["synth", "fim", "--corpus", "builtin:pydocs", "--n", "3", "--options", "4", "--mode", "embedded",
               "--seed", "7", "--out", str(out)])
    assert rc == 0
    tasks = Task.read_parquet(out)
    assert len(tasks) == 3 and all(t.kind == "mcqa.fim" for t in tasks)
    counts = json.loads((tmp_path / "fim.counts.json").read_text())
    assert counts["tasks"] == 3 and counts["passages_visited"] >= 3
    printed = capsys.readouterr().out
    assert "passages_visited" in printed and "yielded a task" in printed and "wrote 3 tasks" in printed


def test_cli_help_and_bad_settings(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "fim", "--help"])
    text = capsys.readouterr().out
    for flag in ("--corpus", "--n", "--options", "--mode", "--backend", "--seed", "--out", "--filter-k"):
        assert flag in text
    assert main(["synth", "fim", "--options", "1", "--out", "x.parquet"]) == 2
    assert "options must be between 2 and 20" in capsys.readouterr().err


def test_pipeline_stage_runs_and_resumes(tmp_path):
    pipeline = Pipeline.from_mapping({"seed": 7, "stages": [
        {"name": "fim", "type": "synth.fim", "with": {"corpus": ["builtin:pydocs"], "n": 2}}]})
    first = run_pipeline(pipeline, tmp_path / "run")
    (rec, ran), = first
    assert ran and rec.counts["tasks"] == 2 and rec.counts["passages_kept"] > 0
    assert len(Task.read_parquet(tmp_path / "run" / rec.tasks)) == 2
    (rec2, ran2), = run_pipeline(pipeline, tmp_path / "run")
    assert not ran2 and rec2.outputs == rec.outputs


def test_stage_config_splits_into_generator_config():
    stage = FimStageConfig(n=5, options=9, filter_k=4)
    assert stage.generator_config() == FimConfig(options=9)
    for bad in FimStageConfig.BAD_EXAMPLES:
        with pytest.raises(ValueError):
            FimStageConfig(**bad)
