"""The FIM task format and its verifier `mcqa.fim`.

A task shows the passage with the span replaced by [MASK] and K lettered options (the answer
and K-1 distractors in a seeded order), and asks for the letter in `\\boxed{X}` or on an
`Answer: X` line. The reward is 1 for the key's letter and 0 otherwise.

The verifier reads every final-answer marker in the completion. Case, markup and surrounding
punctuation are tolerated (`\\boxed{\\text{b}}`, `**Answer:** (B).`, `Answer: B) the text`). A
completion gets `format_error` (no reward) when it names several letters in one marker
(`Answer: A, C`), "all"/"none", a letter that is not an option, no readable marker, or
different letters in different markers: otherwise a model could hedge with `\\boxed{A}
\\boxed{B}` and be paid whenever the last one happened to be right.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from rlvr.hashing import seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.synth.fim.guards import masked_text
from rlvr.synth.fim.passages import Passage
from rlvr.verify import FunctionVerifier, Score, register_verifier

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

_BOXED = re.compile(r"\\boxed\s*\{")
_ANSWER_LINE = re.compile(r"(?im)(?:final\s+)?answer\s*(?:is)?\s*\**\s*[:：]\s*\**(.*)$")
_WRAPPER = re.compile(r"\\(?:boxed|text|textbf|mathrm|mathbf|textrm|texttt|mbox|mathit)\s*\{([^{}]*)\}")
_SEVERAL_WORDS = re.compile(r"^(all|none|both|neither|any|every)\b", re.I)
_SINGLE = re.compile(r"^(?:(?:option|choice|letter)\s*)?([A-Za-z])$", re.I)
_MULTI = re.compile(r"^[A-Za-z](?:\s*(?:,|;|/|&|\band\b|\bor\b|\s)\s*[A-Za-z])+$", re.I)
_LABELLED = re.compile(r"^(?:(?:option|choice)\s*)?(?:\(([A-Za-z])\)|([A-Z])\s*[).:\]-])\s*(.*)$", re.I | re.S)
_OTHER_LABEL = re.compile(r"^(?:,|;|/|&|and\b|or\b)\s*\(?[A-Z](?:[).:\]]|\s|$)", re.I)
_EDGE = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def _boxed_contents(text: str) -> list[tuple[int, str]]:
    out = []
    for m in _BOXED.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.start(), text[m.end():i - 1]))
    return out


def read_choice(content: str) -> tuple[str | None, str]:
    """(letter, "") for one readable choice; (None, why) otherwise ("several", "unreadable")."""
    for _ in range(3):
        content = _WRAPPER.sub(r"\1", content)
    content = re.sub(r"[*`$]", "", content).strip()
    if _SEVERAL_WORDS.match(content.strip("([ ")):
        return None, "several"
    core = _EDGE.sub("", content)
    if _SINGLE.match(core):
        return _SINGLE.match(core).group(1).upper(), ""
    if _MULTI.match(core):
        return None, "several"
    m = _LABELLED.match(content.lstrip("([ ") if content.startswith("[") else content.strip())
    if m:
        rest = m.group(3).strip()
        if _OTHER_LABEL.match(rest):
            return None, "several"
        return (m.group(1) or m.group(2)).upper(), ""
    return None, "unreadable"


def final_choices(completion: str) -> list[tuple[str | None, str]]:
    """Every \\boxed{} and Answer: marker, in order of position, read as (letter, why-not)."""
    found = _boxed_contents(completion)
    found += [(m.start(), m.group(1)) for m in _ANSWER_LINE.finditer(completion)]
    return [read_choice(c) for _, c in sorted(found, key=lambda t: t[0])]


def score(task: Task, completion: str) -> Score:
    n_options = int(task.verifier.params.get("n_options", 0))
    valid = LETTERS[:n_options]
    choices = final_choices(completion)
    if not choices:
        return Score(0.0, "format_error", "no \\boxed{} or Answer: marker")
    if any(why == "several" for _, why in choices):
        return Score(0.0, "format_error", "a marker names several options (or all/none)")
    letters = {letter for letter, _ in choices if letter is not None}
    if not letters:
        return Score(0.0, "format_error", "no marker holds a single option letter")
    if len(letters) > 1:
        return Score(0.0, "format_error", f"markers name different options: {''.join(sorted(letters))}")
    (letter,) = letters
    if letter not in valid:
        return Score(0.0, "format_error", f"{letter} is not an option (A-{valid[-1]})")
    if letter == task.answer:
        return Score(1.0, "ok", f"chose {letter}")
    return Score(0.0, "wrong", f"chose {letter}, key {task.answer}")


def gold_completion(task: Task) -> str:
    return f"The gap is filled by option {task.answer}.\n\n\\boxed{{{task.answer}}}"


register_verifier(FunctionVerifier(
    VERIFIER, score, gold_completion,
    description="the option letter in the last \\boxed{} or 'Answer:' line must be the key (1.0, else 0); no letter, a "
                "letter outside the options, or markers naming different options is a format_error",
))
