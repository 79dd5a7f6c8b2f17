"""The FIM task format and its verifier `mcqa.fim`.

A task shows the passage with the span replaced by [MASK] and K lettered options (the answer
and K-1 distractors in a seeded order), and asks for the letter in `\\boxed{X}` or on an
`Answer: X` line. The reward is 1 for the key's letter and 0 otherwise.

The verifier applies the shared final-answer rule of `rlvr.answers`; this module only says that
a candidate is an option letter. Case, markup, fullwidth forms and the option's own text are
tolerated (`\\boxed{\\text{b}}`, `**Answer:** (B).`, `Answer: B) the text`, `\\boxed{Ｂ}`). A
marker naming several letters (`A, C`, `A - B`, `A: B`, `A) or maybe B)`), "all"/"none", or
markers naming different letters are `ambiguous`: otherwise a model could hedge with `\\boxed{A}
\\boxed{B}` and be paid whenever the right one happened to be read. No readable last marker, or a
letter that is not an option, is `format_error`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from rlvr.answers import Final, LetterGrammar, read_final
from rlvr.hashing import seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.synth.fim.guards import masked_text
from rlvr.synth.fim.passages import Passage
from rlvr.verify import AnswerProbe, FunctionVerifier, Score, register_probe, register_verifier

KIND = "mcqa.fim"
VERIFIER = "mcqa.fim"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Option:
    text: str
    origin: dict[str, Any]  # {"kind": "answer"} | {"kind": "mined", ...} | {"kind": "perturb:<k>", ...}
    base: Option | None = field(default=None, compare=False, repr=False)  # what a perturbation changed


@dataclass
class FimItem:
    """An item before formatting: a span of a passage and the distractors that go with it."""

    passage: Passage
    start: int
    end: int
    distractors: list[Option]
    mode: str
    span: dict[str, Any] = field(default_factory=dict)  # how the span was chosen (salience, units, kind)

    @property
    def answer(self) -> str:
        return self.passage.text[self.start:self.end]


INSTRUCTIONS = (
    "The passage below had one contiguous part removed; the gap is marked [MASK]. "
    "Exactly one of the options fills the gap correctly."
)
CLOSING = ("Work out which option fits the surrounding text, then give the letter of the correct option "
           "as \\boxed{LETTER}.")


def render_prompt(masked: str, options: list[str]) -> str:
    lines = [INSTRUCTIONS, "", "Passage:", "<<<", masked, ">>>", "", "Options:"]
    for letter, text in zip(LETTERS, options):
        lines += ["", f"{letter}) {text}"]
    lines += ["", CLOSING]
    return "\n".join(lines)


def build_task(item: FimItem, *, seed: int, index: int, generator: str, version: str, fingerprint: str) -> Task:
    """Shuffle the options with a seed derived from (seed, passage id) and format the task."""
    options = [Option(item.answer, {"kind": "answer"}), *item.distractors]
    rng = random.Random(seed_int("fim-shuffle", seed, item.passage.passage_id, item.start))
    order = list(range(len(options)))
    rng.shuffle(order)
    shuffled = [options[i] for i in order]
    letter = LETTERS[order.index(0)]
    masked = masked_text(item.passage.text, item.start, item.end)
    p = item.passage
    origins = []
    for opt in shuffled:
        origin = dict(opt.origin)
        if opt.base is not None:  # a perturbation records which option (by letter) it was made from
            base = next(i for i, o in enumerate(options) if o is opt.base)
            origin["of"] = "answer" if base == 0 else LETTERS[order.index(base)]
        origins.append(origin)
    meta = {
        "mode": item.mode,
        "passage_id": p.passage_id, "doc_id": p.doc_id, "source": p.source, "title": p.title,
        "license": p.license, "passage": p.text, "masked_text": masked,
        "span": {"start": item.start, "end": item.end, "doc_start": p.doc_start + item.start,
                 "doc_end": p.doc_start + item.end, "text": item.answer, **item.span},
        "options": [o.text for o in shuffled], "option_origins": origins, "answer_letter": letter,
        "reasoning_score": p.reasoning,
    }
    return Task(
        kind=KIND,
        prompt=[Message("user", render_prompt(masked, [o.text for o in shuffled]))],
        answer=letter,
        verifier=VerifierSpec(VERIFIER, {"n_options": len(shuffled)}),
        provenance=Provenance(generator=generator, version=version, config_fingerprint=fingerprint, seed=seed,
                              index=index, doc_id=p.doc_id),
        difficulty=Difficulty(),
        meta=meta,
    )


# ----------------------------------------------------------------------------- verifier

def task_options(task: Task) -> list[str]:
    """The option texts: from meta when the task was built here, else read back from the prompt."""
    options = (task.meta or {}).get("options")
    if isinstance(options, list) and all(isinstance(o, str) for o in options):
        return options
    return re.findall(r"(?m)^[A-Z]\) (.+)$", task.prompt_text)


def read_choice(task: Task, completion: str) -> Final:
    """The completion's one final option letter under the shared final-answer rule (rlvr.answers)."""
    n_options = int(task.verifier.params.get("n_options", 0))
    return read_final(completion, LetterGrammar(n_options, task_options(task)))


def score(task: Task, completion: str) -> Score:
    valid = LETTERS[:int(task.verifier.params.get("n_options", 0))]
    final = read_choice(task, completion)
    if final.status != "ok":
        return Score(0.0, final.status, final.detail)
    letter = final.value
    if letter not in valid:
        return Score(0.0, "format_error", f"{letter} is not an option (A-{valid[-1:]})")
    if letter == task.answer:
        return Score(1.0, "ok", f"chose {letter}")
    return Score(0.0, "wrong", f"chose {letter}, key {task.answer}")


def gold_completion(task: Task) -> str:
    return f"The gap is filled by option {task.answer}.\n\n\\boxed{{{task.answer}}}"


register_verifier(FunctionVerifier(
    VERIFIER, score, gold_completion,
    description="the option letter in the last \\boxed{} or 'Answer:' line must be the key (1.0, else 0); a marker "
                "offering several options, a hedge, or markers naming different options is ambiguous (0); no "
                "readable letter, or a letter outside the options, is a format_error",
))


def _probe_tasks() -> list[Task]:
    passage = Passage("probe-p", "probe-d", "The river rose after the storm, so the town closed the old bridge for "
                      "repairs.", 0, title="probe")
    start = passage.text.index("so the town")
    end = passage.text.index(" for repairs")
    distractors = [Option("but the mayor opened a new bakery", {"kind": "mined"}),
                   Option("or perhaps nobody noticed the flood", {"kind": "mined"}),
                   Option("and the children were not allowed to swim", {"kind": "mined"})]
    item = FimItem(passage, start, end, distractors, mode="probe")
    return [build_task(item, seed=s, index=s, generator="probe", version="0", fingerprint="probe") for s in (0, 1, 2)]


def _harmless(task: Task) -> list[str]:
    key = task.answer
    text = task.meta["options"][LETTERS.index(key)]
    return [f"({key})", f"{key})", f"{key}.", f"Option {key}", key.lower(), f"{key}) {text}", f"[{key}]",
            chr(ord(key) + 0xFEE0)]


register_probe(VERIFIER, AnswerProbe(
    samples=_probe_tasks,
    gold=lambda task: task.answer,
    others=lambda task: [x for x in LETTERS[:int(task.verifier.params["n_options"])] if x != task.answer],
    harmless=_harmless,
))
