"""From curated tasks to what the trainer consumes: provenance keys, the probe split, the dataset.

Every rollout is later attributed to its task and, through the task, to a generator, a source
document, a source (corpus) and a kind. `Provenance` gathers those keys once per task so the
ledger, the value report and the probe curves all use the same ones.

The probe set is a held-out slice of the curated tasks, stratified by (kind, source) so every
stratum with at least two tasks is represented, and never trained on. A user who has a trusted
evaluation slice passes it instead (`probe_tasks`); then nothing is held out.
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rlvr.hashing import seed_int
from rlvr.records import Document, Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Keys:
    """The aggregation keys of one task (see the module docstring)."""

    generator: str
    doc: str
    source: str
    kind: str


def load_documents(folders: Iterable[Path]) -> dict[str, Document]:
    """Documents from any `documents.parquet` in the given folders (a synth stage's side output)."""
    docs: dict[str, Document] = {}
    for folder in folders:
        path = Path(folder) / "documents.parquet"
        if path.exists():
            for d in Document.read_parquet(path):
                docs.setdefault(d.doc_id, d)
    return docs


def task_keys(task: Task, docs: dict[str, Document] | None = None) -> Keys:
    """Generator, source document, source and kind of a task.

    source: the document's `source` when the document is known, else `meta["source"]`, else the
    generator (procedural tasks come from no corpus; their generator is their source).
    """
    doc_id = task.provenance.doc_id or ""
    doc = (docs or {}).get(doc_id) if doc_id else None
    source = (doc.source if doc else "") or str(task.meta.get("source") or "") or task.provenance.generator
    return Keys(task.provenance.generator, doc_id, source, task.kind)


def split_probe(tasks: Sequence[Task], fraction: float, max_size: int, seed: int,
                docs: dict[str, Document] | None = None) -> tuple[list[Task], list[Task]]:
    """(train, probe): a stratified held-out slice of about `fraction` of the tasks, at most `max_size`.

    Each (kind, source) stratum gives round(fraction * size) tasks, at least one when it has two or
    more tasks, so small strata are still probed; a single-task stratum is never held out (it would
    leave nothing to train on). Strata are then trimmed evenly if the total exceeds `max_size`.
    """
    if fraction <= 0:
        return list(tasks), []
    strata: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for t in tasks:
        k = task_keys(t, docs)
        strata[(k.kind, k.source)].append(t)
    wanted: dict[tuple[str, str], int] = {}
    for key, members in strata.items():
        n = len(members)
        wanted[key] = 0 if n < 2 else min(n - 1, max(1, round(fraction * n)))
    total = sum(wanted.values())
    if total > max_size:
        scale = max_size / total
        wanted = {k: max(0, math.floor(v * scale)) for k, v in wanted.items()}
        # hand the remainder to the largest strata first, one each, so the cap is met exactly
        for key in sorted(wanted, key=lambda k: (-len(strata[k]), k))[: max_size - sum(wanted.values())]:
            wanted[key] += 1
    probe_ids: set[str] = set()
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda t: t.task_id)
        rng = random.Random(seed_int("probe", seed, *key))
        probe_ids.update(t.task_id for t in rng.sample(members, wanted[key]))
    train = [t for t in tasks if t.task_id not in probe_ids]
    probe = [t for t in tasks if t.task_id in probe_ids]
    return train, probe


def dedupe(tasks: Sequence[Task]) -> tuple[list[Task], int]:
    """Tasks with repeated task_ids removed (first kept) and how many were removed."""
    seen: set[str] = set()
    out = []
    for t in tasks:
        if t.task_id not in seen:
            seen.add(t.task_id)
            out.append(t)
    return out, len(tasks) - len(out)


def remove_overlap(train: Sequence[Task], probe: Sequence[Task]) -> tuple[list[Task], int]:
    """Training tasks minus any that are also probe tasks (a probe task is never trained on)."""
    probe_ids = {t.task_id for t in probe}
    kept = [t for t in train if t.task_id not in probe_ids]
    return kept, len(train) - len(kept)
