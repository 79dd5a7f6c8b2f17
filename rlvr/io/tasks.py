"""Tasks as a Hub-friendly Parquet dataset folder, and back; `read_tasks` reads either format.

The published table flattens a Task into plain columns that the Hub viewer and
`datasets.load_dataset` show well (nested provenance and difficulty become top-level columns;
free-form parts stay JSON strings). `tasks_from_dataset` reverses it exactly, so a published
dataset can be re-scored with `rlvr verify` or fed back into curate and train.

Layout: one config per task kind when there are several (`data/<config>/<split>-00000-of-00001.parquet`),
else a single `default` config (`data/<split>-00000-of-00001.parquet`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rlvr.hashing import canonical_json
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec, write_table

PUBLISHED_SCHEMA = pa.schema(
    [
        ("task_id", pa.string()),
        ("kind", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("answer", pa.string()),
        ("verifier", pa.string()),
        ("verifier_params", pa.string()),
        ("generator", pa.string()),
        ("generator_version", pa.string()),
        ("config_fingerprint", pa.string()),
        ("seed", pa.int64()),
        ("index", pa.int64()),
        ("doc_id", pa.string()),
        ("parent_task_id", pa.string()),
        ("difficulty", pa.float64()),
        ("pass_rate", pa.float64()),
        ("pass_rate_evidence", pa.int64()),
        ("fingerprint", pa.string()),
        ("meta", pa.string()),
    ]
)

COLUMN_DOCS = {
    "task_id": "stable content hash of (kind, prompt, answer, verifier)",
    "kind": "task family, e.g. np.tsp, mcqa.fim, gym.basic_arithmetic",
    "prompt": "chat messages (role, content) to send to the policy",
    "answer": "reference answer, JSON",
    "verifier": "name of the rlvr verifier that scores completions",
    "verifier_params": "verifier parameters, JSON",
    "generator": "generator that made the task",
    "generator_version": "generator version",
    "config_fingerprint": "fingerprint of the generator's config",
    "seed": "generator seed",
    "index": "item index under that seed",
    "doc_id": "source document id (text-derived tasks)",
    "parent_task_id": "task this one was derived from (self-play, variants)",
    "difficulty": "nominal difficulty knob in [0, 1]",
    "pass_rate": "estimated pass rate of the reference policy",
    "pass_rate_evidence": "rollouts behind pass_rate",
    "fingerprint": "canonical instance fingerprint used for structural dedupe",
    "meta": "generator-specific details (instance, provenance of spans, ...), JSON",
}


def task_row(task: Task) -> dict:
    p, d = task.provenance, task.difficulty
    return {
        "task_id": task.task_id,
        "kind": task.kind,
        "prompt": [{"role": m.role, "content": m.content} for m in task.prompt],
        "answer": canonical_json(task.answer),
        "verifier": task.verifier.name,
        "verifier_params": canonical_json(task.verifier.params),
        "generator": p.generator,
        "generator_version": p.version,
        "config_fingerprint": p.config_fingerprint,
        "seed": p.seed,
        "index": p.index,
        "doc_id": p.doc_id,
        "parent_task_id": p.parent_task_id,
        "difficulty": d.nominal,
        "pass_rate": d.pass_rate,
        "pass_rate_evidence": d.evidence,
        "fingerprint": task.fingerprint,
        "meta": canonical_json(task.meta),
    }


def row_task(row: dict) -> Task:
    return Task(
        task_id=row["task_id"],
        kind=row["kind"],
        prompt=[Message(m["role"], m["content"]) for m in row["prompt"]],
        answer=json.loads(row["answer"]),
        verifier=VerifierSpec(row["verifier"], json.loads(row["verifier_params"] or "{}")),
        provenance=Provenance(
            generator=row["generator"], version=row["generator_version"] or "",
            config_fingerprint=row["config_fingerprint"] or "", seed=row["seed"], index=row["index"],
            doc_id=row["doc_id"], parent_task_id=row["parent_task_id"],
        ),
        difficulty=Difficulty(row["difficulty"], row["pass_rate"], row["pass_rate_evidence"] or 0),
        fingerprint=row["fingerprint"],
        meta=json.loads(row["meta"] or "{}"),
    )


def config_name(kind: str) -> str:
    """A Hub config name for a task kind: letters, digits, '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", kind).strip("_") or "default"


@dataclass
class SplitFile:
    config: str
    split: str
    path: Path  # relative to the dataset folder
    num_examples: int
    num_bytes: int  # in-memory Arrow size, as the Hub's dataset_info reports


def write_dataset(tasks_by_split: dict[str, list[Task]], out: Path) -> list[SplitFile]:
    """Write the Parquet shards; returns one SplitFile per (config, split) in a fixed order."""
    kinds = sorted({t.kind for ts in tasks_by_split.values() for t in ts})
    per_kind = len(kinds) > 1
    grouped: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for split, tasks in tasks_by_split.items():
        for t in sorted(tasks, key=lambda t: (t.kind, t.task_id)):
            grouped[(config_name(t.kind) if per_kind else "default", split)].append(t)
    files = []
    for (config, split), tasks in sorted(grouped.items()):
        rel = Path("data") / (config if per_kind else "") / f"{split}-00000-of-00001.parquet"
        table = pa.Table.from_pylist([task_row(t) for t in tasks], schema=PUBLISHED_SCHEMA)
        write_table(out / rel, table)
        files.append(SplitFile(config, split, rel, table.num_rows, table.nbytes))
    return files


def tasks_from_dataset(dataset_dir: str | Path) -> list[Task]:
    """Every task in a folder written by `write_dataset` (all configs and splits)."""
    files = sorted(Path(dataset_dir).glob("data/**/*.parquet"))
    if not files:
        raise FileNotFoundError(f"{dataset_dir}: no data/**/*.parquet files (not an rlvr dataset folder)")
    return [row_task(r) for f in files for r in pq.read_table(f).to_pylist()]


def read_tasks(paths: str | Path | Sequence[str | Path]) -> list[Task]:
    """Read tasks, in order, from Task Parquet files or published rlvr dataset folders/shards."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    tasks: list[Task] = []
    for p in map(Path, paths):
        if p.is_dir() or (p.suffix == ".parquet" and p.exists() and "verifier_params" in pq.read_schema(p).names):
            tasks.extend(tasks_from_dataset(p) if p.is_dir() else [row_task(r) for r in pq.read_table(p).to_pylist()])
        else:
            tasks.extend(Task.read_parquet(p))
    return tasks
