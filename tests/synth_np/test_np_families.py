"""Every NP family: references certified by the exact solvers, the verifier agreeing with them,
and corrupted answers scoring below 1 with the status that names the fault.

tests/test_contract.py already checks determinism, gold = 1.0, garbage and Parquet round trips
at the three example difficulties; this file checks what is specific to optimisation tasks.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from rlvr.records import VerifierSpec
from rlvr.synth.np.answer import MARKER
from rlvr.synth.np.base import MAX, PROBLEMS, NPGenerator
from rlvr.synth.np.graphs import bitsets
from rlvr.verify import gold_completion, verify

NAMES = sorted(PROBLEMS)

# Small settings where the exact solvers run in milliseconds.
SMALL = {
    "np.max_clique": {},
    "np.max_independent_set": {},
    "np.graph_coloring": {},
    "np.meeting_scheduling": {"meetings": (4, 6)},
    "np.min_bisection": {"vertices": (10, 14)},
    "np.knapsack": {},
    "np.subset_sum": {},
    "np.set_cover": {},
    "np.tsp": {"cities": (7, 10)},
    "np.hamiltonian_cycle": {"vertices": (8, 11), "density": 0.3, "plant": False},
}


def small_tasks(name: str, count: int = 10, seed: int = 3):
    problem = PROBLEMS[name]
    gen = NPGenerator(problem, problem.config_cls(**SMALL[name]))
    return problem, [gen.generate(seed, i) for i in range(count)]


def answer(solution_text: str) -> str:
    return f"Let me think.\n{MARKER} {solution_text}"


@pytest.mark.parametrize("name", NAMES)
def test_exact_certifies_the_reference(name):
    problem, tasks = small_tasks(name)
    for task in tasks:
        instance, ref = task.meta["instance"], task.answer["value"]
        best = problem.exact(instance)
        value = problem.evaluate(instance, best)  # the exact solution is feasible
        assert value >= ref if problem.sense == MAX else value <= ref, (task.task_id, value, ref)
        if task.meta["optimal"]:  # a bound-certified reference must really be optimal
            assert value == ref, (task.task_id, value, ref)
        score = verify(task, answer(problem.render(best)))
        assert score.status == "ok" and score.reward == 1.0, score
        assert f"objective {value}," in score.detail  # the verifier computes the exact optimum's value


@pytest.mark.parametrize("name", NAMES)
def test_verifier_reward_modes_order_solutions(name):
    """A feasible answer worse than the reference gets (q - q_trivial) / (q_ref - q_trivial) by
    default, exactly NP-Engine's quality ratio with reward=ratio, and 0 with reward=binary."""
    problem, tasks = small_tasks(name, count=4)
    for task in tasks:
        for label, completion, statuses in corruptions(name, task):
            if statuses == {"ok"}:
                solution = problem.parse_completion(completion)
                value = problem.evaluate(task.meta["instance"], solution)
                ref, trivial = task.answer["value"], task.answer["trivial"]
                zero = trivial if trivial is not None else 0
                if problem.sense == MAX:
                    normalized = (value - zero) / (ref - zero) if ref > zero else float(value >= ref)
                else:
                    normalized = (zero - value) / (zero - ref) if zero > ref else float(value <= ref)
                assert verify(task, completion).reward == pytest.approx(min(1, max(0, normalized))), label
                ratio = value / ref if problem.sense == MAX else ref / value
                as_ratio = dataclasses.replace(task, verifier=VerifierSpec(task.kind, {"reward": "ratio"}))
                assert verify(as_ratio, completion).reward == pytest.approx(ratio), label
                as_binary = dataclasses.replace(task, verifier=VerifierSpec(task.kind, {"reward": "binary"}))
                assert verify(as_binary, completion).reward == (1.0 if value == ref else 0.0), label


@pytest.mark.parametrize("name", NAMES)
def test_trivial_answers_earn_nothing(name):
    """Answers written without reading the instance score 0 under the default reward; with
    reward=ratio they keep NP-Engine's floor."""
    problem, tasks = small_tasks(name, count=6)
    for task in tasks:
        for trivial in problem.trivial_answers(task.meta["instance"]):
            score = verify(task, answer(problem.render(trivial)))
            if score.status == "ok" and task.answer["trivial"] != task.answer["value"]:
                assert score.reward == 0.0, (trivial, score)


def test_small_tsp_references_are_exact_optima():
    """Held-Karp at generation time: the TSP reference on up to 18 cities is the optimum."""
    problem, tasks = small_tasks("np.tsp", count=20)
    for task in tasks:
        assert task.meta["optimal"] is True
        best = problem.evaluate(task.meta["instance"], problem.exact(task.meta["instance"]))
        assert task.answer["value"] == best


def test_an_answer_better_than_the_reference_is_recorded():
    problem = PROBLEMS["np.tsp"]
    gen = NPGenerator(problem, problem.config_cls(cities=(25, 25), sa_steps=0))
    for i in range(10):
        task = gen.generate(5, i)
        better = problem.solve(task.meta["instance"], random.Random(i), problem.config_cls(cities=(25, 25)))
        value = problem.evaluate(task.meta["instance"], better.solution)
        if value < task.answer["value"]:
            score = verify(task, answer(problem.render(better.solution)))
            assert score.reward == 1.0 and score.info["beats_reference"] is True, score
            assert verify(task, gold_completion(task)).info["beats_reference"] is False
            return
    pytest.skip("no annealed tour beat the descent-only reference in 10 instances")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("difficulty", [0.0, 0.5])
def test_corrupted_answers_score_below_one(name, difficulty):
    problem = PROBLEMS[name]
    gen = NPGenerator(problem, problem.config_cls(difficulty=difficulty))
    for i in range(3):
        task = gen.generate(11, i)
        assert verify(task, gold_completion(task)).reward == 1.0
        for label, completion, statuses in corruptions(name, task):
            score = verify(task, completion)
            assert score.reward < 1.0, (label, score)
            assert score.status in statuses, (label, score)


def corruptions(name: str, task):
    """(label, completion, allowed statuses) for a family's typical mistakes plus generic junk."""
    problem, instance = PROBLEMS[name], task.meta["instance"]
    sol = task.answer["solution"]
    rng = random.Random(task.task_id)
    out = [
        ("empty", "", {"format_error"}),
        ("no marker", problem.render(sol), {"format_error"}),
        ("prompt echoed", task.prompt_text, {"format_error"}),
        ("100 kB junk", "".join(rng.choice("ab ,[]()0123Answer:\n") for _ in range(100_000)), {"format_error", "infeasible", "ok"}),
        ("100 kB after marker", MARKER + " " + "x" * 100_000, {"format_error"}),
        ("wrong format", answer("{0: 1, 2: 3}"), {"format_error"}),
        ("wrong nesting", answer("[[[0]], [1]]"), {"format_error"}),
    ]
    out += SPECIFIC[name](problem, instance, [list(x) if isinstance(x, list) else x for x in sol], rng)
    return out


def _graph_bits(instance):
    return bitsets(instance["n"], [e[:2] for e in instance["edges"]])


def _clique(problem, instance, sol, rng):
    bits, n = _graph_bits(instance), instance["n"]
    outsiders = [u for u in range(n) if u not in sol and any(not bits[u] >> v & 1 for v in sol[1:])]
    swapped = [outsiders[0]] + sol[1:] if outsiders else [sol[1]] + sol[1:]
    return [
        ("vertex swapped", answer(problem.render(swapped)), {"infeasible"}),
        ("vertex removed", answer(problem.render(sol[:-1])), {"ok"}),
    ]


def _independent(problem, instance, sol, rng):
    bits, n = _graph_bits(instance), instance["n"]
    neighbours = [u for u in range(n) if u not in sol and any(bits[u] >> v & 1 for v in sol[1:])]
    swapped = [neighbours[0]] + sol[1:] if neighbours else [sol[1]] + sol[1:]
    return [
        ("vertex swapped", answer(problem.render(swapped)), {"infeasible"}),
        ("vertex removed", answer(problem.render(sol[:-1])), {"ok"}),
    ]


def _coloring(problem, instance, sol, rng):
    u, v = instance["edges"][0]
    clash = list(sol)
    clash[u] = clash[v]
    out = [
        ("neighbour colour", answer(problem.render(clash)), {"infeasible"}),
        ("vertex removed", answer(problem.render(sol[:-1])), {"infeasible"}),
    ]
    shared = [x for x in range(len(sol)) if sol.count(sol[x]) > 1]
    if shared:  # recolour a vertex of a class with others: one colour more
        extra = list(sol)
        extra[shared[0]] = max(sol) + 1
        out.append(("extra colour", answer(problem.render(extra)), {"ok"}))
    return out


def _meeting(problem, instance, sol, rng):
    out = [("meeting removed", answer(problem.render(sol[:-1])), {"ok"})]
    if len(sol) >= 2:
        clash = [list(x) for x in sol]
        clash[1][1], clash[1][2] = clash[0][1], clash[0][2]  # same room, same start
        out.append(("double booking", answer(problem.render(clash)), {"infeasible"}))
    out.append(("meeting twice", answer(problem.render(sol + sol[:1])), {"infeasible"}))
    return out


def _bisection(problem, instance, sol, rng):
    a, b = (sol[0], sol[1]) if len(sol[0]) <= len(sol[1]) else (sol[1], sol[0])
    moved = [a[1:], b + a[:1]]
    return [
        ("vertex moved across", answer(problem.render(moved)), {"infeasible"}),
        ("vertex removed", answer(problem.render([a, b[1:]])), {"infeasible"}),
        ("flat list", answer(str(sorted(a + b))), {"format_error"}),
    ]


def _knapsack(problem, instance, sol, rng):
    unchosen = [i for i in range(len(instance["weights"])) if i not in sol]
    out = [("item removed", answer(problem.render(sol[:-1])), {"ok"})]
    if unchosen:  # the DP optimum has no room left for any item of positive value
        out.append(("item added", answer(problem.render(sol + unchosen[:1])), {"infeasible"}))
    out.append(("item twice", answer(problem.render(sol + sol[:1])), {"infeasible"}))
    return out


def _subset_sum(problem, instance, sol, rng):
    nums = instance["numbers"]
    other = [i for i in range(len(nums)) if i not in sol and nums[i] != nums[sol[0]]]
    out = [("number removed", answer(problem.render(sol[1:])), {"infeasible"})]
    if other:
        out.append(("number swapped", answer(problem.render(other[:1] + sol[1:])), {"infeasible"}))
    return out


def _set_cover(problem, instance, sol, rng):
    unchosen = [i for i in range(len(instance["subsets"])) if i not in sol]
    out = [("subset removed", answer(problem.render(sol[1:])), {"infeasible"})]
    if unchosen:
        out.append(("subset added", answer(problem.render(sol + unchosen[:1])), {"ok"}))
    return out


def _tsp(problem, instance, sol, rng):
    return [
        ("city repeated", answer(problem.render(sol[:-1] + [sol[1]])), {"infeasible"}),
        ("city removed", answer(problem.render(sol[:-1])), {"infeasible"}),
        ("not closed", answer(str(sol + [sol[1]])), {"infeasible"}),
    ]


def _hamiltonian(problem, instance, sol, rng):
    repeated = list(sol)
    repeated[1] = repeated[2]
    return [
        ("vertex swapped", answer(problem.render(repeated)), {"infeasible"}),
        ("vertex removed", answer(problem.render(sol[:-1])), {"infeasible", "ok"}),
        ("two vertices", answer(problem.render(sol[:2])), {"infeasible"}),
    ]


SPECIFIC = {
    "np.max_clique": _clique,
    "np.max_independent_set": _independent,
    "np.graph_coloring": _coloring,
    "np.meeting_scheduling": _meeting,
    "np.min_bisection": _bisection,
    "np.knapsack": _knapsack,
    "np.subset_sum": _subset_sum,
    "np.set_cover": _set_cover,
    "np.tsp": _tsp,
    "np.hamiltonian_cycle": _hamiltonian,
}


def test_every_family_has_corruptions():
    assert set(SPECIFIC) == set(PROBLEMS) == set(SMALL)


@pytest.mark.parametrize("name", NAMES)
def test_instances_differ_across_seeds_and_reference_is_stable(name):
    problem = PROBLEMS[name]
    gen = NPGenerator(problem, problem.config_cls())
    a, b = gen.generate(0, 5), gen.generate(1, 5)
    assert a.fingerprint != b.fingerprint
    again = NPGenerator(problem, problem.config_cls()).generate(0, 5)
    assert again.answer == a.answer and again.meta == a.meta and again.fingerprint == a.fingerprint
    assert a.difficulty.nominal == 0.0 and a.kind == a.verifier.name == name
    assert a.provenance.generator == name and a.provenance.seed == 0 and a.provenance.index == 5


@pytest.mark.parametrize("name", NAMES)
def test_solver_settings_do_not_change_the_instance(name):
    """The solver draws from its own RNG stream, so a budget change keeps the instance."""
    problem = PROBLEMS[name]
    budgets = {f: 1 for f in ("restarts", "steps", "sa_steps", "tabu_iterations")
               if f in problem.config_cls.__dataclass_fields__}
    base = NPGenerator(problem, problem.config_cls()).generate(4, 2)
    tweaked = NPGenerator(problem, problem.config_cls(**budgets)).generate(4, 2)
    assert base.meta["instance"] == tweaked.meta["instance"]
    assert verify(tweaked, gold_completion(tweaked)).reward == 1.0


@pytest.mark.parametrize("name", NAMES)
def test_difficulty_grows_instances(name):
    problem = PROBLEMS[name]

    def mean_size(d):
        gen = NPGenerator(problem, problem.config_cls(difficulty=d))
        sizes = [gen.instance(0, i) for i in range(20)]
        return sum(sum(problem.size(s).values()) for s in sizes) / len(sizes)

    assert mean_size(0.0) < mean_size(0.5) < mean_size(1.0)
