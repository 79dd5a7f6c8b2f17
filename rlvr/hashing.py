"""Stable content hashes: task ids, config fingerprints and file digests.

Every hash here is a pure function of its input's canonical JSON form, so it is identical
across processes, machines and Python versions (no `hash()`, no dict ordering, no floats
printed with locale-dependent precision).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from pathlib import Path
from typing import Any


def _canonical(obj: Any) -> Any:
    """Reduce obj to JSON-safe primitives with a deterministic order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, enum.Enum):
        return _canonical(obj.value)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return repr(obj)
        return float(repr(obj))  # repr round-trips exactly
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _canonical(obj.item())
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays
        return _canonical(obj.tolist())
    raise TypeError(f"cannot hash a value of type {type(obj).__name__}: {obj!r:.80}")


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys: the byte form every hash in rlvr is taken over."""
    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stable_hash(obj: Any, length: int = 32) -> str:
    """Hex sha256 of the canonical JSON of obj, truncated to `length` hex digits."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:length]


def config_fingerprint(config: Any) -> str:
    """A 16-hex-digit fingerprint of a config object (dataclass or mapping) and its type.

    Two configs with the same field values but different classes get different fingerprints,
    so a knapsack config never collides with a TSP config that happens to share field values.
    """
    kind = type(config).__module__ + "." + type(config).__qualname__
    if isinstance(config, dict):
        kind = "dict"
    return stable_hash({"type": kind, "fields": config}, length=16)


def seed_int(*parts: Any, bits: int = 63) -> int:
    """An integer seed derived from a string key such as (seed, idx).

    Seeding from the string "seed:idx" (not seed + idx) keeps neighbouring seeds from
    producing overlapping items, which `Random(seed + idx)` does.
    """
    key = ":".join(str(p) for p in parts)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << bits) - 1)


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes (hex); directories hash their sorted file listing and contents."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(child.relative_to(path)).encode())
            h.update(file_digest(child).encode())
        return h.hexdigest()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
