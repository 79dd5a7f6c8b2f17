"""The guards every FIM item passes, in both modes; a failure is a counted drop reason.

- the span appears exactly once, verbatim, in the passage (so the mask position is unambiguous);
- the span's length is within bounds, in tokens and as a fraction of the passage;
- the answer does not leak: neither it nor any of its longer sentences occurs in the masked text;
- the options are distinct after normalisation and no distractor equals the answer;
- the answer is not identifiable by length alone: it is longer than every other option (or
  shorter) by at most LENGTH_RATIO. A stricter rule (never the unique extreme) is a cue of its
  own: with 4 options "pick one of the two middle lengths" would then be right half the time.

Tests call `check_item` on every produced task, so the guards are enforced and checked by the
same code; the item builders also filter distractors with `clean_distractors` first so that one
bad distractor costs a replacement, not the whole item.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rlvr.synth.fim.text import normalize, tokens, units

MASK = "[MASK]"
LENGTH_RATIO = 1.25


@dataclass(frozen=True)
class SpanLimits:
    min_tokens: int
    max_tokens: int
    max_fraction: float


def masked_text(passage: str, start: int, end: int) -> str:
    return passage[:start] + MASK + passage[end:]


def check_span(passage: str, start: int, end: int, limits: SpanLimits) -> str | None:
    """The first span guard that fails, or None."""
    answer = passage[start:end]
    if not (0 <= start < end <= len(passage)) or not answer.strip():
        return "empty_span"
    if passage.count(answer) != 1:
        return "span_not_unique"
    n = len(tokens(answer))
    if n < limits.min_tokens:
        return "span_too_short"
    if n > limits.max_tokens:
        return "span_too_long"
    if n / max(len(tokens(passage)), 1) > limits.max_fraction:
        return "span_too_large_fraction"
    rest = normalize(passage[:start] + " " + passage[end:])
    if normalize(answer) in rest:
        return "answer_leaks"
    for u in units(answer):
        piece = answer[u.start:u.end]
        if len(tokens(piece)) >= 6 and normalize(piece) in rest:
            return "answer_leaks"
    return None


def clean_distractors(answer: str, masked: str, candidates: list[str]) -> tuple[list[int], Counter]:
    """Indices of the candidates worth keeping, and a count of the rest by reason."""
    rejected: Counter = Counter()
    seen = {normalize(answer)}
    rest = normalize(masked)
    keep = []
    for i, text in enumerate(candidates):
        key = normalize(text)
        if not key:
            rejected["empty"] += 1
        elif key == normalize(answer):
            rejected["equals_answer"] += 1
        elif key in seen:
            rejected["duplicate"] += 1
        elif key in rest:
            rejected["in_passage"] += 1
        else:
            seen.add(key)
            keep.append(i)
    return keep, rejected


def check_options(answer: str, distractors: list[str]) -> str | None:
    """The first option guard that fails, or None."""
    keys = [normalize(d) for d in distractors]
    if normalize(answer) in keys:
        return "distractor_equals_answer"
    if len(set(keys)) != len(keys) or any(not k for k in keys):
        return "options_not_distinct"
    n = len(tokens(answer))
    others = [len(tokens(d)) for d in distractors]
    if others and (n > LENGTH_RATIO * max(others) or n * LENGTH_RATIO < min(others)):
        return "length_giveaway"
    return None


def check_item(passage: str, start: int, end: int, distractors: list[str], n_options: int,
               limits: SpanLimits) -> str | None:
    """Every guard, for a finished item: the span, the options, and their number."""
    reason = check_span(passage, start, end, limits)
    if reason:
        return reason
    if len(distractors) != n_options - 1:
        return "too_few_distractors"
    return check_options(passage[start:end], distractors)
