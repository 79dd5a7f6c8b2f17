"""Mined distractors: real spans from other passages that are similar, but not too similar.

A good wrong option reads like the answer (same kind of text, similar length, same topic) yet
says something else. We take candidate spans from the pool (the best spans of every other
passage), keep those of the same kind (prose vs code) and comparable length from *other pages*
(a neighbouring section of the same page is the likeliest place for an equally correct
sentence), shortlist them lexically with TF-IDF, and then keep those whose cosine similarity to
the answer under the bundled sentence embedder lies in a band: above `cosine_min` so the option
is plausible, below `cosine_max` so it is not a paraphrase of the answer.

Embeddings are batch-encoded and cached by content hash, in memory and on disk under
$RLVR_CACHE/fim-embeddings/<model>/. They are rounded to float16 and cosines to 4 decimals, so a
text embedded inside a different batch (tiny float differences) gives the same decisions.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlvr.io.atomic import atomic_path
from rlvr.synth.fim.text import math_signatures, normalize

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=2)
def _load_encoder(name: str) -> Any:
    """One loaded embedder per process and model, shared by every generator."""
    from rlvr.models import load_embedder

    model = load_embedder(name)
    # Spans and their neighbouring sentences are short; capping the sequence length bounds the cost
    # of the rare long one (MiniLM allows 256 word pieces).
    model.max_seq_length = min(model.max_seq_length or 128, 128)
    return model


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """Unit-norm float16 embeddings of texts, computed once per distinct text."""

    MAX_SHARDS = 64

    def __init__(self, model: str = "all-minilm-l6-v2", cache_dir: Path | None = None, batch_size: int = 64,
                 encoder: Any = None):
        self.model_name = model
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._loaded = cache_dir is None
        self.encoded = 0  # texts actually run through the model (the rest came from the cache)

    def _model(self) -> Any:
        if self._encoder is None:
            self._encoder = _load_encoder(self.model_name)
        return self._encoder

    def _load_disk(self) -> None:
        self._loaded = True
        if not self.cache_dir.is_dir():
            return
        shards = sorted(self.cache_dir.glob("shard-*.npz"))
        for shard in shards:
            try:
                with np.load(shard, allow_pickle=False) as data:
                    for k, v in zip(data["keys"], data["vectors"]):
                        self._vectors[str(k)] = v
            except (OSError, ValueError, KeyError) as exc:  # a shard another process is replacing
                log.info("skipping embedding cache shard %s: %s", shard, exc)
        if len(shards) > self.MAX_SHARDS:
            self._write_shard(list(self._vectors))
            for shard in shards:
                shard.unlink(missing_ok=True)

    def _write_shard(self, keys: list[str]) -> None:
        if self.cache_dir is None or not keys:
            return
        name = "shard-" + _key("\n".join(sorted(keys))) + ".npz"
        with atomic_path(self.cache_dir / name) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))

    def prefetch(self, texts: list[str]) -> None:
        """Encode every text not cached yet, in batches, and persist the new vectors."""
        if not self._loaded:
            self._load_disk()
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in self._vectors))
        if not missing:
            return
        vecs = self._model().encode(missing, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        for text, vec in zip(missing, vecs):
            self._vectors[_key(text)] = np.asarray(vec, dtype=np.float16)
        self.encoded += len(missing)
        self._write_shard([_key(t) for t in missing])

    def embed(self, texts: list[str]) -> np.ndarray:
        self.prefetch(texts)
        return np.stack([self._vectors[_key(t)] for t in texts]).astype(np.float32)


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

    def __init__(self, pool: list[PoolSpan], cache: EmbeddingCache, *, cosine_min: float, cosine_max: float,
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
