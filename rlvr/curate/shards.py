"""On-disk spools for the out-of-core engine: rows partitioned by a key, read back one partition at a time.

The all-to-all part of dedupe (which items share a key, a band bucket or an id) is done by
hash partitioning: every row goes to partition `key % P`, so all rows with one key land in one
partition, and each partition is small enough to sort in memory (P is chosen from the row count).
This is the external sort of a MapReduce shuffle, with Arrow IPC streams as the files: cheap to
append a batch to, and read back in one call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa


class PartitionSpool:
    """Append Arrow tables split by a partition number; read each partition back whole."""

    def __init__(self, folder: Path, partitions: int, schema: pa.Schema):
        self.folder, self.partitions, self.schema = Path(folder), partitions, schema
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("part-*.arrow"):  # a reused work folder: an earlier run's partitions
            old.unlink()
        self._sinks: dict[int, tuple[pa.NativeFile, pa.ipc.RecordBatchStreamWriter]] = {}
        self.rows = 0

    def path(self, p: int) -> Path:
        return self.folder / f"part-{p:05d}.arrow"

    def add(self, table: pa.Table, part: np.ndarray) -> None:
        if not table.num_rows:
            return
        order = np.argsort(part, kind="stable")
        counts = np.bincount(part, minlength=self.partitions)
        table = table.take(pa.array(order)).cast(self.schema)
        start = 0
        for p in np.flatnonzero(counts).tolist():
            self._writer(p).write_table(table.slice(start, int(counts[p])))
            start += int(counts[p])
        self.rows += table.num_rows

    def _writer(self, p: int) -> pa.ipc.RecordBatchStreamWriter:
        if p not in self._sinks:
            sink = pa.OSFile(str(self.path(p)), "wb")
            self._sinks[p] = (sink, pa.ipc.new_stream(sink, self.schema))
        return self._sinks[p][1]

    def close(self) -> None:
        for sink, writer in self._sinks.values():
            writer.close()
            sink.close()
        self._sinks = {}

    def read(self, p: int) -> pa.Table:
        path = self.path(p)
        if not path.exists():
            return self.schema.empty_table()
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_stream(source).read_all()

    def __iter__(self):
        self.close()
        for p in range(self.partitions):
            table = self.read(p)
            if table.num_rows:
                yield table


def partitions_for(rows: int, target: int = 2_000_000, minimum: int = 4) -> int:
    """Enough partitions that one holds about `target` rows (an expected few tens of MB)."""
    return max(minimum, -(-rows // target))


def partition_of(keys: np.ndarray, partitions: int) -> np.ndarray:
    """Partition number of each uint64 key (keys are already well-mixed hashes)."""
    return (np.asarray(keys, dtype=np.uint64) % np.uint64(partitions)).astype(np.int64)


class ShingleStore:
    """Every item's shingle hashes in one flat file, addressed by row, memory-mapped for reading.

    Batches may arrive in any row order (Ray returns blocks as they finish); each row's start in
    the file is recorded, so a row's set is values[starts[row]:starts[row] + lengths[row]].
    """

    def __init__(self, path: Path, n_rows: int):
        self.path = Path(path)
        self.starts = np.zeros(n_rows, dtype=np.int64)
        self.lengths = np.zeros(n_rows, dtype=np.int64)
        self._fh = open(self.path, "wb")
        self._pos = 0
        self.values: np.ndarray = np.zeros(0, np.uint64)

    def append(self, rows: np.ndarray, values: np.ndarray, offsets: np.ndarray) -> None:
        """One batch: rows, their flat shingle values and the offsets into them (len(rows) + 1)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        values = np.ascontiguousarray(values[offsets[0]:offsets[-1]], dtype=np.uint64)
        self._fh.write(values.tobytes())
        self.starts[rows] = self._pos + offsets[:-1] - offsets[0]
        self.lengths[rows] = np.diff(offsets)
        self._pos += len(values)

    def finish(self) -> None:
        self._fh.close()
        if self._pos:
            self.values = np.memmap(self.path, dtype=np.uint64, mode="r", shape=(self._pos,))

    def jaccard(self, left: np.ndarray, right: np.ndarray, chunk: int = 50_000) -> np.ndarray:
        """Exact Jaccard similarity of the shingle sets of many row pairs."""
        from rlvr.curate.minhash import jaccard_pairs

        out = np.zeros(len(left))
        for start in range(0, len(left), chunk):
            a, b = left[start:start + chunk], right[start:start + chunk]
            used = np.unique(np.concatenate([a, b]))
            sets = [np.asarray(self.values[s:s + n]) for s, n in zip(self.starts[used].tolist(),
                                                                    self.lengths[used].tolist())]
            out[start:start + chunk] = jaccard_pairs(sets, np.searchsorted(used, a), np.searchsorted(used, b))
        return out
