"""Near-duplicate dedupe: MinHash signatures, a permissive LSH index, exact-Jaccard confirmation.

datasketch's `MinHashLSH(threshold=0.8, num_perm=128)` picks 9 bands of 13 rows to balance
false positives against false negatives, so a pair at Jaccard 0.8 becomes a candidate with
probability 1 - (1 - 0.8**13)**9, about 0.40: most near-duplicates are never seen. Here the
band setting is deliberately permissive (`band_params`: the largest rows-per-band that still
gives probability >= `recall` at the threshold, e.g. 21 bands of 6 rows, 0.998 at 0.8), and
every candidate pair is then confirmed by the exact Jaccard similarity of the two shingle
sets, so the extra candidates cost a set intersection, never a false drop.

Signatures are computed in bulk with numpy and are bit-identical to datasketch's MinHash with
the "affine32" scheme and a hash function returning our 32-bit shingle hashes (the tests check
this). In memory, bands are matched with array operations that propose exactly the pairs
datasketch's `MinHashLSH(params=(bands, rows))` would; with `lsh_redis` the index is that
`MinHashLSH` itself, fed `LeanMinHash` objects, on datasketch's Redis storage, shared by several
workers (rlvr.curate.lsh).

Guards make text similarity safe for verifiable tasks: a pair is only a duplicate when both
items contain the same multiset of numbers (`same_numbers`; by default only for rlvr tasks,
not plain text, see rlvr.curate.guards) and, when both have reference answers, the same
normalised answer (`same_answer`). Templated procedural prompts ("how many legs do 13 crabs
and 7 flies have") differ in exactly those places.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlvr.curate.base import (
    VERDICT_SCHEMA,
    cluster_from_pairs,
    group_representatives,
    group_verdicts,
    quality_array,
    rank_order,
)
from rlvr.curate.guards import numbers_guard, pair_guards
from rlvr.curate.text import (
    Ragged,
    byte_batch,
    hash_strings,
    ngram_hashes,
    normalize,
    number_signature,
    tokenize_batch,
)

log = logging.getLogger(__name__)

_MASK32 = np.uint64(0xFFFFFFFF)
_CHUNK = 1 << 22  # shingle x permutation products per numpy step (16 MiB of uint32)


def band_params(threshold: float, num_perm: int, recall: float) -> tuple[int, int]:
    """(bands, rows): the fewest-false-candidate banding whose hit probability at `threshold` is
    at least `recall`, using as many of the num_perm hash values as possible."""
    for rows in range(num_perm // 2, 0, -1):
        bands = num_perm // rows
        if bands < 2:
            continue
        if 1.0 - (1.0 - threshold ** rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - similarity ** rows) ** bands


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class MinHasher:
    """Bulk MinHash signatures, equal to datasketch MinHash(num_perm, seed, scheme="affine32")."""

    def __init__(self, num_perm: int = 128, seed: int = 1):
        from datasketch import MinHash

        self.num_perm, self.seed = num_perm, seed
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self.a = np.asarray(a, dtype=np.uint32)[None, :]
        self.b = np.asarray(b, dtype=np.uint32)[None, :]

    @staticmethod
    def input_hashes(shingles: np.ndarray) -> np.ndarray:
        """The 32-bit values signatures are built from (the low half of each shingle hash)."""
        return (shingles & _MASK32).astype(np.uint32)

    def signatures(self, shingles: Ragged) -> np.ndarray:
        """(n_docs, num_perm) uint32; a document without shingles gets the empty value 2**32-1."""
        n = len(shingles)
        out = np.full((n, self.num_perm), np.uint32(0xFFFFFFFF), dtype=np.uint32)
        lengths = shingles.lengths
        docs = np.flatnonzero(lengths > 0)
        if not len(docs):
            return out
        hv = _fmix32(self.input_hashes(shingles.values))[:, None]
        per_chunk = max(1, _CHUNK // self.num_perm)
        start = 0
        while start < len(docs):
            # Whole documents per chunk, at least one even if it alone exceeds the budget.
            lo = shingles.offsets[docs[start]]
            stop = start + 1
            while stop < len(docs) and shingles.offsets[docs[stop] + 1] - lo <= per_chunk:
                stop += 1
            chunk = docs[start:stop]
            hi = shingles.offsets[chunk[-1] + 1]
            with np.errstate(over="ignore"):
                phv = hv[lo:hi] * self.a + self.b
            out[chunk] = np.minimum.reduceat(phv, shingles.offsets[chunk] - lo, axis=0)
            start = stop
        return out


def shingle_batch(texts: list[str], kind: str, size: int) -> tuple[Ragged, np.ndarray]:
    """Distinct shingle hashes per text and each text's number signature."""
    tokens = tokenize_batch(texts)
    if kind == "word":
        return ngram_hashes(tokens, size), number_signature(tokens)
    if kind == "char":
        return ngram_hashes(byte_batch(texts), size), number_signature(tokens)
    raise ValueError(f"unknown shingle kind {kind!r}; valid: word, char")


def answer_keys(answers: list[str | None]) -> np.ndarray:
    """A hash of each normalised answer; 0 where there is none (the guard then does not apply)."""
    out = np.zeros(len(answers), dtype=np.uint64)
    present = [i for i, a in enumerate(answers) if a is not None and a.strip()]
    if present:
        out[present] = hash_strings([normalize(answers[i]) or answers[i].strip() for i in present]) | np.uint64(1)
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted arrays of distinct hashes."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def jaccard_pairs(shingles: list[np.ndarray], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of many pairs at once (a sparse row-wise product)."""
    if not len(left):
        return np.zeros(0)
    from scipy import sparse

    used = np.unique(np.concatenate([left, right]))
    lengths = np.array([len(shingles[i]) for i in used], dtype=np.int64)
    values = np.concatenate([shingles[i] for i in used]) if len(used) else np.zeros(0, np.uint64)
    _, cols = np.unique(values, return_inverse=True)
    rows = np.repeat(np.arange(len(used)), lengths)
    x = sparse.csr_matrix((np.ones(len(cols), dtype=np.float64), (rows, cols.ravel())),
                          shape=(len(used), int(cols.max()) + 1 if len(cols) else 0))
    a, b = np.searchsorted(used, left), np.searchsorted(used, right)
    inter = np.asarray(x[a].multiply(x[b]).sum(axis=1)).ravel()
    union = lengths[a] + lengths[b] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def _list_column(ragged: Ragged) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(ragged.offsets.astype(np.int32)), pa.array(ragged.values))


def _ragged(column: pa.ChunkedArray) -> Ragged:
    arr = column.combine_chunks()
    offsets = np.asarray(arr.offsets, dtype=np.int64)
    values = arr.values.to_numpy(zero_copy_only=False)
    return Ragged(values[offsets[0]:offsets[-1]], offsets - offsets[0])


class MinHashStep:
    """Near-duplicate dedupe (see the module docstring); `config` is a CurateConfig."""

    name = "minhash"
    reason = "near_duplicate"

    @classmethod
    def from_config(cls, config, cache=None) -> MinHashStep:
        return cls(config)

    def __init__(self, config):
        self.config = config
        self.hasher = MinHasher(config.num_perm, config.minhash_seed)
        self.bands, self.rows = band_params(config.threshold, config.num_perm, config.lsh_recall)
        self.confirmed_pairs: list[tuple[str, str]] = []
        self.confirmed_similarity = np.zeros(0)
        log.info("minhash: %d bands x %d rows; P(candidate) at J=%.2f is %.4f", self.bands, self.rows,
                 config.threshold, candidate_probability(config.threshold, self.bands, self.rows))

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        shingles, numsig = shingle_batch(batch.column("text").to_pylist(), self.config.shingle,
                                         self.config.shingle_size)
        sigs = self.hasher.signatures(shingles)
        return pa.record_batch({
            "id": batch.column("id"),
            "quality": batch.column("quality"),
            "numbers": pa.array(numsig, pa.uint64()),
            "answer_key": pa.array(answer_keys(batch.column("answer").to_pylist()), pa.uint64()),
            "task": pc.not_equal(pc.fill_null(batch.column("kind"), ""), ""),
            "signature": pa.FixedSizeListArray.from_arrays(pa.array(sigs.ravel()), self.config.num_perm),
            "shingles": _list_column(shingles),
        })

    def decide(self, scores: pa.Table) -> pa.Table:
        if scores.num_rows == 0:
            return VERDICT_SCHEMA.empty_table()
        from rlvr.curate.lsh import LSHIndex, band_candidates

        items = _Items.from_scores(scores, self.config.num_perm)
        if self.config.lsh_redis:
            index = LSHIndex(self.config, self.bands, self.rows)
            index.add(items)
            left, right = index.candidate_pairs(items)  # indices into items (external ones appended)
            source = f"minhash (shared index {index.basename})"
        else:
            has_shingles = np.array([len(s) > 0 for s in items.shingles], dtype=bool)
            left, right = band_candidates(items.sigs, self.bands, self.rows, has_shingles,
                                          max_bucket=self.config.max_bucket)
            source = "minhash"
        left, right, sims, guard = self._confirm(items, left, right)
        source = f"{source}; {guard}"
        # Kept for inspection (tests, benchmarks): every confirmed near-duplicate pair and its Jaccard.
        self.confirmed_pairs = [(items.ids[a], items.ids[b]) for a, b in zip(left.tolist(), right.tolist())]
        self.confirmed_similarity = sims
        n = len(items.ids)
        groups, sizes = cluster_from_pairs(n, left, right)
        rank = rank_order(items.ids, items.quality)
        rep = group_representatives(groups, rank)
        local = items.n_local
        to_rep = np.full(n, np.nan)
        moved = np.flatnonzero(rep != np.arange(n))
        to_rep[moved] = jaccard_pairs(items.shingles, moved, rep[moved])
        detail = [self._detail(i, rep[i], sizes[i], items) for i in range(n)]
        # Verdicts over every item seen (external ones may be representatives), returned for ours.
        verdicts = group_verdicts(items.ids, rep, sizes, self.reason, source, score=to_rep, detail=detail)
        return verdicts.slice(0, local)

    def _confirm(self, items: _Items, left: np.ndarray, right: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """Keep candidate pairs that pass the guards and reach the Jaccard threshold."""
        cfg = self.config
        guarded, guard = numbers_guard(cfg.same_numbers, items.task)
        ok = pair_guards(cfg, left, right, items.numbers, items.answers, guarded)
        left, right = left[ok], right[ok]
        sims = jaccard_pairs(items.shingles, left, right)
        hit = sims >= cfg.threshold if len(sims) else np.zeros(0, bool)
        log.info("minhash: %d candidate pairs passed the guards, %d confirmed", len(left), int(hit.sum()))
        return left[hit], right[hit], sims[hit], guard

    @staticmethod
    def _detail(i: int, rep: int, size: int, items: _Items) -> str:
        if rep == i:
            return f"kept over {size - 1} near-duplicate(s)" if size > 1 else ""
        where = "" if rep < items.n_local else " (already in the shared index)"
        return f"cluster of {size}; kept {items.ids[rep]}{where}"


class _Items:
    """Columns of the scored table as numpy arrays; external items (from a shared index) appended."""

    def __init__(self, ids, quality, numbers, answers, sigs, shingles: list[np.ndarray], n_local: int,
                 task: np.ndarray | None = None):
        self.ids, self.quality, self.numbers, self.answers = ids, quality, numbers, answers
        self.task = np.ones(len(ids), dtype=bool) if task is None else task
        self.sigs, self.shingles, self.n_local = sigs, shingles, n_local

    @classmethod
    def from_scores(cls, scores: pa.Table, num_perm: int) -> _Items:
        sig = scores.column("signature").combine_chunks()
        sigs = sig.values.to_numpy(zero_copy_only=False).reshape(-1, num_perm)
        ragged = _ragged(scores.column("shingles"))
        return cls(
            ids=scores.column("id").to_pylist(),
            quality=quality_array(scores),
            numbers=scores.column("numbers").to_numpy(),
            answers=scores.column("answer_key").to_numpy(),
            sigs=sigs,
            shingles=[ragged[i] for i in range(len(ragged))],
            n_local=scores.num_rows,
            task=scores.column("task").to_numpy(zero_copy_only=False) if "task" in scores.column_names else None,
        )

    def append_external(self, ids: list[str], quality: np.ndarray, numbers: np.ndarray, answers: np.ndarray,
                        shingles: list[np.ndarray]) -> None:
        self.ids = self.ids + ids
        self.quality = np.concatenate([self.quality, quality])
        self.numbers = np.concatenate([self.numbers, numbers])
        self.answers = np.concatenate([self.answers, answers])
        self.shingles = self.shingles + shingles
        # Items from other runs carry no kind: they take the guard of this run's items.
        self.task = np.concatenate([self.task, np.full(len(ids), bool(self.task[:self.n_local].all()))])
