"""From inputs to curate items and back: rlvr task tables, or any dataset made elsewhere.

Curation works on one item table (rlvr.curate.base.ITEM_SCHEMA) whatever the inputs were:

- rlvr task Parquet (recognised by its columns): the item text is the task's user prompt, the
  answer its reference answer, the id its task_id; `meta["quality"]` ranks duplicates.
- Anything else the readers understand (JSONL, Parquet, CSV, a saved HF dataset, or a hub id
  with allow_network): the text is `text_field`, the id `id_field` (the row's position when the
  dataset has no such field), the answer `answer_field` and the quality `quality_field` if given.
  Rows the readers cannot use are quarantined with the reason, never dropped silently.

The kept records are written back in their own form: Task Parquet for task inputs, the
original rows (id, text and every other field) for other datasets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from rlvr.curate.base import ITEM_SCHEMA
from rlvr.hashing import canonical_json
from rlvr.records import Document, Quarantined, Task, read_parquet_schema, write_table


def task_text(task: Task) -> str:
    """What curation compares for a task: its user turns (the system prompt is boilerplate)."""
    users = [m.content for m in task.prompt if m.role == "user"]
    return "\n\n".join(users) if users else task.prompt_text


def answer_text(answer: Any) -> str | None:
    if answer is None:
        return None
    return answer if isinstance(answer, str) else canonical_json(answer)


def _quality(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
    return float(value) if math.isfinite(float(value)) else None


def is_task_table(path: str | Path) -> bool:
    path = Path(path)
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return False
    names = set(read_parquet_schema(path).names)
    return set(Task.SCHEMA.names) <= names


@dataclass
class Inputs:
    """Everything read: the item table plus the records it came from (tasks or documents)."""

    items: pa.Table
    tasks: list[Task] | None = None
    documents: list[Document] | None = None
    quarantined: list[Quarantined] = field(default_factory=list)
    id_field: str = "id"
    text_field: str = "text"


def items_from_tasks(tasks: list[Task]) -> pa.Table:
    return pa.table({
        "id": [t.task_id for t in tasks],
        "row": list(range(len(tasks))),
        "text": [task_text(t) for t in tasks],
        "answer": [answer_text(t.answer) for t in tasks],
        "kind": [t.kind for t in tasks],
        "fingerprint": [t.fingerprint for t in tasks],
        "quality": [_quality(t.meta.get("quality")) for t in tasks],
    }, schema=ITEM_SCHEMA)


def items_from_documents(docs: list[Document], answer_field: str | None, quality_field: str | None) -> pa.Table:
    def meta_value(doc: Document, name: str | None) -> Any:
        return doc.meta.get(name) if name else None

    return pa.table({
        "id": [d.doc_id for d in docs],
        "row": list(range(len(docs))),
        "text": [d.text for d in docs],
        "answer": [answer_text(meta_value(d, answer_field)) for d in docs],
        "kind": [""] * len(docs),
        "fingerprint": [None] * len(docs),
        "quality": [_quality(meta_value(d, quality_field)) for d in docs],
    }, schema=ITEM_SCHEMA)


def load_inputs(paths: list[str | Path], config) -> Inputs:
    """Read every input; task tables and other datasets cannot be mixed in one run."""
    if not paths:
        raise ValueError("no inputs: give one or more task tables or datasets with --in")
    task_paths = [p for p in paths if is_task_table(p)]
    if task_paths and len(task_paths) != len(paths):
        other = [str(p) for p in paths if p not in task_paths]
        raise ValueError(f"inputs mix rlvr task tables and other datasets ({other}); curate them in separate runs, "
                         f"or pass the other datasets as --benchmarks to decontaminate against them")
    if task_paths:
        from rlvr.io.tasks import read_tasks

        quarantined: list[Quarantined] = []
        tasks = read_tasks(task_paths, quarantine=quarantined, max_record_bytes=config.max_record_bytes)
        if not tasks and quarantined:  # empty tables (a round that made nothing) are curated to nothing
            raise ValueError(f"no usable task in {', '.join(map(str, task_paths))}: all {len(quarantined)} rows are "
                             f"bad, e.g. {quarantined[0] if quarantined else 'the tables are empty'}")
        return Inputs(items_from_tasks(tasks), tasks=tasks, quarantined=quarantined)
    from rlvr.io.readers import ReadOptions, read_documents

    # Only insist on the id field when the user named a non-default one: with the default, a
    # dataset without "id" falls back to the readers' own choice (doc_id, else file:line).
    id_field = None if config.id_field == "id" else config.id_field
    res = read_documents([str(p) for p in paths], ReadOptions(text_field=config.text_field, id_field=id_field,
                                                              allow_network=config.allow_network,
                                                              max_record_bytes=config.max_record_bytes))
    items = items_from_documents(res.documents, config.answer_field, config.quality_field)
    return Inputs(items, documents=res.documents, quarantined=res.quarantined, id_field=config.id_field,
                  text_field=config.text_field)


def document_row(doc: Document, id_field: str, text_field: str) -> dict[str, Any]:
    """A dataset row rebuilt from a Document: its id, its text and every other field it had."""
    row = dict(doc.meta)
    if doc.title and "title" not in row:
        row["title"] = doc.title
    row[id_field] = doc.doc_id
    row[text_field] = doc.text
    return row


TASK_OUT_SUFFIXES = (".parquet",)
DOCUMENT_OUT_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".tsv")


def check_out_path(inputs: Inputs, path: str | Path) -> None:
    """Refuse an output whose suffix names a format we would not write (before any work is done)."""
    suffix = Path(path).suffix.lower()
    if inputs.tasks is not None and suffix not in TASK_OUT_SUFFIXES:
        raise ValueError(f"--out {path}: task tables are written as Parquet; name the output *.parquet "
                         f"(got {suffix or 'no suffix'})")
    if inputs.tasks is None and suffix not in DOCUMENT_OUT_SUFFIXES:
        raise ValueError(f"--out {path}: cannot write {suffix or 'a file without suffix'}; "
                         f"use one of {', '.join(DOCUMENT_OUT_SUFFIXES)}")


def write_kept(inputs: Inputs, kept_rows: list[int], path: str | Path) -> Path:
    """Write the kept records in their own form, in the format the suffix names: Task Parquet for
    task inputs; Parquet, JSON lines (.jsonl/.json) or CSV (.csv/.tsv) rows for other datasets."""
    path = Path(path)
    check_out_path(inputs, path)
    if inputs.tasks is not None:
        return Task.write_parquet(path, [inputs.tasks[i] for i in kept_rows])
    rows = [document_row(inputs.documents[i], inputs.id_field, inputs.text_field) for i in kept_rows]
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        from rlvr.io.atomic import atomic_write_text

        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return path
    if suffix in (".csv", ".tsv"):
        return _write_csv(path, rows, inputs.id_field, inputs.text_field, "\t" if suffix == ".tsv" else ",")
    try:
        table = pa.Table.from_pylist(rows) if rows else pa.table({inputs.id_field: pa.array([], pa.string())})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{path}: the kept rows do not fit one Parquet schema ({exc}); write JSON lines instead "
                         f"(--out ending in .jsonl)") from None
    return write_table(path, table)


def _write_csv(path: Path, rows: list[dict[str, Any]], id_field: str, text_field: str, delimiter: str) -> Path:
    """Rows as CSV: id and text first, then every other field; nested values as JSON."""
    import csv
    import io

    from rlvr.io.atomic import atomic_write_text

    names = [id_field, text_field]
    for r in rows:
        names += [k for k in r if k not in names]
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=names, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                         for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())
    return path
