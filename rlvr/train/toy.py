"""Small task families for exercising the training loop, and the tasks of the planted experiment.

`toy.first_char`: "Start your reply with one of these characters: k3x". A reply scores 1 when its
first non-blank character is one of them. It exists for the tiny random model of rlvr.train.tiny,
whose first character depends on the prompt: the allowed set's size makes a task easier or
harder for it, and which characters the model happens to prefer makes some tasks always solved,
some never and some mixed, a realistic pool for comparing selectors in seconds. Only lowercase
letters and digits are ever allowed, so no echo of the prompt (which starts with "S") and no
"Answer:"/"<answer>" wrapper can score.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.hashing import config_fingerprint, seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.synth.registry import GeneratorSpec, register_generator
from rlvr.verify import FunctionVerifier, Score, register_verifier

VERSION = "1"
ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class FirstCharConfig:
    min_size: int = field(default=1, metadata={"help": "fewest allowed characters"})
    max_size: int = field(default=12, metadata={"help": "most allowed characters"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"min_size": 0}, {"min_size": 5, "max_size": 2},
                                                          {"max_size": 99})

    def __post_init__(self) -> None:
        if not 1 <= self.min_size <= self.max_size <= len(ALPHABET):
            raise ValueError(f"need 1 <= min_size <= max_size <= {len(ALPHABET)}, got {self.min_size}, "
                             f"{self.max_size}")


class FirstCharGenerator:
    name = "toy.first_char"
    version = VERSION

    def __init__(self, config: FirstCharConfig):
        self.config = config
        self.fingerprint = config_fingerprint(config)

    def generate(self, seed: int, idx: int) -> Task:
        rng = random.Random(seed_int(self.name, seed, idx))
        size = rng.randint(self.config.min_size, self.config.max_size)
        chars = "".join(sorted(rng.sample(ALPHABET, size)))
        return Task(
            kind=self.name,
            prompt=[Message("user", f"Start your reply with one of these characters: {chars}")],
            answer=chars,
            verifier=VerifierSpec("toy.first_char"),
            provenance=Provenance(self.name, VERSION, self.fingerprint, seed, idx),
            difficulty=Difficulty(nominal=1.0 - size / len(ALPHABET)),
        )


def score_first_char(task: Task, completion: str) -> Score:
    text = completion.strip()
    if not text:
        return Score(0.0, "format_error", "empty reply")
    ok = text[0] in str(task.answer)
    return Score(1.0 if ok else 0.0, "ok" if ok else "wrong", f"starts with {text[0]!r}")


register_verifier(FunctionVerifier("toy.first_char", score_first_char, lambda t: str(t.answer)[0]))
register_generator(GeneratorSpec(
    name="toy.first_char", config_cls=FirstCharConfig, make=FirstCharGenerator, verifiers=("toy.first_char",),
    description="reply starting with one of a few characters (for tiny-model tests of the training loop)",
    examples=(FirstCharConfig(), FirstCharConfig(1, 1)),
))


def first_char_tasks(n: int, seed: int = 0, config: FirstCharConfig | None = None) -> list[Task]:
    gen = FirstCharGenerator(config or FirstCharConfig())
    return [gen.generate(seed, i) for i in range(n)]
