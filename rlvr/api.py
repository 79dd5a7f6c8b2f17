"""The Python API behind `import rlvr`: make, check, curate, select, train and publish tasks in a
notebook without knowing the package layout. Every name is also reachable as `rlvr.<name>`
(imported on first use, so `import rlvr` stays cheap):

    tasks = rlvr.generate("np.knapsack", n=20, difficulty=0.2)
    rlvr.verify(tasks[0], rlvr.gold_completion(tasks[0])).reward   # 1.0
    kept, decisions = rlvr.curate(tasks)                            # Tasks, and why each was dropped
    selector = rlvr.make_selector("band", kept, band_low=0.1)      # the name is given once
    rlvr.train(kept, "runs/demo", steps=10)                         # slow: GRPO on CPU
    rlvr.build_dataset(kept, "out/knapsack", pretty_name="Knapsack")

`rlvr.verify`, `rlvr.curate` and `rlvr.train` are the modules of the same name, callable.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlvr.records import Task


def generate(generator: str, n: int = 100, *, seed: int = 0, **settings: Any) -> list[Task]:
    """`n` tasks from a registered generator (`rlvr synth generator --list`) or "pkg.module:SPEC";
    `settings` are the generator's config fields. Task i is a pure function of (seed, i)."""
    from rlvr.synth.generic import GeneratorStageConfig, make_tasks

    return make_tasks(GeneratorStageConfig(generator=generator, settings=settings, n=n, seed=seed))


def verify(task: Task, completion: str) -> Any:
    """Score one completion (a `Score`: reward, status, detail); never raises for a verifier bug."""
    from rlvr.verify import verify as _verify

    return _verify(task, completion)


def gold_completion(task: Task) -> str:
    """The task's reference answer written as a completion its verifier scores 1.0."""
    from rlvr.verify import gold_completion as _gold

    return _gold(task)


def curate(tasks: Sequence[Task], config: Any = None, **settings: Any) -> tuple[list[Task], list[Any]]:
    """(kept tasks, decisions): dedupe and decontaminate in memory; settings are CurateConfig fields."""
    from rlvr.curate.runner import curate_tasks

    return curate_tasks(tasks, config, **settings)


def make_selector(name: str, tasks: Sequence[Task] | Any, **settings: Any) -> Any:
    """Selector `name` over a fresh pass-rate store of `tasks` (their offline estimates seed it), or
    over an existing PassRateStore; settings are SelectConfig fields (band_low=0.1, explore=0.1, ...).
    Drive it with `selector.propose(batch_size, selector.config.make_rng())` and `selector.observe(groups)`."""
    from rlvr.config import config_from_mapping
    from rlvr.select.base import SelectConfig
    from rlvr.select.base import make_selector as _make
    from rlvr.select.store import PassRateStore

    if "selector" in settings:
        raise ValueError("make_selector: give the selector name once, as the first argument")
    config = config_from_mapping(SelectConfig, {**settings, "selector": name}, where="select settings")
    store = tasks if isinstance(tasks, PassRateStore) else config.make_store(list(tasks))
    return _make(None, store, config)


def train(tasks: Sequence[Task], out_dir: str | Path, *, probe_tasks: Sequence[Task] | None = None,
          config: Any = None, **settings: Any) -> Any:
    """GRPO on `tasks` into `out_dir` (resumable); settings are TrainConfig fields. Returns TrainResult."""
    import rlvr.train

    return rlvr.train(tasks, out_dir, probe_tasks=probe_tasks, config=config, **settings)


def build_dataset(source: Sequence[Task] | str | Path, out: str | Path, *, name: str = "",
                  pretty_name: str = "RLVR tasks", license: str = "", attributions: dict[str, str] | None = None
                  ) -> Path:
    """Write a Hub dataset folder (Parquet splits + README card) to `out`; returns the README path.

    `source` is a run directory (its final task table, curation, training and value records go into
    the card) or a list of tasks (a card from the tasks alone)."""
    from rlvr.datasets_cards.card import CardOptions
    from rlvr.datasets_cards.card import build_dataset as _build

    opts = CardOptions(name, pretty_name, license, attributions=attributions)
    if isinstance(source, (str, Path)):
        return _build(source, out, opts)[0]
    with tempfile.TemporaryDirectory(prefix="rlvr-card-") as run:
        tasks_path = Task.write_parquet(Path(run) / "tasks.parquet", list(source))
        return _build(run, out, opts, tasks_path=tasks_path)[0]
