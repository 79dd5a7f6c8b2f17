"""Any registered generator as a pipeline stage (`synth.generator`) or command (`rlvr synth generator`).

Families with their own stage (np, gym, fim, ...) add family-specific conveniences; this stage is
the common path for every other registered generator, including a user's own registered through a
dotted path ("pkg.module:SPEC" naming a GeneratorSpec), so a new family is usable in a pipeline
the moment it is registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.config import config_from_mapping
from rlvr.records import Task
from rlvr.rundir import StageResult, StageType
from rlvr.synth.registry import GeneratorSpec, generator_names, get_generator


@dataclass
class GeneratorStageConfig:
    generator: str = field(default="", metadata={"help": "registered generator name (see --list) or pkg.mod:SPEC"})
    settings: dict[str, Any] = field(default_factory=dict, metadata={"help": "the generator's config settings"})
    n: int = field(default=100, metadata={"help": "number of tasks"})
    seed: int = field(default=0, metadata={"help": "seed; item i is made from (seed, i)"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"generator": ""}, {"generator": "toy.initial", "n": 0})

    def __post_init__(self) -> None:
        if not self.generator:
            raise ValueError(f"generator: name a registered generator ({', '.join(generator_names())}) "
                             "or give pkg.module:SPEC")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")


def resolve(name: str) -> GeneratorSpec:
    """A registered generator, or the GeneratorSpec at a dotted path "pkg.module:SPEC"."""
    return get_generator(name)


def make_tasks(config: GeneratorStageConfig, progress: bool = False, indices: range | None = None) -> list[Task]:
    """Items `indices` (default: all of range(n); rlvr.synth.shard makes index ranges)."""
    from tqdm.auto import tqdm

    spec = resolve(config.generator)
    gen = spec.make(config_from_mapping(spec.config_cls, config.settings, where=f"{spec.name} settings"))
    indices = range(config.n) if indices is None else indices
    return [gen.generate(config.seed, i) for i in tqdm(indices, desc=spec.name, disable=not progress)]


def run_stage(config: GeneratorStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    tasks = make_tasks(config)
    path = Task.write_parquet(out_dir / "tasks.parquet", tasks)
    return StageResult(files={"tasks": path}, counts={"tasks": len(tasks)}, tasks=path,
                       summary=f"{len(tasks)} tasks from {config.generator}")


STAGE = StageType(GeneratorStageConfig, run_stage, consumes_tasks=False)
