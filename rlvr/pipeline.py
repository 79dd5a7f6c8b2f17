"""`rlvr run PIPELINE.yaml`: run configured stages in order into one run directory.

A pipeline file names stages, each with a registered type and its settings:

    seed: 0
    stages:
      - name: arithmetic          # folder inside the run directory
        type: synth.gym           # see STAGE_TYPES
        with: {name: basic_arithmetic, n: 64}
      - name: estimate
        type: select.estimate
        with: {k: 4}
        # inputs: [arithmetic]    # default: task tables not yet consumed by an earlier stage

Each stage type pairs a config dataclass (the same one its CLI command uses) with a function
`run(config, inputs, out_dir) -> StageResult`. Stages already done with the same config and
inputs are skipped, so a killed pipeline resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.config import config_from_mapping, load_yaml, to_mapping
from rlvr.hashing import stable_hash
from rlvr.rundir import RunDir, StageRecord, StageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageType:
    """A kind of pipeline stage. `consumes_tasks` is False for stages that start from nothing."""

    config_cls: type
    run: Callable[[Any, list[Path], Path], StageResult]
    consumes_tasks: bool = True


# type name -> "module:attribute" of a StageType; imported only when a pipeline uses it.
STAGE_TYPES: dict[str, str] = {
    "synth.gym": "rlvr.synth.gym:STAGE",
    "synth.azr": "rlvr.synth.azr.stage:STAGE",
    "synth.np": "rlvr.synth.np.stage:STAGE",
    "synth.fim": "rlvr.synth.fim.stage:STAGE",
    "synth.svs": "rlvr.synth.svs.stage:STAGE",
    "synth.sws": "rlvr.synth.sws.stage:STAGE",
    "select.estimate": "rlvr.select.estimate:STAGE",
    "curate": "rlvr.curate.runner:STAGE",
    "train": "rlvr.train.cli:STAGE",
    "card": "rlvr.datasets_cards.stage:STAGE",
}


def get_stage_type(name: str) -> StageType:
    if name not in STAGE_TYPES:
        raise ValueError(f"unknown stage type {name!r}; valid: {', '.join(sorted(STAGE_TYPES))}")
    module, _, attr = STAGE_TYPES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class StageSpec:
    name: str
    type: str
    settings: dict[str, Any]
    inputs: list[str] | None


@dataclass
class Pipeline:
    seed: int
    stages: list[StageSpec]
    source: str = "<mapping>"

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "<mapping>") -> Pipeline:
        unknown = sorted(set(data) - {"seed", "stages", "description"})
        if unknown:
            raise ValueError(f"{source}: unknown top-level key(s) {unknown}; valid: description, seed, stages")
        raw = data.get("stages")
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{source}: 'stages' must be a non-empty list of stages")
        stages, seen = [], set()
        for i, item in enumerate(raw):
            where = f"{source}: stages[{i}]"
            if not isinstance(item, dict):
                raise ValueError(f"{where}: expected a mapping with name, type and with")
            bad = sorted(set(item) - {"name", "type", "with", "inputs"})
            if bad:
                raise ValueError(f"{where}: unknown key(s) {bad}; valid: name, type, with, inputs")
            if "type" not in item:
                raise ValueError(f"{where}: missing 'type'; valid types: {', '.join(sorted(STAGE_TYPES))}")
            get_stage_type(item["type"])  # fail early on a typo
            name = str(item.get("name") or item["type"].replace(".", "_"))
            if name in seen:
                raise ValueError(f"{where}: duplicate stage name {name!r}; names must be unique")
            seen.add(name)
            inputs = item.get("inputs")
            if inputs is not None:
                missing = [n for n in inputs if n not in seen]
                if missing:
                    raise ValueError(f"{where}: inputs {missing} do not name an earlier stage")
            stages.append(StageSpec(name, item["type"], dict(item.get("with") or {}), inputs))
        return cls(seed=int(data.get("seed", 0)), stages=stages, source=source)

    @classmethod
    def load(cls, path: str | Path) -> Pipeline:
        return cls.from_mapping(load_yaml(path), source=str(path))


def build_config(spec: StageSpec, stage_type: StageType, seed: int, where: str) -> Any:
    settings = dict(spec.settings)
    field_names = {f.name for f in dataclasses.fields(stage_type.config_cls)}
    if "seed" in field_names and "seed" not in settings:
        settings["seed"] = seed
    return config_from_mapping(stage_type.config_cls, settings, where=where)


def run_pipeline(pipeline: Pipeline, out: str | Path) -> list[tuple[StageRecord, bool]]:
    """Run every stage in order; returns (record, ran) per stage."""
    run_dir = RunDir(out)
    results: list[tuple[StageRecord, bool]] = []
    unconsumed: list[str] = []  # stages whose task tables no later stage has read yet
    with run_dir.lock():
        for spec in pipeline.stages:
            stage_type = get_stage_type(spec.type)
            config = build_config(spec, stage_type, pipeline.seed, f"{pipeline.source}: stage {spec.name}")
            if spec.inputs is not None:
                input_names = list(spec.inputs)
            elif stage_type.consumes_tasks:
                input_names = list(unconsumed)
            else:
                input_names = []
            inputs = []
            for n in input_names:
                p = run_dir.tasks_path(n)
                if p is None:
                    raise ValueError(f"stage {spec.name}: input stage {n!r} produced no task table")
                inputs.append(p)
            if stage_type.consumes_tasks and not inputs:
                raise ValueError(f"stage {spec.name} ({spec.type}) needs task inputs but no earlier stage made any")
            fingerprint = stable_hash({"type": spec.type, "config": to_mapping(config)}, length=16)
            log.info("stage %s (%s)", spec.name, spec.type)
            rec, ran = run_dir.run_stage(
                spec.name, spec.type, fingerprint, inputs,
                lambda d, c=config, i=inputs, t=stage_type: t.run(c, i, d), config=to_mapping(config),
            )
            results.append((rec, ran))
            if stage_type.consumes_tasks:
                unconsumed = [n for n in unconsumed if n not in input_names]
            if rec.tasks:
                unconsumed.append(spec.name)
    return results


def format_summary(run_dir: Path, results: list[tuple[StageRecord, bool]]) -> str:
    lines = [f"run directory: {run_dir}"]
    width = max(len(r.name) for r, _ in results)
    for rec, ran in results:
        state = f"{rec.seconds:7.1f}s" if ran else "  cached"
        counts = ", ".join(f"{k}={v}" for k, v in rec.counts.items() if not isinstance(v, dict))
        lines.append(f"  {rec.name:<{width}}  {state}  {counts}")
        if rec.summary:
            lines.extend("      " + s for s in rec.summary.splitlines())
    return "\n".join(lines)
