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
   is missed; the benchmarks report the measured recall. A second retrieval (rlvr.curate.numpath)
   proposes pairs by their numbers instead, for paraphrases that change every name and object:
   the same specific numbers in the same order, confirmed when embedding cosine plus the overlap
   of the texts' skeletons (rare words masked) reaches `paraphrase_structure`.

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
from rlvr.curate.numpath import NumberIndex
from rlvr.curate.postings import Postings, expand
from rlvr.curate.text import Ragged, TokenBatch, fmix64, ngram_hashes, tokenize_batch, unique_per_doc
from rlvr.models.embed import EmbeddingCache
from rlvr.records import Quarantined

log = logging.getLogger(__name__)

CLEAN = "clean"
NGRAM = "contaminated_ngram"
PARAPHRASE = "contaminated_paraphrase"
RARE_DF = 0.05  # features in more than this fraction of benchmark items do not count for paraphrases
RETRIEVE_DF = 0.01  # only features this rare propose candidate pairs


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
        self.full = Postings(grams.values, grams.doc_ids())
        lengths = tokens.lengths
        short = np.flatnonzero((lengths > 0) & (lengths < n))
        self.short: dict[int, Postings] = {}
        for length in np.unique(lengths[short]):
            members = short[lengths[short] == length]
            whole = ngram_hashes(_subset(tokens, members), int(length))
            self.short[int(length)] = Postings(whole.values, members[whole.doc_ids()])

    def coverage(self, tokens: TokenBatch) -> tuple[np.ndarray, np.ndarray]:
        """(best coverage, best item or -1) per document."""
        n_docs, n_items = len(tokens), len(self.sizes)
        all_d, all_i, all_c = [], [], []
        grams = ngram_hashes(tokens, self.n, whole_if_shorter=False, distinct=False)
        at, items = self.full.lookup(grams.values)
        if len(at):
            # Count each matched n-gram once per (document, item), however often the document repeats it.
            pair = grams.doc_ids()[at] * n_items + items
            with np.errstate(over="ignore"):
                key = fmix64(grams.values[at] ^ (pair.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))
            _, first = np.unique(key, return_index=True)
            pair, counts = np.unique(pair[first], return_counts=True)
            all_d.append(pair // n_items)
            all_i.append(pair % n_items)
            all_c.append(counts / self.sizes[pair % n_items])
        for length, postings in self.short.items():
            sub = ngram_hashes(tokens, length, whole_if_shorter=False, distinct=False)
            at, items = postings.lookup(sub.values)
            all_d.append(sub.doc_ids()[at])
            all_i.append(items)
            all_c.append(np.ones(len(at)))
        if not all_d:
            return np.zeros(n_docs), np.full(n_docs, -1, dtype=np.int64)
        return _best_per_doc(np.concatenate(all_d), np.concatenate(all_i), np.concatenate(all_c), n_docs)


def _subset(tokens: TokenBatch, docs: np.ndarray) -> TokenBatch:
    lengths = tokens.lengths[docs]
    idx = expand(tokens.offsets[docs], lengths)
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    content = tokens.is_content[idx] if tokens.is_content is not None else None
    return TokenBatch(tokens.hashes[idx], tokens.is_number[idx], offsets, content)


def _features(tokens: TokenBatch, numbers_only: bool = False) -> Ragged:
    """Distinct content-token hashes (or number hashes) per document."""
    mask = tokens.is_number if numbers_only else tokens.is_content
    doc_of = np.repeat(np.arange(len(tokens)), tokens.lengths)
    return unique_per_doc(doc_of[mask], tokens.hashes[mask], len(tokens))


class LexicalIndex:
    """IDF-weighted Dice overlap of rare content words and numbers, for proposing paraphrases.

    Dice counts content features (numbers, words of 3+ letters) found in at most RARE_DF of the
    benchmark items. Pairs are generated only through the rarest ones (RETRIEVE_DF: names,
    distinctive numbers, unusual nouns), each pair's Dice is bounded from above, and only pairs
    that can still reach the threshold get their overlap computed exactly (a sparse row-wise
    product). This keeps the cost per task near a few microseconds on a 2,000-item benchmark.
    """

    def __init__(self, tokens: TokenBatch):
        from scipy import sparse

        feats = _features(tokens)
        n_items = len(tokens)
        self.vocab, df = np.unique(feats.values, return_counts=True)
        self.max_idf = math.log(1 + n_items) + 1
        idf = np.log((1 + n_items) / (1 + df)) + 1
        self.rare_idf = np.where(df <= max(1, int(RARE_DF * n_items)), idf, 0.0)
        self.retrieve = df <= max(1, int(RETRIEVE_DF * n_items))
        self.mid_idf = np.where(self.retrieve, 0.0, self.rare_idf)
        item_of = feats.doc_ids()
        col = np.searchsorted(self.vocab, feats.values)
        self.weight = np.bincount(item_of, weights=self.rare_idf[col], minlength=n_items)
        self.mid_weight = np.bincount(item_of, weights=self.mid_idf[col], minlength=n_items)
        sel = self.retrieve[col]
        self.postings = Postings(col[sel], item_of[sel])
        self.matrix = sparse.csr_matrix((np.ones(len(col)), (item_of, col)), shape=(n_items, len(self.vocab)))
        self._vocab = Postings(self.vocab, np.arange(len(self.vocab)))
        nums = _features(tokens, numbers_only=True)
        self.numbers = [frozenset(nums[i].tolist()) for i in range(n_items)]

    def _pairs(self, feats: Ragged, min_dice: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from scipy import sparse

        n_docs, n_items = len(feats), len(self.weight)
        docs_of = feats.doc_ids()
        idx, vpos = self._vocab.find(feats.values)
        known = np.zeros(len(feats.values), dtype=bool)
        known[idx] = True
        pos = np.zeros(len(feats.values), dtype=np.int64)
        pos[idx] = vpos
        w = np.where(known, self.rare_idf[pos], self.max_idf)  # unseen words are as rare as can be
        doc_weight = np.bincount(docs_of, weights=w, minlength=n_docs)
        doc_mid = np.bincount(docs_of[known], weights=self.mid_idf[pos[known]], minlength=n_docs)
        kp = np.flatnonzero(known)
        at, items = self.postings.lookup(pos[kp])
        docs = docs_of[kp[at]]
        pair, inv = np.unique(docs * n_items + items, return_inverse=True)
        rare_inter = np.bincount(inv, weights=self.rare_idf[pos[kp[at]]])
        d, it = pair // n_items, pair % n_items
        denom = np.maximum(doc_weight[d] + self.weight[it], 1e-12)
        bound = 2 * (rare_inter + np.minimum(doc_mid[d], self.mid_weight[it])) / denom
        ok = bound >= min_dice
        d, it, rare_inter, denom = d[ok], it[ok], rare_inter[ok], denom[ok]
        if not len(d):
            return d, it, np.zeros(0)
        mid = sparse.csr_matrix((self.mid_idf[pos[known]], (docs_of[known], pos[known])),
                                shape=(n_docs, len(self.vocab)))
        mid_inter = np.asarray(mid[d].multiply(self.matrix[it]).sum(axis=1)).ravel()
        dice = 2 * (rare_inter + mid_inter) / denom
        hit = dice >= min_dice
        return d[hit], it[hit], dice[hit]

    def candidates(self, tokens: TokenBatch, min_dice: float, min_numbers: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (doc, item, dice, number coverage) passing both thresholds."""
        d, it, dice = self._pairs(_features(tokens), min_dice)
        if not len(d):
            return d, it, dice, np.zeros(0)
        udocs = np.unique(d)
        doc_numbers = _features(_subset(tokens, udocs), numbers_only=True)
        local = {int(x): k for k, x in enumerate(udocs)}
        num_cov = np.ones(len(d))
        for k, (doc, item) in enumerate(zip(d.tolist(), it.tolist())):
            want = self.numbers[item]
            if want:
                num_cov[k] = len(want & set(doc_numbers[local[doc]].tolist())) / len(want)
        ok = num_cov >= min_numbers
        return d[ok], it[ok], dice[ok], num_cov[ok]


class DecontamStep:
    """Per-item contamination scores; `decide` compares them with the thresholds only."""

    name = "decontam"
    embeds = True  # paraphrase checks embed; the runner shares one cache with the semantic step

    @classmethod
    def from_config(cls, config, cache: EmbeddingCache | None = None) -> DecontamStep:
        return cls(config, cache=cache)

    def __init__(self, config, cache: EmbeddingCache | None = None, benchmarks: Benchmarks | None = None):
        self.config = config
        self.bench = benchmarks if benchmarks is not None else load_benchmarks(
            list(config.benchmarks), config.benchmark_field, config.benchmark_id_field or None,
            config.allow_network)
        tokens = tokenize_batch(self.bench.texts)
        self.ngrams = NgramIndex(tokens, config.ngram)
        self.lexical = LexicalIndex(tokens) if config.paraphrase else None
        self.numbers = NumberIndex(tokens) if config.paraphrase else None
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
        skeleton = np.full(len(texts), np.nan)
        if self.lexical is not None:
            d, it, dice, skel = self._paraphrase_candidates(tokens, cov)
            if len(d):
                cos = self._pair_cosines(texts, d, it)
                # The pair that clears its own test by the widest margin speaks for the document.
                margin = np.maximum(np.where(np.isnan(dice), -np.inf, cos - cfg.paraphrase_cosine),
                                    np.where(np.isnan(skel), -np.inf, cos + skel - cfg.paraphrase_structure))
                best, best_pair = _best_per_doc(d, np.arange(len(d)), margin, len(texts))
                has = best_pair >= 0
                para[has] = cos[best_pair[has]]
                para_item[has] = it[best_pair[has]]
                lexical[has] = dice[best_pair[has]]
                skeleton[has] = skel[best_pair[has]]
        return pa.record_batch({
            "id": batch.column("id"),
            "ngram_score": pa.array(cov, pa.float64()),
            "ngram_item": pa.array(cov_item, pa.int64()),
            "para_score": pa.array(para, pa.float64(), mask=np.isnan(para)),
            "para_item": pa.array(para_item, pa.int64()),
            "para_lexical": pa.array(lexical, pa.float64(), mask=np.isnan(lexical)),
            "para_skeleton": pa.array(skeleton, pa.float64(), mask=np.isnan(skeleton)),
        })

    def _paraphrase_candidates(self, tokens: TokenBatch, cov: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pairs from both retrievals, once each: (doc, item, lexical Dice or NaN, skeleton Dice or NaN)."""
        cfg = self.config
        d, it, dice, _ = self.lexical.candidates(tokens, cfg.paraphrase_lexical, cfg.paraphrase_numbers)
        nd, nit, skel = self.numbers.candidates(tokens)
        n_items = len(self.bench)
        codes = np.concatenate([d * n_items + it, nd * n_items + nit])
        pair, inverse = np.unique(codes, return_inverse=True)
        dice_all = np.full(len(pair), np.nan)
        skel_all = np.full(len(pair), np.nan)
        dice_all[inverse[:len(d)]] = dice
        skel_all[inverse[len(d):]] = skel
        docs, items = pair // n_items, pair % n_items
        todo = cov[docs] < cfg.coverage  # already caught by n-grams: no need to pay for embeddings
        return docs[todo], items[todo], dice_all[todo], skel_all[todo]

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
        skeleton = scores.column("para_skeleton").to_numpy(zero_copy_only=False) \
            if "para_skeleton" in scores.column_names else np.full(n, np.nan)
        cos = np.nan_to_num(para, nan=-1.0)
        by_lexical = ~np.isnan(lexical) & (cos >= cfg.paraphrase_cosine)
        by_numbers = ~np.isnan(skeleton) & (cos + np.nan_to_num(skeleton, nan=0.0) >= cfg.paraphrase_structure)
        by_para = ~by_ngram & (by_lexical | by_numbers)
        reason = np.where(by_ngram, NGRAM, np.where(by_para, PARAPHRASE, CLEAN))
        # Evidence: the benchmark item behind the decision; for clean items the closest one seen.
        item = np.where(by_para, para_item, np.where(cov_item >= 0, cov_item, para_item))
        score = np.where(by_para, para, cov)
        details = [""] * n
        for k in np.flatnonzero(by_para | (cov > 0) | ~np.isnan(para)).tolist():  # the rest has nothing to say
            if by_para[k] and by_lexical[k]:
                details[k] = f"paraphrase: embedding cosine {para[k]:.3f}, lexical overlap {lexical[k]:.2f}"
            elif by_para[k]:
                details[k] = (f"paraphrase with other names: same numbers, embedding cosine {para[k]:.3f} + "
                              f"skeleton overlap {skeleton[k]:.2f}")
            elif not math.isnan(para[k]) and not by_ngram[k]:
                details[k] = f"{cfg.ngram}-gram coverage {cov[k]:.2f}; closest paraphrase cosine {para[k]:.3f}"
            else:
                details[k] = f"{cfg.ngram}-gram coverage {cov[k]:.2f}"
        return pa.table({
            "id": scores.column("id"),
            "keep": pa.array(reason == CLEAN),
            "reason": pa.array(reason.tolist(), pa.string()),
            "matched_id": pa.array([self.bench.ids[i] if i >= 0 else None for i in item], pa.string()),
            "source": pa.array([self.bench.names[i] if i >= 0 else None for i in item], pa.string()),
            "score": pa.array(score, pa.float64()),
            "detail": pa.array(details, pa.string()),
        }, schema=VERDICT_SCHEMA)
