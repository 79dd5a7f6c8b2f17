"""Readers for what users hand us: JSONL, Parquet, CSV, saved HF datasets, hub ids, text folders.

Every input record ends up either as a `Document` or as a `Quarantined` row naming the file,
the line (1-based; the row number for Parquet/CSV/datasets) and the field at fault. Nothing is
dropped silently. A file that yields no usable record at all, or cannot be parsed, is an error
that names it, because that is almost always a wrong path or a wrong `--field`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.records import Document, Quarantined

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".rst")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
RAW_LIMIT = 300  # characters of a bad record kept in the quarantine for inspection


class InputError(ValueError):
    """An input that cannot be used at all; the message names the file and the fix."""


@dataclass
class ReadOptions:
    text_field: str = "text"
    id_field: str | None = None  # None: use "id" or "doc_id" when present, else file:line
    title_field: str | None = None
    source: str | None = None  # label for Document.source; default: the file or folder name
    license: str = ""
    allow_network: bool = False  # only then may a hub dataset id be downloaded
    split: str | None = None  # for datasets with several splits; default: all of them
    max_record_bytes: int = 0  # quarantine a record (JSONL line, row text) larger than this; 0: no limit


@dataclass
class ReadResult:
    documents: list[Document] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {"read": len(self.documents) + len(self.quarantined), "kept": len(self.documents),
                "quarantined": len(self.quarantined)}

    def summary(self) -> str:
        lines = [f"{f}: kept {c['kept']}, quarantined {c['quarantined']}" for f, c in self.per_file.items()]
        reasons: dict[str, int] = {}
        for q in self.quarantined:
            reasons[q.reason.split(":")[0]] = reasons.get(q.reason.split(":")[0], 0) + 1
        lines += [f"  quarantined because {r}: {n}" for r, n in sorted(reasons.items())]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- per-record checks


class _Collector:
    """Turns raw (line, row) pairs from one file into Documents or Quarantined rows."""

    def __init__(self, file: str, opts: ReadOptions, result: ReadResult, source: str):
        self.file, self.opts, self.result, self.source = file, opts, result, source
        self.seen_ids: dict[str, int | None] = {}
        self.kept = self.bad = 0
        self.fields_seen: set[str] = set()

    def quarantine(self, line: int | None, fld: str, reason: str, raw: Any = "") -> None:
        raw_text = raw if isinstance(raw, str) else json.dumps(raw, default=str, ensure_ascii=False)
        self.result.quarantined.append(Quarantined(self.file, line, fld, reason, raw_text[:RAW_LIMIT]))
        self.bad += 1

    def too_large(self, size: int) -> str:
        return (f"record too large: {size} bytes > max_record_bytes={self.opts.max_record_bytes} "
                f"(raise --max-record-bytes, or 0 for no limit)")

    def add(self, line: int | None, row: Any) -> None:
        opts = self.opts
        if not isinstance(row, dict):
            self.quarantine(line, "<record>", f"wrong type: expected an object, got {type(row).__name__}", row)
            return
        self.fields_seen.update(row)
        text = row.get(opts.text_field)
        if opts.text_field not in row or text is None:
            self.quarantine(line, opts.text_field, "missing text field", row)
            return
        if not isinstance(text, str):
            self.quarantine(line, opts.text_field, f"wrong type: expected a string, got {type(text).__name__}", row)
            return
        if not text.strip():
            self.quarantine(line, opts.text_field, "empty text", row)
            return
        if opts.max_record_bytes and len(text) > opts.max_record_bytes \
                and len(text.encode("utf-8")) > opts.max_record_bytes:
            self.quarantine(line, opts.text_field, self.too_large(len(text.encode("utf-8"))), text[:RAW_LIMIT])
            return
        doc_id = self._doc_id(line, row)
        if doc_id is None:
            return
        if doc_id in self.seen_ids:
            first = self.seen_ids[doc_id]
            self.quarantine(line, self._id_field(row) or "id", f"duplicate id {doc_id!r} (first at line {first})", row)
            return
        self.seen_ids[doc_id] = line
        title = ""
        if opts.title_field and isinstance(row.get(opts.title_field), str):
            title = row[opts.title_field]
        elif isinstance(row.get("title"), str):
            title = row["title"]
        skip = {opts.text_field, opts.title_field, "title", self._id_field(row)}
        meta = {k: _json_safe(v) for k, v in row.items() if k not in skip}
        license_ = row.get("license") if isinstance(row.get("license"), str) else opts.license
        self.result.documents.append(
            Document(doc_id=doc_id, text=text, source=self.source, title=title, license=license_ or "", meta=meta)
        )
        self.kept += 1

    def _id_field(self, row: dict[str, Any]) -> str | None:
        if self.opts.id_field:
            return self.opts.id_field
        for name in ("id", "doc_id"):
            if name in row:
                return name
        return None

    def _doc_id(self, line: int | None, row: dict[str, Any]) -> str | None:
        name = self._id_field(row)
        if name is None or name not in row:
            # no id field, or the named one is absent from this record: the row number is its id
            # (--id-field's promise), as for inputs without ids
            return f"{Path(self.file).name}:{line}"
        value = row.get(name)
        if value is None or value == "":
            self.quarantine(line, name, "missing id", row)
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.quarantine(line, name, f"wrong type: id must be a string or integer, got {type(value).__name__}", row)
            return None
        return str(value)

    def finish(self) -> None:
        self.result.per_file[self.file] = {"kept": self.kept, "quarantined": self.bad}
        if self.kept == 0:
            hint = ""
            if self.fields_seen and self.opts.text_field not in self.fields_seen:
                hint = f"; it has fields {sorted(self.fields_seen)[:12]}: choose one with --field"
            raise InputError(f"{self.file}: no usable record ({self.bad} quarantined){hint}")


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


# ----------------------------------------------------------------------------- formats


def _read_jsonl(path: Path, col: _Collector) -> None:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                col.quarantine(lineno, "<line>", f"invalid UTF-8 at byte {exc.start}", raw.decode("utf-8", "replace"))
                continue
            if not line.strip():
                continue
            if col.opts.max_record_bytes and len(raw) > col.opts.max_record_bytes:
                # Checked before parsing: a 30 MB line is not worth decoding to throw away.
                col.quarantine(lineno, "<line>", col.too_large(len(raw)), line[:RAW_LIMIT])
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                col.quarantine(lineno, "<line>", f"invalid JSON: {exc.msg} at column {exc.colno}", line)
                continue
            col.add(lineno, row)


def _read_parquet(path: Path, col: _Collector) -> None:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the file is unusable
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    row_number = 0
    for batch in pf.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            row_number += 1
            col.add(row_number, row)


def _read_csv(path: Path, col: _Collector) -> None:
    csv.field_size_limit(sys.maxsize)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        # Decode line by line so only the bad rows are quarantined.
        text = None
    delimiter = "\t" if path.suffix == ".tsv" else ","
    if text is None:
        good_lines = []
        for lineno, raw in enumerate(path.read_bytes().splitlines(keepends=True), start=1):
            try:
                good_lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                col.quarantine(lineno, "<line>", f"invalid UTF-8 at byte {exc.start}", raw.decode("utf-8", "replace"))
                good_lines.append("\n")  # keep line numbers aligned
        text = "".join(good_lines)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise InputError(f"{path}: empty CSV (no header row)")
    last_line = reader.line_num
    for values in reader:
        # A quoted field may span lines: the record starts on the line after the previous one
        # ended, and that first line is the one to report.
        first_line, last_line = last_line + 1, reader.line_num
        if not any(values):
            continue  # blank line (or a line replaced after a UTF-8 error)
        row = dict(zip(header, values))
        for name in header[len(values):]:
            row[name] = None  # a short row, as csv.DictReader fills it
        col.add(first_line, row)


def _read_text_folder(path: Path, opts: ReadOptions, result: ReadResult) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    source = opts.source or path.name
    col = _Collector(str(path), opts, result, source)
    for f in files:
        rel = str(f.relative_to(path))
        if f.suffix.lower() not in TEXT_SUFFIXES:
            col.quarantine(None, "<file>", f"unsupported file type {f.suffix or '(none)'}: {rel}", rel)
            continue
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            col.quarantine(None, "<file>", f"invalid UTF-8 at byte {exc.start}: {rel}", rel)
            continue
        col.add(None, {"id": rel, "text": text, "title": _title_of(text, f), "format": f.suffix.lower().lstrip(".")})
    col.finish()


def _title_of(text: str, path: Path) -> str:
    for line in text.splitlines()[:20]:
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped[:200]
    return path.stem


def _is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()
                              or (path / "state.json").exists())


def _iter_hf(ds: Any, split: str | None) -> Iterator[tuple[str, Any]]:
    from datasets import DatasetDict

    if isinstance(ds, DatasetDict):
        names = [split] if split else list(ds)
        for name in names:
            if name not in ds:
                raise InputError(f"split {name!r} not found; available: {list(ds)}")
            yield name, ds[name]
    else:
        yield split or "", ds


def _read_hf(ds: Any, label: str, opts: ReadOptions, result: ReadResult) -> None:
    for split_name, part in _iter_hf(ds, opts.split):
        name = f"{label}[{split_name}]" if split_name else label
        col = _Collector(name, opts, result, opts.source or label)
        for i, row in enumerate(part, start=1):
            col.add(i, row)
        col.finish()


def read_documents(paths: str | Path | Sequence[str | Path], opts: ReadOptions | None = None) -> ReadResult:
    """Read every path (file, folder, saved dataset or, with allow_network, a hub id)."""
    opts = opts or ReadOptions()
    if isinstance(paths, (str, Path)):
        paths = [paths]
    result = ReadResult()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if _is_saved_dataset(path):
                from datasets import load_from_disk

                try:
                    ds = load_from_disk(str(path))
                except Exception as exc:  # noqa: BLE001
                    raise InputError(f"{path}: not a loadable saved dataset ({exc})") from None
                _read_hf(ds, str(path), opts, result)
            else:
                _read_text_folder(path, opts, result)
            continue
        if not path.exists():
            if HUB_ID.match(str(raw)):
                _read_hub(str(raw), opts, result)
                continue
            raise InputError(f"{path}: no such file or folder")
        suffix = path.suffix.lower()
        col = _Collector(str(path), opts, result, opts.source or path.stem)
        if suffix in JSONL_SUFFIXES:
            _read_jsonl(path, col)
        elif suffix == ".parquet":
            _read_parquet(path, col)
        elif suffix in (".csv", ".tsv"):
            _read_csv(path, col)
        elif suffix in TEXT_SUFFIXES:
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: invalid UTF-8 at byte {exc.start}") from None
            col.add(None, {"id": path.name, "text": text, "title": _title_of(text, path)})
        else:
            raise InputError(
                f"{path}: unsupported input type {suffix or '(no extension)'}; use .jsonl, .parquet, .csv, "
                f"a folder of {'/'.join(TEXT_SUFFIXES)} files, or a saved Hugging Face dataset folder"
            )
        col.finish()
    log.info("read %d documents, quarantined %d", len(result.documents), len(result.quarantined))
    return result


def _read_hub(repo_id: str, opts: ReadOptions, result: ReadResult) -> None:
    if not opts.allow_network:
        raise InputError(
            f"{repo_id}: not a local file or folder. To read the Hugging Face Hub dataset of that name, "
            f"allow network use (--allow-network); rlvr never downloads unless asked."
        )
    from datasets import load_dataset

    try:
        ds = load_dataset(repo_id, split=opts.split)
    except Exception as exc:  # noqa: BLE001 - offline, unknown id, gated: all unusable
        raise InputError(f"{repo_id}: could not load it from the Hugging Face Hub ({type(exc).__name__}: {exc})") from None
    _read_hf(ds, repo_id, opts, result)
