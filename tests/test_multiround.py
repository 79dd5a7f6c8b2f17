"""Multi-round `rlvr run`: train, synthesise from the ledger (AZR, SvS, SwS), curate, train again.

The policy is the tiny random model of rlvr.train.tiny (seconds per step) on toy.first_char tasks,
which it solves sometimes, so the ledger has under-performing tasks for SvS and failing ones for
SwS. The synthesis model is an OpenAI-compatible stub server (rlvr.models.backends.OpenAIBackend
talks to it over HTTP) that writes valid proposals: AZR programs, SvS variants, SwS concepts and
questions, and solves them at controlled rates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from stubserver import ChatStub, serving

from rlvr.cli import main as rlvr_main
from rlvr.pipeline import STAGES, Pipeline, StageType, run_pipeline
from rlvr.records import Decision, RolloutGroup, Task
from rlvr.rundir import StageResult
from rlvr.synth.toy import FirstCharConfig, first_char_tasks
from rlvr.train.tiny import make_tiny_model

# ----------------------------------------------------------------------------- a toy task stage


def toy_stage(config, inputs, out_dir):
    """Sixteen toy.first_char tasks: few enough that each is rolled out several times."""
    tasks = first_char_tasks(16, seed=config.seed, config=FirstCharConfig(2, 14))
    path = Task.write_parquet(out_dir / "tasks.parquet", tasks)
    return StageResult(files={"tasks": path}, counts={"tasks": len(tasks)}, tasks=path)


@dataclass
class ToyConfig:
    seed: int = 0


TOY = StageType(ToyConfig, toy_stage, consumes_tasks=False)


@pytest.fixture(autouse=True)
def _toy_stage_type():
    STAGES.register("test.toy", TOY)
    yield
    STAGES.unregister("test.toy")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


# ----------------------------------------------------------------------------- the stub model


class StubModel(ChatStub):
    """Answers by what the prompt asks for. `answers` maps a ledger completion to its task's reference
    (the stub cheats: SvS shows it only the solution, and it cannot infer a toy task's answer set)."""

    answers: dict[str, str] = {}
    calls: list[str] = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.body()
        prompt = body["messages"][-1]["content"]
        seed, n = int(body["seed"]), int(body.get("n", 1))
        self.send_choices([self.reply(prompt, seed, i) for i in range(n)])

    def reply(self, prompt: str, seed: int, i: int) -> str:
        a, b = 2 + seed % 7, 3 + (seed // 7) % 11
        if prompt.startswith("## Task: write a new Python function"):
            type(self).calls.append("azr")
            return f"```python\ndef f(x):\n    return x * {a} + {b} + {seed % 1000}\n```\n```input\n{i + 1}\n```"
        if "### Response" in prompt:  # SvS synthesis: the solution only
            type(self).calls.append("svs")
            solution = prompt.split("### Response\n", 1)[1].strip()
            answer = type(self).answers.get(solution, "?")
            return f"```text\nVariant {seed}-{i}: pick {a} then {b}, and reply with [[{answer}]].\n```"
        if "foundational concepts" in prompt:
            type(self).calls.append("sws.concepts")
            names = ["letters", "digits", "ordering", "first position", "sets", "choice"]
            return json.dumps([names[(seed + j) % 6] for j in range(3)])
        if prompt.startswith("You are writing a new problem"):
            type(self).calls.append("sws.generate")
            return f"Plan: count.\n```text\nA shelf holds {a} rows of {b} jars and {seed % 97} loose jars. " \
                   f"How many jars are there?\n```"
        found = re.search(r"\[\[(.*?)\]\]", prompt)
        if found:  # solving an SvS variant: right half of the time
            return f"<answer>{found.group(1) if i % 2 == 0 else 'nope'}</answer>"
        jars = re.search(r"holds (\d+) rows of (\d+) jars and (\d+) loose", prompt)
        if jars:  # voting and solving an SwS question: right half of the time
            total = int(jars.group(1)) * int(jars.group(2)) + int(jars.group(3))
            return f"<answer>{total if i % 2 == 0 else total + 1}</answer>"
        return "```output\n0\n```"  # an AZR solve attempt


@pytest.fixture
def stub_url():
    StubModel.answers, StubModel.calls = {}, []
    with serving(StubModel) as url:
        yield url + "/v1"


def learn_answers(run_dir: Path, round_: int) -> None:
    """Let the stub know each ledger completion's reference answer (see StubModel)."""
    folder = run_dir / f"round-{round_}" / "train"
    tasks = {t.task_id: t for t in Task.read_parquet(folder / "tasks.parquet")}
    for g in RolloutGroup.read_parquet(folder / "rollouts.parquet"):
        for text in g.meta.get("completions", []):
            if g.task_id in tasks:
                StubModel.answers[text.strip()] = str(tasks[g.task_id].answer)


# ----------------------------------------------------------------------------- the pipeline

TRAIN = {"model": "${policy}", "steps": 6, "prompts_per_step": 4, "num_generations": 4, "max_completion_length": 4,
         "learning_rate": 1e-3, "probe_fraction": 0.0, "save_every": 3, "influence": False, "report": False,
         "selector": "uniform", "save_completions": 64}


def pipeline(model_dir: Path, stub: str, count: int = 2) -> dict:
    backend = f"openai:stub@{stub}"
    return {"seed": 0, "stages": [{"name": "toy", "type": "test.toy"}], "rounds": {
        "count": count, "policy": str(model_dir), "stages": [
            {"name": "train", "type": "train", "inputs": ["toy", "previous:curate"], "with": TRAIN},
            {"name": "svs", "type": "synth.svs", "inputs": ["train"], "with": {
                "backend": backend, "kinds": ["toy.*", "svs.*", "sws.*", "azr.*"], "n_variants": 2, "k": 4,
                "max_solutions": 1}},
            {"name": "sws", "type": "synth.sws", "inputs": ["train"], "with": {
                "backend": backend, "rule": "failing", "budget": 3, "set_size": 2, "answer_samples": 4,
                "min_agreement": 2, "k": 4, "max_weak": 3}},
            {"name": "azr", "type": "synth.azr", "with": {
                "backend": backend, "kinds": ["deduction"], "n": 2, "n_samples": 2, "timeout_s": 3,
                "buffer": "${run}/azr_buffer.jsonl"}},
            {"name": "curate", "type": "curate", "inputs": ["svs", "sws", "azr"]},
        ]}}


def test_round_stages_resolve_inputs_and_placeholders():
    p = Pipeline.from_mapping(pipeline(Path("/m"), "http://x/v1"))
    assert [s.name for s in p.stages] == ["toy"] and p.rounds.count == 2 and p.rounds.policy == "/m"
    with pytest.raises(ValueError, match=r"inputs \['nope'\] do not name an earlier stage"):
        Pipeline.from_mapping({"rounds": {"stages": [{"type": "curate", "inputs": ["nope"]}]}})
    with pytest.raises(ValueError, match="also top-level stages"):
        Pipeline.from_mapping({"stages": [{"name": "a", "type": "synth.gym"}],
                               "rounds": {"stages": [{"name": "a", "type": "synth.gym"}]}})
    with pytest.raises(ValueError, match="count must be a whole number"):
        Pipeline.from_mapping({"rounds": {"count": 0, "stages": [{"type": "synth.gym"}]}})
    with pytest.raises(ValueError, match="unknown key"):
        Pipeline.from_mapping({"rounds": {"repeat": 2, "stages": [{"type": "synth.gym"}]}})


def test_unknown_placeholder_is_an_error(tmp_path):
    p = Pipeline.from_mapping({"rounds": {"stages": [{"type": "synth.gym", "with": {"name": "${policcy}"}}]}})
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \['policcy'\]"):
        run_pipeline(p, tmp_path)


@pytest.mark.slow
def test_two_rounds_train_on_what_round_one_made(tmp_path, stub_url):
    model_dir = tmp_path / "tiny"
    make_tiny_model(model_dir)
    spec = pipeline(model_dir, stub_url)
    run_dir = tmp_path / "run"
    p = Pipeline.from_mapping(spec)

    # Round 1 up to its train stage, so the stub can learn the ledger's answers (see StubModel).
    # previous:curate means nothing in round 1, so this train stage is the same stage as the full one's.
    first_train = {**spec["rounds"]["stages"][0], "inputs": ["toy"]}
    one = Pipeline.from_mapping({**spec, "rounds": {**spec["rounds"], "count": 1, "stages": [first_train]}})
    run_pipeline(one, run_dir)
    learn_answers(run_dir, 1)
    results = run_pipeline(p, run_dir)
    names = [rec.name for rec, _ in results]
    assert names == ["toy"] + [f"round-{r}/{s}" for r in (1, 2) for s in ("train", "svs", "sws", "azr", "curate")]
    recs = {rec.name: rec for rec, _ in results}
    assert [ran for _, ran in results][:2] == [False, False]  # toy and round-1 train were done already

    # every synthesis stage made tasks in round 1, and curate kept some of each
    for stage in ("svs", "sws", "azr"):
        assert recs[f"round-1/{stage}"].counts["tasks"] > 0, recs[f"round-1/{stage}"].counts
    for stage in ("svs", "sws"):
        c = recs[f"round-1/{stage}"].counts
        assert c["generated"] == c["kept"] + sum(c["dropped"].values())
        decisions = Decision.read_parquet(run_dir / f"round-1/{stage}/decisions.parquet")
        assert len(decisions) == c["generated"] and all(d.reason for d in decisions)
    curated = Task.read_parquet(run_dir / "round-1/curate/tasks.parquet")
    assert {"svs.variant", "sws.synth", "azr.deduction"} <= {t.kind for t in curated}
    c = recs["round-1/curate"].counts
    assert c["in"] == c["kept"] + sum(c["dropped"].values()) + c["quarantined"]

    # round 2 trains from round 1's checkpoint, on the toy tasks plus round 1's curated tasks
    r1_ckpt = run_dir / "round-1" / "train" / "checkpoints" / "checkpoint-6"
    assert recs["round-2/train"].config["model"] == str(r1_ckpt.resolve())
    assert recs["round-2/svs"].config["backend"] == f"openai:stub@{stub_url}"
    assert recs["round-2/azr"].config["buffer"] == str((run_dir / "azr_buffer.jsonl").resolve())
    trained = {t.task_id for t in Task.read_parquet(run_dir / "round-2/train/tasks.parquet")}
    assert {t.task_id for t in curated} <= trained
    ledger = RolloutGroup.read_parquet(run_dir / "round-2/train/rollouts.parquet")
    new_kinds = {g.meta["kind"] for g in ledger if g.phase == "train"} - {"toy.first_char"}
    assert new_kinds, "round 2 rolled out none of round 1's new tasks"
    assert len(ledger) == 6 * 4

    # the manifest records every round stage in order; a re-run does nothing
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest["stages"]) == names
    again = run_pipeline(p, run_dir)
    assert not any(ran for _, ran in again)
    # one more round resumes: only round 3 runs
    three = run_pipeline(Pipeline.from_mapping(pipeline(model_dir, stub_url, count=3)), run_dir)
    assert [rec.name for rec, ran in three if ran] == [f"round-3/{s}" for s in ("train", "svs", "sws", "azr",
                                                                               "curate")]


@pytest.mark.slow
def test_cli_runs_svs_and_sws_on_a_trained_run(tmp_path, stub_url, capsys):
    model_dir = tmp_path / "tiny"
    make_tiny_model(model_dir)
    run_dir = tmp_path / "run"
    tasks = Task.write_parquet(tmp_path / "toy.parquet", first_char_tasks(16, seed=0, config=FirstCharConfig(2, 14)))
    train = ["train", "--tasks", str(tasks), "--out", str(run_dir), "--model", str(model_dir)]
    for key, value in TRAIN.items():
        if key != "model":
            train += [f"--{key.replace('_', '-')}"] if value is True else \
                [f"--no-{key.replace('_', '-')}"] if value is False else [f"--{key.replace('_', '-')}", str(value)]
    assert rlvr_main(train) == 0
    StubModel.answers.clear()
    folder = run_dir / "train"
    tasks_by_id = {t.task_id: t for t in Task.read_parquet(folder / "tasks.parquet")}
    for g in RolloutGroup.read_parquet(folder / "rollouts.parquet"):
        for text in g.meta.get("completions", []):
            StubModel.answers[text.strip()] = str(tasks_by_id[g.task_id].answer)
    backend = f"openai:stub@{stub_url}"
    assert rlvr_main(["synth", "svs", "--run", str(run_dir), "--backend", backend, "--kinds", "toy.*",
                      "--n-variants", "2", "--k", "4"]) == 0
    out = capsys.readouterr().out
    assert "rlvr synth svs: done" in out and (run_dir / "svs" / "tasks.parquet").exists()
    assert rlvr_main(["synth", "sws", "--run", str(run_dir), "--backend", backend, "--rule", "failing",
                      "--budget", "2", "--answer-samples", "4", "--min-agreement", "2", "--k", "4"]) == 0
    assert "rlvr synth sws: done" in capsys.readouterr().out
    assert rlvr_main(["synth", "sws", "--run", str(run_dir), "--backend", backend, "--rule", "failing",
                      "--budget", "2", "--answer-samples", "4", "--min-agreement", "2", "--k", "4"]) == 0
    assert "already done" in capsys.readouterr().out
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["train", "svs", "sws"]
    assert rlvr_main(["synth", "svs", "--run", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_example_pipeline_parses():
    example = Path(__file__).resolve().parents[1] / "examples" / "selfplay_rounds.yaml"
    p = Pipeline.from_mapping(yaml.safe_load(example.read_text()), source=str(example))
    assert p.rounds is not None and p.rounds.count >= 2
    assert {s.type for s in p.rounds.stages} >= {"train", "synth.svs", "synth.sws", "synth.azr", "curate"}
    # every stage's settings, placeholders filled in, make a valid config
    from dataclasses import replace

    from rlvr.pipeline import _LoopState, _substitute, build_config, get_stage_type

    state = _LoopState("smollm2-135m-instruct", "/runs/x", round=1)
    for spec in p.stages + p.rounds.stages:
        config = build_config(replace(spec, settings=_substitute(spec.settings, state, spec.name)),
                              get_stage_type(spec.type), p.seed, spec.name)
        assert "${" not in json.dumps(vars(config), default=str)
