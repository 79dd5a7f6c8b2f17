"""Curate inputs read in batches, never all at once, and the kept records written back the same way.

`ItemSource` yields record batches of curate items (rlvr.curate.base.ITEM_SCHEMA plus a
`source` column naming the file) with global `row` numbers, as rlvr.curate.items.load_inputs
would make them, so every engine decides the same items the same way:

- rlvr task Parquet: read `batch_size` rows at a time (Parquet row batches), turned into Tasks
  and items batch by batch. Published dataset folders go through rlvr.records.read_tasks.
- Other datasets: JSONL and Parquet files are streamed through the readers' own per-record checks
  (rlvr.io.readers: missing or empty text, bad ids, ids repeated in the file are quarantined with
  file, line and field); CSV files, text folders and saved HF datasets are read one path at a time.

The inputs are read twice: once to curate, once to write the kept rows (`write_kept`, given a
keep flag per row), so memory holds one batch of records at a time, not the dataset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rlvr.curate.items import document_row, is_task_table, items_from_documents, items_from_tasks
from rlvr.records import Document, Quarantined, Task

STREAMED_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")


def _with_rows(items: pa.Table, start: int, source: str | list[str]) -> pa.Table:
    n = items.num_rows
    items = items.set_column(items.schema.get_field_index("row"), "row", pa.array(np.arange(start, start + n)))
    sources = [source] * n if isinstance(source, str) else source
    return items.append_column("source", pa.array(sources, pa.string()))


class ItemSource:
    """The inputs of one curate run, as batches of items (see the module docstring)."""

    def __init__(self, paths: list[str | Path], config, batch_size: int | None = None):
        if not paths:
            raise ValueError("no inputs: give one or more task tables or datasets with --in")
        self.paths = [str(p) for p in paths]
        self.config = config
        self.batch_size = batch_size or config.batch_size
        task_paths = [p for p in self.paths if is_task_table(p) or (Path(p).is_dir() and _is_published(p))]
        if task_paths and len(task_paths) != len(self.paths):
            other = [p for p in self.paths if p not in task_paths]
            raise ValueError(f"inputs mix rlvr task tables and other datasets ({other}); curate them in separate "
                             f"runs, or pass the other datasets as --benchmarks to decontaminate against them")
        self.is_tasks = bool(task_paths)
        self.quarantined: list[Quarantined] = []
        self.n_rows = 0

    # -- reading

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Item batches over all inputs; the first pass also collects quarantined rows and counts rows."""
        first = self.n_rows == 0 and not self.quarantined
        row = 0
        for items in (self._task_items(first) if self.is_tasks else self._document_items(first)):
            items = _with_rows(items[0], row, items[1])
            row += items.num_rows
            yield from items.to_batches(max_chunksize=self.batch_size)
        self.n_rows = row

    def _task_batches(self, collect: bool) -> Iterator[tuple[str, list[Task]]]:
        """Tasks in batches; a bad or oversized row is quarantined (collected on the first pass)."""
        from rlvr.io.tasks import _drop_oversized, read_tasks

        limit = self.config.max_record_bytes
        for path in self.paths:
            p = Path(path)
            bad: list[Quarantined] = []
            if p.is_dir() or "verifier_params" in pq.read_schema(p).names:
                tasks = read_tasks([p], quarantine=bad, max_record_bytes=limit)
                if collect:
                    self.quarantined.extend(bad)
                for start in range(0, len(tasks), self.batch_size):
                    yield path, tasks[start:start + self.batch_size]
                continue
            offset = 0
            for batch in pq.ParquetFile(p).iter_batches(batch_size=self.batch_size, columns=Task.SCHEMA.names):
                table = pa.Table.from_batches([batch])
                rows = list(range(offset + 1, offset + table.num_rows + 1))
                if limit:
                    table, kept = _drop_oversized(table, path, bad, limit)
                    for q in bad:  # numbered within the batch: make them the file's row numbers
                        q.line = offset + q.line
                    if kept is not None:
                        rows = [offset + i for i in kept]
                offset += batch.num_rows
                tasks = Task.from_arrow(table, path, bad, rows)
                if collect:
                    self.quarantined.extend(bad)
                bad = []
                yield path, tasks

    def _task_items(self, collect: bool) -> Iterator[tuple[pa.Table, str]]:
        for path, tasks in self._task_batches(collect):
            yield items_from_tasks(tasks), path

    def _document_batches(self, collect: bool) -> Iterator[list[Document]]:
        from rlvr.io.readers import ReadOptions, read_documents

        id_field = None if self.config.id_field == "id" else self.config.id_field
        opts = ReadOptions(text_field=self.config.text_field, id_field=id_field,
                           allow_network=self.config.allow_network, max_record_bytes=self.config.max_record_bytes)
        for path in self.paths:
            p = Path(path)
            if p.is_file() and p.suffix.lower() in STREAMED_SUFFIXES:
                yield from self._stream_file(p, opts, collect)
                continue
            res = read_documents([path], opts)
            if collect:
                self.quarantined.extend(res.quarantined)
            for start in range(0, len(res.documents), self.batch_size):
                yield res.documents[start:start + self.batch_size]

    def _stream_file(self, path: Path, opts, collect: bool) -> Iterator[list[Document]]:
        from rlvr.io import readers

        result = readers.ReadResult()
        col = readers._Collector(str(path), opts, result, opts.source or path.stem)
        for line, row in _raw_rows(path, opts.max_record_bytes):
            if isinstance(row, _TooLarge):
                col.quarantine(line, "<line>", col.too_large(row.size), row.raw)
            elif isinstance(row, _BadLine):
                col.quarantine(line, "<line>", row.reason, row.raw)
            else:
                col.add(line, row)
            if len(result.documents) >= self.batch_size:
                yield result.documents
                result.documents = []
            if result.quarantined:
                if collect:
                    self.quarantined.extend(result.quarantined)
                result.quarantined = []
        col.finish()
        if result.documents:
            yield result.documents

    def _document_items(self, collect: bool) -> Iterator[tuple[pa.Table, list[str]]]:
        cfg = self.config
        for docs in self._document_batches(collect):
            yield items_from_documents(docs, cfg.answer_field, cfg.quality_field), [d.source for d in docs]

    # -- writing

    def write_kept(self, keep: np.ndarray, path: str | Path) -> Path:
        """Write the records whose row is kept, in their own form (task Parquet, JSONL or Parquet rows)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            if self.is_tasks:
                self._write_tasks(keep, tmp)
            elif path.suffix.lower() in (".jsonl", ".json"):
                self._write_jsonl(keep, tmp)
            else:
                self._write_rows(keep, tmp, path)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def _write_tasks(self, keep: np.ndarray, tmp: Path) -> None:
        row = 0
        with pq.ParquetWriter(tmp, Task.SCHEMA, compression="zstd") as writer:
            for _, tasks in self._task_batches(collect=False):
                chosen = [t for t, k in zip(tasks, keep[row:row + len(tasks)]) if k]
                row += len(tasks)
                if chosen:
                    writer.write_table(Task.to_arrow(chosen))

    def _kept_documents(self, keep: np.ndarray) -> Iterator[list[dict]]:
        row = 0
        for docs in self._document_batches(collect=False):
            rows = [document_row(d, self.config.id_field, self.config.text_field)
                    for d, k in zip(docs, keep[row:row + len(docs)]) if k]
            row += len(docs)
            if rows:
                yield rows

    def _write_jsonl(self, keep: np.ndarray, tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            for rows in self._kept_documents(keep):
                fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    def _write_rows(self, keep: np.ndarray, tmp: Path, path: Path) -> None:
        writer = None
        try:
            for rows in self._kept_documents(keep):
                try:
                    table = pa.Table.from_pylist(rows, schema=writer.schema if writer else None)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise ValueError(f"{path}: the kept rows do not fit one Parquet schema ({exc}); write JSON "
                                     f"lines instead (--out ending in .jsonl)") from None
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if writer is None:
                pq.write_table(pa.table({self.config.id_field: pa.array([], pa.string())}), tmp)
        finally:
            if writer is not None:
                writer.close()


def _is_published(path: str) -> bool:
    return any(Path(path).glob("*.parquet")) and all(
        "verifier_params" in pq.read_schema(f).names for f in Path(path).glob("*.parquet"))


def _raw_rows(path: Path, max_bytes: int = 0) -> Iterator[tuple[int, object]]:
    """(line or row number, parsed record) from a JSONL or Parquet file; a bad line as a _BadLine, a
    JSONL line over `max_bytes` (0: no limit) as a _TooLarge, before it is decoded or parsed."""
    if path.suffix.lower() == ".parquet":
        pf = pq.ParquetFile(path)
        n = 0
        for batch in pf.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                n += 1
                yield n, row
        return
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if max_bytes and len(raw) > max_bytes:
                yield lineno, _TooLarge(len(raw), raw[:RAW_EXCERPT].decode("utf-8", "replace"))
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, _BadLine(f"invalid UTF-8 at byte {exc.start}", raw.decode("utf-8", "replace"))
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, _BadLine(f"invalid JSON: {exc.msg} at column {exc.colno}", line)


RAW_EXCERPT = 2000  # bytes of an oversized line kept in the quarantine table


class _TooLarge:
    """A JSONL line over the record size limit: quarantined without being parsed."""

    def __init__(self, size: int, raw: str):
        self.size, self.raw = size, raw


class _BadLine:
    """A line that is not valid UTF-8 JSON: quarantined with the readers' wording."""

    def __init__(self, reason: str, raw: str):
        self.reason, self.raw = reason, raw
