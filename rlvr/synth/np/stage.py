"""Making NP tasks in bulk: the `synth.np` pipeline stage and what `rlvr synth np` runs.

`task` picks one problem, several (comma-separated) or `all`; with several, item i goes to
problem i mod P with index i div P, so every family gets an equal share and each task can be
regenerated from its provenance (generator, seed, index, config fingerprint). `difficulty` sets
the knob for every item; with `difficulty_max` the items' difficulties are spread evenly over
[difficulty, difficulty_max] by a golden-ratio sequence (rounded to 0.01), for a curriculum in
one table. `settings` overrides a single problem's config fields (e.g. `cities: [8, 12]`); with
several problems it maps problem names to their overrides (`{tsp: {cities: [5, 6]}}`). `compact`
gives every problem the short prompt of rlvr.synth.np.prompt.compact_prompt.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.records import Task
from rlvr.rundir import StageResult, StageType

GOLDEN = (math.sqrt(5) - 1) / 2


def problem_names() -> list[str]:
    from rlvr.synth.np import MODULES

    return list(MODULES.values())


def resolve_tasks(task: str) -> list[str]:
    """'all', 'tsp', 'np.tsp', a module name such as 'clique', or 'tsp,knapsack' -> registered
    problem names, in the order given."""
    from rlvr.synth.np import MODULES

    names = problem_names()
    if task.strip() == "all":
        return names
    short = {n.removeprefix("np."): n for n in names}
    short.update({module: name for module, name in MODULES.items() if module not in short})
    chosen = []
    for part in (p.strip() for p in task.split(",")):
        if not part:
            continue
        name = part if part in names else short.get(part)
        if name is None:
            raise ValueError(f"unknown NP task {part!r}; valid: all, {', '.join(n.removeprefix('np.') for n in names)}")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ValueError(f"task is empty; give 'all' or one of {', '.join(short)}")
    return chosen


@dataclass
class NPStageConfig:
    task: str = field(default="all", metadata={"help": "problem name, comma-separated names, or all"})
    n: int = field(default=100, metadata={"help": "number of tasks in all (shared evenly between problems)"})
    difficulty: float = field(default=0.0, metadata={"help": "difficulty in [0, 1] (0 easy, 0.5 medium, 1 hard)"})
    difficulty_max: float | None = field(
        default=None, metadata={"help": "spread item difficulties evenly over [difficulty, difficulty_max]"})
    seed: int = field(default=0, metadata={"help": "seed; item i is made from (seed, index)"})
    settings: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "config overrides for a single problem, e.g. {cities: [8, 12]}; with "
                                                "several, per problem: {tsp: {cities: [5, 6]}}"})
    compact: bool = field(default=False, metadata={"help": "short prompts (no worked example) for small models"})

    def __post_init__(self) -> None:
        self.problems = resolve_tasks(self.task)
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        for name in ("difficulty", "difficulty_max"):
            d = getattr(self, name)
            if d is not None and not 0 <= d <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {d}")
        if self.difficulty_max is not None and self.difficulty_max < self.difficulty:
            raise ValueError(f"difficulty_max {self.difficulty_max} is below difficulty {self.difficulty}; swap them")
        self._settings = self._per_problem_settings()
        self._generators: dict[tuple[str, float], Any] = {}
        for name in self.problems:  # fail now on a bad setting, not at item 1000
            self.generator(name, self.difficulty)

    def _per_problem_settings(self) -> dict[str, dict[str, Any]]:
        """Problem name -> its config overrides, checked against the problem's config fields."""
        from rlvr.synth.np import MODULES
        from rlvr.synth.np.base import PROBLEMS

        if not self.settings:
            return {}
        if len(self.problems) == 1 and not any(isinstance(v, dict) for v in self.settings.values()):
            per = {self.problems[0]: dict(self.settings)}
        else:
            short = {n.removeprefix("np."): n for n in self.problems}
            short.update({m: n for m, n in MODULES.items() if n in self.problems})
            per = {}
            for key, value in self.settings.items():
                name = key if key in self.problems else short.get(key)
                if name is None:
                    raise ValueError(f"settings: {key!r} is not one of the chosen problems "
                                     f"({', '.join(n.removeprefix('np.') for n in self.problems)}); settings override "
                                     "one problem's config: pick a single task with --task, or map each problem name "
                                     "to its overrides, e.g. {tsp: {cities: [5, 6]}}")
                if not isinstance(value, dict):
                    raise ValueError(f"settings.{key}: expected a mapping of overrides, got {value!r}")
                per[name] = dict(value)
        for name, overrides in per.items():
            valid = sorted(f.name for f in dataclasses.fields(PROBLEMS[name].config_cls))
            unknown = sorted(set(overrides) - set(valid) | ({"difficulty", "compact"} & set(overrides)))
            if unknown:
                valid = [v for v in valid if v not in ("difficulty", "compact")]
                raise ValueError(f"unknown setting(s) {unknown} for {name}; valid: {', '.join(valid)} "
                                 "(set the difficulty and compact on the stage itself)")
        return per

    def item_difficulty(self, i: int) -> float:
        if self.difficulty_max is None:
            return self.difficulty
        frac = (i * GOLDEN) % 1.0
        return round(self.difficulty + (self.difficulty_max - self.difficulty) * frac, 2)

    def generator(self, name: str, difficulty: float) -> Any:
        from rlvr.synth.np.base import PROBLEMS, NPGenerator

        key = (name, difficulty)
        if key not in self._generators:
            problem = PROBLEMS[name]
            config = problem.config_cls(**{**self._settings.get(name, {}), "difficulty": difficulty,
                                           "compact": self.compact})
            self._generators[key] = NPGenerator(problem, config)
        return self._generators[key]

    def item(self, i: int) -> Task:
        name = self.problems[i % len(self.problems)]
        return self.generator(name, self.item_difficulty(i)).generate(self.seed, i // len(self.problems))


def make_tasks(config: NPStageConfig, progress: bool = False, indices: range | None = None) -> list[Task]:
    """Items `indices` (default: all of range(n); rlvr.synth.shard makes index ranges)."""
    from tqdm.auto import tqdm

    indices = range(config.n) if indices is None else indices
    return [config.item(i) for i in tqdm(indices, desc="np tasks", unit="task", disable=not progress)]


def summarize(tasks: list[Task]) -> str:
    """Per problem: count, distinct instance fingerprints, share with a certified-optimal
    reference, mean difficulty and the size range."""
    groups: dict[str, list[Task]] = defaultdict(list)
    for t in tasks:
        groups[t.kind].append(t)
    width = max((len(k) for k in groups), default=4)
    lines = [f"  {'task':<{width}}  {'n':>6}  {'distinct':>8}  {'optimal':>7}  {'difficulty':>10}  size"]
    for kind in sorted(groups):
        ts = groups[kind]
        distinct = len({t.fingerprint for t in ts})
        optimal = sum(t.meta.get("optimal") is True for t in ts) / len(ts)
        difficulty = sum(t.difficulty.nominal or 0 for t in ts) / len(ts)
        sizes = defaultdict(list)
        for t in ts:
            for key, value in t.meta.get("size", {}).items():
                sizes[key].append(value)
        size = ", ".join(f"{k} {min(v)}-{max(v)}" for k, v in sizes.items())
        lines.append(f"  {kind:<{width}}  {len(ts):>6}  {distinct:>8}  {optimal:>7.0%}  {difficulty:>10.2f}  {size}")
    return "\n".join(lines)


def run_stage(config: NPStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    tasks = make_tasks(config)
    path = Task.write_parquet(out_dir / "tasks.parquet", tasks)
    counts: dict[str, Any] = {"tasks": len(tasks)}
    for t in tasks:
        counts[t.kind] = counts.get(t.kind, 0) + 1
    return StageResult(files={"tasks": path}, counts=counts, tasks=path, summary=summarize(tasks))


STAGE = StageType(NPStageConfig, run_stage, consumes_tasks=False)
