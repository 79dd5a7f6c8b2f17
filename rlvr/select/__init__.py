"""select: beliefs about each task's pass rate and the selectors that choose what to train on.

The public API (imported lazily, so `rlvr select --help` stays fast):

- `PassRateStore` (store.py): Beta pass-rate beliefs for the whole pool, saved with the run.
- `SelectConfig`, `Selector`, `Proposal`, `make_selector`, `register_selector`,
  `selector_names` (base.py; the built-in selectors live in selectors.py).
- For TRL: `rlvr.select.sampler.SelectorSampler` (a GRPOTrainer train sampler),
  `rlvr.select.sampler.tasks_dataset`, `rlvr.select.rewards.VerifierRewards` (verifiers as TRL
  reward functions that report groups to the selector).
- `rlvr select simulate` (simulate.py): compare selectors on a simulated learner.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PassRateStore": "rlvr.select.store",
    "ObserveStats": "rlvr.select.store",
    "SelectConfig": "rlvr.select.base",
    "Selector": "rlvr.select.base",
    "Proposal": "rlvr.select.base",
    "make_selector": "rlvr.select.base",
    "register_selector": "rlvr.select.base",
    "selector_names": "rlvr.select.base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rlvr.select' has no attribute {name!r}")
