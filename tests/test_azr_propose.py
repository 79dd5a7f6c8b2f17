"""Absolute Zero self-play: a proposer round with a stub backend, the stage, the CLI, the pipeline,
and one slow round with the bundled model."""

from __future__ import annotations

import pytest

from rlvr.cli import main as rlvr_main
from rlvr.models.backends import Completion
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Decision, Task
from rlvr.synth.azr.buffer import IDENTITY_PROGRAM, ProgramBuffer, identity_entry
from rlvr.synth.azr.propose import (
    ProposeConfig,
    induction_proposal_prompt,
    learnability,
    parse_induction_proposal,
    propose_round,
    proposer_reward,
)
from rlvr.synth.azr.stage import AZRStageConfig, run

HALF = "def f(x):\n    # half of the solver samples get this right\n    return x * 2"
ALWAYS = "def f(x):\n    # every solver sample gets this right\n    return x + 1"
NEVER = "def f(x):\n    # no solver sample gets this right\n    return [x] * 3"
WRONG_PROGRAM = "def f(a):\n    return 0"
GOLD = {"half": ("42", "21"), "every": ("22", "21"), "no solver": ("[21, 21, 21]", "21")}


def triple(code: str, args: str) -> str:
    return f"Plan: something tricky.\n```python\n{code}\n```\n```input\n{args}\n```"


PROPOSALS = {
    "deduction": [
        triple(HALF, "21"),
        triple(ALWAYS, "21"),
        triple("import random\ndef f(x):\n    return random.random()", "1"),
        "```python\ndef f(x):\n    return x\n```\n(forgot the input)",
        triple("def f(x):\n    return list({str(i) for i in range(x)})", "12"),
    ],
    "abduction": [
        triple(NEVER, "21"),
        triple("def f(x):\n    return 1 // x", "0"),
        triple("def f(x):\n    return g(x)\ndef g(y):\n    return y", "1"),
    ],
    "induction": [
        "".join(f"```input\n{i}\n```\n" for i in range(10)) + "```message\ndouble it\n```",
        "```input\n1\n```\n```message\ntoo few\n```",
        "".join(f"```input\n{i}\n```\n" for i in range(10)) + "```message\ndef f(a): return a\n```",
    ],
}


class StubBackend:
    """Canned proposals (by kind, in order) and solver answers keyed on markers in the program."""

    name = "stub"

    def __init__(self):
        self.calls: list[tuple[int, int]] = []

    @staticmethod
    def _kind(prompt: str) -> str:
        if prompt.startswith("## Task: choose"):
            return "induction"
        return "deduction" if "work out the output" in prompt else "abduction"

    @staticmethod
    def _solve(user: str, i: int) -> str:
        marker = next((m for m in GOLD if m in user), None)
        right = marker == "every" or (marker == "half" and i % 2 == 0)
        output, args = GOLD[marker] if marker else ("None", "None")
        if "A hidden Python function" in user:  # induction: the program is the identity
            code = IDENTITY_PROGRAM if i % 2 == 0 else WRONG_PROGRAM
            return f"```python\n{code}\n```"
        if "must return" in user:
            return f"```input\n{args if right else '-5'}\n```"
        return f"```output\n{output if right else '-1'}\n```"

    def generate(self, prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0):
        self.calls.append((len(prompts), n))
        counters: dict[str, int] = {}
        out = []
        for p in prompts:
            if isinstance(p, str):
                kind = self._kind(p)
                k = counters.get(kind, 0)
                counters[kind] = k + 1
                out.append([Completion(PROPOSALS[kind][k % len(PROPOSALS[kind])])])
            else:
                out.append([Completion(self._solve(p[-1]["content"], i)) for i in range(n)])
        return out


def _config(**kw) -> ProposeConfig:
    base = {"n": 3, "k_references": 2, "n_samples": 4, "timeout_s": 3.0, "memory_mb": 256}
    base.update(kw)
    return ProposeConfig(**base)


def test_learnability_and_reward_shaping():
    assert [learnability(r) for r in (0.0, 0.25, 0.5, 1.0)] == [0.0, 0.75, 0.5, 0.0]
    assert proposer_reward(False, None) == -1.0
    assert proposer_reward(True, 0.0) == -0.5
    assert proposer_reward(True, 0.75) == 0.75


def test_proposer_round_with_stub_backend(tmp_path):
    buffer = ProgramBuffer(tmp_path / "azr_buffer.jsonl")
    config = _config(n=5)
    result = propose_round(StubBackend(), buffer, config, round_index=0, seed=1)
    by = {(o.kind, o.index): o for o in result.outcomes}
    counts = result.counts()
    assert counts["proposals"] == 15 and counts["valid"] + counts["invalid"] == 15

    half, always = by[("deduction", 0)], by[("deduction", 1)]
    assert half.valid and half.solve_rate == 0.5 and half.learnability == 0.5 and half.reward == 0.5
    assert always.valid and always.solve_rate == 1.0 and always.learnability == 0.0 and always.reward == -0.5
    assert "banned" in by[("deduction", 2)].reason and by[("deduction", 2)].reward == -1.0
    assert "no ```input block" in by[("deduction", 3)].reason
    assert "not deterministic" in by[("deduction", 4)].reason
    never = by[("abduction", 0)]
    assert never.valid and never.solve_rate == 0.0 and never.reward == -0.5
    assert "ZeroDivisionError" in by[("abduction", 1)].reason
    assert "exactly one top-level function" in by[("abduction", 2)].reason
    ind = by[("induction", 0)]
    assert ind.valid and ind.solve_rate == 0.5, ind
    assert "need 10" in by[("induction", 1)].reason and "contains the code" in by[("induction", 2)].reason

    tasks = {t.task_id: t for t in result.tasks}
    assert {o.task_id for o in result.outcomes if o.valid} <= set(tasks)
    half_task = tasks[half.task_id]
    assert half_task.kind == "azr.deduction" and half_task.answer == "42"
    assert half_task.difficulty.pass_rate == 0.5 and half_task.difficulty.evidence == 4
    assert half_task.meta["learnability"] == 0.5 and half_task.provenance.generator == "azr.selfplay"
    induction = tasks[ind.task_id]
    assert len(induction.meta["given"]) == 5 and len(induction.meta["hidden"]) == 5

    # The buffer: identity seed plus every distinct valid proposal, on disk.
    reloaded = ProgramBuffer(tmp_path / "azr_buffer.jsonl")
    assert reloaded.entries[0].program == IDENTITY_PROGRAM
    assert len(reloaded) == 1 + result.new_entries == result.buffer_size
    assert any(e.origin == "induction" and len(e.inputs) == 10 for e in reloaded.entries)
    assert reloaded.entries[1].stats["n_samples"] == 4


def test_round_is_deterministic_and_references_come_from_the_buffer(tmp_path):
    results = []
    for name in ("a", "b"):
        buffer = ProgramBuffer(tmp_path / f"{name}.jsonl")
        backend = StubBackend()
        results.append(propose_round(backend, buffer, _config(), round_index=0, seed=3))
    (a, b) = results
    assert [t.task_id for t in a.tasks] == [t.task_id for t in b.tasks]
    paths = [Task.write_parquet(tmp_path / f"{i}.parquet", r.tasks) for i, r in enumerate(results)]
    assert paths[0].read_bytes() == paths[1].read_bytes(), "same seed, same bytes"
    # Round 1 samples references from a buffer that now holds round 0's programs.
    buffer = ProgramBuffer(tmp_path / "a.jsonl")
    round1 = propose_round(StubBackend(), buffer, _config(k_references=6), round_index=1, seed=3)
    refs = {r for o in round1.outcomes for r in o.references}
    assert refs <= {e.entry_id for e in buffer.entries} and len(refs) > 1


def test_induction_proposal_parsing_rules():
    prompt = induction_proposal_prompt(identity_entry(), 4)
    assert "exactly 4 inputs" in prompt
    text = "".join(f"```input\n{i}\n```" for i in range(6)) + "<message>identity</message>"
    inputs, message = parse_induction_proposal(text, 4, IDENTITY_PROGRAM)
    assert inputs == ["2", "3", "4", "5"] and message == "identity"
    with pytest.raises(ValueError, match="not all different"):
        parse_induction_proposal("```input\n1\n```" * 4 + "```message\nm\n```", 4, IDENTITY_PROGRAM)


def test_stage_records_every_proposal_as_a_decision(tmp_path):
    config = AZRStageConfig(n=2, k_references=2, n_samples=2, timeout_s=3.0, memory_mb=256, rounds=2,
                            kinds=("deduction", "induction"))
    result = run(config, tmp_path / "azr", backend=StubBackend())
    decisions = Decision.read_parquet(result.files["proposals"])
    tasks = Task.read_parquet(result.files["tasks"])
    assert len(decisions) == result.counts["proposals"] == 8
    assert sum(d.keep for d in decisions) == result.counts["valid"] == len(tasks)
    assert all(d.reason != "valid" for d in decisions if not d.keep)
    assert (tmp_path / "azr_buffer.jsonl").exists() and result.counts["buffer_size"] >= 2
    assert len(result.counts["rounds"]) == 2


def test_bad_stage_configs_raise():
    for kwargs in AZRStageConfig.BAD_EXAMPLES:
        with pytest.raises(ValueError):
            AZRStageConfig(**kwargs)


def test_pipeline_stage_from_bundled_programs(tmp_path):
    pipeline = Pipeline.from_mapping({"seed": 5, "stages": [
        {"name": "azr", "type": "synth.azr", "with": {"source": "seeds", "n": 2, "timeout_s": 3}}]})
    (rec, ran), = run_pipeline(pipeline, tmp_path / "run")
    assert ran and rec.counts["tasks"] == 6
    tasks = Task.read_parquet(tmp_path / "run" / rec.tasks)
    assert sorted({t.kind for t in tasks}) == ["azr.abduction", "azr.deduction", "azr.induction"]
    (rec2, ran2), = run_pipeline(pipeline, tmp_path / "run")
    assert not ran2, "a finished stage with the same config is skipped"


def test_cli_seeds_source(tmp_path, capsys):
    out = tmp_path / "azr.parquet"
    code = rlvr_main(["synth", "azr", "--source", "seeds", "--n", "2", "--kinds", "deduction", "--out", str(out)])
    assert code == 0 and len(Task.read_parquet(out)) == 2
    assert "wrote" in capsys.readouterr().out
    assert rlvr_main(["synth", "azr", "--isolation"]) == 0
    assert "layers" in capsys.readouterr().out


@pytest.mark.slow
def test_selfplay_round_and_solver_scoring_with_the_bundled_model(tmp_path):
    """The real policy proposes and solves; whatever it writes, every proposal is accounted for and
    no completion makes a verifier fail (status error)."""
    from rlvr.models.backends import make_backend
    from rlvr.synth.azr.generator import AZRConfig, AZRGenerator
    from rlvr.verify import verify

    backend = make_backend("transformers:smollm2-135m-instruct")
    config = AZRStageConfig(n=1, k_references=1, n_samples=1, max_new_tokens=64, solver_max_new_tokens=24,
                            timeout_s=3.0)
    result = run(config, tmp_path / "azr", backend=backend)
    proposals = Decision.read_parquet(result.files["proposals"])
    assert len(proposals) == 3 and sum(d.keep for d in proposals) == len(Task.read_parquet(result.files["tasks"]))
    assert all(d.reason for d in proposals)
    assert len(ProgramBuffer(tmp_path / "azr_buffer.jsonl")) >= 1

    tasks = [AZRGenerator(AZRConfig(kind, timeout_s=3.0)).generate(0, 0) for kind in ("deduction", "abduction",
                                                                                       "induction")]
    outs = backend.generate([t.chat() for t in tasks], n=1, max_new_tokens=24, temperature=1.0, seed=1)
    statuses = [verify(t, c).status for t, cs in zip(tasks, outs) for c in cs]
    assert len(statuses) == 3 and "error" not in statuses, statuses
