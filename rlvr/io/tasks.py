"""Tasks as a Hub-friendly Parquet dataset folder, and back; `read_tasks` reads either format.

The published table flattens a Task into plain columns that the Hub viewer and
`datasets.load_dataset` show well (nested provenance and difficulty become top-level columns;
free-form parts stay JSON strings). `tasks_from_dataset` reverses it exactly, so a published
dataset can be re-scored with `rlvr verify` or fed back into curate and train. A bad row in either
format is named by file, row and field (or quarantined, when the caller passes a list for it).

Layout: one config per task kind when there are several (`data/<config>/<split>-00000-of-00001.parquet`),
else a single `default` config (`data/<split>-00000-of-00001.parquet`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from rlvr.hashing import canonical_json
from rlvr.records import (
    Difficulty,
    Provenance,
    Quarantined,
    Record,
    RecordError,
    Task,
    VerifierSpec,
    _json_field,
    _messages_field,
    _str_field,
    read_parquet_table,
    write_table,
)

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
    "answer": "reference answer, JSON-encoded (a letter is stored as `\"B\"`): decode with `json.loads`",
    "verifier": "name of the rlvr verifier that scores completions",
    "verifier_params": "verifier parameters, JSON-encoded",
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
    "meta": "generator-specific details (instance, provenance of spans, ...), JSON-encoded",
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
    """A Task from a published row; a malformed value raises RecordError naming its column."""
    params = _json_field("verifier_params", row["verifier_params"], {})
    meta = _json_field("meta", row["meta"], {})
    for name, value in (("verifier_params", params), ("meta", meta)):
        if not isinstance(value, dict):
            raise RecordError(name, f"expected a JSON object, got {type(value).__name__}")
    return Task(
        task_id=_str_field("task_id", row["task_id"], required=False) or "",
        kind=_str_field("kind", row["kind"]),
        prompt=_messages_field("prompt", row["prompt"]),
        answer=_json_field("answer", row["answer"]),
        verifier=VerifierSpec(_str_field("verifier", row["verifier"]), params),
        provenance=Provenance(
            generator=row["generator"], version=row["generator_version"] or "",
            config_fingerprint=row["config_fingerprint"] or "", seed=row["seed"], index=row["index"],
            doc_id=row["doc_id"], parent_task_id=row["parent_task_id"],
        ),
        difficulty=Difficulty(row["difficulty"], row["pass_rate"], row["pass_rate_evidence"] or 0),
        fingerprint=_str_field("fingerprint", row["fingerprint"], required=False),
        meta=meta,
    )


class PublishedTask(Record):
    """Published rows read back as Tasks through Record.from_arrow (errors name file, row, field)."""

    SCHEMA = PUBLISHED_SCHEMA

    @classmethod
    def from_row(cls, row: dict) -> Task:  # type: ignore[override]
        return row_task(row)


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


def dataset_files(dataset_dir: str | Path) -> list[Path]:
    """The Parquet shards of a folder written by `write_dataset` (all configs and splits)."""
    files = sorted(Path(dataset_dir).glob("data/**/*.parquet"))
    if not files:
        raise FileNotFoundError(f"{dataset_dir}: no data/**/*.parquet files (not an rlvr dataset folder)")
    return files


def tasks_from_dataset(dataset_dir: str | Path) -> list[Task]:
    """Every task in a folder written by `write_dataset` (all configs and splits)."""
    return read_tasks(dataset_dir)


def read_tasks(paths: str | Path | Sequence[str | Path], quarantine: list[Quarantined] | None = None,
               max_record_bytes: int = 0) -> list[Task]:
    """Read tasks, in order, from Task Parquet files or published rlvr dataset folders/shards.

    A bad row raises an error naming its file, row and field; with a `quarantine` list it goes
    there and the other rows are read. `max_record_bytes` (0: no limit) quarantines rows whose
    prompt and answer text exceed it, before any of it is parsed.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    tasks: list[Task] = []
    for p in map(Path, paths):
        if p.is_dir():
            files = dataset_files(p)
        else:
            files = [p]
        for f in files:
            tasks.extend(_read_task_file(f, quarantine, max_record_bytes))
    return tasks


def _read_task_file(path: Path, quarantine: list[Quarantined] | None, max_record_bytes: int) -> list[Task]:
    table = read_parquet_table(path, "task Parquet")
    row_numbers = None
    if max_record_bytes:
        table, row_numbers = _drop_oversized(table, str(path), quarantine, max_record_bytes)
    if "verifier_params" in table.column_names:  # a published dataset shard
        return PublishedTask.from_arrow(table, str(path), quarantine, row_numbers)
    return Task.from_arrow(table, str(path), quarantine, row_numbers)


def _text_bytes(column: pa.ChunkedArray) -> Any:
    """Per row, the UTF-8 bytes of a string column, or of a chat column's message contents."""
    import numpy as np
    import pyarrow.compute as pc

    column = column.combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.binary_length(column).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    sizes = np.zeros(len(column), dtype=np.int64)
    if pa.types.is_list(column.type) and pa.types.is_struct(column.type.value_type) \
            and column.type.value_type.get_field_index("content") >= 0:
        contents = pc.list_flatten(column).field("content")
        per_message = pc.binary_length(contents).fill_null(0).to_numpy(zero_copy_only=False)
        np.add.at(sizes, pc.list_parent_indices(column).to_numpy(zero_copy_only=False), per_message)
    return sizes


def _drop_oversized(table: pa.Table, source: str, quarantine: list[Quarantined] | None,
                    limit: int) -> tuple[pa.Table, list[int] | None]:
    """Rows whose prompt and answer text together exceed `limit` bytes, quarantined (or an error);
    returns the other rows and their 1-based row numbers in the file."""
    sizes = sum(_text_bytes(table.column(c)) for c in ("prompt", "answer") if c in table.column_names)
    over = sizes > limit if len(table) else None
    if over is None or not over.any():
        return table, None
    for row in over.nonzero()[0].tolist():
        bad = Quarantined(source, row + 1, "prompt", f"record too large: {int(sizes[row])} bytes of prompt and answer "
                          f"> max_record_bytes={limit} (raise --max-record-bytes, or 0 for no limit)",
                          str(table.column("task_id")[row].as_py()))
        if quarantine is None:
            raise ValueError(f"{bad.file}: row {bad.line}: field {bad.field!r}: {bad.reason}")
        quarantine.append(bad)
    return table.filter(pa.array(~over)), [i + 1 for i in (~over).nonzero()[0].tolist()]
