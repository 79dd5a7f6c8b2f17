"""The registered `svs` generator: answer-preserving variants made by rule, without a model.

SvS proper needs a policy and a training ledger (rlvr.synth.svs.stage). This generator keeps
SvS's one invariant, "a new problem whose answer is the parent's answer", with a fixed rewrite:
item (seed, idx) builds the reasoning-gym parent (seed, idx) and turns its numeric answer A into
a linear equation or a short word problem whose solution is A (e.g. "7 times a number, minus 3,
equals 46"). It is a model-free baseline for variant data, it gives the contract test a
generator for the `final_answer` verifier, and its tasks link their parent through
`provenance.parent_task_id` exactly like policy-written variants.

Parents must have numeric answers (integers, decimals or fractions): basic_arithmetic (default),
chain_sum, leg_counting, simple_equations, gsm_symbolic, products, fraction_simplification, ...
A parent item with another answer is an error naming the dataset.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

from rlvr.hashing import config_fingerprint, seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.synth.registry import GeneratorSpec, register_generator
from rlvr.synth.svs.answer import VERIFIER, as_number, normalize_answer
from rlvr.synth.svs.variants import ANSWER_SUFFIX

VERSION = "1"

TEMPLATES = (
    "Solve for x: {a}x {sign} {b} = {c}.",
    "A number is multiplied by {a}, and then {b} is {verb}. The result is {c}. What is the number?",
    "If {a} times a number, {word} {b}, equals {c}, what is the number?",
)


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def equation_problem(answer: Fraction, rng: random.Random) -> str:
    """A problem whose unique solution is `answer`: a*x + b = c with a in 2..9, b != 0."""
    a = rng.randint(2, 9)
    b = rng.choice([v for v in range(-30, 31) if v != 0])
    c = a * answer + b
    template = rng.choice(TEMPLATES)
    return template.format(a=a, b=abs(b), c=_fmt(c), sign="+" if b > 0 else "-",
                           verb="added" if b > 0 else "subtracted", word="plus" if b > 0 else "minus")


@dataclass
class EquationVariantConfig:
    parent: str = field(default="basic_arithmetic", metadata={"help": "reasoning-gym dataset of the parents "
                                                                      "(numeric answers)"})
    dataset_config: dict[str, Any] = field(default_factory=dict, metadata={"help": "parent dataset settings"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"parent": ""}, {"dataset_config": {"size": 3}})

    def __post_init__(self) -> None:
        from rlvr.synth.gym import GymConfig

        GymConfig(self.parent, dict(self.dataset_config))  # same checks and messages as the gym family


class EquationVariantGenerator:
    name = "svs"
    version = VERSION

    def __init__(self, config: EquationVariantConfig):
        from rlvr.synth.gym import GymConfig, GymGenerator

        self.config = config
        self.parents = GymGenerator(GymConfig(config.parent, dict(config.dataset_config)))
        self.fingerprint = config_fingerprint(config)

    def generate(self, seed: int, idx: int) -> Task:
        parent = self.parents.generate(seed, idx)
        value = as_number(normalize_answer(str(parent.answer)))
        if value is None:
            raise ValueError(f"svs generator: reasoning-gym {self.config.parent} item ({seed}, {idx}) has the "
                             f"non-numeric answer {parent.answer!r}; choose a dataset with numeric answers")
        rng = random.Random(seed_int("svs-equation", seed, idx))
        problem = equation_problem(value, rng)
        return Task(
            kind="svs.variant",
            prompt=[Message("user", problem + ANSWER_SUFFIX)],
            answer=str(parent.answer).strip(),
            verifier=VerifierSpec(VERIFIER),
            provenance=Provenance(generator="svs.equation", version=VERSION, config_fingerprint=self.fingerprint,
                                  seed=seed, index=idx, parent_task_id=parent.task_id),
            difficulty=Difficulty(),
            meta={"parent_kind": parent.kind, "parent_question": parent.prompt_text, "rewrite": "equation"},
        )


register_generator(GeneratorSpec(
    name="svs",
    config_cls=EquationVariantConfig,
    make=EquationVariantGenerator,
    verifiers=(VERIFIER,),
    description="answer-preserving variants of reasoning-gym parents by rule (a linear equation whose root is the "
                "parent's answer); policy-written SvS variants come from `rlvr synth svs --run`",
    examples=(EquationVariantConfig("basic_arithmetic"), EquationVariantConfig("leg_counting")),
))
