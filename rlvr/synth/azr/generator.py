"""Absolute Zero tasks from the bundled seed programs: the registered `azr` generator.

Self-play (propose.py) needs a policy; this generator needs none. It draws a hand-written
program from seeds.json (varied, standard-library only, each with several inputs) as a pure
function of (seed, idx), validates it through the sandbox to obtain the gold outputs, and builds
a deduction, abduction or induction task. It gives the contract test something to walk, offers
a model-free way to make AZR tasks, and can seed the self-play buffer with more than the
identity program (`seed_buffer: bundled`).
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.hashing import config_fingerprint, seed_int
from rlvr.records import Provenance, Task
from rlvr.synth.azr import verifiers  # noqa: F401 - registers the azr.* verifiers
from rlvr.synth.azr.buffer import ProgramEntry
from rlvr.synth.azr.programs import validate
from rlvr.synth.azr.tasks import KINDS, ExecLimits, abduction_task, deduction_task, induction_task
from rlvr.synth.registry import GeneratorSpec, register_generator
from rlvr.synth.sandbox import SandboxLimits

VERSION = "1"
SEEDS_FILE = Path(__file__).with_name("seeds.json")


@functools.lru_cache(maxsize=1)
def bundled_programs() -> tuple[dict[str, Any], ...]:
    """The seed programs shipped with rlvr: name, program, inputs (argument text), message."""
    return tuple(json.loads(SEEDS_FILE.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=256)
def _validated(name: str, limits: SandboxLimits) -> ProgramEntry:
    spec = next(p for p in bundled_programs() if p["name"] == name)
    check = validate(spec["program"], list(spec["inputs"]), limits)
    if not check.ok:
        raise RuntimeError(f"bundled AZR program {name!r} failed validation ({check.reason}); "
                           f"{SEEDS_FILE} is broken or the sandbox limits are too tight")
    return ProgramEntry(check.program, check.inputs, check.outputs, message=spec["message"], origin="bundled")


def bundled_entries(limits: SandboxLimits) -> list[ProgramEntry]:
    """Every bundled program, validated (outputs computed in the sandbox)."""
    return [_validated(p["name"], limits) for p in bundled_programs()]


@dataclass
class AZRConfig:
    kind: str = field(default="deduction", metadata={"help": "deduction, abduction or induction"})
    n_given: int = field(default=3, metadata={"help": "induction: input/output pairs shown"})
    n_hidden: int = field(default=3, metadata={"help": "induction: pairs held back for the verifier"})
    timeout_s: float = field(default=5.0, metadata={"help": "sandbox wall-clock limit per run"})
    memory_mb: int = field(default=512, metadata={"help": "sandbox address-space limit"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"kind": "code_e"}, {"n_given": 0}, {"n_hidden": 0}, {"n_given": 4, "n_hidden": 3}, {"timeout_s": 0},
        {"memory_mb": 16},
    )

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.n_given < 1 or self.n_hidden < 1:
            raise ValueError("n_given and n_hidden must both be at least 1")
        fewest = min(len(p["inputs"]) for p in bundled_programs())
        if self.n_given + self.n_hidden > fewest:
            raise ValueError(f"n_given + n_hidden must be at most {fewest} (inputs per bundled program), "
                             f"got {self.n_given + self.n_hidden}")
        SandboxLimits(timeout_s=self.timeout_s, memory_mb=self.memory_mb)  # same checks, same messages


class AZRGenerator:
    def __init__(self, config: AZRConfig):
        self.config = config
        self.name = f"azr.{config.kind}"
        self.version = VERSION
        self.fingerprint = config_fingerprint(config)
        self.limits = SandboxLimits(timeout_s=config.timeout_s, memory_mb=config.memory_mb)

    def generate(self, seed: int, idx: int) -> Task:
        cfg = self.config
        rng = random.Random(seed_int("azr", cfg.kind, seed, idx))
        spec = rng.choice(bundled_programs())
        entry = _validated(spec["name"], self.limits)
        provenance = Provenance(generator="azr.seeds", version=self.version, config_fingerprint=self.fingerprint,
                                seed=seed, index=idx)
        limits = ExecLimits(cfg.timeout_s, cfg.memory_mb)
        if cfg.kind == "induction":
            order = rng.sample(range(len(entry.inputs)), cfg.n_given + cfg.n_hidden)
            task = induction_task(entry, order[:cfg.n_given], order[cfg.n_given:], provenance, limits)
        else:
            build = deduction_task if cfg.kind == "deduction" else abduction_task
            task = build(entry, rng.randrange(len(entry.inputs)), provenance, limits)
        task.meta["seed_program"] = spec["name"]
        return task


register_generator(
    GeneratorSpec(
        name="azr",
        config_cls=AZRConfig,
        make=AZRGenerator,
        verifiers=("azr.deduction", "azr.abduction", "azr.induction"),
        description="Absolute Zero code reasoning tasks (deduction, abduction, induction) from bundled programs, "
                    "validated in the sandbox",
        examples=(AZRConfig("deduction"), AZRConfig("abduction"), AZRConfig("induction")),
    )
)
