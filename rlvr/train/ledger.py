"""The rollout ledger: every training and probe group of a run, kept across generation batches and resumes.

TRL keeps only the last generation batch's per-sample results in its logs. The ledger keeps all of
them as `RolloutGroup` rows (rlvr.records): step, task, k rewards, verifier statuses, completion
lengths, the selector's name and score, and in `meta` the GRPO advantages TRL computed, whether each
completion was truncated, the first `save_completions` characters of each completion, the group's
TracIn influence on the probe set, and the task's kind and source.

Append-safety. Parquet files cannot be appended to, and a run can be SIGKILLed at any instant, so
rows are buffered in memory and written as numbered part files (`part-000003.parquet`, atomically)
only when a checkpoint is taken. The checkpoint records which parts it covers. On resume, parts
that no complete checkpoint covers (written just before a kill) are deleted, so the rows of the
steps that will be re-run are neither duplicated nor lost. `consolidate` writes `rollouts.parquet`
from the parts at the end of the run.

Step convention: a training group's `step` is the trainer's `global_step` when it was generated
(TRL's `trainer_state.global_step`), i.e. it trains optimizer step `step + 1`; a probe group's
`step` is the number of optimizer steps the evaluated policy had taken. A checkpoint after N steps
therefore covers training rows with step < N and probe rows with step <= N.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rlvr.records import RolloutGroup, write_table

log = logging.getLogger(__name__)

PART_RE = re.compile(r"^part-(\d{6})\.parquet$")


def covered_by(group: RolloutGroup, steps_done: int) -> bool:
    """Whether a checkpoint taken after `steps_done` optimizer steps includes this group."""
    return group.step <= steps_done if group.phase == "probe" else group.step < steps_done


class Ledger:
    """Buffered, append-safe RolloutGroup storage in `folder` (see the module docstring)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._buffer: list[RolloutGroup] = []
        self._open: dict[tuple[int, str], RolloutGroup] = {}  # training groups by (step, task_id)
        self.rows_written = sum(self._count(p) for p in self.part_files())

    # -- parts on disk --------------------------------------------------------------------------
    def part_files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if PART_RE.match(p.name))

    @staticmethod
    def _count(path: Path) -> int:
        return pq.ParquetFile(path).metadata.num_rows

    def restore(self, parts: Sequence[str]) -> int:
        """Keep exactly the named parts (those a checkpoint covers; none for a fresh run in a folder that
        may hold an abandoned one); returns how many others were removed."""
        keep = set(parts)
        missing = sorted(keep - {p.name for p in self.part_files()})
        if missing:
            raise RuntimeError(f"{self.folder}: ledger part(s) {missing} named by the checkpoint are gone; the "
                               "run directory was modified. Start afresh in a new --out folder.")
        removed = 0
        for p in self.part_files():
            if p.name not in keep:
                p.unlink()
                removed += 1
        if removed:
            log.info("ledger: removed %d part file(s) written after the last complete checkpoint", removed)
        self._buffer.clear()
        self._open.clear()
        self.rows_written = sum(self._count(p) for p in self.part_files())
        return removed

    # -- adding rows ----------------------------------------------------------------------------
    def add(self, groups: Iterable[RolloutGroup]) -> None:
        """Buffer groups; training groups stay addressable by (step, task_id) for `annotate`."""
        for g in groups:
            self._buffer.append(g)
            if g.phase == "train":
                self._open[(g.step, g.task_id)] = g

    def discard(self) -> int:
        """Drop the buffered rows (a process that does not write the ledger); returns how many."""
        n = len(self._buffer)
        self._buffer.clear()
        self._open.clear()
        return n

    def open_group(self, step: int, task_id: str) -> RolloutGroup | None:
        return self._open.get((step, task_id))

    def add_influence(self, step: int, task_id: str, value: Any, geometry: str = "sgd") -> bool:
        """Add a group's influence: a number, or its per-probe-unit contributions (summed into
        meta["influence"], kept in meta["influence_by_probe"] for the bootstrap standard error)."""
        g = self._open.get((step, task_id))
        if g is None:
            return False
        parts = [float(x) for x in np.atleast_1d(np.asarray(value, dtype=np.float64))]
        g.meta["influence"] = g.meta.get("influence", 0.0) + sum(parts)
        if len(parts) > 1:
            old = g.meta.get("influence_by_probe") or [0.0] * len(parts)
            g.meta["influence_by_probe"] = [a + b for a, b in zip(old, parts)]
        g.meta["influence_geometry"] = geometry
        return True

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def buffered_groups(self) -> list[RolloutGroup]:
        """The rows not yet flushed, in order (read-only use)."""
        return list(self._buffer)

    # -- writing --------------------------------------------------------------------------------
    def flush(self) -> str | None:
        """Write the buffered rows as the next part file; returns its name (None when empty)."""
        if not self._buffer:
            return None
        parts = self.part_files()
        number = int(PART_RE.match(parts[-1].name).group(1)) + 1 if parts else 0
        path = self.folder / f"part-{number:06d}.parquet"
        RolloutGroup.write_parquet(path, self._buffer)
        self.rows_written += len(self._buffer)
        self._buffer.clear()
        self._open.clear()
        return path.name

    def read(self, include_buffer: bool = True) -> list[RolloutGroup]:
        """Every row: the parts in order, then (optionally) the unflushed buffer."""
        rows: list[RolloutGroup] = []
        for p in self.part_files():
            rows.extend(RolloutGroup.read_parquet(p))
        if include_buffer:
            rows.extend(self._buffer)
        return rows

    def consolidate(self, path: str | Path) -> tuple[Path, int]:
        """Write all parts (flushed first) into one Parquet file; returns (path, rows)."""
        self.flush()
        tables = [pq.read_table(p) for p in self.part_files()]
        table = pa.concat_tables(tables) if tables else RolloutGroup.to_arrow([])
        return write_table(path, table), table.num_rows
