"""The contract every registered generator and verifier keeps (see STYLE.md, convention 3).

For each registered generator and each of its example configs: tasks are deterministic for a
seed, distinct seeds give distinct items, the reference completion scores 1.0, garbage and
echoed prompts never crash the verifier and never score 1.0, and Parquet round-trips keep the
task intact. Every registered verifier must be exercised by some generator.
"""

from __future__ import annotations

import pytest

from rlvr.records import Task
from rlvr.synth.registry import generator_names, get_generator
from rlvr.verify import Score, gold_completion, verifier_names, verify

GARBAGE = [
    "",
    " ",
    "Answer:",
    "<answer></answer>",
    "\\boxed{}",
    "\x00\x01\x02",
    "😀" * 50,
    "Answer: " + "9" * 5000,
    "<answer>" + "x" * 100_000 + "</answer>",
    "Answer: A B C D E F G H I",
    "{\"answer\": null}",
]


def _cases():
    for name in generator_names():
        spec = get_generator(name)
        configs = spec.examples or (spec.config_cls(),)
        for i, config in enumerate(configs):
            yield pytest.param(name, config, id=f"{name}-{i}")


CASES = list(_cases())


@pytest.mark.parametrize("name,config", CASES)
def test_generator_contract(name, config, tmp_path):
    spec = get_generator(name)
    gen = spec.make(config)
    tasks = [gen.generate(7, i) for i in range(4)]
    again = [gen.generate(7, i) for i in range(4)]
    assert [t.task_id for t in tasks] == [t.task_id for t in again], "generate(seed, idx) must be deterministic"
    other_seed = [gen.generate(8, i) for i in range(4)]
    assert {t.task_id for t in tasks} != {t.task_id for t in other_seed}, "another seed must give other items"

    path = Task.write_parquet(tmp_path / "t.parquet", tasks)
    assert Task.read_parquet(path) == tasks, "Parquet round trip must keep every field"

    for task in tasks:
        assert task.verifier.name in spec.verifiers
        assert task.provenance.generator and task.provenance.index is not None
        gold = verify(task, gold_completion(task))
        assert gold.reward == 1.0 and gold.status == "ok", f"gold did not score 1.0: {gold}"
        for junk in [*GARBAGE, task.prompt_text]:
            s = verify(task, junk)
            assert isinstance(s, Score)
            assert s.status != "error", f"verifier crashed on {junk[:40]!r}: {s.detail}"
            assert s.reward < 1.0, f"garbage {junk[:40]!r} scored 1.0"


def test_every_verifier_is_exercised_by_a_generator():
    covered = {v for name in generator_names() for v in get_generator(name).verifiers}
    assert set(verifier_names()) <= covered, f"verifiers without a generator: {set(verifier_names()) - covered}"


@pytest.mark.parametrize("name", generator_names())
def test_bad_config_raises_value_error(name):
    spec = get_generator(name)
    bad = getattr(spec.config_cls, "BAD_EXAMPLES", None)
    assert bad, f"{spec.config_cls.__name__} must list BAD_EXAMPLES: kwargs that its __post_init__ rejects"
    for kwargs in bad:
        with pytest.raises(ValueError):
            spec.config_cls(**kwargs)
