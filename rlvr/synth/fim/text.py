"""Blocks and units of light-Markdown text, with character offsets.

A fill-in-the-middle span is a run of consecutive *units* (prose sentences, display equations,
code lines) cut out of a passage by character offsets, so the answer is always a verbatim
slice of the source. This module finds those units without ever splitting inside inline math
(`$...$`), inline code or a fenced code block, and knows the few Markdown/reST shapes the
readers hand us: ``` fences, `$$` display math, `::` and doctest (`>>>`) code, `#` headings,
list items and `|` tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Block kinds: "prose" (sentences), "math" (a display equation), "code" (a fence or indented code),
# "heading", "table".
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_TABLE = re.compile(r"^\s*\|")
_INLINE = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|`[^`\n]+`", re.S)
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and a capital, digit,
# math, bracket or emphasis.
_SENT_END = re.compile(r"[.!?][\"')\]*_]*\s+(?=[A-Z0-9$(\[`*\\\"'])")
_ABBREV = {"e.g", "i.e", "etc", "fig", "figs", "eq", "eqs", "vs", "cf", "dr", "mr", "mrs", "ms", "al", "approx",
           "resp", "sec", "ch", "no", "nos", "vol", "pp", "ref", "refs", "st", "jr", "ca", "viz", "thm", "def"}
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_COMMENT_LINE = re.compile(r"^\s*(#|//|/\*|\*|--|%)")


@dataclass(frozen=True)
class Block:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Unit:
    """One sentence, display equation or code line: text[start:end] of its passage."""

    start: int
    end: int
    kind: str  # "sentence" | "math" | "code" | "heading" | "table"
    block: int  # index of its block; code units only join units of the same block


def words(text: str) -> int:
    return len(_WORD.findall(text))


def tokens(text: str) -> list[str]:
    """Word and symbol tokens: the unit the span-length guard counts (model-independent)."""
    return _TOKEN.findall(text)


def normalize(text: str) -> str:
    """Lower-cased, markup-free, whitespace-collapsed form used to compare options."""
    text = re.sub(r"[*_`]+", "", text.lower())
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .,;:!?")


def is_comment(line: str) -> bool:
    return bool(_COMMENT_LINE.match(line))


# ----------------------------------------------------------------------------- blocks


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, end excluding the newline."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def blocks(text: str) -> list[Block]:
    """Split text into blocks: fenced/indented code, display math, headings, tables, paragraphs."""
    lines = _lines(text)
    out: list[Block] = []
    i, n = 0, len(lines)
    prev_colons = False  # previous paragraph ended with '::' (reST literal block follows)
    while i < n:
        s, e = lines[i]
        line = text[s:e]
        if not line.strip():
            i += 1
            continue
        if _FENCE.match(line):
            fence = _FENCE.match(line).group(1)
            j = i + 1
            while j < n and not text[lines[j][0]:lines[j][1]].strip().startswith(fence):
                j += 1
            end = lines[min(j, n - 1)][1]
            out.append(Block(s, end, "code"))
            i, prev_colons = j + 1, False
            continue
        if _HEADING.match(line):
            out.append(Block(s, e, "heading"))
            i += 1
            continue
        j = i
        while j + 1 < n and text[lines[j + 1][0]:lines[j + 1][1]].strip() and not _FENCE.match(
                text[lines[j + 1][0]:lines[j + 1][1]]) and not _HEADING.match(text[lines[j + 1][0]:lines[j + 1][1]]):
            j += 1
        # A display equation may contain blank lines: extend until the $$ are balanced.
        while text[s:lines[j][1]].count("$$") % 2 == 1 and j + 1 < n:
            j += 1
        end = lines[j][1]
        para = text[s:end]
        stripped = para.strip()
        para_lines = para.split("\n")
        if stripped.startswith("$$") and stripped.endswith("$$") and stripped.count("$$") == 2:
            kind = "math"
        elif all(_TABLE.match(x) for x in para_lines):
            kind = "table"
        elif stripped.startswith(">>>") or (prev_colons and all(x.startswith(("    ", "\t")) for x in para_lines)):
            kind = "code"
        else:
            kind = "prose"
        out.append(Block(s, end, kind))
        prev_colons = kind == "prose" and stripped.endswith("::")
        i = j + 1
    return out


# ----------------------------------------------------------------------------- units


def _masked(text: str) -> str:
    """text with inline math and inline code blanked out (same length), so '.' inside never splits."""
    return _INLINE.sub(lambda m: "x" * len(m.group(0)), text)


def _is_abbreviation(masked: str, dot: int) -> bool:
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", masked[:dot])
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    return word in _ABBREV or len(word) == 1


def sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside text[start:end], trimmed of surrounding whitespace."""
    masked = _masked(text[start:end])
    cuts, pos = [], 0
    for m in _SENT_END.finditer(masked):
        if masked[m.start()] == "." and _is_abbreviation(masked, m.start()):
            continue
        cuts.append((pos, m.end()))
        pos = m.end()
    cuts.append((pos, len(masked)))
    out = []
    for a, b in cuts:
        seg = text[start + a:start + b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if seg.strip():
            out.append((start + a + lead, start + b - trail))
    return out


def _prose_units(text: str, block: Block, bi: int) -> list[Unit]:
    """Sentences of a paragraph; each list item starts afresh (its marker is not part of a unit)."""
    units: list[Unit] = []
    items: list[tuple[int, int]] = []  # (line start, content start after the marker)
    for s, e in _lines(text[block.start:block.end]):
        line = text[block.start + s:block.start + e]
        m = _LIST_ITEM.match(line)
        if m or not items:
            items.append((block.start + s, block.start + s + (m.end() if m else 0)))
    ends = [line_start for line_start, _ in items[1:]] + [block.end]
    for (_, a), b in zip(items, ends):
        units += [Unit(s, e, "sentence", bi) for s, e in sentences(text, a, b)]
    return units


def units(text: str) -> list[Unit]:
    """All units of a passage in order."""
    out: list[Unit] = []
    for bi, block in enumerate(blocks(text)):
        if block.kind == "prose":
            out += _prose_units(text, block, bi)
        elif block.kind == "code":
            for s, e in _lines(text[block.start:block.end]):
                line = text[block.start + s:block.start + e]
                if not line.strip() or _FENCE.match(line):
                    continue
                lead = len(line) - len(line.lstrip())
                out.append(Unit(block.start + s + lead, block.start + s + len(line.rstrip()), "code", bi))
        else:
            seg = text[block.start:block.end]
            lead = len(seg) - len(seg.lstrip())
            out.append(Unit(block.start + lead, block.start + len(seg.rstrip()), block.kind, bi))
    return out


_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
_LATEX_STYLE = re.compile(r"\\(?:mathbf|boldsymbol|mathrm|mathit|mathsf|mathcal|textrm|text|operatorname|left|right|"
                          r"displaystyle|,|;|!|quad|qquad)\b|[{}\s]")


def math_signatures(text: str, min_len: int = 6) -> set[str]:
    """Notation-insensitive forms of the formulas in text (bold, roman, spacing and case ignored):
    two options with a formula in common state the same relation, however they are worded."""
    out = set()
    for m in _MATH_SPAN.finditer(text):
        sig = _LATEX_STYLE.sub("", (m.group(1) or m.group(2))).lower().rstrip(".,;")
        if len(sig) >= min_len:
            out.add(sig)
    return out


def local_context(text: str, start: int, end: int, n: int = 2) -> str:
    """Up to n units on each side of text[start:end]: what a reader uses to fill the gap."""
    us = units(text)
    before = [u for u in us if u.end <= start][-n:]
    after = [u for u in us if u.start >= end][:n]
    return " ".join(text[u.start:u.end] for u in before + after)
