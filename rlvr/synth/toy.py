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
from rlvr.verify import AnswerProbe, FunctionVerifier, Score, register_probe, register_verifier

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


register_verifier(FunctionVerifier(
    "toy.first_char", score_first_char, lambda t: str(t.answer)[0],
    description="1.0 when the reply's first non-space character is one of the reference's characters, else 0",
))
# Not final-answer tasks (the reply's first character is the answer): the reward tests check gold,
# other characters and junk only.
register_probe("toy.first_char", AnswerProbe(
    samples=lambda: first_char_tasks(3, seed=5, config=FirstCharConfig(1, 4)),
    gold=lambda task: str(task.answer)[0],
    others=lambda task: [c + " is where I start" for c in ALPHABET if c not in str(task.answer)][:3],
    final_answer=False,
))
register_generator(GeneratorSpec(
    name="toy.first_char", config_cls=FirstCharConfig, make=FirstCharGenerator, verifiers=("toy.first_char",),
    description="reply starting with one of a few characters (for tiny-model tests of the training loop)",
    examples=(FirstCharConfig(), FirstCharConfig(1, 1)),
))


def first_char_tasks(n: int, seed: int = 0, config: FirstCharConfig | None = None) -> list[Task]:
    gen = FirstCharGenerator(config or FirstCharConfig())
    return [gen.generate(seed, i) for i in range(n)]


# ----------------------------------------------------------------------------- toy.initial

TOPICS = (
    "cats", "dogs", "rain", "music", "coffee", "trees", "winter", "books", "bread", "rivers", "horses", "cars",
    "pizza", "gardens", "mountains", "oceans", "birds", "lemons", "friends", "games", "clouds", "trains", "apples",
    "candles", "forests", "islands", "kites", "lamps", "maps", "owls", "pencils", "roses", "snow", "tigers",
    "violins", "whales", "bridges", "castles", "deserts", "rockets",
)
# "A" starts the "Answer: ..." replies the contract test feeds every verifier, "W" starts an echo of the
# prompt and "S" a reply of "Sure..."; tasks never ask for them, so neither garbage nor an echo can score.
EXCLUDED_INITIALS = "ASW"
INITIALS = "".join(c for c in string.ascii_uppercase if c not in EXCLUDED_INITIALS)


@dataclass
class InitialConfig:
    letters: str = field(default="TIHMBP", metadata={"help": "letters a task may ask the reply to start with"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"letters": ""}, {"letters": "TA"}, {"letters": "T3"})

    def __post_init__(self) -> None:
        bad = sorted(set(self.letters) - set(INITIALS))
        if not self.letters or bad:
            raise ValueError(f"letters must be a non-empty string of letters from {INITIALS}, got {self.letters!r}")


class InitialGenerator:
    """`toy.initial`: "Write a sentence about {topic}. Start your reply with the letter {L}."

    SmolLM2-135M follows this instruction part of the time (about 0.4 for common initials such as T,
    I, H, M, B, P), so a GRPO run has mixed groups to learn from and the skill transfers between
    topics and letters: the family the bundled model can learn from in a few CPU steps.
    """

    name = "toy.initial"
    version = VERSION

    def __init__(self, config: InitialConfig):
        self.config = config
        self.fingerprint = config_fingerprint(config)

    def generate(self, seed: int, idx: int) -> Task:
        rng = random.Random(seed_int(self.name, seed, idx))
        topic = rng.choice(TOPICS)
        letter = rng.choice([c for c in self.config.letters if c != topic[0].upper()] or self.config.letters)
        return initial_task(topic, letter, letter, Provenance(self.name, VERSION, self.fingerprint, seed, idx))


def initial_task(topic: str, asked: str, accepted: str, provenance: Provenance, **meta: Any) -> Task:
    """A toy.initial task asking for `asked`; the verifier accepts replies starting with any of `accepted`."""
    return Task(
        kind="toy.initial",
        prompt=[Message("user", f"Write a sentence about {topic}. Start your reply with the letter {asked}.")],
        answer="".join(sorted(set(accepted.upper()))),
        verifier=VerifierSpec("toy.initial"),
        provenance=provenance,
        meta={"topic": topic, "asked": asked, **meta},
    )


# A common sentence opener per letter: the reference reply is the natural first word, not a bare
# letter, so likelihood-based probes (rlvr.train.influence, objective "gold") score what the model
# would actually write.
OPENERS = {
    "A": "As", "B": "Birds", "C": "Can", "D": "During", "E": "Every", "F": "For", "G": "Good", "H": "Here",
    "I": "In", "J": "Just", "K": "Kind", "L": "Long", "M": "My", "N": "No", "O": "On", "P": "People",
    "Q": "Quiet", "R": "Rain", "S": "Some", "T": "The", "U": "Under", "V": "Very", "W": "When", "X": "Xylophones",
    "Y": "You", "Z": "Zebras",
}


def initial_gold(task: Task) -> str:
    return OPENERS[str(task.answer)[0]]


def first_letter(completion: str) -> str:
    """The reply's first character after blanks and opening quotes, brackets or markdown stars."""
    return completion.lstrip(" \t\r\n*\"'`([_")[:1]


def score_initial(task: Task, completion: str) -> Score:
    first = first_letter(completion)
    if not first:
        return Score(0.0, "format_error", "empty reply")
    ok = first.upper() in str(task.answer) and first.isalpha()
    return Score(1.0 if ok else 0.0, "ok" if ok else "wrong", f"starts with {first!r}")


register_verifier(FunctionVerifier(
    "toy.initial", score_initial, initial_gold,
    description="1.0 when the reply's first letter (after spaces and punctuation) is the requested letter, else 0",
))
register_probe("toy.initial", AnswerProbe(
    samples=lambda: [InitialGenerator(InitialConfig()).generate(5, i) for i in range(3)],
    gold=initial_gold,
    others=lambda task: [OPENERS[c] + " one day" for c in INITIALS if c not in str(task.answer)][:3],
    final_answer=False,
))
register_generator(GeneratorSpec(
    name="toy.initial", config_cls=InitialConfig, make=InitialGenerator, verifiers=("toy.initial",),
    description="a sentence starting with a requested letter (a skill the bundled SmolLM2 partly has)",
    examples=(InitialConfig(), InitialConfig("QXZ")),
))
