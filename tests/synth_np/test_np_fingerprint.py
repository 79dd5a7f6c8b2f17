"""Structural fingerprints: equal for relabelled copies, different when the objective data
changes, and what the task records."""

from __future__ import annotations

import random

import pytest

from rlvr.synth.np.base import PROBLEMS, NPGenerator
from rlvr.synth.np.fingerprint import wl_digest

NAMES = sorted(PROBLEMS)


def relabel(name: str, inst: dict, rng: random.Random) -> dict:
    """The same instance with every id space (vertices, items, subsets, ...) shuffled."""
    def perm(k):
        p = list(range(k))
        rng.shuffle(p)
        return p

    if "edges" in inst:  # graphs, weighted or not
        p = perm(inst["n"])
        edges = [sorted((p[e[0]], p[e[1]])) + list(e[2:]) for e in inst["edges"]]
        rng.shuffle(edges)
        return {**inst, "edges": edges}
    if name == "np.tsp":
        d, p = inst["distances"], perm(len(inst["distances"]))
        inv = {p[i]: i for i in range(len(p))}
        return {"distances": [[d[inv[i]][inv[j]] for j in range(len(d))] for i in range(len(d))]}
    if name == "np.knapsack":
        p = perm(len(inst["weights"]))
        return {**inst, "weights": [inst["weights"][i] for i in p], "values": [inst["values"][i] for i in p]}
    if name == "np.subset_sum":
        return {**inst, "numbers": [inst["numbers"][i] for i in perm(len(inst["numbers"]))]}
    if name == "np.set_cover":
        e = perm(inst["universe"])
        subsets = [sorted(e[x] for x in s) for s in inst["subsets"]]
        return {**inst, "subsets": [subsets[i] for i in perm(len(subsets))]}
    if name == "np.meeting_scheduling":
        people = perm(len(inst["availability"]))
        inv = {people[i]: i for i in range(len(people))}
        meetings = [{"attendees": sorted(people[a] for a in m["attendees"]), "duration": m["duration"]}
                    for m in inst["meetings"]]
        return {"meetings": [meetings[i] for i in perm(len(meetings))],
                "availability": [inst["availability"][inv[i]] for i in range(len(people))],
                "rooms": [inst["rooms"][i] for i in perm(len(inst["rooms"]))]}
    raise AssertionError(f"no relabelling for {name}")


def perturb(name: str, inst: dict) -> dict:
    """A minimal change to the objective-relevant data (a weight, a capacity, an edge, ...)."""
    if name in ("np.min_bisection",):
        u, v, w = inst["edges"][0]
        return {**inst, "edges": [[u, v, w + 1]] + inst["edges"][1:]}
    if "edges" in inst:
        return {**inst, "edges": inst["edges"][1:]}
    if name == "np.tsp":
        d = [list(r) for r in inst["distances"]]
        d[0][1] += 1
        d[1][0] += 1
        return {"distances": d}
    if name == "np.knapsack":
        return {**inst, "capacity": inst["capacity"] + 1}
    if name == "np.subset_sum":
        return {**inst, "target": inst["target"] + 1}
    if name == "np.set_cover":
        return {**inst, "subsets": inst["subsets"][:-1] + [inst["subsets"][-1][1:]]}
    if name == "np.meeting_scheduling":
        return {**inst, "rooms": [inst["rooms"][0] + 1] + inst["rooms"][1:]}
    raise AssertionError(name)


@pytest.mark.parametrize("name", NAMES)
def test_relabelling_keeps_the_fingerprint(name):
    problem = PROBLEMS[name]
    gen = NPGenerator(problem, problem.config_cls(difficulty=0.5))
    rng = random.Random(0)
    for i in range(5):
        task = gen.generate(2, i)
        inst = task.meta["instance"]
        assert task.fingerprint == problem.fingerprint(inst)
        for _ in range(3):
            assert problem.fingerprint(relabel(name, inst, rng)) == task.fingerprint
        assert problem.fingerprint(perturb(name, inst)) != task.fingerprint


def test_fingerprints_are_namespaced_by_problem():
    graph = {"n": 4, "edges": [[0, 1], [1, 2], [2, 3]], "planted": []}
    prints = {PROBLEMS[n].fingerprint(graph) for n in ("np.max_clique", "np.max_independent_set", "np.graph_coloring")}
    assert len(prints) == 3


def test_wl_limits_are_the_documented_ones():
    # a 6-cycle and two triangles are both 2-regular: 1-WL cannot tell them apart (the module
    # docstring says so; it can only merge distinct instances, never split relabelled copies)
    cycle = [[1, 5], [0, 2], [1, 3], [2, 4], [3, 5], [4, 0]]
    triangles = [[1, 2], [0, 2], [0, 1], [4, 5], [3, 5], [3, 4]]
    assert wl_digest([2] * 6, cycle) == wl_digest([2] * 6, triangles)
    # same degree sequence (3, 2, 2, 2, 1, 1, 1), different structure: WL refinement separates them
    spider = [[1, 3, 5], [0, 2], [1], [0, 4], [3], [0, 6], [5]]
    broom = [[1], [0, 2], [1, 3], [2, 4, 5], [3], [3, 6], [5]]
    deg = lambda adj: [len(a) for a in adj]  # noqa: E731
    assert sorted(deg(spider)) == sorted(deg(broom))
    assert wl_digest(deg(spider), spider) != wl_digest(deg(broom), broom)


def test_curate_drops_relabelled_duplicates_that_text_dedupe_keeps(tmp_path):
    """Issue 3's point: a renumbered copy is a different text but the same problem."""
    from rlvr.cli import main
    from rlvr.records import Decision, Message, Task

    rng, tasks = random.Random(1), []
    for name in ("np.max_clique", "np.tsp", "np.set_cover"):
        problem = PROBLEMS[name]
        original = NPGenerator(problem, problem.config_cls()).generate(0, 0)
        inst = relabel(name, original.meta["instance"], rng)
        ref = problem.solve(inst, random.Random(0), problem.config_cls())
        copy = Task(kind=name, prompt=[Message("user", problem.describe(inst))],
                    answer={"solution": ref.solution, "value": problem.evaluate(inst, ref.solution)},
                    verifier=original.verifier, provenance=original.provenance,
                    meta={**original.meta, "instance": inst}, fingerprint=problem.fingerprint(inst))
        assert copy.prompt_text != original.prompt_text and copy.fingerprint == original.fingerprint
        tasks += [original, copy]
    Task.write_parquet(tmp_path / "tasks.parquet", tasks)
    for steps, dropped in (("exact", 0), ("structural", 3)):
        out, decisions = tmp_path / f"{steps}.parquet", tmp_path / f"{steps}-decisions.parquet"
        assert main(["curate", "--in", str(tmp_path / "tasks.parquet"), "--steps", steps, "--out", str(out),
                     "--decisions", str(decisions), "--no-progress"]) == 0
        assert len(Task.read_parquet(out)) == len(tasks) - dropped
        assert sum(not d.keep for d in Decision.read_parquet(decisions)) == dropped
