"""LLM mode: ask a model for `{masked_text, answer, distractors[]}` and read its reply robustly.

Models wrap JSON in prose and code fences, leave trailing commas, use single quotes, and write
LaTeX backslashes unescaped (`"\\frac"` is legal JSON for a form feed followed by "rac"). So we
collect every JSON-looking object in the reply, parse each under a few repairs, and keep the
first reading whose answer can be found in the passage. The answer must be a verbatim span:
we locate it exactly, or up to whitespace, and then take the passage's own characters, so the
task never shows text the passage does not contain. We rebuild the masked text ourselves from
those offsets instead of trusting the model's copy.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SYSTEM_PROMPT = ("You write fill-in-the-middle multiple-choice questions from textbook passages. "
                 "You reply with one JSON object and nothing else.")

USER_TEMPLATE = """Here is a passage that contains reasoning.

<passage>
{passage}
</passage>

1. Find ONE contiguous run of one to {max_units} consecutive sentences (for code: a few consecutive lines) that carries a key reasoning step of the passage. It should be recoverable from the rest of the passage.
2. Copy that run exactly, character for character, as "answer". It must occur exactly once in the passage.
3. Write "masked_text": the passage with that run replaced by [MASK].
4. Write {n} "distractors": wrong replacements for [MASK] that match the answer in style and length and look plausible, but contradict or do not follow from the rest of the passage. Each must differ from the answer and from the others.

Reply with a single JSON object: {{"masked_text": "...", "answer": "...", "distractors": ["...", ...]}}"""


def build_prompt(passage: str, n_distractors: int, max_units: int = 3) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_TEMPLATE.format(passage=passage, n=n_distractors, max_units=max_units)},
    ]


# ----------------------------------------------------------------------------- JSON extraction

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def _balanced_objects(text: str) -> Iterator[str]:
    """Every top-level {...} substring, respecting double-quoted strings."""
    i = 0
    while (start := text.find("{", i)) != -1:
        depth, j, in_str, esc = 0, start, False, False
        while j < len(text):
            ch = text[j]
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    yield text[start:j + 1]
                    break
            j += 1
        i = start + 1 if depth else j + 1


def _variants(raw: str) -> Iterator[str]:
    fixed = _TRAILING_COMMA.sub(r"\1", raw.translate(_SMART))
    yield raw
    yield fixed
    yield re.sub(r"(?<!\\)\\(?=[A-Za-z]{2,})", r"\\\\", fixed)  # \frac, \theta: LaTeX, not escapes
    yield re.sub(r"\\(?![\\\"])", r"\\\\", fixed.replace("\\\\", "\x00")).replace("\x00", "\\\\")


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Every dict that some repair of some JSON-looking part of `text` parses to, best guesses first."""
    chunks = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    seen: set[str] = set()
    for chunk in chunks:
        for raw in _balanced_objects(chunk):
            for variant in _variants(raw):
                if variant in seen:
                    continue
                seen.add(variant)
                try:
                    obj = json.loads(variant, strict=False)
                except json.JSONDecodeError:
                    try:
                        obj = ast.literal_eval(variant)
                    except (ValueError, SyntaxError, MemoryError, RecursionError):
                        continue
                if isinstance(obj, dict):
                    yield obj


# ----------------------------------------------------------------------------- proposals


@dataclass
class Proposal:
    start: int
    end: int
    distractors: list[str]
    masked_consistent: bool  # the model's masked_text matches the passage with our span masked


def locate(answer: str, passage: str) -> tuple[int, int] | str:
    """(start, end) of the one occurrence of `answer` in passage, exactly or up to whitespace."""
    answer = answer.strip()
    if not answer:
        return "empty_answer"
    count = passage.count(answer)
    if count == 1:
        start = passage.index(answer)
        return start, start + len(answer)
    if count > 1:
        return "span_not_unique"
    pattern = r"\s+".join(re.escape(w) for w in answer.split())
    matches = list(re.finditer(pattern, passage))
    if len(matches) == 1:
        return matches[0].span()
    return "span_not_unique" if matches else "answer_not_in_text"


_MANGLED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|\t[a-z]")


def _mangled(strings: list[str]) -> int:
    """Characters that an unescaped LaTeX backslash turns into (\\frac -> form feed + "rac")."""
    return sum(len(_MANGLED.findall(s)) for s in strings)


def parse_proposal(reply: str, passage: str) -> Proposal | str:
    """The model's proposal located in the passage, or the reason it cannot be used.

    Among the readings whose answer is found in the passage, the one with the fewest characters
    that look like mangled LaTeX wins, so `\\frac` in a distractor stays `\\frac`."""
    first_reason = None
    found_object = False
    best: tuple[int, Proposal] | None = None
    for obj in json_objects(reply):
        found_object = True
        answer, distractors = obj.get("answer"), obj.get("distractors")
        if not isinstance(answer, str):
            first_reason = first_reason or "missing_answer"
            continue
        if not isinstance(distractors, list) or not all(isinstance(d, str) for d in distractors):
            first_reason = first_reason or "bad_distractors"
            continue
        where = locate(answer, passage)
        if isinstance(where, str):
            first_reason = first_reason or where
            continue
        start, end = where
        masked = obj.get("masked_text")
        consistent = isinstance(masked, str) and " ".join(masked.split()) == " ".join(
            (passage[:start] + "[MASK]" + passage[end:]).split())
        penalty = _mangled([answer, *distractors])
        if best is None or penalty < best[0]:
            best = (penalty, Proposal(start, end, [d.strip() for d in distractors], consistent))
    if best is not None:
        return best[1]
    if not found_object:
        return "no_json"
    return first_reason or "no_json"
