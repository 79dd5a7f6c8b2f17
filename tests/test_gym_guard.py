"""reasoning-gym scorers that run text as code never see a hostile answer or a tampered task
(rlvr/synth/gym_guard.py): code in an answer does not run, a huge power does not stall the
verifier, and every correct answer still reaches its scorer."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap

import pytest

from rlvr.synth.gym import GymConfig, GymGenerator, reference_answer
from rlvr.synth.gym_guard import EVAL_FORMS, EXPRESSION_FIELDS, admissible, has_form
from rlvr.verify import gold_completion, verify

rg = pytest.importorskip("reasoning_gym")

CODE_RUNNERS = {"eval", "exec", "parse_expr", "sympify"}


def _reaches_code(cls: type) -> dict[str, set[str]]:
    """{name in CODE_RUNNERS: modules of the functions that call it} for `cls.score_answer`, directly
    or through methods of the class and functions of reasoning-gym's own modules (transitively)."""
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    todo = ["score_answer"]
    module = inspect.getmodule(cls)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        obj = getattr(cls, name, None) or getattr(module, name, None)
        if not inspect.isfunction(obj) or not obj.__module__.startswith("reasoning_gym"):
            continue
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(obj)))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if called in CODE_RUNNERS:
                found.setdefault(called, set()).add(obj.__module__)
            elif called:
                todo.append(called)
    return found


def test_every_scorer_that_runs_text_as_code_is_guarded():
    import builtins
    import importlib

    from reasoning_gym.factory import DATASETS

    from rlvr.synth.gym import dataset_names

    dataset_names()  # imports reasoning-gym through rlvr, which installs the guard
    reaching = {name: _reaches_code(cls) for name, (cls, _) in DATASETS.items()}
    reaching = {name: calls for name, calls in reaching.items() if calls}
    assert reaching, "the scan found no scorer that evaluates text: the scan itself is broken"
    for name, calls in reaching.items():
        if "eval" in calls:
            assert name in EVAL_FORMS, f"{name}'s scorer calls eval and has no guarded eval"
            for module in calls["eval"]:
                guard = getattr(importlib.import_module(module), "eval", builtins.eval)
                assert guard is not builtins.eval, f"{module} still calls the builtin eval"
        if set(calls) - {"eval"}:
            assert name in EXPRESSION_FIELDS, f"{name}'s scorer calls {sorted(calls)} and is not guarded"
    assert set(EVAL_FORMS) | set(EXPRESSION_FIELDS) <= set(DATASETS)


@pytest.mark.parametrize("name", sorted(set(EVAL_FORMS) | set(EXPRESSION_FIELDS)))
def test_golds_of_guarded_datasets_are_paid(name):
    gen = GymGenerator(GymConfig(name))
    for idx in range(12):
        task = gen.generate(0, idx)
        entry = task.meta["entry"]
        gold = reference_answer(entry)
        ok, why = admissible(name, gold, {**entry, "metadata": _decoded(entry)})
        assert ok, f"{name} item {idx}: the gold {gold!r} is refused: {why}"
        assert verify(task, gold_completion(task)).reward == 1.0


def _decoded(entry):
    from rlvr.synth.gym import decode_metadata

    return decode_metadata(entry.get("metadata", {}))


HOSTILE = [  # each survives rlvr's answer reading (no "/", no leading "__"), so it reaches the scorer unguarded
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
    ".__init__.__globals__['system']('touch ran')",
    "().__class__.__base__.__subclasses__()[-1].__init__.__globals__['__builtins__']['open']('ran', 'w')",
    "(lambda: [c for c in ().__class__.__mro__[1].__subclasses__() if 'wrap_close' in c.__name__][0]"
    ".__init__.__globals__['system']('touch ran'))()",
    "open('ran', 'w')",
    "getattr(getattr(x, 'func'), '__globals__')",
]
HUGE = ["9**9**9**9", "2**(10**10)", "10**(9*9*9*9*9*9*9*9)", "x**99999999999", "factorial(10**8)", "-(9**9**9)",
        "1 << 10**10"]
ANSWER_EVALUATORS = sorted([n for n, fields in EXPRESSION_FIELDS.items() if "answer" in fields]
                           + ["binary_matrix", "n_queens", "spiral_matrix", "string_insertion"])


@pytest.mark.parametrize("name", ANSWER_EVALUATORS)
def test_hostile_answers_never_run_and_huge_powers_never_stall(name, tmp_path, monkeypatch):
    from rlvr.synth import gym

    monkeypatch.chdir(tmp_path)
    task = GymGenerator(GymConfig(name)).generate(0, 0)
    entry = {**task.meta["entry"], "metadata": _decoded(task.meta["entry"])}
    ds = gym._dataset(name, "{}")
    for answer in HOSTILE:
        assert verify(task, f"Done.\n<answer>{answer}</answer>").reward == 0.0
        assert gym._dataset_score(ds, name, [answer], entry) <= 0.01  # the scorer's own "parsable" crumb at most
        assert not (tmp_path / "ran").exists(), f"{name} ran {answer!r}"
    form = EVAL_FORMS.get(name, "expression")
    for answer in HUGE:
        assert not has_form(answer, form)[0], f"{name} would evaluate {answer!r}"
        assert verify(task, f"<answer>{answer}</answer>").reward == 0.0
        assert gym._dataset_score(ds, name, [answer], entry) <= 0.01


def test_a_tampered_task_does_not_run_its_own_fields(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    sorting = GymGenerator(GymConfig("number_sorting")).generate(0, 0)
    bad = dataclasses.replace(sorting, meta={**sorting.meta, "entry": {**sorting.meta["entry"], "answer": code}})
    assert verify(bad, "<answer>['1', '2']</answer>").status == "error"  # named, not scored as a wrong answer
    bitwise = GymGenerator(GymConfig("bitwise_arithmetic")).generate(0, 0)
    entry = bitwise.meta["entry"]
    bad = dataclasses.replace(bitwise, meta={**bitwise.meta, "entry": {**entry, "metadata": {
        **entry["metadata"], "problem": code}}})
    assert verify(bad, "<answer>5</answer>").status == "error"
    assert not marker.exists()
    assert not has_form("(0x3 << 0x40000000) | 1", "integer")[0] and has_form("((0xc3 << 0x3) + (0x19 - 0x7d)) | 0x5b", "integer")[0]


def test_composite_items_are_guarded_by_their_source_dataset():
    entry = {"answer": "x", "metadata": {"source_dataset": "polynomial_multiplication"}}
    assert not admissible("composite", "9**9**9**9", entry)[0]
    assert admissible("composite", "3*x**2 + 2*x - 1", entry)[0]
    assert admissible("composite", "anything at all", {"answer": "x", "metadata": {"source_dataset": "leg_counting"}})[0]


@pytest.mark.parametrize(("text", "form", "ok"), [
    ("[['Q', '_'], ['_', 'Q']]", "literal", True),
    ("[1, -2, 3.5]", "literal", True),
    ("[1, x]", "literal", False),
    ("-x**(3/2)/3 + 2*sin(x) + C", "expression", True),
    ("exp(-x)*log(x) - sqrt(2)*x**(-1)", "expression", True),
    ("(25 - 5) * 4 + 2", "expression", True),
    ("x.__class__", "expression", False),
    ("sin(x, evaluate=False)", "expression", False),
    ("Integer(9)**Integer(9)", "expression", False),
    ("x**(y+1)", "expression", False),
])
def test_forms(text, form, ok):
    assert has_form(text, form)[0] is ok
