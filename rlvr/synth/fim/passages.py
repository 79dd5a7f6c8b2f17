"""Documents -> self-contained passages, scored for reasoning content, with counted skips.

Golden Goose masks a key reasoning step, so it needs text that reasons: equations, causal
connectives, enumerated steps, code. A document is cut at block boundaries (paragraphs,
display equations, code fences; never inside one) into passages of a configurable size; each
passage gets a `reasoning_score` (the score is kept, the threshold is a separate `keep` step
as in NeMo Curator, so thresholds change without recomputing) and boilerplate (link lists,
tables of contents, tables, licence text) is skipped with its reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rlvr.records import Document
from rlvr.synth.fim.text import blocks, normalize, sentences, words

_CONNECTIVE = re.compile(
    r"\b(therefore|thus|hence|because|since|consequently|so that|it follows|implies|implying|which means|"
    r"this means|as a result|we (?:get|obtain|have|find|know|see|can)|in other words|so the|if and only if|"
    r"whereas|otherwise|then)\b", re.I)
_STEP = re.compile(r"(?m)^\s*(?:\d{1,2}[.)]|step \d+)\s|\b(?:first|second|third|next|finally|afterwards)\b", re.I)
_RELATION = re.compile(r"=|<|>|\\le|\\ge|\\approx|\\sim|\\to|\\propto|\\neq")
_INLINE_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)|https?://\S+|www\.\S+")
_TOC_WORDS = re.compile(r"^\s*(table of )?contents\s*$", re.I | re.M)
_LICENCE_TERMS = ("license", "licence", "copyright", "warranty", "permission is hereby granted",
                  "all rights reserved", "redistribution", "creative commons", "merchantability",
                  "without limitation", "liability")


@dataclass
class Passage:
    """A passage of a document: the text a FIM item masks, plus where it came from."""

    passage_id: str
    doc_id: str
    text: str
    doc_start: int  # character offset of the passage in its document's text
    title: str = ""
    source: str = ""
    license: str = ""
    page: str = ""  # the document's page (title before " > "); mining avoids the same page
    reasoning: float = 0.0
    features: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- scoring


def reasoning_features(text: str) -> dict[str, int]:
    bl = blocks(text)
    code_lines = sum(1 for b in bl if b.kind == "code" for ln in text[b.start:b.end].split("\n")
                     if ln.strip() and not ln.lstrip().startswith(("```", "~~~", "#", "//")))
    math = _INLINE_MATH.findall(text)
    sents = [se for b in bl if b.kind == "prose" for se in sentences(text, b.start, b.end)]
    return {
        "words": words(text),
        "connectives": len(_CONNECTIVE.findall(text)),
        "steps": len(_STEP.findall(text)),
        "equations": sum(1 for m in math if _RELATION.search(m)) + sum(2 for b in bl if b.kind == "math"),
        "math": len(math),
        "numbers": len(_NUMBER.findall(text)),
        "code_lines": code_lines,
        "prose_blocks": sum(1 for b in bl if b.kind == "prose"),
        "sentences": len(sents),
        "questions": sum(1 for s, e in sents if text[s:e].rstrip("*_ )").endswith("?")),
    }


def reasoning_score(f: dict[str, int]) -> float:
    """Reasoning markers per 100 words. Code counts, capped, so a bare code dump does not win."""
    mass = 2.0 * f["connectives"] + 1.5 * f["equations"] + 1.0 * f["steps"] + 0.3 * f["math"]
    mass += 0.5 * min(f["code_lines"], 12) + 0.2 * min(f["numbers"], 20)
    return round(100.0 * mass / max(f["words"], 20), 3)


def boilerplate_reason(text: str) -> str | None:
    """'boilerplate:<kind>' for link lists, tables of contents, tables and licence text."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return "empty"
    low = text.lower()
    if sum(term in low for term in _LICENCE_TERMS) >= 3:
        return "boilerplate:license"
    linky = sum(1 for ln in lines if _LINK.search(ln))
    if linky / len(lines) >= 0.5 and words(_LINK.sub(" ", text)) < 12 * max(linky, 1):
        return "boilerplate:links"
    if sum(1 for ln in lines if ln.lstrip().startswith("|")) / len(lines) >= 0.5:
        return "boilerplate:table"
    short_items = sum(1 for ln in lines if re.match(r"^\s*(?:[-*+]|\d+(?:\.\d+)*[.)]?)\s+\S", ln) and words(ln) <= 8)
    if _TOC_WORDS.search(text) or (len(lines) >= 5 and short_items / len(lines) >= 0.6):
        return "boilerplate:toc"
    return None


# ----------------------------------------------------------------------------- splitting


def split_passages(text: str, min_words: int, max_words: int) -> list[tuple[int, int]]:
    """(start, end) of passages: whole blocks packed up to max_words; long paragraphs cut at sentences."""
    pieces: list[tuple[int, int, str]] = []
    for b in blocks(text):
        if b.kind == "prose" and words(text[b.start:b.end]) > max_words:
            chunk_start, chunk_words, prev_end = None, 0, b.start
            for s, e in sentences(text, b.start, b.end):
                w = words(text[s:e])
                if chunk_start is not None and chunk_words + w > max_words:
                    pieces.append((chunk_start, prev_end, "prose"))
                    chunk_start, chunk_words = None, 0
                if chunk_start is None:
                    chunk_start = s
                chunk_words += w
                prev_end = e
            if chunk_start is not None:
                pieces.append((chunk_start, prev_end, "prose"))
        else:
            pieces.append((b.start, b.end, b.kind))
    out: list[tuple[int, int]] = []
    cur: list[tuple[int, int, str]] = []
    cur_words = 0
    for piece in pieces:
        w = words(text[piece[0]:piece[1]])
        if cur and cur_words + w > max_words and cur_words >= min_words and cur[-1][2] != "heading":
            out.append((cur[0][0], cur[-1][1]))
            cur, cur_words = [], 0
        cur.append(piece)
        cur_words += w
    if cur:
        if out and cur_words < min_words and words(text[out[-1][0]:cur[-1][1]]) <= 1.5 * max_words:
            out[-1] = (out[-1][0], cur[-1][1])  # fold a short tail into the previous passage
        else:
            out.append((cur[0][0], cur[-1][1]))
    return out


def extract_passages(
    documents: Iterable[Document], *, min_words: int, max_words: int, min_reasoning: float,
    counts: Counter | None = None,
) -> list[Passage]:
    """Passages that pass the boilerplate and reasoning filters; every skip is counted in `counts`.

    Count keys: documents, documents_with_passages, document_skipped:<reason>, passages_seen,
    passages_kept, passage_skipped:<reason>.
    """
    counts = counts if counts is not None else Counter()
    kept: list[Passage] = []
    seen_texts: set[str] = set()
    for doc in documents:
        counts["documents"] += 1
        if words(doc.text) < min_words:
            counts["document_skipped:too_short"] += 1
            continue
        reasons: Counter = Counter()
        before = len(kept)
        for i, (s, e) in enumerate(split_passages(doc.text, min_words, max_words)):
            counts["passages_seen"] += 1
            text = doc.text[s:e]
            reason, f = _passage_reason(text, min_words, min_reasoning, seen_texts)
            if reason is not None:
                counts[f"passage_skipped:{reason}"] += 1
                reasons[reason] += 1
                continue
            kept.append(Passage(
                passage_id=f"{doc.doc_id}::p{i}", doc_id=doc.doc_id, text=text, doc_start=s, title=doc.title,
                source=doc.source, license=doc.license, page=(doc.title.split(" > ")[0] or doc.doc_id),
                reasoning=reasoning_score(f), features=f,
            ))
            counts["passages_kept"] += 1
        if len(kept) > before:
            counts["documents_with_passages"] += 1
        else:
            counts[f"document_skipped:{reasons.most_common(1)[0][0] if reasons else 'no_passage'}"] += 1
    return kept


def _passage_reason(text: str, min_words: int, min_reasoning: float, seen: set[str]
                    ) -> tuple[str | None, dict[str, int]]:
    """(why the passage is skipped or None, its reasoning features)."""
    if words(text) < min_words:
        return "too_short", {}
    reason = boilerplate_reason(text)
    if reason:
        return reason, {}
    key = normalize(text)
    if key in seen:
        return "duplicate", {}
    seen.add(key)
    f = reasoning_features(text)
    if f["questions"] * 3 >= max(f["sentences"], 1):
        return "questions", f  # exercise lists: their sentences ask rather than reason
    if f["prose_blocks"] == 0:
        return "no_prose", f  # a bare code dump or equation list has no context to recover a span from
    if reasoning_score(f) < min_reasoning:
        return "low_reasoning", f
    return None, f
