"""synth: task families (generators and their verifiers) and the stages that run them.

`from rlvr.synth import get_generator, generator_names, register_generator, GeneratorSpec` works
without importing any family; families are imported when a name is first looked up.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {name: "rlvr.synth.registry" for name in
            ("GeneratorSpec", "Generator", "GENERATORS", "get_generator", "generator_names", "register_generator")}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rlvr.synth' has no attribute {name!r}")
