"""Candidate pairs from LSH buckets, with a bounded cost for oversized buckets.

An LSH bucket is the set of items that agree on every row of one band. Emitting every pair of a
bucket of m items costs m(m-1)/2: fine for the handful of near-copies a band usually catches,
ruinous for boilerplate (a licence header in 50,000 files makes 1.25e9 pairs from one band).

Buckets of at most `max_bucket` items give all their pairs, exactly as datasketch's MinHashLSH
would. A larger bucket is reduced in two steps, both depending only on the bucket's members (never
on batch, shard or worker), so the local and the Ray engines propose the same pairs:

1. Exact copies collapse: members with the same full-signature hash are paired with the first of
   them (lowest index) only, m - d pairs for d distinct signatures.
2. If more than `max_bucket` distinct signatures remain, each one is paired with the first
   distinct member (a star) and with its next `WINDOW` neighbours in index order, about
   d * (WINDOW + 1) pairs; otherwise all d(d-1)/2 pairs.

Every candidate is still confirmed by the exact Jaccard similarity of its shingle sets, so the
reduction can only cost recall, never precision. Members of an oversized bucket that are
near-duplicates of each other are nearly always near-duplicates of the star's centre too (the
bucket exists because they share a long run of text), and clusters are transitive, so in the
measured cases (tests/curate/test_curate_buckets.py) nothing is lost.
"""

from __future__ import annotations

import numpy as np

WINDOW = 8  # neighbours each member of an oversized bucket is paired with, besides the star's centre
DEFAULT_MAX_BUCKET = 256


def signature_hash(sigs: np.ndarray) -> np.ndarray:
    """One 64-bit hash per signature row (equal signatures, equal hashes)."""
    from rlvr.curate.text import fmix64

    h = np.full(len(sigs), np.uint64(0x51ED27), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(sigs.shape[1] if sigs.ndim == 2 else 0):
            h = fmix64(h * np.uint64(0x9E3779B97F4A7C15) + sigs[:, j].astype(np.uint64))
    return h


def _small_run_pairs(d: np.ndarray, run_end: np.ndarray, live: np.ndarray) -> list[np.ndarray]:
    """All pairs inside runs (sorted docs `d`, run_end per position), one offset at a time."""
    out: list[np.ndarray] = []
    offset = 1
    while len(live):
        out.append(np.stack([d[live], d[live + offset]]))
        offset += 1
        live = live[live + offset < run_end[live]]
    return out


def _large_bucket_pairs(docs: np.ndarray, sighash: np.ndarray, max_bucket: int) -> np.ndarray:
    """(2, k) pairs for one oversized bucket (docs sorted ascending)."""
    order = np.lexsort((docs, sighash))
    sh, dd = sighash[order], docs[order]
    new = np.ones(len(sh), dtype=bool)
    new[1:] = sh[1:] != sh[:-1]
    group_first = dd[np.flatnonzero(new)[np.cumsum(new) - 1]]
    parts = [np.stack([group_first[~new], dd[~new]])]  # exact copies -> their first member
    reps = np.sort(dd[new])
    if len(reps) <= max_bucket:
        i, j = np.triu_indices(len(reps), k=1)
        parts.append(np.stack([reps[i], reps[j]]))
    else:
        parts.append(np.stack([np.full(len(reps) - 1, reps[0]), reps[1:]]))
        for w in range(1, WINDOW + 1):
            parts.append(np.stack([reps[:-w], reps[w:]]))
    return np.concatenate(parts, axis=1)


def bucket_pairs(keys: np.ndarray, docs: np.ndarray, sighash: np.ndarray | None = None,
                 max_bucket: int = DEFAULT_MAX_BUCKET) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (left < right, distinct) of items sharing a bucket key.

    keys, docs (and sighash) are parallel arrays, one row per (item, band); keys of different
    bands must differ (rlvr.curate.lsh.band_keys mixes the band number in).
    """
    if len(keys) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    docs = np.asarray(docs, dtype=np.int64)
    if sighash is None:
        sighash = np.arange(len(keys), dtype=np.uint64)  # no collapse: every member distinct
    order = np.lexsort((docs, keys))
    k, d, s = keys[order], docs[order], sighash[order]
    same_as_next = k[1:] == k[:-1]
    if not same_as_next.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    breaks = np.flatnonzero(~same_as_next) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.append(breaks, len(k))
    sizes = ends - starts
    run_end = np.repeat(ends, sizes)
    small = np.repeat(sizes <= max_bucket, sizes)
    live = np.flatnonzero(small & (run_end - np.arange(len(k)) > 1))
    parts = _small_run_pairs(d, run_end, live)
    for start, end in zip(starts[sizes > max_bucket].tolist(), ends[sizes > max_bucket].tolist()):
        parts.append(_large_bucket_pairs(d[start:end], s[start:end], max_bucket))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.concatenate(parts, axis=1)
    left, right = np.minimum(pairs[0], pairs[1]), np.maximum(pairs[0], pairs[1])
    keep = left != right
    return dedupe_pairs(left[keep], right[keep])


def dedupe_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (left, right) pairs, sorted."""
    if not len(left):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    n = int(max(left.max(), right.max())) + 1  # codes fit int64 up to ~3e9 items
    codes = np.unique(left.astype(np.int64) * n + right.astype(np.int64))
    return codes // n, codes % n
