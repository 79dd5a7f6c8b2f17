"""Perturbation distractors: the true span, changed in one checkable way so it becomes wrong.

Three kinds, each a small edit a careful reader can refute from the passage:

- `number`: one number changed (to another number seen in the passage when there is one, so the
  option stays plausible). A number is only changed when the text pins it down: prose numbers
  outside math must recur in the context; numbers in math need a relation (=, <, ...) in the
  span; code numbers must recur in the context or be an index or offset (`a[i - 1]`, `n + 1`).
  List markers and constant definitions (`const int m = 1e9 + 9;`, `lr = 0.1`) are never touched:
  another constant would be just as correct.
- `negation`: one polarity flip: a word (increases/decreases, can/cannot, larger/smaller, ...),
  a relation in math (\\le/\\ge, </>, \\max/\\min) or an operator in code (==/!=, +=/-=, min/max).
- `reorder`: code lines in another order, only when a later line uses a variable an earlier one
  assigns. Prose is not reordered: reordered sentences still state only true things, so a careful
  reader could defend the option.

Every perturbation differs from the original after normalisation; anything else is dropped.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rlvr.synth.fim.text import normalize, units

KINDS = ("number", "negation", "reorder")

_NUM = re.compile(r"(?<![\w.\\])\d+(?:\.\d+)?(?![\w])")
_SCI = re.compile(r"\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?[fFlLuU]*\b")
_CONST_DEF = re.compile(r"^\s*(?:(?:const|static|constexpr|final|int|long|double|float|auto|var|let)\s+)*"
                        r"[A-Za-z_][\w.]*\s*(?::\s*\w+\s*)?=(?!=)\s*([^;#/]*)")
_LIST_MARKER = re.compile(r"^\s*\d{1,3}[.)]\s")
_OFFSET_BEFORE = re.compile(r"(?:\[|\[-|[\w\])]\s*(?:[-+*/%&|^]|\*\*|<<|>>)\s*|[-+*/%]=\s*|==\s*)$")
_OFFSET_AFTER = re.compile(r"^\s*(?:\]|(?:[-+*/%&|^]|\*\*|<<|>>)\s*[\w(\[])")
# Conventionally zero-mean symmetric noise: "+ \epsilon" and "- \epsilon" describe the same data.
_NOISE_TERM = re.compile(r"^\s*\\(?:epsilon|varepsilon|xi)\b")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|`[^`\n]+`", re.S)

_WORD_PAIRS = [
    ("increases", "decreases"), ("increase", "decrease"), ("increased", "decreased"), ("increasing", "decreasing"),
    ("larger", "smaller"), ("largest", "smallest"), ("greater than", "less than"), ("greater", "smaller"),
    ("higher", "lower"), ("more", "less"),
    ("maximum", "minimum"), ("maximize", "minimize"), ("maximizes", "minimizes"), ("positive", "negative"),
    ("always", "never"), ("before", "after"), ("faster", "slower"), ("cannot", "can"), ("possible", "impossible"),
    ("necessary", "unnecessary"), ("correct", "incorrect"), ("true", "false"), ("inside", "outside"),
    ("above", "below"), ("upper", "lower"), ("same", "different"), ("dependent", "independent"),
    ("stable", "unstable"), ("sufficient", "insufficient"), ("converges", "diverges"), ("adds", "subtracts"),
    ("multiply", "divide"), ("left", "right"), ("rows", "columns"), ("row", "column"), ("does not", "does"),
    ("do not", "do"), ("is not", "is"), ("are not", "are"), ("will not", "will"), ("attractive", "repulsive"),
    ("gains", "loses"), ("parallel", "perpendicular"), ("efficient", "inefficient"), ("linear", "nonlinear"),
]
_MATH_PAIRS = [("\\leq", "\\geq"), ("\\le", "\\ge"), ("\\max", "\\min"), ("\\lt", "\\gt"), (" < ", " > "),
               (" + ", " - "), ("\\sum", "\\prod")]
_CODE_PAIRS = [("==", "!="), ("<=", ">="), (" < ", " > "), ("+=", "-="), (" + 1", " - 1"), (" and ", " or "),
               ("True", "False"), ("min(", "max("), (" + ", " - "), ("&&", "||"), ("++", "--"), (".max(", ".min(")]
_KEYWORD_FLAG = re.compile(r"(\w+)\s*=\s*$")
_NEGATED_AFTER = re.compile(r"^(?:\s+\w+){0,2}\s+(?:not|no|never)\b|n't", re.I)
_COPULAS = {"is", "are", "is not", "are not", "does", "do", "does not", "do not", "will", "will not"}
_ASSIGN = re.compile(r"^\s*(?:[\w<>,:]+\s+)?([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:=|\+=|-=|\*=)(?!=)")


@dataclass(frozen=True)
class Perturbation:
    text: str
    kind: str
    detail: str


def _math_mask(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _MATH.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def _new_number(value: str, others: list[str], rng: random.Random) -> str:
    pool = sorted({o for o in others if o != value and ("." in o) == ("." in value)})
    if pool and rng.random() < 0.6:
        return rng.choice(pool)
    if "." in value:
        head, tail = value.split(".")
        digit = int(tail[-1])
        return f"{head}.{tail[:-1]}{(digit + rng.choice((1, 2, 3))) % 10}"
    n = int(value)
    return str(n + 1 if n <= 1 or rng.random() < 0.5 else n - 1)


def _constant_lines(span: str) -> list[tuple[int, int]]:
    """(start, end) of lines that only define a constant: `name = <numbers and operators>`."""
    out, pos = [], 0
    for line in span.split("\n"):
        m = _CONST_DEF.match(line)
        if m and not re.search(r"[A-Za-z_]", _SCI.sub("", m.group(1))):
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _in_context(span: str, m: re.Match, context: str, formula: bool) -> bool:
    """The number recurs in the context; outside math, with the same word before or after it
    ("100 GbE" is not pinned down by "100 MB/s")."""
    value = re.escape(m.group(0))
    if not re.search(rf"(?<![\w.]){value}(?![\w])", context):
        return False
    if formula:
        return True
    after = re.match(r"\s*([A-Za-z]+)", span[m.end():])
    before = re.search(r"([A-Za-z]+)\s*$", span[:m.start()])
    return bool((after and re.search(rf"(?<![\w.]){value}\s*{after.group(1)}\b", context)) or
                (before and re.search(rf"\b{before.group(1)}\s*{value}(?![\w])", context)))


def _anchored(span: str, m: re.Match, context: str, code: bool, math: list, relation: bool) -> bool:
    line_start = span.rfind("\n", 0, m.start()) + 1
    if _LIST_MARKER.match(span[line_start:]) and m.start() < line_start + 6:
        return False  # "1." of a list: renumbering changes nothing
    offset = bool(_OFFSET_BEFORE.search(span[:m.start()]) or _OFFSET_AFTER.match(span[m.end():]))
    if code:
        # Only integers next to an operator or inside brackets (i + 1, a[-1], n & 1, x ** 2): a
        # decimal or an argument (lr = 0.1, exp(-0.1 * t), Linear(8), num_epochs=5) is a tunable
        # constant, even when the same digits happen to occur elsewhere in the code.
        return offset and "." not in m.group(0)
    # An exponent of a variable (x^2) is a step; a power of a number (10^9 K) is a stated value,
    # its base and its exponent (that "10" recurs in "10^{33}" pins nothing down).
    head = span[max(m.start() - 3, 0):m.start()].rstrip("{")
    power_of_number = (head.endswith("^") and head[:-1][-1:].isdigit()) or span[m.end():m.end() + 1] == "^"
    if not power_of_number and _in_context(span, m, context, _inside(m.start(), math)):
        return True
    formula = next(((a, b) for a, b in math if a <= m.start() < b), None)
    if formula is None:
        return False
    # In math: an exponent or an offset next to a variable (x^2, j-1, 1 - Q), or a number in a formula
    # whose other numbers let a reader check it ("2^3 = 8"); a lone stated value ("n = 52") is a fact.
    body = span[formula[0]:formula[1]]
    exponent = head.endswith("^") and not power_of_number
    return (offset and not power_of_number) or exponent or (
        relation and len(_NUM.findall(body)) >= 2)


def perturb_number(span: str, context: str, rng: random.Random, code: bool) -> Perturbation | None:
    math = _math_mask(span)
    relation = bool(re.search(r"=|<|>|\\le|\\ge", span))
    context_numbers = _NUM.findall(context)
    constants = _constant_lines(span) if code else []
    choices = [m for m in _NUM.finditer(span)
               if not _inside(m.start(), constants) and _anchored(span, m, context, code, math, relation)]
    if not choices:
        return None
    m = rng.choice(choices)
    new = _new_number(m.group(0), context_numbers + _NUM.findall(span), rng)
    text = span[:m.start()] + new + span[m.end():]
    if span[:m.start()].endswith("^") and len(new) > 1:  # x^2 -> x^{10}, not x^10 (which reads x^1 0)
        text = span[:m.start()] + "{" + new + "}" + span[m.end():]
    return Perturbation(text, "number", f"{m.group(0)} -> {new}")


def _comment_or_string(span: str) -> list[tuple[int, int]]:
    """(start, end) of comments and string literals in code: a flip there changes no logic."""
    out = []
    for m in re.finditer(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|(?:#|//).*$", span, re.M):
        out.append(m.span())
    return out


# Flips that break grammar or keep the meaning: the word in these surroundings is an idiom, not
# a polarity ("right now", "once more", "more or less", "in parallel", "as soon as possible").
_IDIOM_BEFORE = {
    "more": r"(?:once|any|what's|no|the)\s+$", "less": r"(?:no|the)\s+$",
    "right": r"(?:all|just)\s+$", "above": r"(?:the|as|see)\s+$", "below": r"(?:as|see)\s+$",
    "possible": r"(?:as|if|whenever|wherever|where|when)\s+$", "impossible": r"(?:as|if)\s+$",
    "parallel": r"\bin\s+$", "always": r"(?:not|almost|nearly|than)\s+$", "never": r"(?:almost|nearly)\s+$",
    "true": r"\b(?:comes?|came|hold|holds|held|rings?)\s+$", "after": r"^$",
}
_IDIOM_AFTER = {
    "right": r"^\s+(?:now|away|after|before|here|there|to\b|of\b)", "more": r"^\s+(?:or|and)\s+(?:less|more)\b",
    "less": r"^\s+(?:or|and)\s+(?:less|more)\b", "after": r"^\s+all\b", "before": r"^\s+all\b",
    "left": r"^\s+(?:out|over|behind|alone|us|them|it|to\b|with\b)",
}
# "left"/"right" are directions only next to a thing that has sides.
_SIDE_NOUN = re.compile(r"^[\s-]+(?:child|children|son|sons|subtree|subtrees|side|sides|half|halves|part|end|ends|"
                        r"endpoint|endpoints|border|boundary|bound|shift|shifts|rotation|rotations|neighbou?rs?|"
                        r"hand|column|columns|edge|edges|pointer|pointers|bracket|brackets|parenthes[ie]s|segment|"
                        r"segments|operand|subarray|subarrays|part|parts|most|turn|corner|branch|tail)\b", re.I)
_SIDE_BEFORE = re.compile(r"\b(?:to|on|from|at)\s+the\s+$", re.I)
_DEGREE = r"\b(?:about|almost|exactly|roughly|nearly|approximately|just|much|very|precisely|essentially|basically)"
_FUNCTION_WORD = (r"(?:for|as|in|on|at|to|of|with|by|from|and|or|but|if|when|is|are|was|were|be|that|which|"
                  r"this|these|it|its|we|they|all|each|every|no|not)\b")
_VOWEL_SOUND = re.compile(r"^(?:[aeio]|u(?!ni|se|su)|hour|honest)", re.I)


def _article_fixed(span: str, start: int, end: int, rep: str) -> tuple[int, int, str]:
    """Extend a flip over a preceding "a"/"an" so the article agrees with the new word."""
    m = re.search(r"\b(a|an|A|An)\s+$", span[:start])
    if not m:
        return start, end, rep
    want = "an" if _VOWEL_SOUND.match(rep) else "a"
    article = want if m.group(1).islower() else want.capitalize()
    return m.start(), end, article + span[m.end(1):start] + rep


def grammatical_flip(span: str, start: int, end: int, rep: str) -> tuple[int, int, str] | None:
    """The edit (start, end, replacement) that flips span[start:end] to `rep` and keeps the sentence
    grammatical, or None when no such edit is known (an idiom, a word that is not a polarity here,
    or a flip that would repeat a word already next to it: "increase or decrease")."""
    word = span[start:end]
    low, new = word.lower(), rep.lower()
    before, after = span[:start], span[end:]
    rep = rep[0].upper() + rep[1:] if word[0].isupper() else rep
    if re.search(_IDIOM_BEFORE.get(low, r"(?!)"), before, re.I) or re.search(_IDIOM_AFTER.get(low, r"(?!)"), after,
                                                                             re.I):
        return None
    near = " ".join(re.findall(r"[A-Za-z']+", before)[-4:] + re.findall(r"[A-Za-z']+", after)[:4]).lower()
    if re.search(rf"\b{re.escape(new)}\b", near):
        return None  # "increase or decrease", "larger and smaller": the flip repeats a neighbour
    if low in ("left", "right") and not (_SIDE_NOUN.match(after) or (
            _SIDE_BEFORE.search(before) and re.match(r"^(?:\s*[,.;:)]|\s+(?:of|and|or)\b|\s*$)", after))):
        return None  # "to the right." and "the left child" are directions; "the right order" is not
    if low in ("do", "does") and new.endswith("not"):
        return None  # "does the job" -> "does not the job": only a following verb would allow "not"
    if low in ("adds", "subtracts") and re.match(r"^(?:\s+\S+){0,5}\s+to\b", after):
        return None  # "adds x to y" -> "subtracts x to y"
    if low in ("multiply", "divide") and not re.match(r"^(?:\s+\S+){0,4}\s+by\b", after):
        return None  # only "multiply ... by" <-> "divide ... by" reads in both directions
    if low == "same":
        m = re.search(r"\b(the|The)\s+$", before)
        if not m or re.match(r"^(?:\s+\S+){0,3}\s+as\b", after) or not re.match(r"^\s+[A-Za-z]", after):
            return None  # "the same as" has no "different" twin that reads
        if re.search(_DEGREE + r"\s+$", before[:m.start()]) or re.match(r"^\s+" + _FUNCTION_WORD, after):
            return None  # "about the same speed", "the same for all": "a different" needs a plain noun
        return m.start(), end, ("a" if m.group(1) == "the" else "A") + " different"
    if low == "different":
        m = re.search(r"\b(a|A)\s+$", before)
        if re.match(r"^\s+from\b", after):
            return (m.start() if m else start), end + len(re.match(r"^\s+from", after).group(0)), \
                ("the" if not m or m.group(1) == "a" else "The") + " same as"
        if not m:
            return None  # "different methods" -> "same methods"
        return m.start(), end, ("the" if m.group(1) == "a" else "The") + " same"
    if low in ("independent", "dependent") and re.match(r"^\s+(?:of|on|upon)\b", after):
        prep = re.match(r"^\s+(?:of|on|upon)\b", after).group(0)
        return _article_fixed(span, start, end + len(prep), rep + (" of" if new == "independent" else " on"))
    if low == "lower" and new in ("higher", "upper"):
        bound = re.match(r"^[\s-]+(?:bound|bounds|limit|limits|triangular|half|case|envelope|left|right|part)\b",
                         after, re.I)
        if (new == "upper") != bool(bound):
            return None  # "lower bound" <-> "upper bound", "lower cost" <-> "higher cost"
    return _article_fixed(span, start, end, rep)


class WordFrequencies:
    """How often each flip word occurs in a corpus. A flip to a word much rarer than the one it
    replaces (is -> is not, can -> cannot, linear -> nonlinear) marks the perturbed option by its
    words alone: a model that never reads the passage learns that "not" means "wrong". Only flips
    whose new word is at least `min_ratio` as common as the old one are made when frequencies are
    given, so the words of perturbed options look like the words of real ones."""

    def __init__(self, texts: Iterable[str], min_ratio: float = 0.5):
        words = sorted({w for pair in _WORD_PAIRS for w in pair}, key=len, reverse=True)
        pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)
        self.counts = Counter(m.group(1).lower() for t in texts for m in pattern.finditer(t))
        self.min_ratio = min_ratio

    def plausible(self, old: str, new: str) -> bool:
        return self.counts[new.lower()] + 1 >= self.min_ratio * (self.counts[old.lower()] + 1)


def _flip_sites(span: str, code: bool, context: str = "", freq: WordFrequencies | None = None
                ) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for every place one polarity flip could be made."""
    sites: list[tuple[int, int, str]] = []
    if code:
        constants = _constant_lines(span)
        quiet = _comment_or_string(span)
        pairs = _CODE_PAIRS + [(b, a) for a, b in _CODE_PAIRS]
        for a, b in pairs:
            for m in re.finditer(re.escape(a), span):
                # A keyword flag (exist_ok=True, a default in a signature) is a choice, not a logic
                # step, unless the context sets the same keyword to the other value (train=True here,
                # train=False in the sibling method), so the reader sees the contrast.
                flag = _KEYWORD_FLAG.search(span[:m.start()]) if a in ("True", "False") else None
                if flag and not re.search(rf"\b{re.escape(flag.group(1))}\s*=\s*{b}\b", context):
                    continue
                if not _inside(m.start(), constants) and not _inside(m.start(), quiet):
                    sites.append((m.start(), m.end(), b))
        return sites
    math = _math_mask(span)
    for a, b in _MATH_PAIRS + [(b, a) for a, b in _MATH_PAIRS]:
        for m in re.finditer(re.escape(a) + (r"(?![A-Za-z])" if a.startswith("\\") else ""), span):
            if _inside(m.start(), math) and not (a.strip() in "+-" and _NOISE_TERM.match(span[m.end():])):
                sites.append((m.start(), m.end(), b))
    for a, b in _WORD_PAIRS + [(b, a) for a, b in _WORD_PAIRS]:
        if freq is not None and not freq.plausible(a, b):
            continue
        for m in re.finditer(r"\b" + re.escape(a) + r"\b(?!['\u2019-])", span, re.I):
            if _inside(m.start(), math):
                continue
            site = grammatical_flip(span, m.start(), m.end(), b)
            if site is not None:
                sites.append(site)
    return sites


def perturb_negation(span: str, rng: random.Random, code: bool, context: str = "",
                     freq: WordFrequencies | None = None) -> Perturbation | None:
    sites = _flip_sites(span, code, context, freq)
    # Longer matches first at a position ("is not" before "is"); drop sites nested in another.
    sites.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    clean, last_end = [], -1
    for s in sites:
        if s[0] >= last_end:
            clean.append(s)
            last_end = s[1]
    if not clean:
        return None
    # "is" -> "is not" fits almost any sentence; prefer a flip of a more specific word when there is one.
    specific = [s for s in clean if span[s[0]:s[1]].lower() not in _COPULAS]
    # "is" -> "is not" only where no negation follows already ("is generally not" stays as it is).
    copulas = [s for s in clean if s not in specific and not _NEGATED_AFTER.match(span[s[1]:])]
    if not (specific or copulas):
        return None
    a, b, rep = rng.choice(specific or copulas)
    return Perturbation(span[:a] + rep + span[b:], "negation", f"{span[a:b]!r} -> {rep!r}")


def perturb_reorder(span: str, code: bool) -> Perturbation | None:
    if not code:
        return None
    us = [u for u in units("```\n" + span + "\n```") if u.kind == "code"]
    us = [type(u)(u.start - 4, u.end - 4, u.kind, u.block) for u in us]
    if len(us) < 2:
        return None
    parts = [span[u.start:u.end] for u in us]
    seps = [span[us[i].end:us[i + 1].start] for i in range(len(us) - 1)]
    dependent = None
    for j in range(1, len(parts)):
        assigned = {m.group(1) for p in parts[:j] if (m := _ASSIGN.match(p))}
        if any(re.search(rf"\b{re.escape(v)}\b", parts[j]) for v in assigned):
            dependent = j
            break
    if dependent is None:
        return None
    # Move the dependent unit in front of everything it depends on.
    order = [dependent] + [i for i in range(len(parts)) if i != dependent]
    text = parts[order[0]] + "".join(seps[k] + parts[order[k + 1]] for k in range(len(seps)))
    if span[:us[0].start] or span[us[-1].end:]:
        text = span[:us[0].start] + text + span[us[-1].end:]
    return Perturbation(text, "reorder", f"unit {dependent + 1} moved first")


def perturbations(span: str, context: str, rng: random.Random, code: bool,
                  kinds: tuple[str, ...] = KINDS, freq: WordFrequencies | None = None) -> list[Perturbation]:
    """At most one perturbation per kind, in a seeded order; each differs from the span. With
    `freq`, word flips are limited to those whose new word is not rare (WordFrequencies)."""
    out: list[Perturbation] = []
    seen = {normalize(span)}
    order = list(kinds)
    rng.shuffle(order)
    for kind in order:
        if kind == "number":
            p = perturb_number(span, context, rng, code)
        elif kind == "negation":
            p = perturb_negation(span, rng, code, context, freq)
        else:
            p = perturb_reorder(span, code)
        if p is not None and normalize(p.text) not in seen:
            seen.add(normalize(p.text))
            out.append(p)
    return out
