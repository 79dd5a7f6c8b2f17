"""What SvS and SwS share: pulling a problem out of model text, the solve-rate band, and the books.

Both families ask a model for a new problem, take it out of its reply, estimate how often the
policy solves it against a reference answer, and keep it only when that rate lands in a band.
Every candidate becomes a `Candidate` with a status ("kept" or the reason it was dropped), and
each becomes one Decision row, so generated = kept + dropped per reason, always.

Problem extraction follows the SvS code: the last ```text block, else the last fenced block of
any other language tag (except code), else a "Problem:" / "Question:" / "Reconstructed Question:"
header and what follows it. Anything else is "unextractable".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlvr.hashing import stable_hash
from rlvr.models.backends import Backend
from rlvr.records import Decision, Evidence, RolloutGroup, Task

MIN_PROBLEM_CHARS = 10
EPS = 1e-9

_TEXT_BLOCK = re.compile(r"```[ \t]*text[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_ANY_BLOCK = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)```", re.DOTALL)
_CODE_TAGS = {"python", "py", "input", "output", "json", "bash", "sh", "latex", "tex", "math"}
_HEADER = re.compile(r"(?im)^\W*(?:reconstructed\s+question|new\s+problem|problem|question)\W*:\**\s*(.+)",
                     re.DOTALL)


def extract_problem(text: str) -> str | None:
    """The problem a model wrote (see the module docstring), stripped; None when there is none."""
    blocks = _TEXT_BLOCK.findall(text)
    if not blocks:
        blocks = [body for tag, body in _ANY_BLOCK.findall(text) if tag.lower() not in _CODE_TAGS]
    if not blocks:
        m = _HEADER.search(text)
        if m:
            blocks = [m.group(1).split("\n\n")[0]]
    if not blocks:
        return None
    problem = blocks[-1].strip()
    return problem if len(problem) >= MIN_PROBLEM_CHARS else None


def norm_text(text: str) -> str:
    """Case- and space-folded text, for spotting repeated problems."""
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass
class Candidate:
    """One generated problem on its way to becoming a task (or not)."""

    index: int
    raw: str  # the model's reply
    problem: str | None = None
    task: Task | None = None
    status: str = "pending"  # "kept" or a drop reason
    pass_rate: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.task.task_id if self.task is not None else stable_hash(["candidate", self.index, self.raw], 32)


def in_band(rate: float, low: float, high: float) -> bool:
    return low - EPS <= rate <= high + EPS


def estimate_band(candidates: Sequence[Candidate], backend: Backend, *, k: int, low: float, high: float,
                  max_new_tokens: int, temperature: float, batch_size: int, seed: int) -> list[RolloutGroup]:
    """Estimate each pending candidate's solve rate (k samples, its task's verifier) and keep it when
    the rate is in [low, high]; others are dropped as "unsolved" (below) or "too_easy" (above)."""
    from rlvr.models.rollouts import EstimateConfig, estimate

    pending = [c for c in candidates if c.status == "pending"]
    if not pending:
        return []
    config = EstimateConfig(k=k, max_new_tokens=max_new_tokens, temperature=temperature, batch_size=batch_size,
                            seed=seed)
    updated, groups = estimate([c.task for c in pending], backend, config, progress=False)
    for c, task, g in zip(pending, updated, groups):
        c.task, c.pass_rate = task, task.difficulty.pass_rate
        c.detail["statuses"] = dict(Counter(g.statuses))
        if in_band(c.pass_rate, low, high):
            c.status = "kept"
        else:
            c.status = "unsolved" if c.pass_rate < low else "too_easy"
    return groups


def mark_duplicates(candidates: Sequence[Candidate], taken: set[str]) -> None:
    """Drop a pending candidate whose problem text (folded) was already seen in `taken`."""
    for c in candidates:
        if c.status != "pending":
            continue
        key = norm_text(c.problem or "")
        if key in taken:
            c.status = "duplicate"
        else:
            taken.add(key)


def decisions(candidates: Sequence[Candidate], stage: str) -> list[Decision]:
    """One Decision per candidate, kept or dropped with its reason; the detail is JSON."""
    rows = []
    for c in candidates:
        detail = {"index": c.index, "problem": (c.problem or "")[:500], **c.detail}
        if c.problem is None:
            detail["reply"] = c.raw[:500]
        parent = c.task.provenance.parent_task_id if c.task is not None else c.detail.get("parent_task_id")
        rows.append(Decision(task_id=c.id, stage=stage, keep=c.status == "kept", reason=c.status,
                             evidence=Evidence(matched_id=parent, source=stage, score=c.pass_rate,
                                               detail=json.dumps(detail, sort_keys=True, default=str))))
    return rows


def tally(candidates: Sequence[Candidate]) -> dict[str, Any]:
    """generated, kept and dropped-per-reason counts; raises if anything is unaccounted for."""
    statuses = Counter(c.status for c in candidates)
    if statuses.get("pending"):
        raise RuntimeError(f"{statuses['pending']} candidate(s) left without a decision; this is a bug")
    dropped = {k: v for k, v in sorted(statuses.items()) if k != "kept"}
    return {"generated": len(candidates), "kept": statuses.get("kept", 0), "dropped": dropped}
