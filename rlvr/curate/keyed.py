"""Exact and structural dedupe: items with equal keys are duplicates; one per key is kept.

- exact: the key is a hash of the normalised prompt text and the normalised answer (see
  rlvr.curate.text: case, whitespace, punctuation and number words do not matter; numbers do).
  Two tasks with the same question but different reference answers are not exact duplicates:
  one of them is probably wrong, which is a verifier-sanity problem, not a dedupe decision.
- structural: the key is the task's canonical instance fingerprint (Task.fingerprint), set by
  generators that can compute one (e.g. an NP family hashing a relabelling-invariant form of
  its instance). Two TSP prompts that list the same cities in another order share it. Tasks
  without a fingerprint are kept with reason "no_fingerprint": the step cannot judge them.
  Fingerprints are compared within a task kind, so two families cannot collide by accident.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from rlvr.curate.base import (
    VERDICT_SCHEMA,
    group_representatives,
    group_verdicts,
    quality_array,
    rank_order,
)
from rlvr.curate.text import normalize

NO_FINGERPRINT = "no_fingerprint"


def _key_verdicts(scores: pa.Table, drop_reason: str, source: str) -> pa.Table:
    """Group items by their non-null `key`; rows with a null key are decided by the caller."""
    ids = scores.column("id").to_pylist()
    keys = scores.column("key").to_pylist()
    rank = rank_order(ids, quality_array(scores))
    _, labels, counts = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True,
                                  return_counts=True)
    rep = group_representatives(labels, rank)
    sizes = counts[labels]
    score = np.where(rep == np.arange(len(ids)), np.nan, 1.0)
    return group_verdicts(ids, rep, sizes, drop_reason, source, score=score)


class ExactStep:
    name = "exact"
    reason = "exact_duplicate"

    @classmethod
    def from_config(cls, config, cache=None) -> ExactStep:
        return cls()

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = batch.column("text").to_pylist()
        answers = batch.column("answer").to_pylist()
        keys = [
            hashlib.blake2b(f"{normalize(t)}\x00{normalize(a) if a is not None else ''}".encode(),
                            digest_size=16).hexdigest()
            for t, a in zip(texts, answers)
        ]
        return pa.record_batch({"id": batch.column("id"), "quality": batch.column("quality"),
                                "key": pa.array(keys, pa.string())})

    def decide(self, scores: pa.Table) -> pa.Table:
        if scores.num_rows == 0:
            return VERDICT_SCHEMA.empty_table()
        return _key_verdicts(scores, self.reason, "normalised prompt+answer")


class StructuralStep:
    name = "structural"
    reason = "structural_duplicate"

    @classmethod
    def from_config(cls, config, cache=None) -> StructuralStep:
        return cls()

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        kinds = batch.column("kind").to_pylist()
        fps = batch.column("fingerprint").to_pylist()
        keys = [None if not fp else f"{k or ''}\x00{fp}" for k, fp in zip(kinds, fps)]
        return pa.record_batch({"id": batch.column("id"), "quality": batch.column("quality"),
                                "key": pa.array(keys, pa.string())})

    def decide(self, scores: pa.Table) -> pa.Table:
        if scores.num_rows == 0:
            return VERDICT_SCHEMA.empty_table()
        has_key = scores.column("key").is_valid().to_numpy(zero_copy_only=False)
        with_key = scores.filter(pa.array(has_key))
        without = scores.filter(pa.array(~has_key))
        parts = []
        if with_key.num_rows:
            parts.append(_key_verdicts(with_key, self.reason, "instance fingerprint"))
        if without.num_rows:
            n = without.num_rows
            parts.append(pa.table({
                "id": without.column("id"),
                "keep": pa.array([True] * n),
                "reason": pa.array([NO_FINGERPRINT] * n, pa.string()),
                "matched_id": pa.nulls(n, pa.string()),
                "source": pa.nulls(n, pa.string()),
                "score": pa.nulls(n, pa.float64()),
                "detail": pa.array(["the generator gave no instance fingerprint"] * n, pa.string()),
            }, schema=VERDICT_SCHEMA))
        # Restore the input order so verdicts line up with the scored rows.
        table = pa.concat_tables(parts)
        position = {i: k for k, i in enumerate(table.column("id").to_pylist())}
        order = [position[i] for i in scores.column("id").to_pylist()]
        return table.take(pa.array(order))
