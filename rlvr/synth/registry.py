"""The registry of task generators, walked by the contract test and the CLI.

A generator is built from its config and then makes tasks as a pure function of (seed, idx).
Families register a `GeneratorSpec` when their module is imported; `generator_names()` and
`get_generator()` import the built-in families on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rlvr.records import Task

BUILTIN_GENERATOR_MODULES: tuple[str, ...] = (
    "rlvr.synth.gym",
    "rlvr.train.toy",
    "rlvr.synth.azr.generator",
    "rlvr.synth.np",
    "rlvr.synth.fim.generator",
    "rlvr.synth.svs.generator",
)


class Generator(Protocol):
    name: str
    version: str

    def generate(self, seed: int, idx: int) -> Task: ...


@dataclass(frozen=True)
class GeneratorSpec:
    """How to build one family's generator.

    `make(config)` returns a Generator. `examples` lists configs the contract test uses (the
    default config when empty). `verifiers` names the verifiers its tasks use, so the contract
    test can check that every registered verifier is exercised by some generator.
    """

    name: str
    config_cls: type
    make: Callable[[Any], Generator]
    verifiers: tuple[str, ...]
    description: str = ""
    examples: tuple[Any, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, GeneratorSpec] = {}
_loaded = False


def register_generator(spec: GeneratorSpec) -> GeneratorSpec:
    existing = _REGISTRY.get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"a generator named {spec.name!r} is already registered; pick another name")
    _REGISTRY[spec.name] = spec
    return spec


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_GENERATOR_MODULES:
            importlib.import_module(module)


def generator_names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get_generator(name: str) -> GeneratorSpec:
    _load()
    if name not in _REGISTRY:
        raise KeyError(f"unknown generator {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]
