"""`rlvr run PIPELINE.yaml`: run configured stages in order into one run directory.

A pipeline file names stages, each with a registered type and its settings:

    seed: 0
    stages:
      - name: arithmetic          # folder inside the run directory
        type: synth.gym           # see STAGES (built-ins: rlvr.builtins)
        with: {name: basic_arithmetic, n: 64}
      - name: estimate
        type: select.estimate
        with: {k: 4}
        # inputs: [arithmetic]    # default: task tables not yet consumed by an earlier stage

Each stage type pairs a config dataclass (the same one its CLI command uses) with a function
`run(config, inputs, out_dir) -> StageResult`. Stages already done with the same config and
inputs are skipped, so a killed pipeline resumes where it stopped.

Multi-round mode closes the self-play loop: a `rounds:` section repeats its stages `count`
times after the top-level `stages` (which may then be left out), each round in its own folders
(`round-1/train`, `round-1/svs`, ..., `round-2/train`, ...), each stage resumable as above:

    rounds:
      count: 2
      policy: smollm2-135m-instruct   # what ${policy} means before the first train stage
      stages:
        - {name: train, type: train, inputs: [arithmetic, "previous:curate"], with: {model: "${policy}"}}
        - {name: svs, type: synth.svs, inputs: [train], with: {backend: "transformers:${policy}"}}
        - {name: curate, type: curate, inputs: [svs]}

In a round, `inputs` names an earlier stage of the same round (that round's copy), a top-level
stage, or `previous:NAME`, stage NAME of the previous round (nothing in round 1). In settings,
`${policy}` is the final checkpoint of the most recent train stage (so a round's synthesis
stages use the policy its train stage just made, and the next round trains on from it) and
`${round}` the round number, `${run}` the run directory (e.g. one AZR buffer for every round:
`buffer: ${run}/azr_buffer.jsonl`). Without `rounds:` nothing is substituted and nothing changes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.config import config_from_mapping, load_yaml, to_mapping
from rlvr.hashing import stable_hash
from rlvr.registry import Registry
from rlvr.rundir import RunDir, StageRecord, StageType

log = logging.getLogger(__name__)

__all__ = ["STAGES", "Pipeline", "StageSpec", "StageType", "format_stage", "format_summary", "get_stage_type",
           "run_pipeline"]


def _as_stage_type(obj: Any, name: str) -> StageType:
    if not isinstance(obj, StageType):
        raise TypeError(f"{name} is not a StageType")
    return obj


# type name -> StageType; the built-ins (rlvr.builtins) are imported only when a pipeline uses them,
# a user's own is registered with STAGES.register(name, StageType(...)) or named as pkg.module:STAGE.
STAGES: Registry[StageType] = Registry("stage", label="stage type", check=_as_stage_type)


def get_stage_type(name: str) -> StageType:
    try:
        return STAGES.get(name)
    except KeyError:
        raise ValueError(f"unknown stage type {name!r}; valid: {', '.join(STAGES.names())}") from None


@dataclass
class StageSpec:
    name: str
    type: str
    settings: dict[str, Any]
    inputs: list[str] | None


PREVIOUS = "previous:"
ROUND_KEYS = ("count", "policy", "stages")


@dataclass
class Rounds:
    """The `rounds:` section: `stages` run `count` times, round r in folders `round-r/<name>`."""

    count: int
    policy: str
    stages: list[StageSpec]


@dataclass
class Pipeline:
    seed: int
    stages: list[StageSpec]
    source: str = "<mapping>"
    rounds: Rounds | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "<mapping>") -> Pipeline:
        unknown = sorted(set(data) - {"seed", "stages", "description", "rounds"})
        if unknown:
            raise ValueError(f"{source}: unknown top-level key(s) {unknown}; valid: description, rounds, seed, stages")
        raw = data.get("stages")
        if "rounds" in data and raw is None:
            raw = []
        elif not isinstance(raw, list) or not raw:
            raise ValueError(f"{source}: 'stages' must be a non-empty list of stages")
        stages = _parse_stages(raw, f"{source}: stages", set())
        rounds = _parse_rounds(data["rounds"], source, {s.name for s in stages}) if "rounds" in data else None
        return cls(seed=int(data.get("seed", 0)), stages=stages, source=source, rounds=rounds)

    @classmethod
    def load(cls, path: str | Path) -> Pipeline:
        return cls.from_mapping(load_yaml(path), source=str(path))


def _parse_stages(raw: list[Any], prefix: str, outer: set[str], later: set[str] | None = None) -> list[StageSpec]:
    """Stage specs; `inputs` may name `outer` stages and, as previous:NAME, any of `later`."""
    stages: list[StageSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{prefix}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping with name, type and with")
        bad = sorted(set(item) - {"name", "type", "with", "inputs"})
        if bad:
            raise ValueError(f"{where}: unknown key(s) {bad}; valid: name, type, with, inputs")
        if "type" not in item:
            raise ValueError(f"{where}: missing 'type'; valid types: {', '.join(STAGES.names())}")
        get_stage_type(item["type"])  # fail early on a typo
        name = str(item.get("name") or item["type"].replace(".", "_"))
        if name in seen:
            raise ValueError(f"{where}: duplicate stage name {name!r}; names must be unique")
        seen.add(name)
        inputs = item.get("inputs")
        if inputs is not None:
            missing = [n for n in inputs if n not in seen | outer and not (
                later is not None and n.startswith(PREVIOUS) and n[len(PREVIOUS):] in later)]
            if missing:
                raise ValueError(f"{where}: inputs {missing} do not name an earlier stage")
        stages.append(StageSpec(name, item["type"], dict(item.get("with") or {}), inputs))
    return stages


def _parse_rounds(raw: Any, source: str, top: set[str]) -> Rounds:
    where = f"{source}: rounds"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping with {', '.join(ROUND_KEYS)}")
    bad = sorted(set(raw) - set(ROUND_KEYS))
    if bad:
        raise ValueError(f"{where}: unknown key(s) {bad}; valid: {', '.join(ROUND_KEYS)}")
    count = raw.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{where}.count must be a whole number >= 1, got {count!r}")
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise ValueError(f"{where}.stages must be a non-empty list of stages")
    names = {str(i.get("name") or i.get("type", "").replace(".", "_")) for i in stages_raw if isinstance(i, dict)}
    clash = sorted(names & top)
    if clash:
        raise ValueError(f"{where}: stage name(s) {clash} are also top-level stages; rename one of them")
    stages = _parse_stages(stages_raw, f"{where}.stages", top, later=names)
    return Rounds(count, str(raw.get("policy") or "smollm2-135m-instruct"), stages)


def build_config(spec: StageSpec, stage_type: StageType, seed: int, where: str) -> Any:
    settings = dict(spec.settings)
    field_names = {f.name for f in dataclasses.fields(stage_type.config_cls)}
    if "seed" in field_names and "seed" not in settings:
        settings["seed"] = seed
    return config_from_mapping(stage_type.config_cls, settings, where=where)


def run_pipeline(pipeline: Pipeline, out: str | Path,
                 on_stage: Callable[[StageRecord, bool], None] | None = None) -> list[tuple[StageRecord, bool]]:
    """Run every stage in order (then every round, see the module docstring); returns (record, ran) per stage.

    `on_stage(record, ran)` is called as each stage finishes (or is found up to date), e.g. to print
    its summary while later stages still run."""
    run_dir = RunDir(out)
    results: list[tuple[StageRecord, bool]] = []
    state = _LoopState(pipeline.rounds.policy, str(run_dir.path.resolve())) if pipeline.rounds else None
    unconsumed: list[str] = []  # stages whose task tables no later stage has read yet
    with run_dir.lock():
        def done(item: tuple[StageRecord, bool]) -> None:
            results.append(item)
            if on_stage is not None:
                on_stage(*item)

        for spec in pipeline.stages:
            done(_run_one(run_dir, pipeline, spec, spec.name, spec.inputs, unconsumed, state))
        if pipeline.rounds is not None:
            for r in range(1, pipeline.rounds.count + 1):
                state.round = r
                local = {s.name for s in pipeline.rounds.stages}
                for spec in pipeline.rounds.stages:
                    inputs = None if spec.inputs is None else _round_inputs(spec.inputs, r, local)
                    done(_run_one(run_dir, pipeline, spec, f"round-{r}/{spec.name}", inputs, unconsumed, state))
    return results


@dataclass
class _LoopState:
    """Multi-round mode: the current policy (and what made it) and the round number."""

    policy: str
    run: str  # the run directory, absolute
    policy_stamp: dict[str, str] = dataclasses.field(default_factory=dict)  # the train outputs' digests
    round: int = 0


def _round_inputs(names: list[str], r: int, local: set[str]) -> list[str]:
    """A round stage's inputs as stage names: same-round names scoped, previous:NAME from round r-1."""
    out = []
    for n in names:
        if n.startswith(PREVIOUS):
            if r > 1:
                out.append(f"round-{r - 1}/{n[len(PREVIOUS):]}")
        else:
            out.append(f"round-{r}/{n}" if n in local else n)
    return out


_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def _substitute(value: Any, state: _LoopState, where: str) -> Any:
    """${policy}, ${round} and ${run} in string settings (recursively); an unknown ${name} is an error."""
    if isinstance(value, dict):
        return {k: _substitute(v, state, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, state, where) for v in value]
    if not isinstance(value, str):
        return value
    known = {"policy": state.policy, "round": str(state.round), "run": state.run}
    unknown = sorted(set(_PLACEHOLDER.findall(value)) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown placeholder(s) {unknown} in {value!r}; valid: ${{policy}}, ${{round}}, "
                         "${run}")
    return _PLACEHOLDER.sub(lambda m: known[m.group(1)], value)


def final_policy(run_dir: RunDir, rec: StageRecord) -> str:
    """The folder of a finished train stage's last checkpoint: what ${policy} becomes after it."""
    steps = rec.counts.get("steps")
    path = (run_dir.path / rec.name / "checkpoints" / f"checkpoint-{steps}").resolve()
    if not (path / "config.json").exists():
        raise ValueError(f"stage {rec.name}: no full model checkpoint at {path} to continue from (a LoRA run saves "
                         "adapters only); multi-round ${{policy}} needs full-weight training (lora: false)")
    return str(path)


def _run_one(run_dir: RunDir, pipeline: Pipeline, spec: StageSpec, name: str, inputs_spec: list[str] | None,
             unconsumed: list[str], state: _LoopState | None) -> tuple[StageRecord, bool]:
    """Run one stage as `name`, reading `inputs_spec` (or the unconsumed task tables); updates the books."""
    stage_type = get_stage_type(spec.type)
    where = f"{pipeline.source}: stage {name}"
    identity: dict[str, Any] = {"type": spec.type}
    if state is not None:
        settings = _substitute(spec.settings, state, where)
        if "${policy}" in json.dumps(spec.settings) and state.policy_stamp:
            identity["policy"] = state.policy_stamp  # a retrained policy at the same path re-runs its users
        spec = dataclasses.replace(spec, settings=settings)
    config = build_config(spec, stage_type, pipeline.seed, where)
    if inputs_spec is not None:
        input_names = list(inputs_spec)
    elif stage_type.consumes_tasks:
        input_names = list(unconsumed)
    else:
        input_names = []
    inputs = []
    for n in input_names:
        p = run_dir.tasks_path(n)
        if p is None:
            raise ValueError(f"stage {name}: input stage {n!r} produced no task table")
        inputs.append(p)
    if stage_type.consumes_tasks and not inputs:
        raise ValueError(f"stage {name} ({spec.type}) needs task inputs but no earlier stage made any")
    # Files a config reads besides the task tables (e.g. benchmark sets) count as inputs too,
    # so editing one makes the stage stale.
    watched = [Path(p) for p in (getattr(config, "input_files", lambda: [])() or []) if Path(p).is_file()]
    fingerprint = stable_hash({**identity, "config": to_mapping(config)}, length=16)
    log.info("stage %s (%s)", name, spec.type)
    rec, ran = run_dir.run_stage(
        name, spec.type, fingerprint, [*inputs, *watched],
        lambda d, c=config, i=inputs, t=stage_type: t.run(c, i, d), config=to_mapping(config),
    )
    release_memory()  # a stage's models and tensors are garbage now; give their pages back before the next
    if stage_type.consumes_tasks:
        unconsumed[:] = [n for n in unconsumed if n not in input_names]
    if rec.tasks:
        unconsumed.append(name)
    if state is not None and spec.type == "train":
        state.policy, state.policy_stamp = final_policy(run_dir, rec), dict(rec.outputs)
    return rec, ran


def release_memory() -> None:
    """Collect garbage and return freed heap pages to the OS (glibc's malloc_trim), so that stages run
    one after another in one process (each loading its own model) do not add up in resident memory."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the pages stay with the allocator, nothing breaks
        pass


def format_stage(rec: StageRecord, ran: bool, width: int = 0) -> str:
    """One stage's line (name, seconds or `cached`, counts) and its summary, indented."""
    state = f"{rec.seconds:7.1f}s" if ran else "  cached"
    counts = ", ".join(f"{k}={v}" for k, v in rec.counts.items() if not isinstance(v, dict))
    lines = [f"  {rec.name:<{width}}  {state}  {counts}"]
    if rec.summary:
        lines.extend("      " + s for s in rec.summary.splitlines())
    return "\n".join(lines)


def format_summary(run_dir: Path, results: list[tuple[StageRecord, bool]]) -> str:
    width = max(len(r.name) for r, _ in results)
    return "\n".join([f"run directory: {run_dir}", *(format_stage(rec, ran, width) for rec, ran in results)])
