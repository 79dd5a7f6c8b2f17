"""Which span of a passage to mask: runs of consecutive units ranked by reasoning salience.

Golden Goose masks "several consecutive key reasoning steps (for code: key lines)". Without an
LLM we approximate "key" by markers a reader uses to follow an argument: causal connectives,
relations inside math, step words, numbers, and for code the lines that compute (assignments,
returns, conditions, loops). A span must also be *recoverable*: it may not point outside the
text (figures, sections, links), ask a question, or sit alone with no context around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rlvr.synth.fim.text import Unit, is_comment, tokens, units

_CONNECTIVE = re.compile(
    r"\b(therefore|thus|hence|because|since|consequently|so|implies|it follows|which means|this means|"
    r"as a result|if|then|otherwise|whereas|while|until|unless)\b", re.I)
_BACKREF_START = re.compile(
    r"^(therefore|thus|hence|so|this|these|that|it|then|consequently|as a result|in other words|"
    r"finally|next|now|here|accordingly|similarly|likewise)\b", re.I)
_STEP = re.compile(r"\b(first|second|third|next|finally|then|step)\b", re.I)
_RELATION = re.compile(r"=|<|>|\\le|\\ge|\\approx|\\sim|\\propto|\\neq|\\to")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
# Pointers outside the passage make a span unrecoverable from its context.
_OUTSIDE = re.compile(
    r"https?://|www\.|\]\(|\b(fig(ure)?s?|table|section|chapter|appendix|exercise|problem|example)\.?\s*"
    r"(\d|[A-Z]\b|\\ref)|\bsee (above|below)\b|\[MASK\]|@|\\cite|\bet al\b", re.I)
_CODE_WORK = re.compile(r"(?<![=!<>])=(?!=)|\breturn\b|\bif\b|\bfor\b|\bwhile\b|\+=|-=|\*=|\byield\b")
_CODE_TRIVIAL = re.compile(r"^\s*([{}()\[\];,]*|else:?|try:|pass|break|continue|end|\.\.\.|#.*|//.*)\s*$")
_CODE_LOW = re.compile(r"^\s*(import |from \S+ import|print\(|%|@|plt\.|d2l\.plot|#include|using namespace)")


_STOP = frozenset("""about above after again also although among another because been before being below
between both cannot could does doing down during each either even every from further have having here
into itself just like made make many more most much must need only other over same should since some
such than that their them then there these they this those through thus under until upon very were what
when where which while will with within without would your""".split())
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]{4,}", _LATEX_CMD.sub(" ", text.lower())) if w not in _STOP]


@dataclass(frozen=True)
class Candidate:
    """A maskable span of a passage: text[start:end], `n_units` consecutive units."""

    start: int
    end: int
    kind: str  # "prose" (sentences and display math) or "code"
    n_units: int
    n_tokens: int
    salience: float
    has_math: bool


def _unit_ok(text: str, u: Unit) -> bool:
    s = text[u.start:u.end]
    if u.kind in ("heading", "table") or _OUTSIDE.search(s):
        return False
    if u.kind == "sentence":
        return not s.rstrip("*_ ").endswith("?") and not s[:1].islower()
    if u.kind == "code":
        return "```" not in s
    return True


@dataclass
class _UnitInfo:
    """What the salience of any run is summed from, computed once per unit."""

    ok: bool
    n_tokens: int
    score: float  # additive part of the salience
    numbers: int
    words: set[str]
    has_math: bool
    backref: bool
    colon: bool
    code_low: bool
    trivial: bool


def _unit_info(text: str, u: Unit) -> _UnitInfo:
    s = text[u.start:u.end]
    if u.kind == "code":
        low = bool(_CODE_LOW.match(s))
        score = -1.0 if low else (1.5 if _CODE_WORK.search(s) else 0.3)
        return _UnitInfo(_unit_ok(text, u), len(tokens(s)), score, 0, set(), False, False, False, low,
                         bool(_CODE_TRIVIAL.match(s)) or is_comment(s))
    outside = _MATH.sub(" ", s)
    math = _MATH.findall(s)
    score = 2.0 * len(_CONNECTIVE.findall(outside)) + 1.5 * sum(1 for m in math if _RELATION.search(m))
    score += 0.3 * len(math) + 1.0 * len(_STEP.findall(outside))
    return _UnitInfo(_unit_ok(text, u), len(tokens(s)), score, len(_NUMBER.findall(s)),
                     set(_content_words(s)), bool(math), bool(_BACKREF_START.match(s.lstrip("*_ "))),
                     s.rstrip().endswith(":"), False, False)


def _salience(infos: list[_UnitInfo], i: int, j: int, n_units: int, where: dict[str, list[int]], code: bool
              ) -> float:
    run = infos[i:j]
    score = sum(x.score for x in run)
    if not code:
        score += 0.5 * min(sum(x.numbers for x in run), 4)
        if run[0].backref:
            score += 1.5  # a step that follows from what came before: the context pins it down
        if run[-1].colon:
            score -= 1.5  # introduces the next block rather than reasoning
        span_words = set().union(*(x.words for x in run))
        shared = sum(1 for w in span_words if any(k < i or k >= j for k in where[w]))
        # A span that shares terms with its context can be recovered from it; one that shares none
        # is usually a generic remark any passage could hold.
        score += 0.4 * min(shared, 5) if shared else -2.0
    if i == 0:
        score -= 1.0  # nothing before it to recover it from
    if j == n_units:
        score -= 1.0  # nothing after it to check it against
    return score


def candidates(text: str, *, min_tokens: int, max_tokens: int, max_fraction: float, max_units: int
               ) -> list[Candidate]:
    """Every maskable run of up to `max_units` units, best salience first (ties: earlier first)."""
    us = units(text)
    infos = [_unit_info(text, u) for u in us]
    where: dict[str, list[int]] = {}
    for k, x in enumerate(infos):
        for w in x.words:
            where.setdefault(w, []).append(k)
    # tokens between consecutive units (list markers, "$$"): with the units' own, a run's exact count
    gaps = [len(tokens(text[a.end:b.start])) for a, b in zip(us, us[1:])]
    total = max(len(tokens(text)), 1)
    out: list[Candidate] = []
    for i in range(len(us)):
        code = us[i].kind == "code"
        for j in range(i + 1, min(i + max_units, len(us)) + 1):
            u = us[j - 1]
            if not infos[j - 1].ok or (u.kind == "code") != code or (code and u.block != us[i].block):
                break
            n_tok = sum(x.n_tokens for x in infos[i:j]) + sum(gaps[i:j - 1])
            if n_tok > max_tokens or n_tok / total > max_fraction:
                break
            if n_tok < min_tokens:
                continue
            start, end = us[i].start, u.end
            if code and (infos[i].trivial or infos[j - 1].trivial):
                continue
            if j == len(us) and infos[j - 1].colon:
                continue  # introduces something the passage does not contain
            salience = _salience(infos, i, j, len(us), where, code)
            # Shorter spans of the same salience are preferred: more context stays visible.
            salience = round(salience / (1.0 + n_tok / 60.0), 4)
            out.append(Candidate(start, end, "code" if code else "prose", j - i, n_tok, salience,
                                 any(x.has_math for x in infos[i:j])))
    out.sort(key=lambda c: (-c.salience, c.start, c.end))
    return out


def top_candidates(cands: list[Candidate], k: int) -> list[Candidate]:
    """The k best candidates that do not overlap one another."""
    chosen: list[Candidate] = []
    for c in cands:
        if c.salience <= 0:
            break
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
            if len(chosen) == k:
                break
    return chosen
