"""The parts every curate step shares: the item table, the step protocol, the keep rule, duplicate clusters.

A step is two functions (NeMo Curator's split of `score` and `keep`):

- `score(batch) -> batch`: per-item work over an Arrow record batch (hashes, signatures,
  embeddings, benchmark overlaps). Pure, so the local runner calls it in-process and Ray Data
  could call the same function through `map_batches`.
- `decide(scores) -> verdicts`: the keep/drop call. For per-item steps (decontamination) it
  only compares score columns with thresholds, so thresholds change without rescoring. For
  dedupe steps it is where the all-to-all part happens: group equal keys, or link confirmed
  pairs into connected components (scipy), then keep one member per group by the keep rule below.

The keep rule, used by every dedupe step: in each group of duplicates keep the item with the
highest quality score (items without one rank below any item with one), then the lowest id.
It depends only on the items themselves, never on input order or on how the data was split
into batches or workers, so every worker of a sharded run picks the same representative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlvr.records import Decision
from rlvr.registry import Registry

# The items every step sees: one row per input record, whatever its origin.
ITEM_SCHEMA = pa.schema([
    ("id", pa.string()),  # task_id, or the --id-field value of a foreign dataset
    ("row", pa.int64()),  # position in the inputs (for mapping decisions back to records)
    ("text", pa.string()),  # what is compared: the task's user prompt, or the --field text
    ("answer", pa.string()),  # normalisable answer text; null when unknown
    ("kind", pa.string()),  # task kind ("" for foreign records)
    ("fingerprint", pa.string()),  # canonical instance fingerprint, when the generator gives one
    ("quality", pa.float64()),  # optional quality score used by the keep rule
])

# What `decide` returns: one row per scored item, in the same order.
VERDICT_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("keep", pa.bool_()),
    ("reason", pa.string()),
    ("matched_id", pa.string()),
    ("source", pa.string()),
    ("score", pa.float64()),
    ("detail", pa.string()),
])

KEEP_UNIQUE = "unique"
KEEP_REPRESENTATIVE = "kept_representative"


class Step(Protocol):
    """One curate step: `name` is the Decision.stage it writes.

    A registered step is a class with `from_config(config, cache) -> Step` (config: CurateConfig;
    cache: the embedding cache shared by every step with a true `embeds` class attribute).
    """

    name: str

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch: ...

    def decide(self, scores: pa.Table) -> pa.Table: ...


def _as_step_class(obj: Any, name: str) -> Any:
    if not (isinstance(obj, type) and callable(getattr(obj, "from_config", None))
            and callable(getattr(obj, "score", None)) and callable(getattr(obj, "decide", None))):
        raise TypeError(f"{name} is not a curate step class (needs from_config, score and decide)")
    return obj


# Built-in steps are declared in rlvr.builtins and imported only when a run uses them.
STEPS: Registry[Any] = Registry("curate_step", label="curate step", check=_as_step_class,
                                dotted_hint=" (or pkg.module:Class)")


def passthrough(batch: pa.RecordBatch, names: Sequence[str] = ("id", "quality")) -> dict[str, pa.Array]:
    """The item columns a step carries from its input batch into its score batch."""
    return {n: batch.column(n) for n in names}


def rank_order(ids: Sequence[str], quality: np.ndarray) -> np.ndarray:
    """rank[i] = position of item i under the keep rule (0 is the item to keep first)."""
    q = np.asarray(quality, dtype=np.float64)
    key = np.where(np.isnan(q), np.inf, -q)  # higher quality first; missing quality last
    order = np.lexsort((np.asarray(ids, dtype=object).astype(str), key))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def quality_array(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    return pc.fill_null(table.column("quality").cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)


def group_representatives(groups: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """For each item, the index of its group's best-ranked member (groups: any int labels)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, label = np.unique(groups, return_inverse=True)
    best = np.full(label.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(best, label, rank)
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    return by_rank[best[label]]


def group_verdicts(ids: Sequence[str], rep: np.ndarray, sizes: np.ndarray, drop_reason: str, source: str,
                   score: np.ndarray | None = None, detail: Sequence[str] | None = None) -> pa.Table:
    """Verdicts for items grouped into duplicate sets: the representative is kept, others dropped.

    `rep[i]` is the index of item i's representative, `sizes[i]` its group size, `score[i]` the
    similarity of item i to its representative (NaN where not meaningful).
    """
    n = len(ids)
    ids = list(ids)
    idx = np.arange(n)
    keep = rep == idx
    reasons = np.where(~keep, drop_reason, np.where(sizes > 1, KEEP_REPRESENTATIVE, KEEP_UNIQUE))
    matched = [None if k else ids[r] for k, r in zip(keep, rep)]
    sc = np.full(n, np.nan) if score is None else np.asarray(score, dtype=np.float64).copy()
    sc[keep] = np.nan
    if detail is None:
        detail = [f"kept over {s - 1} duplicate(s)" if k and s > 1 else (f"group of {s}" if not k else "")
                  for k, s in zip(keep, sizes)]
    return pa.table({
        "id": pa.array(ids, pa.string()),
        "keep": pa.array(keep, pa.bool_()),
        "reason": pa.array(reasons.tolist(), pa.string()),
        "matched_id": pa.array(matched, pa.string()),
        "source": pa.array([None if k else source for k in keep], pa.string()),
        "score": pa.array(sc, pa.float64(), mask=np.isnan(sc)),
        "detail": pa.array(list(detail), pa.string()),
    }, schema=VERDICT_SCHEMA)


def cluster_from_pairs(n: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the confirmed duplicate pairs: (component label, component size) per item."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    sizes = np.bincount(labels, minlength=n)[labels] if n else np.zeros(0, dtype=np.int64)
    return labels, sizes


# ----------------------------------------------------------------------------- books (every engine)

DUPLICATE_ID = "duplicate_id"  # reason for a task row repeating an earlier row's id


@dataclass
class StepReport:
    step: str
    seen: int
    kept: int
    dropped: dict[str, int]
    seconds: float


def run_counts(n_in: int, kept: int, reports: Sequence[StepReport], quarantined: int) -> dict[str, Any]:
    """The books of a curate run, whichever engine ran it: in = kept + dropped (by reason, summed
    over the steps) + quarantined."""
    dropped: dict[str, int] = {}
    for report in reports:
        for reason, n in report.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
    return {"in": n_in, "kept": kept, "dropped": dict(sorted(dropped.items())), "quarantined": quarantined}


def decision_table(verdicts: pa.Table, stage: str) -> pa.Table:
    """Verdicts of one step as Decision rows (the evidence columns become one struct)."""
    evidence = pa.StructArray.from_arrays(
        [verdicts.column(c).combine_chunks() for c in ("matched_id", "source", "score", "detail")],
        fields=list(Decision.SCHEMA.field("evidence").type))
    return pa.table({
        "task_id": verdicts.column("id"),
        "stage": pa.array([stage] * verdicts.num_rows, pa.string()),
        "keep": verdicts.column("keep"),
        "reason": verdicts.column("reason"),
        "evidence": evidence,
    }, schema=Decision.SCHEMA)
