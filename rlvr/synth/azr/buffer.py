"""The Absolute Zero program buffer: every validated program, persisted in the run directory.

Absolute Zero keeps all valid (program, input, output) triples and samples the proposer's
reference examples from them; a multi-round loop must find them again after a restart. The
buffer is a JSONL file, one `ProgramEntry` per line. Appends take an exclusive `flock`, write
each line with a single `write()` on an O_APPEND descriptor and fsync, so concurrent writers
never interleave and a crash can at worst leave one incomplete last line. Reading skips such a
line (logging it), and the next append first cuts it off, so the file heals itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlvr.hashing import canonical_json, stable_hash

log = logging.getLogger(__name__)

IDENTITY_PROGRAM = "def f(a):\n    return a"
IDENTITY_INPUT = "'Hello world'"


@dataclass
class ProgramEntry:
    """A validated program with its inputs and their gold outputs (reprs).

    Deduction and abduction proposals carry one input; induction proposals carry several plus
    the proposer's message. `origin` says where it came from (seed, bundled, deduction, ...).
    """

    program: str
    inputs: list[str]
    outputs: list[str]
    message: str = ""
    origin: str = "seed"
    round: int = 0
    parent_id: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)  # e.g. solve_rate, learnability, n_samples
    entry_id: str = ""

    def __post_init__(self) -> None:
        if len(self.inputs) != len(self.outputs) or not self.inputs:
            raise ValueError(f"ProgramEntry needs as many outputs as inputs (>= 1), got {len(self.inputs)} "
                             f"inputs and {len(self.outputs)} outputs")
        if not self.entry_id:
            self.entry_id = stable_hash({"program": self.program, "inputs": self.inputs, "message": self.message},
                                        length=16)

    def to_json(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> ProgramEntry:
        data = json.loads(line)
        return cls(**data)


def identity_entry() -> ProgramEntry:
    """Absolute Zero's seed: the identity function on 'Hello world' (its output is the input)."""
    return ProgramEntry(IDENTITY_PROGRAM, [IDENTITY_INPUT], [IDENTITY_INPUT], origin="seed")


class ProgramBuffer:
    """Append-only JSONL store of ProgramEntry, de-duplicated by entry_id."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.entries: list[ProgramEntry] = []
        self._ids: set[str] = set()
        self.skipped_lines = 0
        self.reload()

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self._ids

    def reload(self) -> None:
        """Read the file again (other processes may have appended)."""
        self.entries, self._ids, self.skipped_lines = [], set(), 0
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.endswith("\n"):
                    log.warning("%s:%d: incomplete last line (an interrupted append); skipped", self.path, number)
                    self.skipped_lines += 1
                    continue
                try:
                    entry = ProgramEntry.from_json(line)
                except (ValueError, TypeError) as exc:
                    log.warning("%s:%d: unreadable buffer line skipped: %s", self.path, number, exc)
                    self.skipped_lines += 1
                    continue
                if entry.entry_id not in self._ids:
                    self._ids.add(entry.entry_id)
                    self.entries.append(entry)

    @contextlib.contextmanager
    def _locked_append(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size:
                # A crash mid-append leaves a last line without its newline: cut it off first.
                os.lseek(fd, max(0, size - 65536), os.SEEK_SET)
                tail = os.read(fd, 65536)
                if not tail.endswith(b"\n"):
                    cut = tail.rfind(b"\n")
                    os.ftruncate(fd, size - len(tail) + cut + 1 if cut >= 0 else max(0, size - len(tail)))
            yield fd
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def add(self, entries: list[ProgramEntry]) -> int:
        """Append the entries not already present; returns how many were new."""
        self.reload()
        new = [e for e in entries if e.entry_id not in self._ids]
        unique = list({e.entry_id: e for e in new}.values())
        if not unique:
            return 0
        with self._locked_append() as fd:
            for entry in unique:
                os.write(fd, (entry.to_json() + "\n").encode("utf-8"))
        for entry in unique:
            self._ids.add(entry.entry_id)
            self.entries.append(entry)
        return len(unique)

    def ensure_seeded(self, seeds: list[ProgramEntry]) -> int:
        """Add `seeds` when the buffer is empty (Absolute Zero starts from the identity program)."""
        return self.add(seeds) if not self.entries else 0

    def sample(self, k: int, rng: random.Random) -> list[ProgramEntry]:
        """k entries uniformly without replacement (fewer if the buffer is smaller)."""
        return rng.sample(self.entries, min(k, len(self.entries)))
