"""Run directories: where a stage's outputs live and the manifest that makes re-runs cheap.

Layout: `RUN_DIR/manifest.json` plus one folder per stage (`RUN_DIR/<stage>/`). A stage is
"done" when the manifest records it with the same config fingerprint and input digests and
every output it listed still has the digest it was recorded with. Re-running a done stage is a
no-op. Outputs are written atomically and the manifest entry is written after them, so a stage
killed at any instant (even by SIGKILL) leaves no partial output and is simply run again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.hashing import file_digest
from rlvr.io.atomic import atomic_write_text, clean_temp_files
from rlvr.version import __version__

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass
class StageResult:
    """What a stage made: its files (name -> path), record counts and, if any, its task table.

    `counts` must add up: for a stage that filters, `in == kept + dropped + quarantined`.
    """

    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    tasks: Path | None = None  # the task table downstream stages read by default
    summary: str = ""


@dataclass(frozen=True)
class StageType:
    """A kind of pipeline stage: the config dataclass its `with:` settings build (the same one its
    CLI command uses) and `run(config, inputs, out_dir) -> StageResult`. `consumes_tasks` is False
    for stages that start from nothing. Stage types are registered in rlvr.pipeline.STAGES."""

    config_cls: type
    run: Callable[[Any, list[Path], Path], StageResult]
    consumes_tasks: bool = True


@dataclass
class StageRecord:
    name: str
    kind: str
    status: str
    config_fingerprint: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    tasks: str | None
    counts: dict[str, Any]
    seconds: float
    finished_at: float
    summary: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # the settings, for reports and cards


class RunDir:
    """A run directory with its manifest.

    Taking its lock removes temp files a killed writer left. Only then: a process that merely
    opens the folder (a reader, or a second run about to be refused) must not delete the temp
    files of the run that holds the lock.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.manifest = self._load()

    # -- manifest ------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        p = self.path / MANIFEST
        if not p.exists():
            return {"rlvr_version": __version__, "stages": {}}
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}: manifest is not valid JSON ({exc}); delete it to start this run afresh") from None
        data.setdefault("stages", {})
        return data

    def _save(self) -> None:
        self.manifest["rlvr_version"] = __version__
        # Not sort_keys: the order of "stages" is the order they ran in, which readers rely on.
        atomic_write_text(self.path / MANIFEST, json.dumps(self.manifest, indent=2) + "\n")

    def stage_dir(self, name: str) -> Path:
        d = self.path / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def record(self, name: str) -> StageRecord | None:
        entry = self.manifest["stages"].get(name)
        return StageRecord(**entry) if entry else None

    def stage_names(self) -> list[str]:
        return list(self.manifest["stages"])

    def _rel(self, p: Path) -> str:
        p = Path(p).resolve()
        try:
            return str(p.relative_to(self.path.resolve()))
        except ValueError:
            return str(p)

    def _abs(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.path / p

    def is_done(self, name: str, fingerprint: str, inputs: dict[str, str]) -> bool:
        rec = self.record(name)
        if rec is None or rec.status != "done":
            return False
        if rec.config_fingerprint != fingerprint or rec.inputs != inputs:
            return False
        for rel, digest in rec.outputs.items():
            p = self._abs(rel)
            if not p.exists() or file_digest(p) != digest:
                return False
        return True

    def tasks_path(self, name: str) -> Path | None:
        rec = self.record(name)
        return self._abs(rec.tasks) if rec and rec.tasks else None

    # -- running -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Refuse a second process working in the same run directory at the same time."""
        with open(self.path / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"{self.path} is in use by another rlvr process; wait for it or use another --out") from None
            try:
                # Ours now: whatever temp files remain were left by a killed writer, and the
                # manifest may have changed since we opened the folder.
                removed = clean_temp_files(self.path)
                if removed:
                    log.info("removed %d temp file(s) left by an interrupted run in %s", removed, self.path)
                self.manifest = self._load()
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def run_stage(
        self,
        name: str,
        kind: str,
        fingerprint: str,
        inputs: Sequence[Path],
        fn: Callable[[Path], StageResult],
        config: dict[str, Any] | None = None,
    ) -> tuple[StageRecord, bool]:
        """Run `fn(stage_dir)` unless an identical run of the stage is recorded.

        Returns the stage's record and whether it actually ran.
        """
        input_digests = {self._rel(p): file_digest(p) for p in inputs}
        if self.is_done(name, fingerprint, input_digests):
            log.info("stage %s: up to date, skipping", name)
            return self.record(name), False  # type: ignore[return-value]
        # Mark any earlier record stale first: if we die midway, the stage must not look done.
        # The entry keeps its place, so the manifest lists stages in pipeline order.
        if name in self.manifest["stages"]:
            self.manifest["stages"][name]["status"] = "running"
            self._save()
        start = time.monotonic()
        result = fn(self.stage_dir(name))
        seconds = time.monotonic() - start
        outputs = {self._rel(p): file_digest(p) for p in result.files.values()}
        rec = StageRecord(
            name=name,
            kind=kind,
            status="done",
            config_fingerprint=fingerprint,
            inputs=input_digests,
            outputs=outputs,
            tasks=self._rel(result.tasks) if result.tasks else None,
            counts=result.counts,
            seconds=round(seconds, 3),
            finished_at=round(time.time(), 3),
            summary=result.summary,
            config=config or {},
        )
        self.manifest["stages"][name] = rec.__dict__
        self._save()
        return rec, True

