"""The documented answer format of every NP task, and a parser that never crashes on model output.

Every NP prompt asks the model to end with a line `Answer: <literal>`, where the literal is a
bracketed structure of integers: `[0, 3, 5]`, `[[0, 1], [2, 3]]` or `[(0, 1, 540), (2, 0, 600)]`.
The verifiers read the final answer with the shared rule of `rlvr.answers` (the last marker
counts; `[a] or [b]` is ambiguous); `ListGrammar` is what a candidate looks like to that rule.

The parser is a small tokenizer over that text, not `ast.literal_eval`: literal_eval accepts
floats, strings and dicts, recurses without a depth bound and is slow on 100 kB of junk. Here
brackets must match, only integers of at most 12 digits are allowed, and the nesting depth is
bounded, so any string becomes either a structure or a `FormatError` in linear time.
"""

from __future__ import annotations

import re
from typing import Any

from rlvr.answers import Candidate, Unreadable

MARKER = "Answer:"
MAX_DIGITS = 12  # ids and times are small; longer numbers are junk, not an off-by-one
MAX_DEPTH = 3
MAX_ITEMS = 100_000

_TOKEN = re.compile(r"[\s,;]*(?:(-?\d+)|([\[(])|([\])]))")
_CLOSE = {"[": "]", "(": ")"}
_SEPARATORS = re.compile(r"[,;\s]+")
_INT = re.compile(r"-?\d+")


class FormatError(ValueError):
    """The completion has no parsable answer: status `format_error`."""


class Ambiguous(ValueError):
    """The final answer offers more than one candidate: status `ambiguous`."""


class Infeasible(ValueError):
    """The answer parses but breaks a constraint of the instance: status `infeasible`."""


def answer_text(completion: str) -> str:
    """The text after the last `Answer:` marker, or FormatError when there is none."""
    at = completion.rfind(MARKER)
    if at < 0:
        raise FormatError(f"no {MARKER!r} line: end the reply with '{MARKER} [...]'")
    return completion[at + len(MARKER):]


def parse_literal(text: str) -> list[Any]:
    """The first bracketed integer structure in `text` as nested lists.

    A bare line of integers (`Answer: 1 2 1 3`) is read as a flat list, since it is unambiguous.
    """
    start = _first_bracket(text)
    if start < 0:
        line = text.split("\n", 1)[0].strip(" \t*`.")
        parts = [p for p in _SEPARATORS.split(line) if p]
        if parts and all(_INT.fullmatch(p) for p in parts):
            return [_to_int(p) for p in parts]
        raise FormatError("no bracketed list after 'Answer:'")
    return _parse_from(text, start)[0]


def _first_bracket(text: str) -> int:
    hits = [i for i in (text.find("["), text.find("(")) if i >= 0]
    return min(hits) if hits else -1


def _to_int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_DIGITS:
        raise FormatError(f"number {token[:20]}... has more than {MAX_DIGITS} digits")
    return int(token)


def _parse_from(text: str, pos: int) -> tuple[list[Any], int]:
    stack: list[tuple[str, list[Any]]] = []
    items = 0
    while True:
        m = _TOKEN.match(text, pos)
        if m is None:
            snippet = text[pos:pos + 20].strip()
            raise FormatError(f"unexpected {snippet!r} inside the answer list" if snippet else "unclosed bracket")
        pos = m.end()
        number, opening, closing = m.groups()
        if number is not None:
            if not stack:
                raise FormatError("number outside brackets")  # unreachable: we start at a bracket
            stack[-1][1].append(_to_int(number))
            items += 1
            if items > MAX_ITEMS:
                raise FormatError(f"answer has more than {MAX_ITEMS} numbers")
        elif opening is not None:
            if len(stack) >= MAX_DEPTH:
                raise FormatError(f"answer nests brackets deeper than {MAX_DEPTH} levels")
            stack.append((opening, []))
        else:
            if not stack:
                raise FormatError(f"unmatched {closing!r}")
            open_char, values = stack.pop()
            if _CLOSE[open_char] != closing:
                raise FormatError(f"{open_char!r} closed by {closing!r}")
            if not stack:
                return values, pos
            stack[-1][1].append(values)


class ListGrammar:
    """For the shared final-answer rule (rlvr.answers): a candidate is one bracketed integer
    structure, or a bare line of integers when the content has no bracket at all. Two structures
    in one answer are two candidates; a bracket that does not parse is left as prose."""

    what = "bracketed list of integers"

    def scan(self, text: str) -> list[Candidate]:
        out: list[Candidate] = []
        errors: list[str] = []
        pos = 0
        while True:
            start = _next_bracket(text, pos)
            if start < 0:
                break
            try:
                value, end = _parse_from(text, start)
            except FormatError as exc:
                errors.append(str(exc))
                pos = start + 1
                continue
            out.append(Candidate(start, end, value))
            pos = end
        if out:
            return out
        if errors:
            raise Unreadable(errors[0])
        try:
            return [Candidate(0, len(text), parse_literal(text))]
        except FormatError as exc:
            raise Unreadable(str(exc)) from None

    def same(self, a: Any, b: Any) -> bool:
        return a == b


def _next_bracket(text: str, pos: int) -> int:
    hits = [i for i in (text.find("[", pos), text.find("(", pos)) if i >= 0]
    return min(hits) if hits else -1


# ----------------------------------------------------------------------------- shapes


def int_list(value: Any, what: str) -> list[int]:
    """`value` as a flat list of integers, or FormatError naming what was expected."""
    if not isinstance(value, list) or any(not isinstance(v, int) for v in value):
        raise FormatError(f"expected a flat list of {what}, like [0, 2, 5]")
    return value


def int_tuples(value: Any, width: int, what: str) -> list[list[int]]:
    """`value` as a list of `width`-long integer groups, e.g. [(meeting, room, start), ...]."""
    if not isinstance(value, list):
        raise FormatError(f"expected a list of {what}")
    for item in value:
        if not isinstance(item, list) or len(item) != width or any(not isinstance(v, int) for v in item):
            raise FormatError(f"expected a list of {what}, each a group of {width} integers")
    return value


def distinct(ids: list[int], what: str) -> None:
    """Infeasible when an id is listed twice (a set answer must not repeat itself)."""
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise Infeasible(f"{what} {i} is listed twice")
        seen.add(i)


def in_range(ids: list[int], n: int, what: str) -> None:
    for i in ids:
        if not 0 <= i < n:
            raise Infeasible(f"{what} {i} does not exist (valid: 0..{n - 1})")


def render_list(values: list[Any]) -> str:
    """The canonical rendering of a solution: Python list syntax with ', ' separators."""
    return "[" + ", ".join(render_list(v) if isinstance(v, list) else str(v) for v in values) + "]"
