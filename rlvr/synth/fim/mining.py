"""Mined distractors: real spans from other passages that are similar, but not too similar.

A good wrong option reads like the answer (same kind of text, similar length, same topic) yet
says something else. We take candidate spans from the pool (the best spans of every other
passage), keep those of the same kind (prose vs code) and comparable length from *other pages*
(a neighbouring section of the same page is the likeliest place for an equally correct
sentence), shortlist them lexically with TF-IDF, and then keep those whose cosine similarity to
the answer under the bundled sentence embedder lies in a band: above `cosine_min` so the option
is plausible, below `cosine_max` so it is not a paraphrase of the answer.

Embeddings are batch-encoded per chunk of passages and cached by content hash (the project's
embedding cache, shared with curation). They are rounded to float16 and cosines to 4 decimals,
so a text embedded inside a different batch (tiny float differences) gives the same decisions.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvr.synth.fim.text import math_signatures, normalize


class Embeddings:
    """Rounded, cached sentence embeddings (one model load per process and model).

    Vectors come from the project-wide content-hash cache of rlvr.models.embed (SQLite under the
    rlvr cache, shared with curation), and are rounded to float16 here, so a text embedded inside
    a different batch (tiny float differences) leads to the same decisions.
    """

    def __init__(self, cache: Any):
        self.cache = cache

    @property
    def encoded(self) -> int:
        """Texts actually run through the model by this process (the rest came from the cache)."""
        return self.cache.computed

    def prefetch(self, texts: list[str]) -> None:
        """Batch-encode every text not cached yet (one model call for a whole chunk of passages)."""
        if texts:
            self.cache.embed(list(dict.fromkeys(texts)))

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.cache.embed(texts).astype(np.float16).astype(np.float32)


@functools.lru_cache(maxsize=4)
def shared_embeddings(model: str) -> Embeddings:
    from rlvr.models.embed import EmbeddingCache

    return Embeddings(EmbeddingCache(model))


SAME_TOPIC_FLOOR = 0.0  # lowest cosine to the answer for a span of the answer's own document or page


@dataclass(frozen=True)
class PoolSpan:
    """A span of some passage that may serve as another item's distractor."""

    text: str
    passage_id: str
    doc_id: str
    page: str
    kind: str
    n_tokens: int
    has_math: bool


@dataclass(frozen=True)
class Mined:
    text: str
    origin: dict[str, Any]


class Miner:
    """Finds mined distractors for an answer span among the pool's spans."""

    def __init__(self, pool: list[PoolSpan], cache: Embeddings, *, cosine_min: float, cosine_max: float,
                 shortlist: int, context_margin: float = 0.0, length_ratio: float = 1.6):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.pool, self.cache = pool, cache
        self.cosine_min, self.cosine_max, self.context_margin = cosine_min, cosine_max, context_margin
        self.shortlist_size, self.length_ratio = shortlist, length_ratio
        self.tfidf = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|\\[A-Za-z]+", min_df=1)
        self.matrix = self.tfidf.fit_transform([p.text for p in pool]) if pool else None
        self.kind = np.array([p.kind for p in pool])
        self.n_tokens = np.array([p.n_tokens for p in pool], dtype=np.float64)
        self.page = np.array([p.page for p in pool])
        self.doc = np.array([p.doc_id for p in pool])
        self.has_math = np.array([p.has_math for p in pool])

    def shortlist(self, text: str, kind: str, n_tokens: int, page: str, doc_id: str, has_math: bool) -> list[int]:
        """Pool indices of the lexically closest compatible spans (same kind, similar length, other page)."""
        if self.matrix is None:
            return []
        ok = (self.kind == kind) & (self.page != page) & (self.doc != doc_id)
        ok &= (self.n_tokens <= n_tokens * self.length_ratio) & (self.n_tokens * self.length_ratio >= n_tokens)
        if kind == "prose" and (ok & (self.has_math == has_math)).sum() >= self.shortlist_size:
            ok &= self.has_math == has_math  # math answers get math options, plain prose plain prose
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return []
        sims = (self.matrix[idx] @ self.tfidf.transform([text]).T).toarray().ravel()
        order = np.lexsort((idx, -np.round(sims, 6)))[: self.shortlist_size]
        return [int(idx[i]) for i in order]

    def texts_for(self, text: str, context: str, **kw: Any) -> list[str]:
        """The texts `mine` will embed for this answer (for batch prefetching)."""
        return [text, context] + [self.pool[i].text for i in self.shortlist(text, **kw)]

    def screen(self, text: str, context: str, texts: list[str], floor: float = SAME_TOPIC_FLOOR
               ) -> tuple[list[tuple[int, float]], dict[str, int]]:
        """Same-topic candidates (siblings.SiblingPool) put through the embedding checks of mined
        ones: (index, cosine) of each text whose cosine to the answer lies between `floor` and
        `cosine_max` and that fits the gap's local context less well than the answer by
        `context_margin`, and counts of the rest by reason. The floor is lower than `cosine_min`:
        a span of the same section is on topic by where it comes from, and most of them sit below
        the band mined spans need."""
        rejected: Counter = Counter()
        if not texts:
            return [], {}
        vecs = self.cache.embed([text, context, *texts])
        cos = np.round(vecs[2:] @ vecs[0], 4)
        fit = np.round(vecs[2:] @ vecs[1], 4)
        answer_fit = round(float(vecs[0] @ vecs[1]), 4)
        kept = []
        for i, (c, f) in enumerate(zip(cos, fit)):
            if c < floor:
                rejected["below_cosine_band"] += 1
            elif c > self.cosine_max:
                rejected["above_cosine_band"] += 1
            elif f > answer_fit - self.context_margin:
                rejected["fits_context_as_well"] += 1
            else:
                kept.append((i, float(c)))
        return kept, dict(rejected)

    def mine(self, text: str, need: int, rng: random.Random, exclude: set[str], context: str, **kw: Any
             ) -> tuple[list[Mined], dict[str, int]]:
        """Up to `need` distractors, and counts of shortlisted spans rejected by reason.

        A shortlisted span is kept when its cosine to the answer is in the band, it shares no
        formula with the answer (the same relation in other notation would also be correct), and
        it fits the gap's local `context` less well than the answer does by `context_margin`: an
        option that suits the surrounding sentences as well as the answer may well be right too.
        """
        rejected: Counter = Counter()
        idx = self.shortlist(text, **kw)
        if not idx or need <= 0:
            return [], dict(rejected)
        vecs = self.cache.embed([text, context] + [self.pool[i].text for i in idx])
        cos = np.round(vecs[2:] @ vecs[0], 4)
        fit = np.round(vecs[2:] @ vecs[1], 4)
        answer_fit = round(float(vecs[0] @ vecs[1]), 4)
        formulas = math_signatures(text)
        in_band = []
        for i, c, f in zip(idx, cos, fit):
            if c < self.cosine_min:
                rejected["below_cosine_band"] += 1
            elif c > self.cosine_max:
                rejected["above_cosine_band"] += 1
            elif formulas & math_signatures(self.pool[i].text):
                rejected["same_formula"] += 1
            elif f > answer_fit - self.context_margin:
                rejected["fits_context_as_well"] += 1
            else:
                in_band.append((float(c), i))
        in_band.sort(key=lambda t: (-t[0], t[1]))
        # The closest in-band spans make the hardest options; sample among the best 2*need so that
        # items from one passage under different seeds do not always get the same options.
        pick = in_band[: 2 * need]
        rng.shuffle(pick)
        out: list[Mined] = []
        seen, pages = {normalize(e) for e in exclude}, set()
        for c, i in pick + in_band[2 * need:]:
            span = self.pool[i]
            key = normalize(span.text)
            if key in seen or span.page in pages:
                rejected["duplicate_option"] += 1
                continue
            seen.add(key)
            pages.add(span.page)
            out.append(Mined(span.text, {"kind": "mined", "passage_id": span.passage_id, "doc_id": span.doc_id,
                                         "cosine": c}))
            if len(out) == need:
                break
        return out, dict(rejected)
