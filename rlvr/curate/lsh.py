"""The LSH index behind near-duplicate dedupe: numpy bands in memory, datasketch's MinHashLSH in Redis.

In memory (the default) banding is done with array operations (`band_candidates`): each band
of r signature values is hashed to one 64-bit key and documents sharing a key in some band
become a candidate pair. That is exactly the candidate set of datasketch's `MinHashLSH` with
`params=(bands, rows)` (a test checks it against datasketch's dict storage), without one Python
call per document and band. With `lsh_redis=redis://host:port/db` the index is datasketch's
`MinHashLSH` itself, fed `LeanMinHash` objects, with its bands in Redis through datasketch's
own Redis storage, under a namespace derived from `lsh_basename` and every setting that changes the
signatures or bands (so incompatible indexes never mix). Beside the bands rlvr keeps one Redis
hash, `<namespace>_items`, holding each indexed item's shingle set, number signature, answer key
and quality, because confirming a candidate from another worker needs its exact shingles.

How several workers share it: each worker first inserts all of its items, then queries each of
its items against everything in the index, confirms candidates by exact Jaccard (fetching
other workers' shingles from the items hash) and keeps, in each cluster it sees, the item the
keep rule ranks first (highest quality, then lowest id). Because that rule depends only on
the items, two workers that see the same pair drop the same member. For results identical to
a single process, let every worker finish inserting before any worker queries (run the shards
once, then again: items already indexed are not inserted twice). Items indexed by an earlier
run stay in the index, so a later dataset is deduplicated against everything curated before.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import numpy as np

log = logging.getLogger(__name__)

_HEADER = 4  # float64 quality, uint64 numbers, uint64 answer key, uint64 shingle count


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) uint64: a hash of each band's `rows` signature values."""
    from rlvr.curate.text import fmix64

    keys = np.zeros((len(sigs), bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            h = np.full(len(sigs), np.uint64(b + 1), dtype=np.uint64)
            for j in range(b * rows, (b + 1) * rows):
                h = fmix64(h * np.uint64(0x9E3779B97F4A7C15) + sigs[:, j].astype(np.uint64))
            keys[:, b] = h
    return keys


def band_candidates(sigs: np.ndarray, bands: int, rows: int, valid: np.ndarray | None = None,
                    max_bucket: int | None = None, sighash: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (i < j): documents whose signatures agree on all rows of some band.

    Buckets of up to `max_bucket` documents give every pair (what datasketch's MinHashLSH gives);
    larger ones are reduced as rlvr.curate.buckets explains (exact copies collapsed by `sighash`,
    then a star plus a window). `max_bucket=None` never reduces.
    """
    from rlvr.curate.buckets import bucket_pairs, signature_hash

    docs = np.flatnonzero(valid) if valid is not None else np.arange(len(sigs))
    if len(docs) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = band_keys(sigs[docs], bands, rows)
    if sighash is None:
        sighash = signature_hash(sigs)
    limit = len(docs) if max_bucket is None else max_bucket
    return bucket_pairs(keys.ravel(), np.repeat(docs, bands), np.repeat(sighash[docs], bands), limit)


def _pack(quality: float, numbers: int, answer: int, shingles: np.ndarray) -> bytes:
    head = np.array([0, numbers, answer, len(shingles)], dtype=np.uint64)
    head[0] = np.array([quality], dtype=np.float64).view(np.uint64)[0]
    return head.tobytes() + np.ascontiguousarray(shingles, dtype=np.uint64).tobytes()


def _unpack(blob: bytes) -> tuple[float, int, int, np.ndarray]:
    arr = np.frombuffer(blob, dtype=np.uint64)
    quality = float(arr[:1].view(np.float64)[0])
    return quality, int(arr[1]), int(arr[2]), arr[_HEADER:_HEADER + int(arr[3])].copy()


def redis_params(url: str) -> dict:
    """redis.Redis keyword arguments from a redis:// URL, with a clear error for anything else."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"lsh_redis: expected a URL like redis://localhost:6379/0, got {url!r}")
    from redis.connection import parse_url

    return parse_url(url)


class LSHIndex:
    """datasketch MinHashLSH with (bands, rows) fixed by us, plus the Redis items hash when shared.

    MinHashStep uses it for `lsh_redis`; without a URL it is datasketch's in-memory dict storage
    (the tests compare `band_candidates` with it).
    """

    def __init__(self, config, bands: int, rows: int):
        from datasketch import MinHashLSH

        self.seed = config.minhash_seed
        self.redis = None
        self.basename = ""
        storage = None
        if config.lsh_redis:
            self.basename = (f"{config.lsh_basename}:{config.shingle}{config.shingle_size}:p{config.num_perm}"
                             f":b{bands}r{rows}:s{config.minhash_seed}")
            params = redis_params(config.lsh_redis)
            self.redis = self._connect(params, config.lsh_redis)
            storage = {"type": "redis", "basename": self.basename.encode(), "redis": params}
        self.lsh = MinHashLSH(num_perm=config.num_perm, params=(bands, rows), storage_config=storage)
        self._sketches: dict[int, object] = {}

    @staticmethod
    def _connect(params: dict, url: str):
        try:
            import redis
        except ImportError:
            raise ImportError("a shared LSH index needs the redis client: pip install 'rlvr[scale]'") from None
        client = redis.Redis(**params)
        try:
            client.ping()
        except redis.exceptions.ConnectionError as exc:
            raise RuntimeError(f"lsh_redis: cannot reach Redis at {url} ({exc}); start redis-server or fix the URL"
                               ) from None
        return client

    @property
    def items_key(self) -> str:
        return self.basename + "_items"

    def _sketch(self, items, i: int):
        from datasketch import LeanMinHash

        if i not in self._sketches:
            self._sketches[i] = LeanMinHash(seed=self.seed, hashvalues=items.sigs[i], scheme="affine32")
        return self._sketches[i]

    def add(self, items) -> None:
        """Insert every local item that has shingles (and is not in a shared index already)."""
        todo = [i for i in range(items.n_local) if len(items.shingles[i])]
        if self.redis is not None:
            present = self.redis.hmget(self.items_key, [items.ids[i] for i in todo]) if todo else []
            todo = [i for i, blob in zip(todo, present) if blob is None]
            pipe = self.redis.pipeline(transaction=False)
            for i in todo:
                pipe.hset(self.items_key, items.ids[i], _pack(items.quality[i], int(items.numbers[i]),
                                                              int(items.answers[i]), items.shingles[i]))
            pipe.execute()
        with self.lsh.insertion_session() as session:
            for i in todo:
                session.insert(items.ids[i], self._sketch(items, i), check_duplication=False)
        log.info("lsh: inserted %d items%s", len(todo), f" into {self.basename}" if self.redis else "")

    def candidate_pairs(self, items) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs (i < j) among local items and, with Redis, items other runs indexed.

        External items are appended to `items` so pair indices can point at them.
        """
        position = {item_id: i for i, item_id in enumerate(items.ids[:items.n_local])}
        external: dict[str, int] = {}
        left: list[int] = []
        right: list[int] = []
        for i in range(items.n_local):
            if not len(items.shingles[i]):
                continue
            for key in self.lsh.query(self._sketch(items, i)):
                j = position.get(key)
                if j is None:
                    j = external.setdefault(key, items.n_local + len(external))
                if j != i:
                    left.append(min(i, j))
                    right.append(max(i, j))
        if external:
            self._append_external(items, list(external))
        if not left:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pairs = np.unique(np.array([left, right], dtype=np.int64), axis=1)
        return pairs[0], pairs[1]

    def _append_external(self, items, keys: list[str]) -> None:
        blobs = self.redis.hmget(self.items_key, keys)
        missing = [k for k, b in zip(keys, blobs) if b is None]
        if missing:
            # The bands reference an item whose record is gone (deleted by hand, or a writer died
            # between the two writes): it cannot be confirmed, so it cannot be called a match.
            raise RuntimeError(f"shared LSH index {self.basename}: {len(missing)} indexed item(s) have no record "
                               f"in {self.items_key} (e.g. {missing[0]!r}); delete the index keys and rebuild it")
        rows = [_unpack(b) for b in blobs]
        items.append_external(keys, np.array([r[0] for r in rows]), np.array([r[1] for r in rows], np.uint64),
                              np.array([r[2] for r in rows], np.uint64), [r[3] for r in rows])
