"""Semantic dedupe (SemDeDup, Abbas et al. 2023): near-identical meaning, different wording.

Items are embedded (bundled MiniLM by default, cached by content hash), clustered with
k-means so that only items in the same cluster are compared, and two items of a cluster whose
cosine similarity is at least 1 - eps are duplicates. Duplicate pairs are linked into
connected components and each component keeps one member by the shared keep rule (rlvr.curate.base),
the same as MinHash, so "which copy survives" means one thing across steps.

The same guards as near-duplicate dedupe apply, and matter even more here: a sentence embedder
places "John has 3 apples and eats 1" and "John has 5 apples and eats 2" at cosine ~0.99, but
for verifiable tasks those are two problems. Pairs with different numbers or (when both have
one) different reference answers are never duplicates.
"""

from __future__ import annotations

import logging
import math

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
from rlvr.curate.minhash import answer_keys
from rlvr.curate.text import number_signature, tokenize_batch
from rlvr.models.embed import EmbeddingCache

log = logging.getLogger(__name__)

_BLOCK = 2048  # rows of a cluster compared at once (bounds the similarity matrix's memory)


def n_clusters(n: int, requested: int) -> int:
    """k for k-means: the requested value, else about sqrt(n/2), at most n."""
    if n <= 1:
        return 1
    k = requested if requested > 0 else max(1, round(math.sqrt(n / 2)))
    return min(k, n)


def kmeans_labels(emb: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster labels; MiniBatchKMeans for large inputs (same result type, bounded time)."""
    if k <= 1:
        return np.zeros(len(emb), dtype=np.int64)
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(emb) > 20_000:
        model = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=3)
    else:
        model = KMeans(n_clusters=k, random_state=seed, n_init=1)
    return model.fit_predict(emb).astype(np.int64)


def similar_pairs(emb: np.ndarray, labels: np.ndarray, min_cos: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) in the same cluster with cosine >= min_cos, with their cosines."""
    left, right, sims = [], [], []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < 2:
            continue
        sub = emb[members]
        for start in range(0, len(members), _BLOCK):
            block = sub[start:start + _BLOCK] @ sub.T
            rows, cols = np.nonzero(block >= min_cos)
            rows = rows + start
            upper = cols > rows
            left.append(members[rows[upper]])
            right.append(members[cols[upper]])
            sims.append(block[rows[upper] - start, cols[upper]])
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate(left), np.concatenate(right), np.concatenate(sims)


class SemanticStep:
    """SemDeDup over the items that reach it; `config` is a CurateConfig."""

    name = "semantic"
    reason = "semantic_duplicate"
    embeds = True  # the runner shares one embedding cache among the steps that embed

    @classmethod
    def from_config(cls, config, cache: EmbeddingCache | None = None) -> SemanticStep:
        return cls(config, cache=cache)

    def __init__(self, config, cache: EmbeddingCache | None = None):
        self.config = config
        self.cache = cache or EmbeddingCache(config.embedder)

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = batch.column("text").to_pylist()
        emb = self.cache.embed(texts)
        dim = emb.shape[1] if len(texts) else 1
        return pa.record_batch({
            "id": batch.column("id"),
            "quality": batch.column("quality"),
            "numbers": pa.array(number_signature(tokenize_batch(texts)), pa.uint64()),
            "answer_key": pa.array(answer_keys(batch.column("answer").to_pylist()), pa.uint64()),
            "task": pc.not_equal(pc.fill_null(batch.column("kind"), ""), ""),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(emb.ravel(), pa.float32()), dim),
        })

    def decide(self, scores: pa.Table) -> pa.Table:
        if scores.num_rows == 0:
            return VERDICT_SCHEMA.empty_table()
        cfg = self.config
        ids = scores.column("id").to_pylist()
        n = len(ids)
        emb_col = scores.column("embedding").combine_chunks()
        emb = emb_col.values.to_numpy(zero_copy_only=False).reshape(n, -1)
        labels = kmeans_labels(emb, n_clusters(n, cfg.semantic_clusters), cfg.seed)
        left, right, sims = similar_pairs(emb, labels, 1.0 - cfg.semantic_eps)
        numbers = scores.column("numbers").to_numpy()
        answers = scores.column("answer_key").to_numpy()
        guarded, guard = numbers_guard(cfg.same_numbers, scores.column("task").to_numpy(zero_copy_only=False))
        ok = pair_guards(cfg, left, right, numbers, answers, guarded)
        log.info("semantic: %d pairs at cosine >= %.3f, %d pass the guards", len(left), 1 - cfg.semantic_eps,
                 int(ok.sum()))
        groups, sizes = cluster_from_pairs(n, left[ok], right[ok])
        rep = group_representatives(groups, rank_order(ids, quality_array(scores)))
        to_rep = np.where(rep == np.arange(n), np.nan, np.einsum("ij,ij->i", emb, emb[rep]))
        detail = [f"cosine {c:.3f} to kept item; k-means cluster {lab}" if r != i
                  else (f"kept over {s - 1} semantic duplicate(s)" if s > 1 else "")
                  for i, (r, c, lab, s) in enumerate(zip(rep, to_rep, labels, sizes))]
        return group_verdicts(ids, rep, sizes, self.reason, f"embeddings {cfg.embedder}; {guard}", score=to_rep,
                              detail=detail)
