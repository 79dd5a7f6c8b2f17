"""rlvr: verifiable RL datasets from raw text, procedural families and the policy itself.

The Python API (see README "Python API"; each name is imported on first use, so `import rlvr`
stays cheap and `rlvr --help` instant; heavy libraries such as torch, transformers, trl and
sentence-transformers are imported inside the functions that use them):

- `rlvr.generate(generator, n, seed=0, **settings) -> list[Task]`
- `rlvr.verify(task, completion) -> Score`, `rlvr.gold_completion(task) -> str`
- `rlvr.curate(tasks, **settings) -> (kept tasks, decisions)`
- `rlvr.make_selector(name, tasks, **settings) -> Selector`
- `rlvr.train(tasks, out_dir, **settings) -> TrainResult`
- `rlvr.build_dataset(run_dir_or_tasks, out, ...) -> README path`
- records and registries: `Task`, `Score`, `Decision`, `RolloutGroup`, `register_generator`,
  `register_verifier`, `register_selector`, `Registry`
"""

from __future__ import annotations

import importlib
from typing import Any

from rlvr.version import __version__ as __version__

# name -> module that defines it. verify, curate and train are modules made callable.
_EXPORTS: dict[str, str] = {
    "generate": "rlvr.api",
    "gold_completion": "rlvr.api",
    "make_selector": "rlvr.api",
    "build_dataset": "rlvr.api",
    "Task": "rlvr.records",
    "Decision": "rlvr.records",
    "RolloutGroup": "rlvr.records",
    "Score": "rlvr.verify",
    "register_verifier": "rlvr.verify",
    "register_generator": "rlvr.synth.registry",
    "GeneratorSpec": "rlvr.synth.registry",
    "register_selector": "rlvr.select.base",
    "Registry": "rlvr.registry",
}
_CALLABLE_MODULES = ("verify", "curate", "train")

__all__ = sorted([*_EXPORTS, *_CALLABLE_MODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_MODULES:
        return importlib.import_module(f"rlvr.{name}")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'rlvr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
