"""Decontamination: drop tasks that copy or paraphrase a benchmark test item.

Two checks, each recorded with the benchmark, the item id and the score:

1. Word n-gram coverage, as in Tulu 3: the fraction of a benchmark item's distinct n-grams
   (default n=8) that occur in the task; at >= `coverage` (default 0.5) the task is
   contaminated. Measured on the benchmark item's side, so a copy with a sentence added or a
   question reworded at the end still covers most of the item. Normalisation (rlvr.curate.text)
   makes case, whitespace, punctuation and number words irrelevant and keeps numbers. A
   benchmark item shorter than n tokens counts as covered when its whole token sequence occurs.

2. Paraphrase, for what n-grams cannot see. Embedding every task costs tens of milliseconds on a
   CPU, so it is done only for pairs a cheap vectorised retrieval proposes: the IDF-weighted
   Dice overlap of rare content words and numbers (`paraphrase_lexical`), with at least
   `paraphrase_numbers` of the benchmark item's numbers present in the task (a paraphrase keeps
   the quantities; a number-changed variant is a different problem). Proposed pairs are then
   confirmed by the cosine of sentence embeddings (`paraphrase_cosine`, bundled MiniLM, cached
   by content hash). A paraphrase that shares almost no rare words or numbers with its source
   is missed; the benchmarks report the measured recall.

Benchmarks are files (JSONL/Parquet/CSV, question in `benchmark_field`) or, with
allow_network, Hugging Face dataset ids; each file's name (its stem) names the benchmark.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from rlvr.curate.base import VERDICT_SCHEMA
from rlvr.curate.embed import EmbeddingCache
from rlvr.curate.text import Ragged, TokenBatch, _unique_per_doc, ngram_hashes, tokenize_batch
from rlvr.records import Quarantined

log = logging.getLogger(__name__)

CLEAN = "clean"
NGRAM = "contaminated_ngram"
PARAPHRASE = "contaminated_paraphrase"
RARE_DF = 0.05  # features in more than this fraction of benchmark items never propose a pair


@dataclass
class Benchmarks:
    names: list[str] = field(default_factory=list)  # benchmark name per item
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def load_benchmarks(paths: list[str], text_field: str = "question", id_field: str | None = None,
                    allow_network: bool = False) -> Benchmarks:
    """Read benchmark items; bad rows are quarantined (and logged), a useless file is an error."""
    from rlvr.io.readers import ReadOptions, read_documents

    out = Benchmarks()
    for path in paths:
        name = Path(path).stem if Path(path).exists() else str(path)
        res = read_documents(path, ReadOptions(text_field=text_field, id_field=id_field, allow_network=allow_network))
        for doc in res.documents:
            out.names.append(name)
            out.ids.append(doc.doc_id)
            out.texts.append(doc.text)
        out.quarantined.extend(res.quarantined)
        if res.quarantined:
            log.warning("benchmark %s: %d row(s) quarantined, e.g. %s", name, len(res.quarantined), res.quarantined[0])
    if not out.ids:
        raise ValueError("no benchmark items were read; check --benchmarks and --benchmark-field")
    return out


def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return shift + np.arange(total)


class _Postings:
    """Sorted distinct keys with, for each, the benchmark items holding it (a CSR inverted index)."""

    def __init__(self, keys: np.ndarray, items: np.ndarray):
        order = np.lexsort((items, keys))
        keys, items = keys[order], items[order]
        self.keys, first = np.unique(keys, return_index=True)
        self.offsets = np.append(first, len(keys)).astype(np.int64)
        self.items = items

    def lookup(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of each value's match, items) -> pairs (value index, item) for every posting."""
        if not len(self.keys) or not len(values):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, values), len(self.keys) - 1)
        hit = np.flatnonzero(self.keys[pos] == values)
        counts = self.offsets[pos[hit] + 1] - self.offsets[pos[hit]]
        return np.repeat(hit, counts), self.items[_expand(self.offsets[pos[hit]], counts)]


def _best_per_doc(docs: np.ndarray, items: np.ndarray, scores: np.ndarray, n_docs: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    best = np.zeros(n_docs)
    best_item = np.full(n_docs, -1, dtype=np.int64)
    if len(docs):
        order = np.lexsort((items, -scores, docs))  # best score first, then the lowest item
        first = np.ones(len(order), dtype=bool)
        first[1:] = docs[order][1:] != docs[order][:-1]
        sel = order[first]
        best[docs[sel]] = scores[sel]
        best_item[docs[sel]] = items[sel]
    return best, best_item


class NgramIndex:
    """Coverage of benchmark items' word n-grams (see the module docstring)."""

    def __init__(self, tokens: TokenBatch, n: int):
        self.n = n
        grams = ngram_hashes(tokens, n, whole_if_shorter=False)
        self.sizes = grams.lengths.astype(np.float64)
        self.full = _Postings(grams.values, grams.doc_ids())
        lengths = tokens.lengths
        short = np.flatnonzero((lengths > 0) & (lengths < n))
        self.short: dict[int, _Postings] = {}
        for length in np.unique(lengths[short]):
            members = short[lengths[short] == length]
            whole = ngram_hashes(_subset(tokens, members), int(length))
            self.short[int(length)] = _Postings(whole.values, members[whole.doc_ids()])

    def coverage(self, tokens: TokenBatch) -> tuple[np.ndarray, np.ndarray]:
        """(best coverage, best item or -1) per document."""
        n_docs = len(tokens)
        grams = ngram_hashes(tokens, self.n, whole_if_shorter=False)
        at, items = self.full.lookup(grams.values)
        docs = grams.doc_ids()[at]
        pair = docs * len(self.sizes) + items
        uniq, counts = np.unique(pair, return_counts=True)
        d, it = uniq // len(self.sizes), uniq % len(self.sizes)
        cov = counts / self.sizes[it]
        all_d, all_i, all_c = [d], [it], [cov]
        for length, postings in self.short.items():
            sub = ngram_hashes(tokens, length, whole_if_shorter=False)
            at, items = postings.lookup(sub.values)
            all_d.append(sub.doc_ids()[at])
            all_i.append(items)
            all_c.append(np.ones(len(at)))
        return _best_per_doc(np.concatenate(all_d), np.concatenate(all_i), np.concatenate(all_c), n_docs)


def _subset(tokens: TokenBatch, docs: np.ndarray) -> TokenBatch:
    lengths = tokens.lengths[docs]
    idx = _expand(tokens.offsets[docs], lengths)
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    content = tokens.is_content[idx] if tokens.is_content is not None else None
    return TokenBatch(tokens.hashes[idx], tokens.is_number[idx], offsets, content)


def _features(tokens: TokenBatch, numbers_only: bool = False) -> Ragged:
    """Distinct content-token hashes (or number hashes) per document."""
    mask = tokens.is_number if numbers_only else tokens.is_content
    doc_of = np.repeat(np.arange(len(tokens)), tokens.lengths)
    return _unique_per_doc(doc_of[mask], tokens.hashes[mask], len(tokens))


class LexicalIndex:
    """IDF-weighted Dice overlap of rare content words and numbers, for proposing paraphrases."""

    def __init__(self, tokens: TokenBatch):
        feats = _features(tokens)
        n_items = len(tokens)
        self.vocab, df = np.unique(feats.values, return_counts=True)
        self.max_idf = math.log(1 + n_items) + 1
        self.idf = np.log((1 + n_items) / (1 + df)) + 1
        rare = df <= max(1, int(RARE_DF * n_items))
        self.rare_idf = np.where(rare, self.idf, 0.0)
        item_of = feats.doc_ids()
        w = self.rare_idf[np.searchsorted(self.vocab, feats.values)]
        self.weight = np.bincount(item_of, weights=w, minlength=n_items)
        keep = w > 0
        self.postings = _Postings(feats.values[keep], item_of[keep])
        nums = _features(tokens, numbers_only=True)
        self.numbers = [frozenset(nums[i].tolist()) for i in range(n_items)]

    def _doc_weights(self, values: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(self.vocab, values), len(self.vocab) - 1)
        known = self.vocab[pos] == values
        return np.where(known, self.rare_idf[pos], self.max_idf)  # unseen words are as rare as can be

    def candidates(self, tokens: TokenBatch, min_dice: float, min_numbers: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (doc, item, dice, number coverage) passing both thresholds."""
        feats = _features(tokens)
        docs_of = feats.doc_ids()
        w = self._doc_weights(feats.values)
        doc_weight = np.bincount(docs_of, weights=w, minlength=len(tokens))
        at, items = self.postings.lookup(feats.values)
        docs = docs_of[at]
        shared = self.rare_idf[np.searchsorted(self.vocab, feats.values[at])]
        n_items = len(self.weight)
        pair, inv = np.unique(docs * n_items + items, return_inverse=True)
        inter = np.bincount(inv, weights=shared)
        d, it = pair // n_items, pair % n_items
        dice = 2 * inter / np.maximum(doc_weight[d] + self.weight[it], 1e-12)
        hit = dice >= min_dice
        d, it, dice = d[hit], it[hit], dice[hit]
        doc_numbers = _features(_subset(tokens, np.unique(d)), numbers_only=True) if len(d) else None
        local = {int(x): k for k, x in enumerate(np.unique(d))}
        num_cov = np.ones(len(d))
        for k, (doc, item) in enumerate(zip(d.tolist(), it.tolist())):
            want = self.numbers[item]
            if want:
                have = set(doc_numbers[local[doc]].tolist())
                num_cov[k] = len(want & have) / len(want)
        ok = num_cov >= min_numbers
        return d[ok], it[ok], dice[ok], num_cov[ok]


class DecontamStep:
    """Per-item contamination scores; `decide` compares them with the thresholds only."""

    name = "decontam"

    def __init__(self, config, cache: EmbeddingCache | None = None, benchmarks: Benchmarks | None = None):
        self.config = config
        self.bench = benchmarks if benchmarks is not None else load_benchmarks(
            list(config.benchmarks), config.benchmark_field, config.benchmark_id_field or None,
            config.allow_network)
        tokens = tokenize_batch(self.bench.texts)
        self.ngrams = NgramIndex(tokens, config.ngram)
        self.lexical = LexicalIndex(tokens) if config.paraphrase else None
        self._cache = cache
        log.info("decontam: %d benchmark items from %s", len(self.bench), sorted(set(self.bench.names)))

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = EmbeddingCache(self.config.embedder)
        return self._cache

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        cfg = self.config
        texts = batch.column("text").to_pylist()
        tokens = tokenize_batch(texts)
        cov, cov_item = self.ngrams.coverage(tokens)
        para = np.full(len(texts), np.nan)
        para_item = np.full(len(texts), -1, dtype=np.int64)
        lexical = np.full(len(texts), np.nan)
        if self.lexical is not None:
            d, it, dice, _ = self.lexical.candidates(tokens, cfg.paraphrase_lexical, cfg.paraphrase_numbers)
            todo = cov[d] < cfg.coverage  # already caught by n-grams: no need to pay for embeddings
            d, it, dice = d[todo], it[todo], dice[todo]
            if len(d):
                cos = self._pair_cosines(texts, d, it)
                best, best_pair = _best_per_doc(d, np.arange(len(d)), cos, len(texts))
                has = best_pair >= 0
                para[has] = best[has]
                para_item[has] = it[best_pair[has]]
                lexical[has] = dice[best_pair[has]]
        return pa.record_batch({
            "id": batch.column("id"),
            "ngram_score": pa.array(cov, pa.float64()),
            "ngram_item": pa.array(cov_item, pa.int64()),
            "para_score": pa.array(para, pa.float64(), mask=np.isnan(para)),
            "para_item": pa.array(para_item, pa.int64()),
            "para_lexical": pa.array(lexical, pa.float64(), mask=np.isnan(lexical)),
        })

    def _pair_cosines(self, texts: list[str], docs: np.ndarray, items: np.ndarray) -> np.ndarray:
        udocs, dpos = np.unique(docs, return_inverse=True)
        uitems, ipos = np.unique(items, return_inverse=True)
        ed = self.cache.embed([texts[i] for i in udocs])
        eb = self.cache.embed([self.bench.texts[i] for i in uitems])
        return np.einsum("ij,ij->i", ed[dpos], eb[ipos])

    def decide(self, scores: pa.Table) -> pa.Table:
        cfg = self.config
        n = scores.num_rows
        if n == 0:
            return VERDICT_SCHEMA.empty_table()
        cov = scores.column("ngram_score").to_numpy()
        cov_item = scores.column("ngram_item").to_numpy()
        para = scores.column("para_score").to_numpy(zero_copy_only=False)
        para_item = scores.column("para_item").to_numpy()
        lexical = scores.column("para_lexical").to_numpy(zero_copy_only=False)
        by_ngram = cov >= cfg.coverage
        by_para = ~by_ngram & (np.nan_to_num(para, nan=-1.0) >= cfg.paraphrase_cosine)
        reason = np.where(by_ngram, NGRAM, np.where(by_para, PARAPHRASE, CLEAN))
        # Evidence: the benchmark item behind the decision; for clean items the closest one seen.
        item = np.where(by_para, para_item, np.where(cov_item >= 0, cov_item, para_item))
        score = np.where(by_para, para, cov)
        details = []
        for k in range(n):
            if by_para[k]:
                details.append(f"paraphrase: embedding cosine {para[k]:.3f}, lexical overlap {lexical[k]:.2f}")
            elif not math.isnan(para[k]) and not by_ngram[k]:
                details.append(f"{cfg.ngram}-gram coverage {cov[k]:.2f}; closest paraphrase cosine {para[k]:.3f}")
            else:
                details.append(f"{cfg.ngram}-gram coverage {cov[k]:.2f}")
        return pa.table({
            "id": scores.column("id"),
            "keep": pa.array(reason == CLEAN),
            "reason": pa.array(reason.tolist(), pa.string()),
            "matched_id": pa.array([self.bench.ids[i] if i >= 0 else None for i in item], pa.string()),
            "source": pa.array([self.bench.names[i] if i >= 0 else None for i in item], pa.string()),
            "score": pa.array(score, pa.float64()),
            "detail": pa.array(details, pa.string()),
        }, schema=VERDICT_SCHEMA)
