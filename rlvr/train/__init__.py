"""train: the embedded GRPO loop on TRL, with a rollout ledger, a probe set and a report of which data helped.

Entry points (imported lazily; `rlvr train --help` loads none of torch, transformers or TRL):

- `rlvr.train.loop.train(config, tasks, out_dir)`: a whole run, resumable (see loop.py);
- `rlvr.train.config.TrainConfig`: every setting, and the TRL GRPOConfig it becomes;
- pieces for your own TRL script: `grpo.RlvrGRPOTrainer` and `grpo.RlvrCallback` (the GRPOTrainer
  subclass and its callback; importing rlvr.train.grpo imports TRL), `ledger.Ledger`, `influence.Influence`, `probe.Probe`, `value.compute_values`.
- `rlvr.train(tasks, out_dir, **settings)`: the same run from a notebook (settings: TrainConfig fields).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, tasks: Any, out_dir: Any, *, probe_tasks: Any = None, config: Any = None, **settings: Any) -> Any:
        """Train on `tasks` into `out_dir` (resumable); returns rlvr.train.loop.TrainResult."""
        from rlvr.config import config_from_mapping
        from rlvr.train.config import TrainConfig
        from rlvr.train.loop import train

        if config is not None and settings:
            raise ValueError("train: pass either a TrainConfig or settings, not both")
        config = config or config_from_mapping(TrainConfig, settings, where="train settings")
        return train(config, list(tasks), out_dir, probe_tasks=probe_tasks)


sys.modules[__name__].__class__ = _CallableModule
