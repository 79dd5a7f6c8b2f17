"""Typed records that flow between stages, each with a fixed Arrow schema.

Every stage reads and writes lists of these dataclasses; Parquet files in a run directory
hold exactly these schemas. Free-form parts (a task's answer and meta, a verifier's params)
are stored as canonical JSON strings so the Arrow schema never depends on the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from rlvr.hashing import canonical_json, stable_hash
from rlvr.io.atomic import atomic_path

R = TypeVar("R", bound="Record")


def _dumps(value: Any) -> str:
    return canonical_json(value)


def _loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


class RecordError(ValueError):
    """A stored row that cannot become a record; `field` names the column at fault."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"field {field!r}: {reason}")
        self.field, self.reason = field, reason


def _json_field(name: str, text: Any, default: Any = None) -> Any:
    """A JSON-string column parsed, or a RecordError naming the column."""
    if text is not None and not isinstance(text, str):
        raise RecordError(name, f"expected a JSON string, got {type(text).__name__}")
    try:
        return _loads(text, default)
    except json.JSONDecodeError as exc:
        raise RecordError(name, f"invalid JSON: {exc.msg} at column {exc.colno}") from None


def _str_field(name: str, value: Any, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        got = "an empty string" if value == "" else type(value).__name__
        raise RecordError(name, f"expected a non-empty string, got {got}")
    return value


def _messages_field(name: str, value: Any) -> list[Message]:
    """A chat prompt column: a non-empty list of {role, content} string pairs."""
    if not isinstance(value, (list, tuple)):
        raise RecordError(name, f"expected a list of {{role, content}} messages, got {type(value).__name__}")
    if not value:
        raise RecordError(name, "empty prompt: expected at least one {role, content} message")
    messages = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise RecordError(name, f"message {i} is not a {{role, content}} pair of strings: {str(m)[:80]}")
        messages.append(Message(m["role"], m["content"]))
    return messages


def _struct_field(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(name, f"expected a struct, got {type(value).__name__}")
    return value


def row_excerpt(row: Any, limit: int = 300) -> str:
    """The start of a bad row as JSON, for the quarantine file."""
    return json.dumps(row, default=str, ensure_ascii=False)[:limit]


def read_parquet_table(path: str | Path, what: str = "Parquet") -> pa.Table:
    """`pq.read_table`, with an error that names the file when it is empty, truncated or not Parquet."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (expected a {what} file)")
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        size = path.stat().st_size if path.is_file() else 0
        raise ValueError(f"{path}: not a readable {what} file ({size} bytes; {exc}); "
                         f"is it empty, truncated or another format?") from None


def read_parquet_schema(path: str | Path) -> pa.Schema:
    """`pq.read_schema`, with an error that names the file when it is not readable Parquet."""
    path = Path(path)
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        size = path.stat().st_size if path.is_file() else 0
        raise ValueError(f"{path}: not a readable Parquet file ({size} bytes; {exc}); "
                         f"is it empty, truncated or another format?") from None


class Record:
    """Base for records: Arrow and Parquet round-trips built on `to_row`/`from_row`."""

    SCHEMA: ClassVar[pa.Schema]

    def to_row(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_row(cls: type[R], row: dict[str, Any]) -> R:
        raise NotImplementedError

    @classmethod
    def to_arrow(cls, records: Iterable[R]) -> pa.Table:
        rows = [r.to_row() for r in records]
        return pa.Table.from_pylist(rows, schema=cls.SCHEMA)

    @classmethod
    def from_arrow(cls: type[R], table: pa.Table, source: str = "table",
                   quarantine: list[Quarantined] | None = None, row_numbers: Sequence[int] | None = None) -> list[R]:
        """Records from a table. A bad row raises an error naming `source`, its row (1-based, or
        `row_numbers[i]` when the table is a filtered part of the file) and field; with a
        `quarantine` list it is appended there instead and the other rows go on."""
        missing = [n for n in cls.SCHEMA.names if n not in table.column_names]
        if missing:
            raise ValueError(
                f"{source}: not a {cls.__name__} table: missing columns {missing}; "
                f"expected {cls.SCHEMA.names}"
            )
        records: list[R] = []
        for i, row in enumerate(table.select(cls.SCHEMA.names).to_pylist(), start=1):
            try:
                records.append(cls.from_row(row))
            except RecordError as exc:
                bad = Quarantined(source, i, exc.field, exc.reason, row_excerpt(row))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                bad = Quarantined(source, i, "<row>", f"{type(exc).__name__}: {exc}", row_excerpt(row))
            else:
                continue
            if row_numbers is not None:
                bad.line = row_numbers[i - 1]
            if quarantine is None:
                raise ValueError(f"{bad.file}: row {bad.line}: field {bad.field!r}: {bad.reason}")
            quarantine.append(bad)
        return records

    @classmethod
    def write_parquet(cls, path: str | Path, records: Iterable[R]) -> Path:
        return write_table(path, cls.to_arrow(records))

    @classmethod
    def read_parquet(cls: type[R], path: str | Path, quarantine: list[Quarantined] | None = None) -> list[R]:
        table = read_parquet_table(path, f"{cls.__name__} Parquet")
        return cls.from_arrow(table, str(path), quarantine)


def write_table(path: str | Path, table: pa.Table) -> Path:
    """Write a table atomically with settings that make equal tables byte-identical files."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=64 * 1024, write_statistics=True)
    return path


# ----------------------------------------------------------------------------- documents


@dataclass
class Document(Record):
    """A unit of raw text a user supplied (one file, one JSONL line, one dataset row)."""

    doc_id: str
    text: str
    source: str = ""
    title: str = ""
    license: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("doc_id", pa.string()),
            ("source", pa.string()),
            ("title", pa.string()),
            ("text", pa.string()),
            ("license", pa.string()),
            ("meta", pa.string()),
        ]
    )

    def to_row(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "text": self.text,
            "license": self.license,
            "meta": _dumps(self.meta),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Document:
        return cls(
            doc_id=row["doc_id"],
            text=row["text"],
            source=row["source"] or "",
            title=row["title"] or "",
            license=row["license"] or "",
            meta=_loads(row["meta"], {}),
        )


# ----------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class VerifierSpec:
    """Which registered verifier scores a task, and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Provenance:
    """Where a task came from: enough to regenerate it or trace it to a source document."""

    generator: str
    version: str = ""
    config_fingerprint: str = ""
    seed: int | None = None
    index: int | None = None
    doc_id: str | None = None
    parent_task_id: str | None = None


@dataclass
class Difficulty:
    """Nominal difficulty knob in [0, 1] and, when measured, the policy's pass rate on it.

    `evidence` counts the rollouts behind `pass_rate` (0 when unmeasured).
    """

    nominal: float | None = None
    pass_rate: float | None = None
    evidence: int = 0


_PROMPT_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


@dataclass
class Task(Record):
    """One verifiable RL item: a chat prompt, a reference answer, and the verifier that checks it.

    `task_id` is a content hash of (kind, prompt, answer, verifier), so the same item made twice
    gets the same id whatever its provenance. `fingerprint` is an optional canonical form of the
    underlying instance (e.g. a relabelling-invariant graph hash) used for structural dedupe.
    """

    kind: str
    prompt: list[Message]
    answer: Any
    verifier: VerifierSpec
    provenance: Provenance
    difficulty: Difficulty = field(default_factory=Difficulty)
    meta: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    task_id: str = ""

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("task_id", pa.string()),
            ("kind", pa.string()),
            ("prompt", _PROMPT_TYPE),
            ("answer", pa.string()),
            (
                "verifier",
                pa.struct([("name", pa.string()), ("params", pa.string())]),
            ),
            (
                "provenance",
                pa.struct(
                    [
                        ("generator", pa.string()),
                        ("version", pa.string()),
                        ("config_fingerprint", pa.string()),
                        ("seed", pa.int64()),
                        ("index", pa.int64()),
                        ("doc_id", pa.string()),
                        ("parent_task_id", pa.string()),
                    ]
                ),
            ),
            (
                "difficulty",
                pa.struct([("nominal", pa.float64()), ("pass_rate", pa.float64()), ("evidence", pa.int64())]),
            ),
            ("fingerprint", pa.string()),
            ("meta", pa.string()),
        ]
    )

    def __post_init__(self) -> None:
        if not self.kind:
            raise ValueError("Task.kind must be a non-empty string such as 'np.tsp' or 'gym.leg_counting'")
        self.prompt = [m if isinstance(m, Message) else Message(**m) for m in self.prompt]
        if not self.prompt:
            raise ValueError(f"Task of kind {self.kind!r} has an empty prompt")
        if not self.task_id:
            self.task_id = self.content_id()

    def content_id(self) -> str:
        return stable_hash(
            {
                "kind": self.kind,
                "prompt": [[m.role, m.content] for m in self.prompt],
                "answer": self.answer,
                "verifier": [self.verifier.name, self.verifier.params],
            }
        )

    @property
    def prompt_text(self) -> str:
        """The text of the last user message: what dedupe and decontamination look at."""
        for m in reversed(self.prompt):
            if m.role == "user":
                return m.content
        return self.prompt[-1].content

    def chat(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.prompt]

    def to_row(self) -> dict[str, Any]:
        p, d = self.provenance, self.difficulty
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "prompt": [{"role": m.role, "content": m.content} for m in self.prompt],
            "answer": _dumps(self.answer),
            "verifier": {"name": self.verifier.name, "params": _dumps(self.verifier.params)},
            "provenance": {
                "generator": p.generator,
                "version": p.version,
                "config_fingerprint": p.config_fingerprint,
                "seed": p.seed,
                "index": p.index,
                "doc_id": p.doc_id,
                "parent_task_id": p.parent_task_id,
            },
            "difficulty": {"nominal": d.nominal, "pass_rate": d.pass_rate, "evidence": d.evidence},
            "fingerprint": self.fingerprint,
            "meta": _dumps(self.meta),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Task:
        """A Task from its stored row; a malformed value raises RecordError naming its column."""
        v = _struct_field("verifier", row["verifier"])
        p = _struct_field("provenance", row["provenance"])
        d = _struct_field("difficulty", row["difficulty"] or {})
        meta = _json_field("meta", row["meta"], {})
        if not isinstance(meta, dict):
            raise RecordError("meta", f"expected a JSON object, got {type(meta).__name__}")
        params = _json_field("verifier.params", v.get("params"), {})
        if not isinstance(params, dict):
            raise RecordError("verifier.params", f"expected a JSON object, got {type(params).__name__}")
        return cls(
            task_id=_str_field("task_id", row["task_id"], required=False) or "",
            kind=_str_field("kind", row["kind"]),
            prompt=_messages_field("prompt", row["prompt"]),
            answer=_json_field("answer", row["answer"]),
            verifier=VerifierSpec(_str_field("verifier.name", v.get("name")), params),
            provenance=Provenance(**p),
            difficulty=Difficulty(d.get("nominal"), d.get("pass_rate"), d.get("evidence") or 0),
            fingerprint=_str_field("fingerprint", row["fingerprint"], required=False),
            meta=meta,
        )


# ----------------------------------------------------------------------------- decisions


@dataclass
class Evidence:
    """Why a decision was taken: the item it matched (task or benchmark item) and a score."""

    matched_id: str | None = None
    source: str | None = None  # e.g. the benchmark name, or the stage that produced the match
    score: float | None = None
    detail: str = ""


@dataclass
class Decision(Record):
    task_id: str
    stage: str
    keep: bool
    reason: str
    evidence: Evidence = field(default_factory=Evidence)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("task_id", pa.string()),
            ("stage", pa.string()),
            ("keep", pa.bool_()),
            ("reason", pa.string()),
            (
                "evidence",
                pa.struct(
                    [
                        ("matched_id", pa.string()),
                        ("source", pa.string()),
                        ("score", pa.float64()),
                        ("detail", pa.string()),
                    ]
                ),
            ),
        ]
    )

    def to_row(self) -> dict[str, Any]:
        e = self.evidence
        return {
            "task_id": self.task_id,
            "stage": self.stage,
            "keep": self.keep,
            "reason": self.reason,
            "evidence": {"matched_id": e.matched_id, "source": e.source, "score": e.score, "detail": e.detail},
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Decision:
        e = row["evidence"] or {}
        return cls(
            task_id=row["task_id"],
            stage=row["stage"],
            keep=bool(row["keep"]),
            reason=row["reason"],
            evidence=Evidence(e.get("matched_id"), e.get("source"), e.get("score"), e.get("detail") or ""),
        )


# ----------------------------------------------------------------------------- rollouts


# Verifier statuses that say nothing about the policy (the verifier itself crashed): every pass rate
# (probe, value report, SvS parents, card, the selector's beliefs, offline estimates) leaves them out.
UNSCORED_STATUSES = frozenset({"error"})


@dataclass
class RolloutGroup(Record):
    """The k rollouts of one task at one training step, as the verifier scored them."""

    step: int
    task_id: str
    k: int
    rewards: list[float]
    statuses: list[str]
    completion_lengths: list[int]
    selector: str = ""
    selector_score: float | None = None
    phase: str = "train"  # "train" or "probe"
    meta: dict[str, Any] = field(default_factory=dict)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("step", pa.int64()),
            ("task_id", pa.string()),
            ("k", pa.int64()),
            ("rewards", pa.list_(pa.float64())),
            ("statuses", pa.list_(pa.string())),
            ("completion_lengths", pa.list_(pa.int64())),
            ("selector", pa.string()),
            ("selector_score", pa.float64()),
            ("phase", pa.string()),
            ("meta", pa.string()),
        ]
    )

    def __post_init__(self) -> None:
        if not (len(self.rewards) == len(self.statuses) == len(self.completion_lengths) == self.k):
            raise ValueError(
                f"RolloutGroup for task {self.task_id}: k={self.k} but got {len(self.rewards)} rewards, "
                f"{len(self.statuses)} statuses, {len(self.completion_lengths)} lengths"
            )

    @property
    def mixed(self) -> bool:
        """True when the group's rewards are not all equal: the only groups GRPO learns from."""
        return len(set(self.rewards)) > 1

    def scored_rewards(self) -> list[float]:
        """The rewards of the rollouts the verifier actually judged (status not in UNSCORED_STATUSES)."""
        return [r for r, s in zip(self.rewards, self.statuses) if s not in UNSCORED_STATUSES]

    @property
    def pass_rate(self) -> float | None:
        """Mean reward over the scored rollouts; None when the verifier crashed on every one."""
        rewards = self.scored_rewards()
        return sum(rewards) / len(rewards) if rewards else None

    def to_row(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "task_id": self.task_id,
            "k": self.k,
            "rewards": list(self.rewards),
            "statuses": list(self.statuses),
            "completion_lengths": list(self.completion_lengths),
            "selector": self.selector,
            "selector_score": self.selector_score,
            "phase": self.phase,
            "meta": _dumps(self.meta),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RolloutGroup:
        return cls(
            step=row["step"],
            task_id=row["task_id"],
            k=row["k"],
            rewards=list(row["rewards"]),
            statuses=list(row["statuses"]),
            completion_lengths=list(row["completion_lengths"]),
            selector=row["selector"] or "",
            selector_score=row["selector_score"],
            phase=row["phase"] or "train",
            meta=_loads(row["meta"], {}),
        )


def pooled_pass_rate(groups: Iterable[RolloutGroup]) -> float | None:
    """Mean reward over every scored rollout of `groups` (rollouts pooled, not groups averaged)."""
    rewards = [r for g in groups for r in g.scored_rewards()]
    return sum(rewards) / len(rewards) if rewards else None


# ----------------------------------------------------------------------------- value


@dataclass
class Value(Record):
    """How much a task, or a group of tasks, helped training.

    `level` is "task", "generator", "doc", "source" or "kind" and `key` the id at that level
    (the task_id for level "task"). Aggregates sum counts and average rates over their tasks.
    """

    level: str
    key: str
    n_tasks: int = 0
    n_groups: int = 0
    n_mixed_groups: int = 0
    advantage_mass: float = 0.0
    pass_rate_first: float | None = None
    pass_rate_last: float | None = None
    trajectory: str = ""  # learned | stuck | forgotten | mastered | improving | unseen
    weakness: bool = False
    influence: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    influence_se: float | None = None  # bootstrap over probe tasks (rlvr.train.influence.bootstrap_se)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("level", pa.string()),
            ("key", pa.string()),
            ("n_tasks", pa.int64()),
            ("n_groups", pa.int64()),
            ("n_mixed_groups", pa.int64()),
            ("advantage_mass", pa.float64()),
            ("pass_rate_first", pa.float64()),
            ("pass_rate_last", pa.float64()),
            ("trajectory", pa.string()),
            ("weakness", pa.bool_()),
            ("influence", pa.float64()),
            ("influence_se", pa.float64()),
            ("meta", pa.string()),
        ]
    )

    def to_row(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in self.SCHEMA.names}
        row["meta"] = _dumps(self.meta)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Value:
        row = dict(row)
        row.setdefault("influence_se", None)  # value tables written before the column existed
        row["meta"] = _loads(row["meta"], {})
        return cls(**row)


# ----------------------------------------------------------------------------- quarantine


@dataclass
class Quarantined(Record):
    """An input record that could not be used, with where it was and why."""

    file: str
    line: int | None
    field: str
    reason: str
    raw: str = ""

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("file", pa.string()),
            ("line", pa.int64()),
            ("field", pa.string()),
            ("reason", pa.string()),
            ("raw", pa.string()),
        ]
    )

    def to_row(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason, "raw": self.raw}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Quarantined:
        return cls(**row)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: field {self.field!r}: {self.reason}"
