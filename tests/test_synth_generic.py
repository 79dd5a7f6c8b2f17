"""The generic stage and command for any registered generator."""

from __future__ import annotations

import pytest

from rlvr.cli import main
from rlvr.io.tasks import read_tasks
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Task
from rlvr.synth.generic import GeneratorStageConfig, make_tasks


def test_stage_makes_the_registered_generators_tasks(tmp_path):
    spec = {"seed": 4, "stages": [{"name": "initials", "type": "synth.generator",
                                   "with": {"generator": "toy.initial", "n": 6, "settings": {"letters": "LMN"}}}]}
    (rec, ran), = run_pipeline(Pipeline.from_mapping(spec), tmp_path)
    tasks = Task.read_parquet(tmp_path / "initials" / "tasks.parquet")
    assert ran and rec.counts == {"tasks": 6} and all(t.kind == "toy.initial" for t in tasks)
    assert {t.provenance.seed for t in tasks} == {4}
    again = make_tasks(GeneratorStageConfig("toy.initial", {"letters": "LMN"}, n=6, seed=4))
    assert [t.task_id for t in again] == [t.task_id for t in tasks]


def test_bad_settings_name_the_fix():
    with pytest.raises(KeyError, match="unknown generator 'nope'"):
        make_tasks(GeneratorStageConfig("nope"))
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['colour'\]"):
        make_tasks(GeneratorStageConfig("toy.initial", {"colour": 1}))
    with pytest.raises(ValueError, match="name a registered generator"):
        GeneratorStageConfig("")


def test_command_lists_and_writes(tmp_path, capsys):
    assert main(["synth", "generator", "--list"]) == 0
    assert "np.tsp" in capsys.readouterr().out
    out = tmp_path / "t.parquet"
    assert main(["synth", "generator", "--generator", "np.knapsack", "--config", "difficulty=0.5", "--n", "3",
                 "--out", str(out)]) == 0
    tasks = read_tasks(out)
    assert len(tasks) == 3 and all(t.difficulty.nominal == 0.5 for t in tasks)
