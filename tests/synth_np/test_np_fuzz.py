"""Hypothesis fuzzing of every NP verifier: no string, and no integer structure after
`Answer:`, may crash it, score outside [0, 1], or score 1.0 without being a feasible answer."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.synth.np.answer import MARKER, Infeasible
from rlvr.synth.np.base import PROBLEMS, NPGenerator
from rlvr.verify import verify

NAMES = sorted(PROBLEMS)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def task_for(name: str):
    problem = PROBLEMS[name]
    return NPGenerator(problem, problem.config_cls(difficulty=0.0)).generate(0, 0)


def check(name: str, completion: str) -> None:
    task = task_for(name)
    score = verify(task, completion)
    assert score.status != "error", score.detail
    assert 0.0 <= score.reward <= 1.0
    if score.status != "ok":
        assert score.reward == 0.0
        return
    problem = PROBLEMS[name]  # an "ok" score is exactly the normalized quality of a feasible answer
    value = problem.evaluate(task.meta["instance"], problem.parse_completion(completion))
    assert score.reward == problem.normalized(value, task.answer["value"], task.answer["trivial"])


ints = st.integers(min_value=-3, max_value=60)
structures = st.recursive(ints, lambda inner: st.lists(inner, max_size=12), max_leaves=60)


def render(value, tuples: bool) -> str:
    if isinstance(value, list):
        inner = ", ".join(render(v, tuples) for v in value)
        return f"({inner})" if tuples and value and not isinstance(value[0], list) else f"[{inner}]"
    return str(value)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(text=st.text(max_size=400))
def test_arbitrary_text(name, text):
    check(name, text)
    check(name, MARKER + text)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(value=structures, tuples=st.booleans(), prefix=st.text(max_size=30), suffix=st.text(max_size=30))
def test_integer_structures_after_the_marker(name, value, tuples, prefix, suffix):
    check(name, f"{prefix}{MARKER} {render(value, tuples)}{suffix}")


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_near_miss_solutions(name, data):
    """Mutations of the reference (ids dropped, repeated, shifted): the path where feasibility
    checks, not the parser, must reject or score the answer."""
    task = task_for(name)
    sol = task.answer["solution"]
    flat = [x for part in sol for x in (part if isinstance(part, list) else [part])]
    picks = data.draw(st.lists(st.sampled_from(flat + [-1, 0, 1, 99]), max_size=len(flat) + 3))
    if sol and isinstance(sol[0], list):
        width = len(sol[0]) if name == "np.meeting_scheduling" else max(1, len(picks) // 2)
        groups = [picks[i:i + width] for i in range(0, len(picks), width)]
        completion = MARKER + " " + render(groups, tuples=name == "np.meeting_scheduling")
    else:
        completion = MARKER + " " + render(picks, tuples=False)
    check(name, completion)


def test_ok_is_never_given_to_an_infeasible_answer():
    task = task_for("np.knapsack")
    problem = PROBLEMS["np.knapsack"]
    everything = list(range(len(task.meta["instance"]["weights"])))
    with pytest.raises(Infeasible):
        problem.evaluate(task.meta["instance"], everything)
    assert verify(task, f"{MARKER} {everything}").status == "infeasible"
