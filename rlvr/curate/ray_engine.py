"""The Ray Data curate engine: the steps' per-item functions in `map_batches`, keys grouped by a shuffle.

`rlvr curate --engine ray [--ray-address ADDR]` and `engine: ray` in a curate stage. It makes
the same decisions as the local out-of-core engine (rlvr.curate.engine) and the in-memory
runner; what moves to the cluster is the work that grows with the data:

- the driver streams the inputs (rlvr.curate.stream) into Ray's object store, block by block,
  and keeps the keep flag per row;
- per-item steps (decontam) score and decide in `map_batches`;
- keyed steps (exact, structural) score in `map_batches`, then `groupby` a hash partition of the
  key and call the step's own `decide` per partition (`map_groups`), so a key's items meet;
- minhash computes shingles, signatures and band keys in `map_batches`, explodes the band keys
  and `groupby`s their hash partition, where rlvr.curate.buckets makes the candidate pairs
  (oversized buckets bounded). The driver confirms the pairs by exact Jaccard (shingles go to a
  memory-mapped file in the work folder, not to driver memory) and clusters them with scipy.

Without an address a local Ray starts in this process (all cores); `--ray-address auto` joins a
running cluster on this machine, `ray://head:10001` a remote one through Ray Client. Workers
import rlvr, so install it (same version) on every node.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlvr.curate.base import VERDICT_SCHEMA
from rlvr.curate.engine import PER_ITEM, LocalEngine, StepWriter, _PerRow, explode_bands, minhash_rows
from rlvr.curate.shards import partition_of, partitions_for
from rlvr.curate.text import hash_strings

log = logging.getLogger(__name__)


def _alive_only(table: pa.Table, alive: np.ndarray) -> pa.Table:
    mask = alive[table.column("row").to_numpy()]
    return table if mask.all() else table.filter(pa.array(mask))


def _scored(table: pa.Table, step) -> pa.Table:
    return pa.Table.from_batches([step.score(b) for b in table.to_batches(max_chunksize=1 << 30)])


def _per_item_verdicts(table: pa.Table, step, alive: np.ndarray) -> pa.Table:
    table = _alive_only(table, alive)
    verdicts = step.decide(_scored(table, step)) if table.num_rows else VERDICT_SCHEMA.empty_table()
    return verdicts.append_column("row", table.column("row"))


def _keyed_scores(table: pa.Table, step, alive: np.ndarray, partitions: int) -> pa.Table:
    table = _alive_only(table, alive)
    if not table.num_rows:
        return pa.table({"row": pa.array([], pa.int64()), "id": pa.array([], pa.string()),
                         "quality": pa.array([], pa.float64()), "key": pa.array([], pa.string()),
                         "part": pa.array([], pa.int64())})
    scored = _scored(table, step)
    part = partition_of(hash_strings(pc.coalesce(scored.column("key"), scored.column("id")).combine_chunks()),
                        partitions)
    return pa.table({"row": table.column("row"), "id": scored.column("id"), "quality": scored.column("quality"),
                     "key": scored.column("key"), "part": part})


def _keyed_verdicts(group: pa.Table, step) -> pa.Table:
    verdicts = step.decide(group.select(["id", "quality", "key"]))
    return verdicts.append_column("row", group.column("row"))


def _minhash_scores(table: pa.Table, step, alive: np.ndarray) -> pa.Table:
    table = _alive_only(table, alive).combine_chunks()
    batch = table.to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], schema=table.schema)
    return minhash_rows(step, batch)


def _band_rows(table: pa.Table, partitions: int) -> pa.Table:
    bands = explode_bands(table)
    return bands.append_column("part", pa.array(partition_of(bands.column("key").to_numpy(), partitions)))


def _bucket_pairs(group: pa.Table, max_bucket: int) -> pa.Table:
    from rlvr.curate.buckets import bucket_pairs

    left, right = bucket_pairs(group.column("key").to_numpy(), group.column("row").to_numpy(),
                               group.column("sighash").to_numpy(), max_bucket)
    return pa.table({"left": pa.array(left, pa.int64()), "right": pa.array(right, pa.int64())})


class RayEngine(LocalEngine):
    """Curate on Ray Data (see the module docstring); bookkeeping is shared with LocalEngine."""

    name = "ray"

    def __init__(self, config, work_dir: str | Path | None = None, address: str | None = None,
                 progress: bool = False):
        super().__init__(config, work_dir, progress)
        self.address = address
        self._started = False
        self._refs: list = []

    def _ray(self):
        try:
            import ray
        except ImportError:
            raise ImportError("--engine ray needs Ray Data: pip install 'rlvr[scale]'") from None
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
            self._started = True
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = self.progress
        return ray

    def close(self) -> None:
        self._refs = []
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        super().close()

    def _spool_items(self, source):
        """As the local engine (the driver keeps ids and rows), then the items go to Ray's object store
        in blocks of about a quarter of the items per CPU (at least one batch)."""
        import math

        import pyarrow.parquet as pq

        ray = self._ray()
        files, ids = super()._spool_items(source)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        block = max(self.config.batch_size, math.ceil(source.n_rows / (4 * cpus)))
        self._refs = [ray.put(pa.Table.from_batches([b])) for path in files
                      for b in pq.ParquetFile(path).iter_batches(batch_size=block)]
        return files, ids

    def _dataset(self):
        import ray.data

        return ray.data.from_arrow_refs(self._refs)

    def _shuffle_partitions(self, parts: int) -> int:
        """Reducers of a groupby: our hash partitions, at most a few per CPU (Ray's default is 200)."""
        import ray

        return max(1, min(parts, 4 * int(ray.cluster_resources().get("CPU", 1))))

    def _collect(self, ds, writer: StepWriter) -> None:
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            if batch.num_rows:
                writer.write(batch.drop_columns(["row"]), batch.column("row").to_numpy())

    # -- the three kinds of step, on Ray Data

    def _per_item(self, step, files, alive, writer) -> None:
        if step.name not in PER_ITEM:
            raise ValueError(f"step {step.name!r} is not a per-item step")
        ds = self._dataset().map_batches(_per_item_verdicts, batch_format="pyarrow", batch_size=self.config.batch_size,
                                         fn_kwargs={"step": step, "alive": alive})
        self._collect(ds, writer)

    def _keyed(self, step, files, alive, writer) -> None:
        parts = partitions_for(int(alive.sum()), target=200_000)
        scored = self._dataset().map_batches(_keyed_scores, batch_format="pyarrow", batch_size=self.config.batch_size,
                                             fn_kwargs={"step": step, "alive": alive, "partitions": parts})
        ds = scored.groupby("part", num_partitions=self._shuffle_partitions(parts)).map_groups(_keyed_verdicts, batch_format="pyarrow",
                                               fn_kwargs={"step": step})
        self._collect(ds, writer)

    def _minhash_candidates(self, step, files, alive, per_row: _PerRow) -> tuple[np.ndarray, np.ndarray]:
        from rlvr.curate.buckets import dedupe_pairs

        scored = self._dataset().map_batches(_minhash_scores, batch_format="pyarrow",
                                             batch_size=self.config.batch_size,
                                             fn_kwargs={"step": step, "alive": alive}).materialize()
        parts = partitions_for(int(alive.sum()) * step.bands, target=1_000_000)
        pairs = (scored.select_columns(["row", "keys", "sighash"])
                 .map_batches(_band_rows, batch_format="pyarrow", fn_kwargs={"partitions": parts})
                 .groupby("part", num_partitions=self._shuffle_partitions(parts))
                 .map_groups(_bucket_pairs, batch_format="pyarrow", fn_kwargs={"max_bucket": self.config.max_bucket}))
        lefts, rights = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for batch in pairs.iter_batches(batch_format="pyarrow", batch_size=None):
            lefts.append(batch.column("left").to_numpy())
            rights.append(batch.column("right").to_numpy())
        # The driver keeps what confirmation needs: guard values by row, shingles on disk.
        for batch in scored.iter_batches(batch_format="pyarrow", batch_size=None):
            per_row.add(batch)
        return dedupe_pairs(np.concatenate(lefts), np.concatenate(rights))
