"""Verifiers: pure functions from (task, completion) to a Score, looked up by name.

A verifier never raises on a completion: whatever the model wrote becomes a status. If a
verifier does raise, `verify` turns it into status "error" with the exception in the detail,
so a broken verifier is counted and surfaced rather than read as a wrong answer.

Each task family registers its verifier when its module is imported; `get_verifier` imports
the built-in families (declared in rlvr.builtins) on first use, and accepts a dotted path
("pkg.module:obj") so users can plug in their own without editing rlvr (see rlvr.registry).
"""

from __future__ import annotations

import logging
import math
import sys
import traceback
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rlvr.registry import Registry

if TYPE_CHECKING:
    from rlvr.records import Task

log = logging.getLogger(__name__)

STATUSES = ("ok", "wrong", "ambiguous", "format_error", "infeasible", "timeout", "error")


@dataclass(frozen=True)
class Score:
    """reward in [0, 1]; status says why (see STATUSES); detail is a short human note; info holds
    machine-readable facts a family records (NP: `beats_reference`, `objective`)."""

    reward: float
    status: str
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; valid: {', '.join(STATUSES)}")
        if not (isinstance(self.reward, (int, float)) and math.isfinite(self.reward) and 0.0 <= self.reward <= 1.0):
            raise ValueError(f"reward must be a finite number in [0, 1], got {self.reward!r}")


@runtime_checkable
class Verifier(Protocol):
    """What a task family provides: a scorer and a way to write its reference as a completion."""

    name: str

    def score(self, task: Task, completion: str) -> Score: ...

    def gold_completion(self, task: Task) -> str: ...


@dataclass(frozen=True)
class FunctionVerifier:
    """A Verifier made of two plain functions; most families need nothing more."""

    name: str
    score_fn: Callable[[Task, str], Score]
    gold_fn: Callable[[Task], str]
    description: str = ""  # one sentence for dataset cards: what is parsed and how it is judged

    def score(self, task: Task, completion: str) -> Score:
        return self.score_fn(task, completion)

    def gold_completion(self, task: Task) -> str:
        return self.gold_fn(task)


def _as_verifier(obj: Any, name: str) -> Verifier:
    verifier = obj() if isinstance(obj, type) else obj
    if not isinstance(verifier, Verifier):
        raise TypeError(f"{name} is not a Verifier: it needs .name, .score(task, completion) and .gold_completion(task)")
    return verifier


# The built-in verifiers' modules are listed in rlvr.builtins (each must be cheap to import:
# optional third-party libraries are imported inside the verifier, not at module top).
VERIFIERS: Registry[Verifier] = Registry("verifier", check=_as_verifier)


@dataclass(frozen=True)
class AnswerProbe:
    """What the registry-wide reward tests (tests/test_verifier_fuzz.py) need from a verifier kind,
    registered beside the verifier with `register_probe`: a few sample tasks, the gold answer as
    the text that goes inside a final-answer marker, and other candidates. The tests then check
    that the gold plus any other candidate, in any form, earns 0; that harmless spellings of the
    gold earn 1; and that junk never raises.

    `wrap` turns answer text into a completion for kinds whose final answer is not read with the
    shared marker rule of rlvr.answers (AZR's fenced blocks); `final_answer=False` marks kinds that
    have no final answer at all (the toy first-letter tasks: only gold, others and junk apply).
    """

    samples: Callable[[], list[Task]]
    gold: Callable[[Task], str]
    others: Callable[[Task], list[str]]
    harmless: Callable[[Task], list[str]] = lambda task: []  # family-specific spellings of the gold (pay 1)
    wrap: Callable[[str], str] | None = None
    final_answer: bool = True
    slow: bool = False  # scoring runs a sandbox: the tests draw fewer examples


_PROBES: dict[str, AnswerProbe] = {}


def register_probe(name: str, probe: AnswerProbe) -> AnswerProbe:
    """Attach the reward tests' probe to the verifier `name` (one per verifier)."""
    if name in _PROBES and _PROBES[name] is not probe:
        raise ValueError(f"verifier {name!r} already has an answer probe")
    _PROBES[name] = probe
    return probe


def get_probe(name: str) -> AnswerProbe | None:
    """The probe registered for verifier `name` (built-ins are loaded first); None when it has none."""
    get_verifier(name)
    return _PROBES.get(name)


def register_verifier(verifier: Verifier) -> Verifier:
    """Add a verifier under its name; a second verifier with the same name is refused."""
    if not isinstance(verifier, Verifier):
        raise TypeError(f"{verifier!r} is not a Verifier: it needs .name, .score(task, completion) and .gold_completion(task)")
    return VERIFIERS.register(verifier.name, verifier)


def verifier_names() -> list[str]:
    return VERIFIERS.names()


def get_verifier(name: str) -> Verifier:
    """The verifier registered as `name`, or one imported from a dotted path 'pkg.mod:obj'."""
    return VERIFIERS.get(name)


def verify(task: Task, completion: str) -> Score:
    """Score one completion. Never raises for a registered verifier: a crash is status 'error'."""
    verifier = get_verifier(task.verifier.name)
    try:
        score = verifier.score(task, completion if isinstance(completion, str) else str(completion))
        if not isinstance(score, Score):
            raise TypeError(f"verifier {verifier.name!r} returned {type(score).__name__}, not Score")
        return score
    except Exception as exc:  # noqa: BLE001 - a verifier bug must become data, not a crash
        detail = f"{type(exc).__name__}: {exc}"
        log.warning("verifier %s raised on task %s: %s", verifier.name, task.task_id, detail)
        log.debug("%s", traceback.format_exc())
        return Score(0.0, "error", detail[:500])


def describe_verifier(name: str) -> str:
    """One sentence on how a verifier judges completions: its `description`, else its docstring."""
    verifier = get_verifier(name)
    text = getattr(verifier, "description", "") or ""
    if not text:
        # The scoring function's docstring, else the verifier class's own, but never the generic
        # FunctionVerifier docstring (it says nothing about how this verifier judges).
        fn = getattr(verifier, "score_fn", None) or verifier.score
        own_doc = None if isinstance(verifier, FunctionVerifier) else type(verifier).__doc__
        text = (fn.__doc__ or own_doc or "").strip().split("\n\n")[0]
    return " ".join(text.split()) or f"scored by the rlvr verifier {name!r}"


def gold_completion(task: Task) -> str:
    """The task's reference answer written as a completion its verifier must score 1.0."""
    return get_verifier(task.verifier.name).gold_completion(task)


@dataclass
class GoldReport:
    checked: int
    failures: list[tuple[str, Score]]  # (task_id, score) for every gold that did not score 1.0


def check_gold(tasks: Iterable[Task]) -> GoldReport:
    """Score every task's reference completion; a failure means a broken task or verifier."""
    failures: list[tuple[str, Score]] = []
    checked = 0
    for task in tasks:
        checked += 1
        try:
            completion = gold_completion(task)
        except Exception as exc:  # noqa: BLE001 - report, don't stop the audit
            failures.append((task.task_id, Score(0.0, "error", f"gold_completion raised {type(exc).__name__}: {exc}")))
            continue
        score = verify(task, completion)
        if score.reward < 1.0:
            failures.append((task.task_id, score))
    return GoldReport(checked, failures)


class _CallableModule(types.ModuleType):
    """`rlvr.verify(task, completion)` (the top-level API) scores like this module's `verify`; the
    module stays a module (`rlvr.verify.get_verifier`, ...)."""

    def __call__(self, task: Task, completion: str) -> Score:
        return verify(task, completion)


sys.modules[__name__].__class__ = _CallableModule
