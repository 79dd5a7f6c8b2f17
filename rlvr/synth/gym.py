"""reasoning-gym datasets as rlvr tasks, scored by each dataset's own `score_answer`.

reasoning-gym seeds item `idx` with `Random(seed + idx)`, so datasets built from neighbouring
seeds share items (seed 1's item 0 is seed 0's item 1). We derive each item's seed from the
string "seed:idx" instead and build a one-item dataset with it, which keeps items independent
across seeds and makes `generate(seed, idx)` a pure function of the pair.

reasoning-gym is the optional extra `gym`; it is imported only when a gym task is made or
scored, never at rlvr import time.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.config import to_mapping
from rlvr.hashing import canonical_json, config_fingerprint, seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.rundir import StageResult, StageType
from rlvr.synth.registry import GeneratorSpec, register_generator
from rlvr.verify import FunctionVerifier, Score, register_verifier

VERSION = "1"
VERIFIER = "gym"

SYSTEM_PROMPT = (
    "Answer the question by thinking step by step. When you are done, write only the final answer "
    "between <answer> and </answer> tags, following the format the question asks for."
)


def _require_gym() -> Any:
    try:
        import reasoning_gym
    except ImportError:
        raise ImportError("gym tasks need reasoning-gym: pip install 'rlvr[gym]'") from None
    return reasoning_gym


def dataset_names() -> list[str]:
    _require_gym()
    from reasoning_gym.factory import DATASETS

    return sorted(DATASETS)


@dataclass
class GymConfig:
    name: str = field(default="basic_arithmetic", metadata={"help": "reasoning-gym dataset name"})
    dataset_config: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "settings passed to the dataset's config class"}
    )

    # Settings __post_init__ must reject (walked by the contract test).
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"name": ""}, {"dataset_config": {"seed": 3}})

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("GymConfig.name: give a reasoning-gym dataset name, e.g. basic_arithmetic")
        bad = {"seed", "size"} & set(self.dataset_config)
        if bad:
            raise ValueError(f"GymConfig.dataset_config: do not set {sorted(bad)}; rlvr seeds every item itself")


# reasoning-gym metadata holds tuples and sets that some scorers compare by type (arc_agi compares
# tuple grids), so they are tagged on the way into JSON and restored before scoring.
_TAGS = {"__tuple__": tuple, "__set__": set, "__frozenset__": frozenset}


def encode_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): encode_metadata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_metadata(v) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode_metadata(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        tag = "__set__" if isinstance(value, set) else "__frozenset__"
        return {tag: sorted((encode_metadata(v) for v in value), key=repr)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def decode_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key in _TAGS:
                return _TAGS[key](decode_metadata(v) for v in inner)
        return {k: decode_metadata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_metadata(v) for v in value]
    return value


# Datasets without a single oracle answer keep an example solution under one of these keys.
GOLD_KEYS = ("possible_answer", "example_answer", "example_correct_answer")


def reference_answer(entry: dict[str, Any]) -> str | None:
    if entry.get("answer") is not None:
        return str(entry["answer"])
    metadata = entry.get("metadata") or {}
    for key in GOLD_KEYS:
        if metadata.get(key) is not None:
            value = decode_metadata(metadata[key])
            return value if isinstance(value, str) else json.dumps(value)
    return None


class GymGenerator:
    def __init__(self, config: GymConfig):
        rg = _require_gym()
        from reasoning_gym.factory import DATASETS

        if config.name not in DATASETS:
            raise ValueError(f"unknown reasoning-gym dataset {config.name!r}; valid: {', '.join(sorted(DATASETS))}")
        self.config = config
        self.name = f"gym.{config.name}"
        self.version = f"{VERSION}+reasoning_gym-{getattr(rg, '__version__', '?')}"
        self.fingerprint = config_fingerprint(config)
        # Validate the dataset config now so a typo fails before any item is made.
        _, config_cls = DATASETS[config.name]
        valid = {f.name for f in dataclasses.fields(config_cls)} - {"seed", "size"}
        unknown = sorted(set(config.dataset_config) - valid)
        if unknown:
            raise ValueError(f"reasoning-gym {config.name}: unknown setting(s) {unknown}; valid: {sorted(valid)}")
        try:
            _dataset(config.name, canonical_json(config.dataset_config))
        except (AssertionError, TypeError, ValueError) as exc:  # reasoning-gym validates with assert
            raise ValueError(f"reasoning-gym {config.name}: invalid settings {config.dataset_config}: {exc}") from None

    def generate(self, seed: int, idx: int) -> Task:
        rg = _require_gym()
        item_seed = seed_int("gym", self.config.name, seed, idx, bits=31)
        ds = rg.create_dataset(self.config.name, **self.config.dataset_config, seed=item_seed, size=1)
        entry = ds[0]
        metadata = encode_metadata(entry.get("metadata", {}))
        metadata["source_index"] = idx
        entry_json = {"question": entry["question"], "answer": entry["answer"], "metadata": metadata}
        answer = reference_answer(entry_json)
        if answer is None:
            raise ValueError(
                f"reasoning-gym dataset {self.config.name!r} gives no reference answer for its items, so its "
                f"tasks could not be gold-checked; choose another dataset"
            )
        return Task(
            kind=self.name,
            prompt=[Message("system", SYSTEM_PROMPT), Message("user", entry["question"])],
            answer=answer,
            verifier=VerifierSpec(VERIFIER, {"dataset": self.config.name, "config": self.config.dataset_config}),
            provenance=Provenance(
                generator=self.name, version=self.version, config_fingerprint=self.fingerprint, seed=seed, index=idx
            ),
            difficulty=Difficulty(),
            meta={"entry": entry_json, "item_seed": item_seed},
        )


@functools.lru_cache(maxsize=256)
def _dataset(name: str, config_json: str) -> Any:
    rg = _require_gym()
    return rg.create_dataset(name, **json.loads(config_json), seed=0, size=1)


_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER_LINE = re.compile(r"(?im)^\s*\**answer\**\s*[:：]\s*\**\s*(.+?)\s*$")


def extract_answer(completion: str) -> str | None:
    """The final answer: the last <answer>...</answer> block, else the last \\boxed{...}, else the
    last 'Answer: ...' line. Small models rarely close tags, and refusing the other two common
    conventions would score a right answer as a format error."""
    from reasoning_gym.utils import extract_answer as rg_extract

    tagged = rg_extract(completion, tag_name="answer")
    if tagged is not None:
        return tagged
    boxed = _BOXED.findall(completion)
    if boxed:
        return boxed[-1].strip()
    lines = _ANSWER_LINE.findall(completion)
    if lines:
        return lines[-1].strip()
    return None


def score(task: Task, completion: str) -> Score:
    params = task.verifier.params
    answer = extract_answer(completion)
    if answer is None:
        return Score(0.0, "format_error", "no <answer>...</answer> block, \\boxed{} or Answer: line")
    ds = _dataset(params["dataset"], canonical_json(params.get("config", {})))
    entry = task.meta["entry"]
    entry = {**entry, "metadata": decode_metadata(entry.get("metadata", {}))}
    reward = float(ds.score_answer(answer=answer, entry=entry))
    reward = min(1.0, max(0.0, reward))
    return Score(reward, "ok" if reward >= 1.0 else "wrong", f"answer {answer[:60]!r}")


def gold_completion(task: Task) -> str:
    answer = reference_answer(task.meta["entry"])
    if answer is None:
        raise ValueError(f"{task.kind} has no reference answer to render (reasoning-gym gives none for it)")
    return f"<answer>{answer}</answer>"


register_verifier(FunctionVerifier(
    VERIFIER, score, gold_completion,
    description="the final answer (last <answer>...</answer>, else \\boxed{}, else an 'Answer:' line) is scored by "
                "the reasoning-gym dataset's own score_answer; partial credit where the dataset gives it",
))
register_generator(
    GeneratorSpec(
        name="gym",
        config_cls=GymConfig,
        make=GymGenerator,
        verifiers=(VERIFIER,),
        description="any reasoning-gym dataset, scored by its own score_answer",
        examples=(GymConfig("basic_arithmetic"), GymConfig("leg_counting"), GymConfig("graph_color"),
                  GymConfig("word_sorting")),
    )
)


# ----------------------------------------------------------------------------- stage


@dataclass
class GymStageConfig(GymConfig):
    n: int = field(default=100, metadata={"help": "number of tasks"})
    seed: int = field(default=0, metadata={"help": "seed; item i is made from (seed, i)"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")


def make_tasks(config: GymStageConfig, progress: bool = False, indices: range | None = None) -> list[Task]:
    """Items `indices` (default: all of range(n); rlvr.synth.shard makes index ranges)."""
    from tqdm.auto import tqdm

    gen = GymGenerator(GymConfig(config.name, config.dataset_config))
    indices = range(config.n) if indices is None else indices
    return [gen.generate(config.seed, i) for i in tqdm(indices, desc=gen.name, disable=not progress)]


def run_stage(config: GymStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    tasks = make_tasks(config)
    path = Task.write_parquet(out_dir / "tasks.parquet", tasks)
    return StageResult(files={"tasks": path}, counts={"tasks": len(tasks)}, tasks=path,
                       summary=f"{len(tasks)} tasks from reasoning-gym {config.name} ({to_mapping(config)['dataset_config'] or 'defaults'})")


STAGE = StageType(GymStageConfig, run_stage, consumes_tasks=False)
