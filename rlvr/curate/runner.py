"""The one runner that executes curate steps, and the `curate` pipeline stage built on it.

For each step, in order, over the items every earlier step kept: `score` each Arrow record
batch (the per-item function Ray Data's `map_batches` could run unchanged), concatenate the
score batches, `decide`, record one Decision per item, and pass the kept items on. An item
dropped by a step is never seen by later steps, so it has exactly one drop decision, and the
books balance: items in = kept + dropped per reason + quarantined, overall and per step.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlvr.curate.base import DUPLICATE_ID, STEPS, Step, StepReport, run_counts
from rlvr.curate.base import decision_table as _decision_table
from rlvr.curate.config import CurateConfig
from rlvr.curate.items import Inputs, load_inputs, write_kept
from rlvr.records import Decision, Quarantined, Task, write_table
from rlvr.rundir import StageResult, StageType

log = logging.getLogger(__name__)

def build_steps(config: CurateConfig, cache=None) -> list[Step]:
    """The configured steps; heavy ones (indexes, models) are built only when asked for."""
    classes = [STEPS.get(name) for name in config.step_names()]
    if cache is None and any(getattr(c, "embeds", False) for c in classes):
        from rlvr.models.embed import EmbeddingCache

        cache = EmbeddingCache(config.embedder)  # one model load for both steps; loaded on first need
    return [cls.from_config(config, cache) for cls in classes]


@dataclass
class CurateResult:
    kept_rows: list[int]
    decisions: pa.Table
    quarantined: list[Quarantined]
    reports: list[StepReport]
    n_in: int

    @property
    def dropped(self) -> dict[str, int]:
        return self.counts["dropped"]

    @property
    def counts(self) -> dict[str, Any]:
        return run_counts(self.n_in, len(self.kept_rows), self.reports, len(self.quarantined))


def _split_duplicate_ids(inputs: Inputs) -> tuple[np.ndarray, pa.Table | None]:
    """Rows whose id was already seen: for tasks a second copy of the same task (a decision),
    for other datasets a second record under the same id (quarantined, as the readers do)."""
    column = inputs.items.column("id")
    if pc.count_distinct(column).as_py() == len(column):  # the usual case, decided in C
        return np.zeros(len(column), dtype=bool), None
    ids = column.to_pylist()
    first: dict[str, int] = {}
    dup = np.zeros(len(ids), dtype=bool)
    for row, item_id in enumerate(ids):
        if item_id in first:
            dup[row] = True
        else:
            first[item_id] = row
    if not dup.any():
        return dup, None
    rows = np.flatnonzero(dup).tolist()
    if inputs.tasks is None:
        for r in rows:
            doc = inputs.documents[r]
            first_doc = inputs.documents[first[ids[r]]]
            inputs.quarantined.append(Quarantined(doc.source, None, inputs.id_field,
                                                  f"duplicate id {ids[r]!r} (also in {first_doc.source})", doc.text[:300]))
        return dup, None
    n = len(rows)
    verdicts = pa.table({
        "id": pa.array([ids[r] for r in rows], pa.string()), "keep": pa.array([False] * n),
        "reason": pa.array([DUPLICATE_ID] * n, pa.string()), "matched_id": pa.array([ids[r] for r in rows], pa.string()),
        "source": pa.array(["input"] * n, pa.string()), "score": pa.array([1.0] * n, pa.float64()),
        "detail": pa.array([f"input row {r} repeats row {first[ids[r]]}" for r in rows], pa.string()),
    })
    return dup, _decision_table(verdicts, "input")


PROGRESS_SLICE = 256


def run_steps(inputs: Inputs, steps: list[Step], batch_size: int = 4096, progress: bool = False) -> CurateResult:
    from tqdm.auto import tqdm

    n_quarantined_before = len(inputs.quarantined)
    dup, dup_decisions = _split_duplicate_ids(inputs)
    n_in = inputs.items.num_rows + n_quarantined_before
    alive = inputs.items.filter(pa.array(~dup))
    tables = [dup_decisions] if dup_decisions is not None else []
    reports = []
    if dup_decisions is not None:
        reports.append(StepReport("input", inputs.items.num_rows, int((~dup).sum()), {DUPLICATE_ID: int(dup.sum())}, 0.0))
    for step in steps:
        start = time.monotonic()
        # Scored in slices of at most PROGRESS_SLICE items (each item's score depends on itself only;
        # `decide` sees them all), so the progress bar moves during a step instead of jumping at its end.
        batches = alive.to_batches(max_chunksize=min(batch_size, PROGRESS_SLICE)) if alive.num_rows else []
        bar = tqdm(total=alive.num_rows, desc=step.name, unit="item", disable=not progress, leave=False)
        scored = []
        for batch in batches:
            scored.append(step.score(batch))
            bar.update(batch.num_rows)
        bar.close()
        if not scored:
            reports.append(StepReport(step.name, 0, 0, {}, 0.0))
            continue
        verdicts = step.decide(pa.Table.from_batches(scored))
        if not verdicts.column("id").equals(alive.column("id")):
            raise RuntimeError(f"curate step {step.name!r} returned verdicts out of order or for other items")
        keep = verdicts.column("keep").to_numpy(zero_copy_only=False)
        reasons = pc.value_counts(verdicts.column("reason").filter(pa.array(~keep))).to_pylist()
        dropped = Counter({r["values"]: r["counts"] for r in reasons})
        tables.append(_decision_table(verdicts, step.name))
        reports.append(StepReport(step.name, alive.num_rows, int(keep.sum()), dict(sorted(dropped.items())),
                                  round(time.monotonic() - start, 3)))
        alive = alive.filter(pa.array(keep))
        log.info("%s: kept %d of %d", step.name, int(keep.sum()), len(keep))
    decisions = pa.concat_tables(tables) if tables else Decision.SCHEMA.empty_table()
    kept_rows = alive.column("row").to_pylist()
    result = CurateResult(kept_rows, decisions, inputs.quarantined, reports, n_in)
    _check_books(result)
    return result


def _check_books(result: CurateResult) -> None:
    counts = result.counts
    total = counts["kept"] + sum(counts["dropped"].values()) + counts["quarantined"]
    if total != counts["in"]:
        raise RuntimeError(f"curate counts do not add up: in={counts['in']} but kept+dropped+quarantined={total}")


def curate(inputs: Inputs, config: CurateConfig, progress: bool = False, cache=None) -> CurateResult:
    return run_steps(inputs, build_steps(config, cache=cache), config.batch_size, progress)


def curate_tasks(tasks: Sequence[Task], config: CurateConfig | None = None, **settings: Any
                 ) -> tuple[list[Task], list[Decision]]:
    """Curate tasks in memory: (the kept tasks in input order, one Decision per decision made).

    `settings` are CurateConfig fields (e.g. steps=["exact", "minhash"], threshold=0.7), or pass a
    whole `config`. Rows are never quarantined here: every input is already a Task."""
    from rlvr.config import config_from_mapping
    from rlvr.curate.items import items_from_tasks

    if config is not None and settings:
        raise ValueError("curate: pass either a CurateConfig or settings, not both")
    config = config or config_from_mapping(CurateConfig, settings, where="curate settings")
    tasks = list(tasks)
    result = curate(Inputs(items_from_tasks(tasks), tasks=tasks), config)
    decisions = [Decision.from_row(r) for r in result.decisions.to_pylist()]
    return [tasks[i] for i in result.kept_rows], decisions


def format_report(result: CurateResult) -> str:
    """The in / kept / dropped-per-reason table the CLI prints and the manifest keeps."""
    lines = [f"{'step':<11} {'in':>8} {'kept':>8} {'dropped':>8}  reasons"]
    for r in result.reports:
        reasons = ", ".join(f"{k}={v}" for k, v in r.dropped.items()) or "-"
        lines.append(f"{r.step:<11} {r.seen:>8} {r.kept:>8} {r.seen - r.kept:>8}  {reasons}  ({r.seconds:.1f}s)")
    c = result.counts
    dropped = sum(c["dropped"].values())
    lines.append(f"{'total':<11} {c['in']:>8} {c['kept']:>8} {dropped:>8}  quarantined={c['quarantined']}")
    lines.append(f"in {c['in']} = kept {c['kept']} + dropped {dropped} + quarantined {c['quarantined']}")
    return "\n".join(lines)


def write_outputs(inputs: Inputs, result: CurateResult, kept_path: Path, decisions_path: Path,
                  quarantine_path: Path | None) -> dict[str, Path]:
    files = {"tasks" if inputs.tasks is not None else "kept": write_kept(inputs, result.kept_rows, kept_path),
             "decisions": write_table(decisions_path, result.decisions)}
    if quarantine_path is not None and result.quarantined:
        files["quarantine"] = Quarantined.write_parquet(quarantine_path, result.quarantined)
    return files


def make_engine(config, progress: bool = False):
    """The engine `config.engine` names (local or ray; the in-memory runner is rlvr.curate.runner)."""
    if config.engine == "local":
        from rlvr.curate.engine import LocalEngine

        return LocalEngine(config, config.work_dir, progress=progress)
    if config.engine == "ray":
        from rlvr.curate.ray_engine import RayEngine

        return RayEngine(config, config.work_dir, address=config.ray_address, progress=progress)
    raise ValueError(f"engine {config.engine!r} is not an out-of-core engine; valid: local, ray")


def curate_files(paths: list, config: CurateConfig, kept_path: Path, decisions_path: Path,
                 quarantine_path: Path | None, progress: bool = False):
    """Curate input files with the out-of-core engine `config.engine` names (local or ray) and write
    the kept records, the decisions and the quarantine; returns (EngineResult, files)."""
    from rlvr.curate.stream import ItemSource

    source = ItemSource(list(paths), config)
    engine = make_engine(config, progress=progress)
    try:
        result = engine.run(source, build_steps(config))
        files = {"tasks" if source.is_tasks else "kept": source.write_kept(result.keep, kept_path),
                 "decisions": result.write_decisions(decisions_path)}
        if quarantine_path is not None and result.quarantined:
            files["quarantine"] = Quarantined.write_parquet(quarantine_path, result.quarantined)
    finally:
        engine.close()
    return result, files


# ----------------------------------------------------------------------------- pipeline stage


def run_stage(config: CurateConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    if config.engine != "memory":  # `engine: local` or `engine: ray` in the stage's settings
        result, files = curate_files(list(inputs), config, out_dir / "tasks.parquet", out_dir / "decisions.parquet",
                                     out_dir / "quarantine.parquet")
        return StageResult(files=files, counts=result.counts, tasks=files.get("tasks"),
                           summary=format_report(result))
    loaded = load_inputs(list(inputs), config)
    result = curate(loaded, config, progress=True)
    files = write_outputs(loaded, result, out_dir / "tasks.parquet", out_dir / "decisions.parquet",
                          out_dir / "quarantine.parquet")
    return StageResult(files=files, counts=result.counts, tasks=files.get("tasks"), summary=format_report(result))


STAGE = StageType(CurateConfig, run_stage)
