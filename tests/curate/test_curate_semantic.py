"""SemDeDup with the bundled embedder: reworded duplicates go, number-changed problems stay."""

from __future__ import annotations

import pytest
from planted import gym_tasks, task

from rlvr.curate.config import CurateConfig
from rlvr.curate.items import Inputs, items_from_tasks
from rlvr.curate.runner import run_steps
from rlvr.curate.semantic import SemanticStep, n_clusters
from rlvr.models.embed import EmbeddingCache

# (original, rewording, answer): the same problem said twice; cosine 0.93-0.98 with MiniLM.
REWORDED = [
    ("A train travels 120 miles in 2 hours. What is its average speed in miles per hour?",
     "If a train covers 120 miles in 2 hours, what is its average speed in mph?", 60),
    ("What is the capital of France?", "Which city is the capital of France?", "Paris"),
    ("List the prime numbers between 10 and 20.", "Which numbers between 10 and 20 are prime?", "11, 13, 17, 19"),
    ("Tom has 5 apples and gives 2 to Ann. How many apples does Tom have left?",
     "Tom gives 2 of his 5 apples to Ann. How many apples remain with Tom?", 3),
]
NUMBER_CHANGED = [
    ("A train travels 120 miles in 2 hours. What is its average speed in miles per hour?", 60),
    ("A train travels 150 miles in 3 hours. What is its average speed in miles per hour?", 50),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return EmbeddingCache(path=tmp_path_factory.mktemp("emb") / "emb.sqlite")


def _run(tasks, config, cache):
    step = SemanticStep(config, cache=cache)
    result = run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), [step])
    return {d["task_id"]: d for d in result.decisions.to_pylist()}


@pytest.mark.slow
def test_semantic_duplicates_with_guards_and_cache(cache):
    pairs = [(task(a, ans), task(b, ans)) for a, b, ans in REWORDED]
    changed = [task(text, ans) for text, ans in NUMBER_CHANGED[1:]]
    clean = gym_tasks(40, seed=31)
    tasks = [t for p in pairs for t in p] + changed + clean
    decisions = _run(tasks, CurateConfig(steps=["semantic"], semantic_clusters=3), cache)
    for a, b in pairs:
        da, db = decisions[a.task_id], decisions[b.task_id]
        assert [da["keep"], db["keep"]].count(False) == 1, f"one of {a.prompt_text[:30]!r} and its rewording goes"
        dropped = da if not da["keep"] else db
        assert dropped["reason"] == "semantic_duplicate"
        assert dropped["evidence"]["matched_id"] == (b if dropped is da else a).task_id
        assert dropped["evidence"]["score"] >= 0.93
    assert all(decisions[t.task_id]["keep"] for t in changed + clean)
    first_computed = cache.computed
    _run(tasks, CurateConfig(steps=["semantic"], semantic_clusters=3), cache)
    assert cache.computed == first_computed, "a second run must take every embedding from the cache"


def test_eps_and_guards_are_respected(cache):
    changed = [task(text, ans) for text, ans in NUMBER_CHANGED]
    loose = CurateConfig(steps=["semantic"], semantic_eps=0.2)
    assert all(d["keep"] for d in _run(changed, loose, cache).values()), "different numbers are different problems"
    unguarded = CurateConfig(steps=["semantic"], semantic_eps=0.2, same_numbers=False, same_answer=False)
    assert sum(not d["keep"] for d in _run(changed, unguarded, cache).values()) == 1
    a, b, ans = REWORDED[1]
    strict = CurateConfig(steps=["semantic"], semantic_eps=0.01)
    assert all(d["keep"] for d in _run([task(a, ans), task(b, ans)], strict, cache).values())


def test_cluster_count():
    assert n_clusters(1, 0) == 1 and n_clusters(200, 0) == 10 and n_clusters(5, 50) == 5
