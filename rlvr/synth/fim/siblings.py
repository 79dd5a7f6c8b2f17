"""Same-topic distractor candidates: spans of the answer's own document (then its page).

A wrong option taken from another textbook is off-topic: a solver that only asks "which options
talk about what the passage talks about?" finds the answer without understanding anything (on
500 items with options mined from other pages, the option with the largest share of its words
in the passage was the key 56% of the time, chance 25%). So the first place to look for wrong
options is the rest of the answer's own document: other reasoning steps of the same section, of
the same kind (prose or code, with or without math) and of similar length, that lie outside the
passage. When the document has too few, the other sections of the same page follow. Whether a
candidate also fits the gap (a second correct option) is decided later, with embeddings, as for
mined options (`mining.Miner.screen`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rlvr.records import Document
from rlvr.synth.fim.passages import Passage
from rlvr.synth.fim.shortcuts import word_set
from rlvr.synth.fim.spans import _CONNECTIVE, _MATH, Candidate, candidates
from rlvr.synth.fim.text import math_signatures, normalize

SPANS_PER_DOCUMENT = 120  # most salient non-overlapping spans of a document kept as candidates


@dataclass(frozen=True)
class SiblingSpan:
    """A span of some document that may serve as a distractor for a passage of the same topic."""

    text: str
    doc_id: str
    doc_start: int
    doc_end: int
    kind: str
    n_tokens: int
    has_math: bool
    scope: str = "document"  # "document" (the answer's own) or "page" (another section of its page)


def page_of(doc: Document) -> str:
    return doc.title.split(" > ")[0] or doc.doc_id


class SiblingPool:
    """The best spans of every document, computed on first use, and the ones an answer may use."""

    def __init__(self, documents: list[Document], *, min_tokens: int, max_tokens: int, max_units: int,
                 length_ratio: float = 1.6):
        self.docs = {d.doc_id: d for d in documents}
        self.by_page: dict[str, list[str]] = {}
        for d in documents:
            self.by_page.setdefault(page_of(d), []).append(d.doc_id)
        self.min_tokens, self.max_tokens, self.max_units = min_tokens, max_tokens, max_units
        self.length_ratio = length_ratio
        self._spans: dict[str, list[SiblingSpan]] = {}

    def spans(self, doc_id: str) -> list[SiblingSpan]:
        if doc_id not in self._spans:
            doc = self.docs.get(doc_id)
            found: list[Candidate] = []
            if doc is not None:
                found = _non_overlapping(candidates(doc.text, min_tokens=self.min_tokens, max_tokens=self.max_tokens,
                                                    max_fraction=1.0, max_units=self.max_units), SPANS_PER_DOCUMENT)
            self._spans[doc_id] = [SiblingSpan(doc.text[c.start:c.end], doc_id, c.start, c.end, c.kind, c.n_tokens,
                                               c.has_math) for c in sorted(found, key=lambda c: c.start)]
        return self._spans[doc_id]

    def for_answer(self, passage: Passage, answer: str, kind: str, n_tokens: int, has_math: bool, masked: str,
                   limit: int) -> list[SiblingSpan]:
        """Up to `limit` candidates for this answer, each of the answer's kind, within
        `length_ratio` of its length, outside the passage, not shown in the masked text and sharing
        no formula with the answer. Taken from the answer's document, then its page, until there
        are 3 * limit; of those, the ones whose share of words found in the passage is closest to
        the answer's (so that word overlap with the passage does not single out the answer), then
        closest in length. Deterministic, so the texts can be embedded ahead."""
        lo, hi = passage.doc_start, passage.doc_start + len(passage.text)
        shown, key, formulas = normalize(masked), normalize(answer), math_signatures(answer)
        context = word_set(masked)
        docs = [passage.doc_id] + [d for d in self.by_page.get(passage.page, []) if d != passage.doc_id]
        pool: list[SiblingSpan] = []
        seen = {key}
        for rank, doc_id in enumerate(docs):
            for s in self.spans(doc_id):
                if rank == 0 and s.doc_end > lo and s.doc_start < hi:
                    continue  # inside the passage: the reader sees it
                if s.kind != kind or not (n_tokens / self.length_ratio <= s.n_tokens <= n_tokens * self.length_ratio):
                    continue
                norm = normalize(s.text)
                if norm in seen or norm in shown or (formulas and formulas & math_signatures(s.text)):
                    continue
                seen.add(norm)
                pool.append(s if rank == 0 else SiblingSpan(s.text, s.doc_id, s.doc_start, s.doc_end, s.kind,
                                                             s.n_tokens, s.has_math, "page"))
            if len(pool) >= 3 * limit:
                break
        if kind == "prose" and sum(s.has_math == has_math for s in pool) >= limit // 2:
            pool = [s for s in pool if s.has_math == has_math]  # math answers get math options
        reasons = reasoning_step(answer)
        if kind == "prose" and sum(reasoning_step(s.text) == reasons for s in pool) >= limit // 2:
            pool = [s for s in pool if reasoning_step(s.text) == reasons]  # a step gets steps as options
        # The answer's words are in the passage more than most spans' are; the spans with the most
        # words there come first, so that the choice among them can put the answer at any rank.
        pool.sort(key=lambda s: (-round(overlap_share(s.text, context), 2), s.scope != "document",
                                 round(abs(math.log(s.n_tokens / n_tokens)), 2), s.doc_start))
        return pool[:limit]


def _non_overlapping(cands: list[Candidate], k: int) -> list[Candidate]:
    """The k most salient candidates that do not overlap one another, salient or not: a plain
    statement of the same section is as good a wrong option as a reasoning step."""
    chosen: list[Candidate] = []
    for c in cands:
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
            if len(chosen) == k:
                break
    return chosen


def reasoning_step(text: str) -> bool:
    """Does the span argue (a connective: since, so, therefore, if, then, ...)? The answer usually
    does, being its passage's most salient span; options that never do would give it away."""
    return bool(_CONNECTIVE.search(_MATH.sub(" ", text)))


def overlap_share(text: str, context: set[str]) -> float:
    words = word_set(text)
    return len(words & context) / max(len(words), 1)
