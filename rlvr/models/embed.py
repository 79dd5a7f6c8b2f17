"""Sentence embeddings for semantic dedupe and paraphrase checks, cached by content hash.

Embedding is by far the most expensive thing curation does on a CPU (tens of milliseconds per
text for MiniLM on two cores), and the same texts come back again and again: benchmark items
on every decontamination run, a dataset curated again with another threshold. So every vector
is stored in a SQLite file under the rlvr cache, keyed by a hash of (model, text). SQLite
because it is in the standard library, safe for several processes, and needs no index file of
our own. Vectors are L2-normalised float32, so cosine similarity is a dot product.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rlvr.models import DEFAULT_EMBEDDER, cache_dir

log = logging.getLogger(__name__)


def cache_path() -> Path:
    return cache_dir() / "embeddings.sqlite"


class EmbeddingCache:
    """Texts -> normalised vectors with a model loaded only when some text is not cached."""

    def __init__(self, model: str = DEFAULT_EMBEDDER, path: str | Path | None = None, batch_size: int = 64,
                 device: str = "cpu"):
        self.model_name, self.batch_size, self.device = model, batch_size, device
        self.path = Path(path) if path else cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        self._db.commit()
        self._model = None
        self.computed = 0  # texts embedded by the model in this process (the rest came from the cache)

    def key(self, text: str) -> str:
        return hashlib.blake2b(f"{self.model_name}\x00{text}".encode(), digest_size=16).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, _dim, blob in self._db.execute(f"SELECT key, dim, vec FROM emb WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from rlvr.models import load_embedder

            log.info("loading embedder %s", self.model_name)
            self._model = load_embedder(self.model_name, device=self.device)
        vecs = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
        self.computed += len(texts)
        return np.asarray(vecs, dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised; each distinct uncached text embedded once."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [self.key(t) for t in texts]
        found = self._lookup(sorted(set(keys)))
        todo = {k: t for k, t in zip(keys, texts) if k not in found}
        if todo:
            vecs = self._encode(list(todo.values()))
            rows = [(k, vecs.shape[1], v.tobytes()) for k, v in zip(todo, vecs)]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)", rows)
            found.update(zip(todo, vecs))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def close(self) -> None:
        self._db.close()

    # Steps holding a cache are shipped to other processes (Ray Data's map_batches pickles the
    # function it maps): the connection and the model are reopened there, not copied.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_db"] = None
        state["_model"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._db = sqlite3.connect(self.path, timeout=60)
