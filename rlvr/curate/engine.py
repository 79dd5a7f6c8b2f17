"""The out-of-core curate engine: the same steps and decisions as the in-memory runner, on disk.

`rlvr curate --engine local` (and `engine: local` in a curate stage) runs here. Memory holds one
batch of records and a few bytes per item, not the dataset:

1. Inputs stream in batches (rlvr.curate.stream); items go to Parquet shards in the work folder.
   Repeated ids are found by partitioning ids by hash (rlvr.curate.shards).
2. Each step, over the items every earlier step kept (a keep flag per row), streams the shards:
   - per-item steps (decontam) score and decide each batch;
   - keyed steps (exact, structural) write (row, id, quality, key) partitioned by the key's hash,
     then call the step's own `decide` on one partition at a time (a key's items share one);
   - minhash writes each item's shingles to a flat file, its guard values to arrays, and its
     band keys partitioned by key; candidate pairs come from one partition at a time through
     rlvr.curate.buckets (oversized buckets bounded); pairs are confirmed by exact Jaccard
     (shingles read from the memory-mapped file), clustered with scipy's connected_components,
     and each cluster keeps its best item by the keep rule.
3. Decisions are written per step as Parquet shards, then joined into one decisions file.

Semantic dedupe (k-means over every embedding) and a Redis LSH index are in-memory features: ask
for them with `--engine memory`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rlvr.curate.base import (
    DUPLICATE_ID,
    KEEP_UNIQUE,
    VERDICT_SCHEMA,
    StepReport,
    decision_table,
    group_representatives,
    group_verdicts,
    rank_order,
    run_counts,
)
from rlvr.curate.config import check_supported
from rlvr.curate.shards import PartitionSpool, ShingleStore, partition_of, partitions_for
from rlvr.curate.stream import ItemSource
from rlvr.curate.text import hash_strings
from rlvr.records import Decision, Quarantined

log = logging.getLogger(__name__)

KEYED = ("exact", "structural")
PER_ITEM = ("decontam",)
_KEY_SCHEMA = pa.schema([("row", pa.int64()), ("id", pa.string()), ("quality", pa.float64()), ("key", pa.string())])
_ID_SCHEMA = pa.schema([("row", pa.int64()), ("id", pa.string()), ("source", pa.string())])
_BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("row", pa.int64()), ("sighash", pa.uint64())])


@dataclass
class EngineResult:
    """What an engine run decided: a keep flag per input row, the reports and the decision shards."""

    keep: np.ndarray
    decision_files: list[Path]
    quarantined: list[Quarantined]
    reports: list[Any]
    n_in: int
    work: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dropped(self) -> dict[str, int]:
        return self.counts["dropped"]

    @property
    def counts(self) -> dict[str, Any]:
        return run_counts(self.n_in, int(self.keep.sum()), self.reports, len(self.quarantined))

    def decisions(self) -> pa.Table:
        """All decisions in one table (for tests and small runs; large runs stream the files)."""
        tables = [pq.read_table(p) for p in self.decision_files]
        return pa.concat_tables(tables) if tables else Decision.SCHEMA.empty_table()

    def write_decisions(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with pq.ParquetWriter(tmp, Decision.SCHEMA, compression="zstd") as writer:
            for p in self.decision_files:
                for batch in pq.ParquetFile(p).iter_batches(batch_size=65536):
                    writer.write_batch(batch)
        tmp.replace(path)
        return path


def _verdict_rows(verdicts: pa.Table, rows: np.ndarray) -> pa.Table:
    return verdicts.append_column("row", pa.array(rows, pa.int64()))


class StepWriter:
    """Writes one step's decisions to a Parquet shard and keeps the books for its report."""

    def __init__(self, path: Path, stage: str, keep: np.ndarray):
        self._table = decision_table
        self.path, self.stage, self.keep = path, stage, keep
        self.writer = pq.ParquetWriter(path, Decision.SCHEMA, compression="zstd")
        self.seen = self.kept = 0
        self.dropped: Counter[str] = Counter()

    def write(self, verdicts: pa.Table, rows: np.ndarray) -> None:
        if not verdicts.num_rows:
            return
        keep = verdicts.column("keep").to_numpy(zero_copy_only=False)
        self.keep[rows[~keep]] = False
        self.seen += len(keep)
        self.kept += int(keep.sum())
        for r in pc.value_counts(verdicts.column("reason").filter(pa.array(~keep))).to_pylist():
            self.dropped[r["values"]] += r["counts"]
        self.writer.write_table(self._table(verdicts, self.stage))

    def close(self) -> None:
        self.writer.close()


class LocalEngine:
    """Runs curate steps out of core in one process (see the module docstring)."""

    name = "local"

    def __init__(self, config, work_dir: str | Path | None = None, progress: bool = False):
        check_supported(config)
        self.config, self.progress = config, progress
        self._own_work = work_dir is None
        self.work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="rlvr-curate-"))
        self.work.mkdir(parents=True, exist_ok=True)

    # -- the run

    def run(self, source: ItemSource, steps: list) -> EngineResult:
        """Run `steps` (rlvr.curate.runner.build_steps) over the source's items."""
        item_files, ids = self._spool_items(source)
        keep = np.ones(source.n_rows, dtype=bool)
        reports, files = [], []
        n_quarantined = len(source.quarantined)
        self._duplicate_ids(ids, source, keep, reports, files)
        n_in = source.n_rows + n_quarantined
        for k, step in enumerate(steps):
            start = time.monotonic()
            writer = StepWriter(self.work / f"decisions-{k + 1:02d}-{step.name}.parquet", step.name, keep)
            alive_before = keep.copy()
            if step.name in PER_ITEM:
                self._per_item(step, item_files, alive_before, writer)
            elif step.name in KEYED:
                self._keyed(step, item_files, alive_before, writer)
            elif step.name == "minhash":
                self._minhash(step, item_files, alive_before, writer)
            else:
                raise ValueError(f"step {step.name!r} cannot run out of core; use --engine memory")
            writer.close()
            files.append(writer.path)
            reports.append(StepReport(step.name, writer.seen, writer.kept, dict(sorted(writer.dropped.items())),
                                      round(time.monotonic() - start, 3)))
            log.info("%s: kept %d of %d", step.name, writer.kept, writer.seen)
        result = EngineResult(keep, files, source.quarantined, reports, n_in, self.work)
        _check_books(result)
        return result

    def close(self) -> None:
        if self._own_work:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- inputs

    def _spool_items(self, source: ItemSource) -> tuple[list[Path], PartitionSpool]:
        folder = self.work / "items"
        folder.mkdir(parents=True, exist_ok=True)
        ids = PartitionSpool(self.work / "ids", 16, _ID_SCHEMA)
        files: list[Path] = []
        writer, rows_in_file = None, 0
        for batch in source.batches():
            if writer is None or rows_in_file >= 1_000_000:
                if writer is not None:
                    writer.close()
                files.append(folder / f"part-{len(files):05d}.parquet")
                writer = pq.ParquetWriter(files[-1], batch.schema, compression="zstd")
                rows_in_file = 0
            writer.write_batch(batch)
            rows_in_file += batch.num_rows
            id_col = batch.column("id")
            ids.add(pa.table({"row": batch.column("row"), "id": id_col, "source": batch.column("source")}),
                    partition_of(hash_strings(id_col), ids.partitions))
        if writer is not None:
            writer.close()
        ids.close()
        return files, ids

    def _duplicate_ids(self, ids: PartitionSpool, source: ItemSource, keep: np.ndarray, reports: list,
                       files: list) -> np.ndarray | None:
        """Rows repeating an earlier row's id: a decision for tasks, quarantined for other datasets."""
        dups, firsts, first_sources = [], [], []
        for table in ids:
            table = table.sort_by("row")
            values = np.asarray(table.column("id").to_pylist(), dtype=object)
            _, first, inverse = np.unique(values.astype(str), return_index=True, return_inverse=True)
            is_dup = first[inverse.ravel()] != np.arange(len(values))
            if is_dup.any():
                rows = table.column("row").to_numpy()
                sources = table.column("source").to_pylist()
                dups.append(rows[is_dup])
                firsts.append(rows[first[inverse.ravel()][is_dup]])
                first_sources.extend(sources[i] for i in first[inverse.ravel()][is_dup])
        if not dups:
            return None
        dup_rows, first_rows = np.concatenate(dups), np.concatenate(firsts)
        order = np.argsort(dup_rows)
        dup_rows, first_rows = dup_rows[order], first_rows[order]
        first_sources = [first_sources[i] for i in order]
        keep[dup_rows] = False
        dup_ids = self._ids_of(dup_rows)
        if not source.is_tasks:
            for item_id, src in zip(dup_ids, first_sources):
                source.quarantined.append(Quarantined(src, None, source.config.id_field,
                                                      f"duplicate id {item_id!r} (also in {src})", ""))
            return dup_rows
        n = len(dup_rows)
        verdicts = pa.table({
            "id": pa.array(dup_ids, pa.string()), "keep": pa.array([False] * n),
            "reason": pa.array([DUPLICATE_ID] * n, pa.string()), "matched_id": pa.array(dup_ids, pa.string()),
            "source": pa.array(["input"] * n, pa.string()), "score": pa.array([1.0] * n, pa.float64()),
            "detail": pa.array([f"input row {r} repeats row {f}" for r, f in zip(dup_rows.tolist(),
                                                                                  first_rows.tolist())], pa.string()),
        })
        writer = StepWriter(self.work / "decisions-00-input.parquet", "input", np.ones(len(keep), dtype=bool))
        writer.write(verdicts, dup_rows)
        writer.close()
        files.append(writer.path)
        reports.append(StepReport("input", len(keep), len(keep) - n, {DUPLICATE_ID: n}, 0.0))
        return dup_rows

    def _ids_of(self, rows: np.ndarray) -> list[str]:
        """Ids of the given rows (sorted), read back from the item shards."""
        found: dict[int, str] = {}
        wanted = pa.array(rows)
        for path in sorted((self.work / "items").glob("part-*.parquet")):
            t = pq.read_table(path, columns=["row", "id"])
            t = t.filter(pc.is_in(t.column("row"), value_set=wanted))
            found.update(zip(t.column("row").to_pylist(), t.column("id").to_pylist()))
        return [found[r] for r in rows.tolist()]

    def _alive_batches(self, files: list[Path], alive: np.ndarray) -> Iterator[pa.RecordBatch]:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(alive.sum()), unit="item", disable=not self.progress, leave=False)
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=self.config.batch_size):
                rows = batch.column("row").to_numpy()
                mask = alive[rows]
                if not mask.all():
                    batch = batch.filter(pa.array(mask))
                if batch.num_rows:
                    bar.update(batch.num_rows)
                    yield batch
        bar.close()

    # -- per-item and keyed steps

    def _per_item(self, step, files: list[Path], alive: np.ndarray, writer: StepWriter) -> None:
        for batch in self._alive_batches(files, alive):
            verdicts = step.decide(pa.Table.from_batches([step.score(batch)]))
            writer.write(verdicts, batch.column("row").to_numpy())

    def _keyed(self, step, files: list[Path], alive: np.ndarray, writer: StepWriter) -> None:
        spool = PartitionSpool(self.work / f"keys-{step.name}", partitions_for(int(alive.sum())), _KEY_SCHEMA)
        for batch in self._alive_batches(files, alive):
            scored = step.score(batch)
            key = scored.column("key")
            # Rows without a key are decided alone; spreading them by id keeps partitions even.
            hashed = pc.coalesce(key, scored.column("id"))
            spool.add(pa.table({"row": batch.column("row"), "id": scored.column("id"),
                                "quality": scored.column("quality"), "key": key}),
                      partition_of(hash_strings(hashed), spool.partitions))
        for table in spool:
            verdicts = step.decide(table.select(["id", "quality", "key"]))
            writer.write(verdicts, table.column("row").to_numpy())

    # -- minhash

    def _minhash(self, step, files: list[Path], alive: np.ndarray, writer: StepWriter) -> None:
        from rlvr.curate.guards import numbers_guard, pair_guards

        cfg = self.config
        per_row = _PerRow(self.work / "shingles.u64", len(alive))
        left, right = self._minhash_candidates(step, files, alive, per_row)
        per_row.store.finish()
        guarded, guard = numbers_guard(cfg.same_numbers, per_row.task[alive])
        guarded_rows = np.zeros(len(alive), dtype=bool)
        guarded_rows[alive] = guarded
        ok = pair_guards(cfg, left, right, per_row.numbers, per_row.answers, guarded_rows)
        left, right = left[ok], right[ok]
        sims = per_row.store.jaccard(left, right)
        hit = sims >= cfg.threshold
        log.info("minhash: %d candidate pairs passed the guards, %d confirmed", len(left), int(hit.sum()))
        self._cluster_verdicts(step, files, alive, writer, per_row.store, left[hit], right[hit], f"minhash; {guard}")

    def _minhash_candidates(self, step, files: list[Path], alive: np.ndarray, per_row: _PerRow
                            ) -> tuple[np.ndarray, np.ndarray]:
        """Score every alive item (filling `per_row`) and return the candidate pairs of its band buckets."""
        from rlvr.curate.buckets import bucket_pairs, dedupe_pairs

        spool = PartitionSpool(self.work / "bands", partitions_for(int(alive.sum()) * step.bands), _BAND_SCHEMA)
        for batch in self._alive_batches(files, alive):
            bands = per_row.add(minhash_rows(step, batch))
            spool.add(bands, partition_of(bands.column("key").to_numpy(), spool.partitions))
        lefts, rights = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for table in spool:
            left, right = bucket_pairs(table.column("key").to_numpy(), table.column("row").to_numpy(),
                                       table.column("sighash").to_numpy(), self.config.max_bucket)
            lefts.append(left)
            rights.append(right)
        return dedupe_pairs(np.concatenate(lefts), np.concatenate(rights))

    def _cluster_verdicts(self, step, files, alive, writer, store, left, right, source) -> None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        members = np.unique(np.concatenate([left, right]))  # rows in some confirmed pair
        m = len(members)
        if m:
            a, b = np.searchsorted(members, left), np.searchsorted(members, right)
            graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(m, m)).tocsr()
            _, labels = connected_components(graph, directed=False)
            sizes = np.bincount(labels)[labels]
            ids, quality = self._ids_and_quality(files, members)
            rep = group_representatives(labels, rank_order(ids, quality))
            moved = np.flatnonzero(rep != np.arange(m))
            to_rep = np.full(m, np.nan)
            to_rep[moved] = store.jaccard(members[moved], members[rep[moved]])
            detail = [(f"kept over {s - 1} near-duplicate(s)" if r == i else f"cluster of {s}; kept {ids[r]}")
                      for i, (r, s) in enumerate(zip(rep.tolist(), sizes.tolist()))]
            writer.write(group_verdicts(ids, rep, sizes, step.reason, source, score=to_rep, detail=detail), members)
        in_cluster = np.zeros(len(alive), dtype=bool)
        in_cluster[members] = True
        for batch in self._alive_batches(files, alive & ~in_cluster):
            n = batch.num_rows
            writer.write(pa.table({
                "id": batch.column("id"), "keep": pa.array(np.ones(n, dtype=bool)),
                "reason": pa.array([KEEP_UNIQUE] * n, pa.string()), "matched_id": pa.nulls(n, pa.string()),
                "source": pa.nulls(n, pa.string()), "score": pa.nulls(n, pa.float64()),
                "detail": pa.array([""] * n, pa.string()),
            }, schema=VERDICT_SCHEMA), batch.column("row").to_numpy())

    def _ids_and_quality(self, files: list[Path], rows: np.ndarray) -> tuple[list[str], np.ndarray]:
        from rlvr.curate.base import quality_array

        wanted = pa.array(rows)
        parts = []
        for path in files:
            t = pq.read_table(path, columns=["row", "id", "quality"])
            parts.append(t.filter(pc.is_in(t.column("row"), value_set=wanted)))
        table = pa.concat_tables(parts).sort_by("row")
        return table.column("id").to_pylist(), quality_array(table)


def minhash_rows(step, batch: pa.RecordBatch) -> pa.Table:
    """The per-item part of minhash for one batch: guard values, shingles and band keys, per row.

    The same function runs in-process (local engine) and in Ray Data's map_batches (ray engine).
    """
    from rlvr.curate.buckets import signature_hash
    from rlvr.curate.lsh import band_keys

    scored = step.score(batch)
    shingles = scored.column("shingles")
    sigs = scored.column("signature").values.to_numpy(zero_copy_only=False).reshape(-1, step.config.num_perm)
    has = np.diff(np.asarray(shingles.offsets)) > 0
    keys = np.zeros((len(sigs), step.bands), dtype=np.uint64)
    keys[has] = band_keys(sigs[has], step.bands, step.rows)
    counts = np.where(has, step.bands, 0)
    offsets = np.zeros(len(sigs) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.table({
        "row": batch.column("row"), "numbers": scored.column("numbers"), "answer_key": scored.column("answer_key"),
        "task": scored.column("task"), "shingles": shingles,
        "keys": pa.ListArray.from_arrays(pa.array(offsets), pa.array(keys[has].ravel(), pa.uint64())),
        "sighash": pa.array(signature_hash(sigs), pa.uint64()),
    })


def explode_bands(table: pa.Table) -> pa.Table:
    """(key, row, sighash) per band of each item with shingles."""
    keys = table.column("keys").combine_chunks()
    counts = np.diff(np.asarray(keys.offsets))
    return pa.table({"key": keys.values, "row": np.repeat(table.column("row").to_numpy(), counts),
                     "sighash": np.repeat(table.column("sighash").to_numpy(), counts)}, schema=_BAND_SCHEMA)


class _PerRow:
    """What confirmation needs of every item, by row: guard values in arrays, shingles on disk."""

    def __init__(self, path: Path, n_rows: int):
        self.store = ShingleStore(path, n_rows)
        self.numbers = np.zeros(n_rows, dtype=np.uint64)
        self.answers = np.zeros(n_rows, dtype=np.uint64)
        self.task = np.zeros(n_rows, dtype=bool)

    def add(self, table: pa.Table) -> pa.Table:
        """Record one minhash_rows table; returns its band rows."""
        rows = table.column("row").to_numpy()
        shingles = table.column("shingles").combine_chunks()
        self.store.append(rows, shingles.values.to_numpy(zero_copy_only=False), np.asarray(shingles.offsets))
        self.numbers[rows] = table.column("numbers").to_numpy()
        self.answers[rows] = table.column("answer_key").to_numpy()
        self.task[rows] = table.column("task").to_numpy()
        return explode_bands(table)


def _check_books(result: EngineResult) -> None:
    c = result.counts
    total = c["kept"] + sum(c["dropped"].values()) + c["quarantined"]
    if total != c["in"]:
        raise RuntimeError(f"curate counts do not add up: in={c['in']} but kept+dropped+quarantined={total}")
