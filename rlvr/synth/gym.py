"""reasoning-gym datasets as rlvr tasks, scored with each dataset's own `score_answer` where it is
structural, and never with partial credit for a wrong number (see `dataset_rule`).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.answers import (
    MAX_SCAN_CHARS,
    NumberGrammar,
    TextGrammar,
    clean,
    find_markers,
    fold,
    numbers_equal,
    parse_number,
    read_final,
)
from rlvr.config import to_mapping
from rlvr.hashing import canonical_json, config_fingerprint, seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.rundir import StageResult, StageType
from rlvr.synth.gym_guard import admissible, task_fault
from rlvr.synth.gym_guard import install as install_guard
from rlvr.synth.registry import GeneratorSpec, register_generator
from rlvr.verify import AnswerProbe, FunctionVerifier, Score, register_probe, register_verifier

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
    install_guard()  # scorers that eval text get an eval that runs nothing (rlvr.synth.gym_guard)
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


def _check_setting_types(name: str, config_cls: type, settings: dict[str, Any]) -> None:
    """Each setting has the type of its field's default (reasoning-gym's own checks are asserts that
    compare values, so a string where a number belongs fails with a Python comparison error)."""
    for f in dataclasses.fields(config_cls):
        if f.name not in settings:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        value = settings[f.name]
        if default is None or value is None:
            continue
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok, want = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        elif isinstance(default, float):
            ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        elif isinstance(default, str):
            ok, want = isinstance(value, str), "a string"
        elif isinstance(default, (list, tuple)):
            ok, want = isinstance(value, (list, tuple)), "a list"
        else:
            continue
        if not ok:
            raise ValueError(f"reasoning-gym {name}: setting {f.name} must be {want} (default {default!r}), "
                             f"got {value!r}")


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
        _check_setting_types(config.name, config_cls, config.dataset_config)
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


# How each reasoning-gym dataset is paid, decided by reading its `score_answer` (reasoning-gym
# 0.1.x). Whatever the rule, the final answer is first read with the shared rule of rlvr.answers
# (last marker, one candidate, hedges ambiguous), and an item whose gold is a number is judged by
# NUMERIC unless its dataset is FORM:
#   numeric: 1 when the answer's one number equals the gold as an exact rational (-224394.0,
#            "= -224394", "\\boxed{\\boxed{-224394}}" all count), or the dataset's scorer gives full
#            credit (its own tolerance, e.g. advanced_geometry rounds to 2 places); else 0. Never the
#            substring credit len(gold)/len(answer) that reasoning-gym's default scorer pays.
#   exact:   1 when the answer equals the gold after cleaning (blanks folded), or the dataset's scorer
#            gives full credit (an equivalent expression, another valid solution); else 0. Partial
#            credit (substring ratios, 0.01 "parsable" crumbs, closeness of dates and times) is dropped.
#   graded:  the dataset's scorer as is: its partial credit measures structure (cells of a grid,
#            words in the right position, people correctly labelled).
#   form:    the written form is the task (fraction_simplification: 534/1720 has the gold's value but
#            is not simplified): exact, with no numeric equivalence.
GRADED = frozenset({"emoji_mystery", "figlet_font", "game_of_life", "knights_knaves", "letter_jumble",
                    "sentence_reordering", "spell_backward", "word_sorting"})
FORM = frozenset({"fraction_simplification"})
NUMERIC_GOLDS = frozenset({
    "aiw", "base_conversion", "basic_arithmetic", "binary_alternation", "chain_sum", "circuit_logic", "coin_flip",
    "count_bits", "count_primes", "decimal_arithmetic", "decimal_chain_sum", "dice", "gcd", "gsm_symbolic",
    "largest_island", "lcm", "leg_counting", "letter_counting", "maze", "number_format", "number_sequence",
    "power_function", "products", "rectangle_count", "rotten_oranges", "self_reference", "simple_equations",
    "simple_geometry",
})  # datasets whose golds are numbers (others have some: calendar_arithmetic "9", codeio "0.99")
RULES = ("numeric", "exact", "graded", "form")


def dataset_rule(name: str) -> str:
    """The rule of a dataset's items (an item with a numeric gold in an exact or graded dataset is
    judged numeric; see `item_rule`)."""
    if name in FORM:
        return "form"
    if name in GRADED:
        return "graded"
    return "numeric" if name in NUMERIC_GOLDS else "exact"


def item_rule(name: str, gold: str) -> str:
    rule = dataset_rule(name)
    if rule == "form":
        return rule
    return "numeric" if parse_number(clean(gold)) is not None else ("graded" if rule == "graded" else "exact")


def extract_answer(completion: str, gold: str = "") -> str | None:
    """The final answer under the shared rule, as cleaned text; None when there is no single one."""
    final = read_final(completion, TextGrammar(gold), allowed_words=gold)
    return final.text if final.status == "ok" else None


def score(task: Task, completion: str) -> Score:
    params = task.verifier.params
    name = params["dataset"]
    entry = task.meta["entry"]
    gold = reference_answer(entry) or ""
    rule = item_rule(name, gold)
    gold_number = parse_number(clean(gold)) if rule == "numeric" else None
    grammar = NumberGrammar() if gold_number is not None else TextGrammar(gold)
    final = read_final(completion, grammar, allowed_words=gold)
    if final.status != "ok":
        return Score(0.0, final.status, final.detail)
    ds = _dataset(name, canonical_json(params.get("config", {})))
    entry = {**entry, "metadata": decode_metadata(entry.get("metadata", {}))}
    fault = task_fault(name, entry)
    if fault:  # a tampered task: its own field would be evaluated as code
        return Score(0.0, "error", f"task not scored: {fault}")
    if gold_number is not None:
        if numbers_equal(final.value, gold_number):
            return Score(1.0, "ok", f"{rule}: answer {final.text[:60]!r} equals the gold")
        full = _dataset_score(ds, name, [final.text], entry) >= 1.0
        return Score(1.0 if full else 0.0, "ok" if full else "wrong", f"{rule}: answer {final.text[:60]!r}")
    if final.value == fold(gold) and gold:
        return Score(1.0, "ok", f"{rule}: answer equals the gold")
    raw = _raw_final(completion)
    value = _dataset_score(ds, name, [final.text] + ([raw] if raw and raw != final.text else []), entry)
    reward = value if rule == "graded" else (1.0 if value >= 1.0 else 0.0)
    return Score(reward, "ok" if reward >= 1.0 else "wrong", f"{rule}: answer {final.text[:60]!r}")


def _raw_final(completion: str) -> str | None:
    """The last marker's content before cleaning (a scorer may want the trailing period kept)."""
    markers = find_markers(completion[-MAX_SCAN_CHARS:])
    return markers[-1].content.strip() if markers and markers[-1].content else None


def _dataset_score(ds: Any, name: str, answers: list[str], entry: dict[str, Any]) -> float:
    """The dataset's own score of the best of a few spellings of one answer, clipped to [0, 1].

    A spelling that a code-running scorer must not see (rlvr.synth.gym_guard) is not passed to it."""
    best = 0.0
    for answer in answers:
        if not admissible(name, answer, entry)[0]:
            continue
        try:
            best = max(best, float(ds.score_answer(answer=answer, entry=entry)))
        except Exception:  # noqa: BLE001 - a scorer that chokes on an odd spelling pays nothing for it
            continue
    return min(1.0, max(0.0, best))


def gold_completion(task: Task) -> str:
    answer = reference_answer(task.meta["entry"])
    if answer is None:
        raise ValueError(f"{task.kind} has no reference answer to render (reasoning-gym gives none for it)")
    return f"<answer>{answer}</answer>"


register_verifier(FunctionVerifier(
    VERIFIER, score, gold_completion,
    description="the final answer (the last <answer>...</answer>, \\boxed{} or 'Answer:' marker; several candidates or a "
                "hedge: ambiguous, 0) is judged per dataset: a numeric gold by exact value (no partial credit), most "
                "datasets all-or-nothing (equal to the gold, or full credit from the dataset's score_answer), a few "
                "structural ones (rlvr.synth.gym.GRADED) with the dataset's partial credit",
))
PROBE_DATASETS = ("basic_arithmetic", "chain_sum", "leg_counting", "caesar_cipher", "word_sorting",
                  "fraction_simplification", "family_relationships", "spell_backward")


def _probe_tasks() -> list[Task]:
    try:
        _require_gym()
    except ImportError:
        return []  # the optional extra is not installed: nothing to probe
    return [GymGenerator(GymConfig(name)).generate(0, i) for name in PROBE_DATASETS for i in range(2)]


def _probe_others(task: Task) -> list[str]:
    gold = str(task.answer)
    number = parse_number(clean(gold))
    if number is not None:
        return [str(number + 1), gold + "5", str(-number) if number else "7"]
    return ["zebra quartz", gold[::-1] if gold[::-1] != gold else gold + "x", "1234"]


def _probe_harmless(task: Task) -> list[str]:
    gold = str(task.answer)
    if parse_number(clean(gold)) is not None and item_rule(task.verifier.params["dataset"], gold) == "numeric":
        return [gold + ".0", "= " + gold, f"\\boxed{{{gold}}}"]
    return [f"\\text{{{gold}}}"]


register_probe(VERIFIER, AnswerProbe(samples=_probe_tasks, gold=lambda task: str(task.answer), others=_probe_others,
                                     harmless=_probe_harmless))
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
