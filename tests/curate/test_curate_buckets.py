"""Oversized LSH buckets: 50k near-copies of one licence paragraph cost a bounded number of pairs."""

from __future__ import annotations

import random

import numpy as np

from rlvr.curate.buckets import WINDOW, bucket_pairs
from rlvr.curate.config import CurateConfig
from rlvr.curate.items import Inputs, items_from_tasks
from rlvr.curate.lsh import band_candidates
from rlvr.curate.minhash import MinHasher, MinHashStep, band_params, shingle_batch
from rlvr.curate.runner import run_steps
from rlvr.records import Message, Provenance, Task, VerifierSpec

MIT = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files (the Software), to deal in the Software without restriction, including "
    "without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell "
    "copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the "
    "following conditions: The above copyright notice and this permission notice shall be included in all "
    "copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY "
    "KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A "
    "PARTICULAR PURPOSE AND NONINFRINGEMENT."
)
OTHER = (
    "Licensed under the Apache License, Version 2.0 (the License); you may not use this file except in "
    "compliance with the License. You may obtain a copy of the License at the address below. Unless required "
    "by applicable law or agreed to in writing, software distributed under the License is distributed on an "
    "AS IS BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the License for "
    "the specific language governing permissions and limitations under the License."
)
FILLER = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def _edit(text: str, rng: random.Random) -> str:
    """A small edit: one word replaced, or one word dropped, or nothing (an exact copy)."""
    words = text.split()
    what = rng.random()
    i = rng.randrange(len(words))
    if what < 0.45:
        words[i] = rng.choice(FILLER)
    elif what < 0.9:
        del words[i]
    return " ".join(words)


def _copies(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [_edit(MIT, rng) for _ in range(n)]


def test_a_bucket_of_50k_costs_linear_pairs():
    texts = _copies(50_000)
    config = CurateConfig(steps=["minhash"])
    bands, rows = band_params(config.threshold, config.num_perm, config.lsh_recall)
    shingles, _ = shingle_batch(texts, "word", 5)
    sigs = MinHasher(config.num_perm, config.minhash_seed).signatures(shingles)
    left, right = band_candidates(sigs, bands, rows, max_bucket=config.max_bucket)
    m = len(texts)
    # Without the reduction one band alone would give m(m-1)/2 = 1.25e9 pairs.
    assert len(left) <= bands * m * (WINDOW + 2)
    assert np.all(left < right) and len(np.unique(left * m + right)) == len(left)


def test_all_near_copies_still_cluster_and_other_text_survives():
    texts = _copies(50_000, seed=1) + [_edit(OTHER, random.Random(k)) for k in range(3)]
    tasks = [Task(kind="doc", prompt=[Message("user", t)], answer=None, verifier=VerifierSpec("exact_match"),
                  provenance=Provenance("test", "1", "", 0, i)) for i, t in enumerate(texts)]
    step = MinHashStep(CurateConfig(steps=["minhash"], same_answer=False))
    result = run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), [step], batch_size=8192)
    # One kept MIT copy (the items are unique by id) and one Apache copy; every other copy dropped.
    assert result.counts["kept"] == 2
    assert len(step.confirmed_pairs) <= 21 * len(texts) * (WINDOW + 2)


def test_small_buckets_give_every_pair_and_large_ones_collapse_copies():
    keys = np.array([7] * 5 + [9] * 3, dtype=np.uint64)
    docs = np.arange(8)
    left, right = bucket_pairs(keys, docs, max_bucket=8)
    assert len(left) == 10 + 3
    # 300 members, 30 distinct signatures: copies pair with their first, the 30 distinct ones all pairs.
    keys = np.zeros(300, dtype=np.uint64)
    sighash = (np.arange(300) % 30).astype(np.uint64)
    left, right = bucket_pairs(keys, np.arange(300), sighash, max_bucket=64)
    assert len(left) == (300 - 30) + 30 * 29 // 2
    # 1000 distinct members over the limit: a star plus a window.
    left, right = bucket_pairs(np.zeros(1000, np.uint64), np.arange(1000), np.arange(1000, dtype=np.uint64),
                               max_bucket=64)
    assert len(left) <= 1000 * (WINDOW + 1) and set(range(1, 1000)) <= set(right.tolist())
