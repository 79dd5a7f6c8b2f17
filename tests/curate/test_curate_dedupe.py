"""Exact, structural and MinHash near-duplicate dedupe, the keep rule and the books."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from planted import farm_task, gym_tasks, light_edit, task

from rlvr.curate.base import cluster_from_pairs, rank_order
from rlvr.curate.config import CurateConfig
from rlvr.curate.items import Inputs, items_from_tasks
from rlvr.curate.keyed import ExactStep, StructuralStep
from rlvr.curate.minhash import (
    MinHasher,
    MinHashStep,
    band_params,
    candidate_probability,
    jaccard,
    shingle_batch,
)
from rlvr.curate.runner import run_steps


def _run(tasks, steps):
    return run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), steps, batch_size=64)


def _decisions(result, stage):
    return {d["task_id"]: d for d in result.decisions.to_pylist() if d["stage"] == stage}


def test_keep_rule_and_union_find():
    rank = rank_order(["b", "a", "c", "d"], np.array([np.nan, np.nan, 0.5, 0.9]))
    assert rank.tolist() == [3, 2, 1, 0]  # quality first (missing last), then lowest id
    roots, sizes = cluster_from_pairs(5, np.array([0, 3, 1]), np.array([1, 4, 4]))
    assert len({roots[0], roots[1], roots[3], roots[4]}) == 1 and roots[2] != roots[0]
    assert sizes.tolist() == [4, 4, 1, 4, 4]
    assert cluster_from_pairs(0, np.array([], dtype=int), np.array([], dtype=int))[0].tolist() == []


def test_exact_dedupe_normalises_but_keeps_numbers_and_answers():
    base = task("What is 12 + 7?", 19)
    same = task("  what IS 12 + 7 ", 19)  # case, whitespace, punctuation
    other_number = task("What is 12 + 8?", 20)
    other_answer = task("What is 12 + 7?", 20)  # a different reference answer is not the same task
    words = task("What is twelve + seven?", 19)
    result = _run([base, same, other_number, other_answer, words], [ExactStep()])
    d = _decisions(result, "exact")
    dropped = {k for k, v in d.items() if not v["keep"]}
    assert dropped == {same.task_id, words.task_id} or dropped == {base.task_id, words.task_id} \
        or dropped == {base.task_id, same.task_id}
    assert not (dropped & {other_number.task_id, other_answer.task_id})
    kept = (set(d) - dropped) & {base.task_id, same.task_id, words.task_id}
    (rep,) = kept
    assert rep == min(base.task_id, same.task_id, words.task_id)  # lowest id without quality scores
    for k in dropped:
        assert d[k]["reason"] == "exact_duplicate" and d[k]["evidence"]["matched_id"] == rep
    assert d[rep]["reason"] == "kept_representative"
    assert result.counts == {"in": 5, "kept": 3, "dropped": {"exact_duplicate": 2}, "quarantined": 0}


def test_quality_decides_which_copy_survives():
    low = task("Find 3 + 4.", 7, meta={"quality": 0.1})
    high = task("find 3 + 4", 7, meta={"quality": 0.9})
    d = _decisions(_run([low, high], [ExactStep()]), "exact")
    assert d[high.task_id]["keep"] and not d[low.task_id]["keep"]


def test_structural_dedupe_uses_fingerprints_within_a_kind():
    a = farm_task(3, 4, name="Maria")
    b = farm_task(3, 4, name="Ahmed")  # same instance, other wording
    c = farm_task(4, 3)
    other_kind = task("unrelated", 1, kind="test.other", fingerprint="3:4")
    none = task("no fingerprint here", 2)
    d = _decisions(_run([a, b, c, other_kind, none], [StructuralStep()]), "structural")
    assert [d[x.task_id]["keep"] for x in (a, b)].count(False) == 1
    assert d[c.task_id]["keep"] and d[other_kind.task_id]["keep"]
    assert d[none.task_id]["keep"] and d[none.task_id]["reason"] == "no_fingerprint"


def test_signatures_equal_datasketch_minhash():
    from datasketch import MinHash

    shingles, _ = shingle_batch([t.prompt_text for t in gym_tasks(20)], "word", 5)
    sigs = MinHasher(128, seed=3).signatures(shingles)
    for i in range(len(shingles)):
        m = MinHash(num_perm=128, seed=3, hashfunc=int, scheme="affine32")
        m.update_batch(MinHasher.input_hashes(shingles[i]).tolist())
        assert np.array_equal(m.hashvalues, sigs[i])


def test_band_params_are_permissive():
    bands, rows = band_params(0.8, 128, 0.99)
    assert candidate_probability(0.8, bands, rows) >= 0.99 and bands * rows <= 128
    # datasketch's own optimum for threshold 0.8 finds far fewer pairs at J = 0.8.
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    assert candidate_probability(0.8, lsh.b, lsh.r) < 0.6


def test_numpy_bands_give_datasketch_candidates():
    """The in-memory banding proposes exactly the pairs datasketch's MinHashLSH(params=(b, r)) does."""
    from datasketch import LeanMinHash, MinHashLSH

    from rlvr.curate.lsh import band_candidates

    rng = random.Random(6)
    base = gym_tasks(150, seed=8)
    texts = [t.prompt_text for t in base] + [_edit_words(t.prompt_text, rng, 2) for t in base[:60]]
    shingles, _ = shingle_batch(texts, "word", 5)
    sigs = MinHasher(128, seed=1).signatures(shingles)
    bands, rows = band_params(0.8, 128, 0.99)
    left, right = band_candidates(sigs, bands, rows)
    ours = set(zip(left.tolist(), right.tolist()))
    lsh = MinHashLSH(num_perm=128, params=(bands, rows))
    sketches = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in sigs]
    for i, m in enumerate(sketches):
        lsh.insert(i, m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(sketches) for j in lsh.query(m) if i != j}
    assert len(theirs) > 60 and ours == theirs


def _edit_words(text: str, rng: random.Random, n_edits: int) -> str:
    """Delete, replace or insert n_edits letter-only words (numbers stay, so guards stay neutral)."""
    words = text.split()
    fillers = ["really", "quite", "exactly", "also", "then", "now", "still", "just"]
    for _ in range(n_edits):
        letters = [i for i, w in enumerate(words) if w.isalpha()]
        op = rng.randrange(3)
        if op == 0 and len(letters) > 3:
            del words[rng.choice(letters)]
        elif op == 1 and letters:
            words[rng.choice(letters)] = rng.choice(fillers)
        else:
            words.insert(rng.randrange(len(words) + 1), rng.choice(fillers))
    return " ".join(words)


def test_near_duplicate_recall_and_precision_against_exact_jaccard():
    """Variants at many edit distances; truth is the exact Jaccard of every pair's shingle sets."""
    rng = random.Random(1)
    base = [t for t in gym_tasks(300, seed=5) if len(t.prompt_text.split()) >= 25][:120]
    tasks = list(base)
    for t in base[:100]:
        for n_edits in (1, 2, 5):
            tasks.append(task(_edit_words(t.prompt_text, rng, n_edits), t.answer, kind=t.kind))
    tasks = list({t.task_id: t for t in tasks}.values())
    config = CurateConfig(steps=["minhash"], same_numbers=False, same_answer=False)
    step = MinHashStep(config)
    result = _run(tasks, [step])
    shingles, _ = shingle_batch([t.prompt_text for t in tasks], "word", config.shingle_size)
    sets = [set(shingles[i].tolist()) for i in range(len(tasks))]
    truth = {(i, j) for i, j in itertools.combinations(range(len(tasks)), 2)
             if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= 0.8}
    assert len(truth) >= 40, "the corpus must contain enough true near-duplicate pairs to measure"
    found = {tuple(sorted(p)) for p in step.confirmed_pairs}
    index = {t.task_id: i for i, t in enumerate(tasks)}
    found = {tuple(sorted((index[a], index[b]))) for a, b in found}
    recall = len(truth & found) / len(truth)
    precision = len(truth & found) / max(1, len(found))
    assert recall >= 0.97, f"near-duplicate recall {recall:.3f}"
    assert precision == 1.0, "confirmed pairs are checked by exact Jaccard, so none may be below the threshold"
    # Every drop names a kept item it is a near-duplicate of (directly or through its cluster).
    d = _decisions(result, "minhash")
    for item_id, dec in d.items():
        if not dec["keep"]:
            assert dec["reason"] == "near_duplicate" and d[dec["evidence"]["matched_id"]]["keep"]
            assert dec["evidence"]["score"] == pytest.approx(
                jaccard(shingles[index[item_id]], shingles[index[dec["evidence"]["matched_id"]]]))


def test_number_changed_and_templated_tasks_are_not_near_duplicates():
    rng = random.Random(2)
    farms = [farm_task(c, h) for c in range(1, 9) for h in range(1, 9)]  # one template, 64 instances
    copies = [task(light_edit(t.prompt_text, rng)[0], t.answer, kind="test.farm") for t in farms[:10]]
    result = _run(farms + copies, [MinHashStep(CurateConfig(steps=["minhash"]))])
    d = _decisions(result, "minhash")
    assert all(d[t.task_id]["keep"] or d[t.task_id]["evidence"]["matched_id"] in {c.task_id for c in copies}
               for t in farms)
    dropped = {k for k, v in d.items() if not v["keep"]}
    assert len(dropped) == 10, "exactly one of each farm task and its light copy goes"
    # Without the guards, the shared template makes number-changed tasks look like near-duplicates.
    loose = _run(farms, [MinHashStep(CurateConfig(steps=["minhash"], same_numbers=False, same_answer=False,
                                                  threshold=0.7))])
    assert loose.counts["dropped"].get("near_duplicate", 0) > 10


def test_char_shingles_and_books_add_up():
    rng = random.Random(3)
    tasks = gym_tasks(60, seed=9)
    tasks += [task(light_edit(t.prompt_text, rng)[0].replace("  ", " "), t.answer) for t in tasks[:15]]
    config = CurateConfig(steps=["exact", "minhash"], shingle="char", shingle_size=8)
    result = _run(tasks + tasks[:5], [ExactStep(), MinHashStep(config)])
    c = result.counts
    assert c["in"] == len(tasks) + 5
    assert c["in"] == c["kept"] + sum(c["dropped"].values()) + c["quarantined"]
    assert c["dropped"]["duplicate_id"] == 5
    assert sum(c["dropped"].values()) >= 5 + 10
    drops = [d for d in result.decisions.to_pylist() if not d["keep"]]
    assert len(drops) == sum(c["dropped"].values()), "exactly one drop decision per dropped input row"
