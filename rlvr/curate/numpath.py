"""Paraphrases that change every name and object but keep the numbers: retrieval by number sets.

The lexical retrieval of rlvr.curate.decontam finds paraphrases through the rare words they
share with the benchmark item (names, unusual nouns). A retelling with other people and other
things ("Janet's ducks lay 16 eggs" -> "Priya's hens lay 16 eggs") shares none of them, and its
sentence-embedding cosine to the source is only 0.4 to 0.87 (median 0.67 on our hand-written
set), no higher than unrelated word problems. What such a retelling keeps is the problem itself:

- its numbers: nearly all of the benchmark item's distinct numbers occur in the task
  (`NUMBER_COVERAGE`), the task has few numbers of its own (`TASK_COVERAGE`), and together they
  are specific: the sum of their IDF over the benchmark items reaches `SPECIFICITY` (2, 3 and
  10 appear everywhere; 1800 or 7.50 single out an item);
- their order: with three or more shared numbers, at least `ORDER` of the number pairs appear in
  the same order;
- its skeleton: the text with every word rare in the benchmark set (names, objects) masked
  out keeps the relational wording ("3 times as many", "how many ... left", "per hour"); the
  Dice overlap of skeleton bigrams is the `skeleton` score.

A proposed pair is a paraphrase when embedding cosine + skeleton Dice >= `paraphrase_structure`
(config, default 1.0). The constants were set on the hand-written renamed set of
tests/curate/paraphrases.py (so recall on it is optimistic) while checking that none of the 40
same-style look-alikes (new questions, new numbers), no clean reasoning-gym or farm task, and no
GSM8K test question against MATH-500 + MMLU-STEM is proposed and confirmed.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from rlvr.curate.postings import Postings
from rlvr.curate.text import TokenBatch

NUMBER_COVERAGE = 0.8  # share of the benchmark item's distinct numbers the task must contain
TASK_COVERAGE = 0.75  # share of the task's distinct numbers that are the benchmark item's
SPECIFICITY = 5.0  # summed IDF of the shared numbers
ORDER = 0.75  # concordant share of shared-number pairs (when three or more are shared)
SKELETON_DF = 0.01  # words in at least this share of benchmark items are skeleton words


def _ordered_numbers(tokens: TokenBatch, i: int) -> list[int]:
    """Distinct number hashes of document i, in order of first appearance."""
    lo, hi = tokens.offsets[i], tokens.offsets[i + 1]
    nums = tokens.hashes[lo:hi][tokens.is_number[lo:hi]].tolist()
    return list(dict.fromkeys(nums))


def _skeleton_bigrams(tokens: TokenBatch, i: int, skeleton: set[int]) -> Counter:
    lo, hi = tokens.offsets[i], tokens.offsets[i + 1]
    hashes, is_num = tokens.hashes[lo:hi].tolist(), tokens.is_number[lo:hi].tolist()
    seq = [h if (n or h in skeleton) else 0 for h, n in zip(hashes, is_num)]
    return Counter((a, b) for a, b in zip(seq, seq[1:]) if a or b)


def _dice(a: Counter, b: Counter) -> float:
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


def _concordance(doc: list[int], item: list[int]) -> float:
    pos = {x: k for k, x in enumerate(doc)}
    common = [x for x in item if x in pos]
    pairs = [(pos[common[a]], pos[common[b]]) for a in range(len(common)) for b in range(a + 1, len(common))]
    return sum(p < q for p, q in pairs) / len(pairs) if len(common) >= 3 else 1.0


class NumberIndex:
    """Benchmark items by their numbers, for proposing renamed paraphrases (module docstring)."""

    def __init__(self, tokens: TokenBatch):
        n_items = len(tokens)
        self.tokens = tokens
        self.numbers = [_ordered_numbers(tokens, i) for i in range(n_items)]
        flat = np.array([h for nums in self.numbers for h in nums], dtype=np.uint64)
        owner = np.repeat(np.arange(n_items), [len(nums) for nums in self.numbers])
        values, df = np.unique(flat, return_counts=True)
        self.idf = {int(v): math.log((1 + n_items) / (1 + d)) + 1 for v, d in zip(values, df)}
        self.postings = Postings(flat, owner) if len(flat) else None
        self.sizes = np.array([len(nums) for nums in self.numbers], dtype=np.int64)
        # Skeleton words: any token found in at least SKELETON_DF of the items.
        doc_of = np.repeat(np.arange(n_items), tokens.lengths)
        keys = np.unique(np.stack([doc_of.astype(np.uint64), tokens.hashes]), axis=1)[1] if len(doc_of) else flat
        words, counts = np.unique(keys, return_counts=True)
        self.skeleton = set(words[counts >= max(2, SKELETON_DF * n_items)].tolist())
        self._bigrams: dict[int, Counter] = {}

    def item_bigrams(self, item: int) -> Counter:
        if item not in self._bigrams:
            self._bigrams[item] = _skeleton_bigrams(self.tokens, item, self.skeleton)
        return self._bigrams[item]

    def candidates(self, tokens: TokenBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(doc, item, skeleton Dice) for pairs passing the number tests."""
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        if self.postings is None or not tokens.is_number.any():
            return empty
        doc_numbers = [_ordered_numbers(tokens, i) for i in range(len(tokens))]
        flat = np.array([h for nums in doc_numbers for h in nums], dtype=np.uint64)
        doc_of = np.repeat(np.arange(len(tokens)), [len(nums) for nums in doc_numbers])
        at, items = self.postings.lookup(flat)
        if not len(at):
            return empty
        docs = doc_of[at]
        n_items = len(self.numbers)
        pair, shared = np.unique(docs * n_items + items, return_counts=True)
        d, it = pair // n_items, pair % n_items
        doc_sizes = np.array([len(nums) for nums in doc_numbers])[d]
        ok = (self.sizes[it] >= 2) & (shared >= NUMBER_COVERAGE * self.sizes[it]) & (shared >= TASK_COVERAGE * doc_sizes)
        out_d, out_i, out_s = [], [], []
        bigrams: dict[int, Counter] = {}
        for doc, item in zip(d[ok].tolist(), it[ok].tolist()):
            common = set(doc_numbers[doc]) & set(self.numbers[item])
            if sum(self.idf[h] for h in common) < SPECIFICITY:
                continue
            if _concordance(doc_numbers[doc], self.numbers[item]) < ORDER:
                continue
            if doc not in bigrams:
                bigrams[doc] = _skeleton_bigrams(tokens, doc, self.skeleton)
            out_d.append(doc)
            out_i.append(item)
            out_s.append(_dice(bigrams[doc], self.item_bigrams(item)))
        if not out_d:
            return empty
        return np.array(out_d, np.int64), np.array(out_i, np.int64), np.array(out_s)
