"""The registry of task generators, walked by the contract test and the CLI.

A generator is built from its config and then makes tasks as a pure function of (seed, idx).
Families register a `GeneratorSpec` when their module is imported; `generator_names()` and
`get_generator()` import the built-in families (declared in rlvr.builtins) on first use, and
`get_generator("pkg.module:SPEC")` imports a user's own (see rlvr.registry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rlvr.records import Task
from rlvr.registry import Registry


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


def _as_spec(obj: Any, name: str) -> GeneratorSpec:
    if not isinstance(obj, GeneratorSpec):
        raise TypeError(f"{name} is not a GeneratorSpec")
    return obj


GENERATORS: Registry[GeneratorSpec] = Registry("generator", check=_as_spec, dotted_hint=" (or pkg.module:SPEC)")


def register_generator(spec: GeneratorSpec) -> GeneratorSpec:
    return GENERATORS.register(spec.name, spec)


def generator_names() -> list[str]:
    return GENERATORS.names()


def get_generator(name: str) -> GeneratorSpec:
    """The generator registered as `name`, or the GeneratorSpec at a dotted path 'pkg.mod:SPEC'."""
    return GENERATORS.get(name)
