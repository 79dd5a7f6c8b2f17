"""The one final-answer rule every verifier applies, written once.

A policy finds every answer that is paid without being right, so how a final answer is read
must not depend on the family. The rule:

1. **Markers.** A final answer is given in a marker: `<answer>...</answer>`, `\\boxed{...}` (or
   `\\fbox{}`; nested boxes are one marker), or an answer line (`Answer: ...`, `Final answer:
   ...`, `Answer - ...`, any case, markdown around the word allowed; `Answer:` alone on a line
   takes the next line). "The answer is ..." without a colon is a weak marker: prose (ignored)
   when its content cannot be read, an answer like any other when it can.
2. **The last marker counts, and it must be readable.** A last marker whose content cannot be
   read is `format_error`, never skipped in favour of an earlier readable one.
3. **One candidate.** Every readable marker must give the same candidate; a marker that offers
   more than one (two values, a list of alternatives, "X or Y", "maybe Y", "I'd also accept Y",
   "not X", "all of the above") makes the completion `ambiguous`, reward 0. So does text after
   the last marker that names another candidate bare or with a hedge ("\\boxed{A} (if not, B)",
   "B works too"); naming one to reject it ("B is not supported") is fine. Earlier markers that
   cannot be read (a quoted template such as `Answer: <list>`) are ignored.
4. **Harmless formatting is not a different answer.** Before a family looks at the content it is
   NFKC-normalised (fullwidth letters and digits become ASCII), LaTeX wrappers (`\\boxed`,
   `\\text`, `\\mathbf`, ...) and math delimiters are unwrapped, markdown bold and code marks go,
   a leading `=` or `:` goes, and edge punctuation goes.

A family says only what a candidate looks like: a `Grammar` scans the cleaned content and returns
every candidate in it with its span (a letter, a number, a bracketed list, a whole text). What is
left outside the candidates is prose; prose with a hedge word ("or", "maybe", "not", "also",
"either", ...) is `ambiguous`. Hedge words that are part of the gold itself (a free-text answer
that contains "or") are not hedges.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

AMBIGUOUS = "ambiguous"
MAX_SCAN_CHARS = 200_000  # longer completions are cut at the front: the final answer is at the end
MAX_ANSWER_CHARS = 20_000  # a marker holding more is not a final answer (the largest gym grids are ~2 kB)


class Unreadable(ValueError):
    """A marker's content holds no candidate the family can read."""


@dataclass(frozen=True)
class Marker:
    kind: str  # "tag" | "box" | "line"
    start: int
    content: str | None  # None: the marker is not closed (`\\boxed{C`)
    end: int = -1  # just past the marker
    weak: bool = False  # "the answer is ..." without a colon: prose when it cannot be read


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    value: Any


@dataclass(frozen=True)
class Final:
    """The outcome of reading a completion: a value (status ok) or why there is none."""

    status: str  # "ok" | "ambiguous" | "format_error"
    value: Any = None
    detail: str = ""
    text: str = ""  # the cleaned content of the last marker


class Grammar(Protocol):
    """What a family's candidate looks like."""

    what: str  # for messages: "an option letter A-D", "a bracketed list of integers"

    def scan(self, text: str) -> list[Candidate]:
        """Every candidate in the cleaned content, in order; Unreadable when a piece that looks
        like one cannot be read (the message says why)."""
        ...

    def same(self, a: Any, b: Any) -> bool: ...


# ----------------------------------------------------------------------------- markers

_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_LINE = re.compile(
    r"(?im)(?:final[\s*_]+)?answer[\s*_]*(?:is\b)?[\s*_]*(?:[:=]|[ \t]-(?=[ \t]))[ \t]*(.*)$"
    r"|\b(?:the\s+|my\s+)?(?:(?:final|correct|right|best)\s+)?answer\s+(?:is|would\s+be|will\s+be)\b[ \t]*(.*)$"
)


def _match_braces(text: str, open_end: int) -> int:
    """Index just past the brace closing the one that ends at open_end; -1 when unclosed."""
    depth, i = 1, open_end
    n = len(text)
    while i < n:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def find_markers(text: str) -> list[Marker]:
    """Every final-answer marker of `text`, in order; markers inside a box or tag are part of it."""
    spans: list[tuple[int, int, Marker]] = []
    for m in _TAG.finditer(text):
        spans.append((m.start(), m.end(), Marker("tag", m.start(), m.group(1), m.end())))
    lowered = text.lower()
    last_open = lowered.rfind("<answer>")
    if last_open >= 0 and lowered.find("</answer>", last_open) < 0 and not any(s <= last_open < e for s, e, _ in spans):
        spans.append((last_open, len(text), Marker("tag", last_open, text[last_open + 8:], len(text))))
    pos = 0
    while True:
        m = _BOX.search(text, pos)
        if m is None:
            break
        end = _match_braces(text, m.end())
        inside = any(s <= m.start() < e for s, e, _ in spans)
        if end < 0:
            if not inside:
                spans.append((m.start(), len(text), Marker("box", m.start(), None, len(text))))
            break
        if not inside:
            spans.append((m.start(), end, Marker("box", m.start(), text[m.end():end - 1], end)))
        pos = end if not inside else m.end()
    for m in _LINE.finditer(text):
        if not any(s <= m.start() < e for s, e, _ in spans):
            content = m.group(1) if m.group(1) is not None else m.group(2)
            end = m.end()
            if not content.strip(" \t*_#"):  # "Answer:" alone on its line: the answer is the next non-blank line
                nxt = re.compile(r"\s*\n[ \t]*(\S[^\n]*)").match(text, end)
                if nxt and not _BOX.match(nxt.group(1)) and not nxt.group(1).lower().startswith("<answer>"):
                    content, end = nxt.group(1), nxt.end()
            spans.append((m.start(), end, Marker("line", m.start(), content, end, weak=m.group(1) is None)))
    return [mk for _, _, mk in sorted(spans, key=lambda t: t[0])]


# ----------------------------------------------------------------------------- cleaning

_WRAPPERS = ("boxed", "fbox", "text", "textbf", "textit", "textrm", "texttt", "mathrm", "mathbf", "mathit",
             "mathtt", "mbox", "operatorname", "emph", "underline", "bm", "displaystyle")
_WRAPPER = re.compile(r"\\(?:" + "|".join(_WRAPPERS) + r")\s*\{")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-"})
_BOLD = re.compile(r"(?:(?<=^)|(?<=[\s(\[{]))(?:\*\*|__)|(?:\*\*|__)(?=$|[\s)\]}.,;:!?])")
_EDGE_LEFT = re.compile(r"^(?:[\s:=>#*_~]|-(?=\s))+")
_EDGE_RIGHT = re.compile(r"[\s.,;:!*_~]+$")


def normalize_text(text: str) -> str:
    """NFKC (fullwidth to ASCII), no zero-width characters, dashes and minus signs as '-'."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_DASHES)


def unwrap_latex(text: str) -> str:
    """`\\boxed{\\text{C}}` -> `C`: every known wrapper replaced by its brace-matched content."""
    for _ in range(20):
        m = _WRAPPER.search(text)
        if m is None:
            return text
        end = _match_braces(text, m.end())
        if end < 0:
            return text[:m.start()] + text[m.end():]
        text = text[:m.start()] + text[m.end():end - 1] + text[end:]
    return text


def clean(content: str) -> str:
    """The content of a marker with harmless formatting removed (see the module docstring)."""
    s = unwrap_latex(normalize_text(content))
    s = s.replace("`", "").replace("\\\\", "\n")  # LaTeX line break
    for delimiter in ("$", "\\(", "\\)", "\\[", "\\]"):
        s = s.replace(delimiter, " ")
    s = _BOLD.sub("", s)
    s = s.replace("\\,", " ").replace("\\;", " ").replace("\\!", "").replace("\\ ", " ").replace("~", " ")
    s = _EDGE_LEFT.sub("", s.strip())
    s = _EDGE_RIGHT.sub("", s)
    return s.strip()


# ----------------------------------------------------------------------------- hedges

HEDGE_WORDS = ("or", "either", "nor", "maybe", "perhaps", "possibly", "probably", "alternatively", "also",
               "otherwise", "could", "might", "may", "not", "unless", "except", "accept", "acceptable", "unsure",
               "uncertain", "guess", "both", "none", "neither", "instead", "else", "between",
               "alternative", "likely", "whichever", "depending", "versus", "vs")
_HEDGE = re.compile(r"(?i)\b(" + "|".join(HEDGE_WORDS) + r")\b|\b(?:all|any)\s+(?:of|the|options?|choices|above)\b"
                    r"|n't\b|\?|(?<!\d)/(?!\d)|\band/or\b")


# After the final answer, naming another candidate with one of these words offers it too ("\\boxed{A}
# B works too"); negations there ("B is not supported") explain the choice and are allowed.
_TAIL_HEDGE = re.compile(r"(?i)\b(?:if|too|actually|rather|wait|works?|valid|equally|plausible|possible|correct|"
                         r"instead|alternatively|also)\b")
_NEGATIONS = "not n't none neither nor except unless"
# For free-text answers, where any prose after the answer differs from it, only phrases that offer
# an alternative count.
_TEXT_TAIL_HEDGE = re.compile(
    r"(?i)\b(?:or\s+(?:rather|else)|maybe|perhaps|possibly|alternative(?:ly)?|equally|otherwise|either|if\s+not|"
    r"(?:could|might|may)\s+(?:also\s+)?be|also\s+(?:accept\w*|right|correct|valid|possible|fine|works?|true)|"
    r"(?:works?|valid|correct|right|fine|true)\s+too)\b|^\s*or\b")


def hedges(text: str, allowed: str = "") -> list[str]:
    """Hedge words in `text` beyond those that also occur in `allowed` (the gold's own words)."""
    found = Counter(m.group(0).lower() for m in _HEDGE.finditer(text))
    if allowed:
        found -= Counter(m.group(0).lower() for m in _HEDGE.finditer(allowed))
    return sorted(found)


# ----------------------------------------------------------------------------- reading


def read_content(content: str | None, grammar: Grammar, allowed_words: str = "") -> Final:
    """One marker's content read with the family's grammar."""
    if content is None:
        return Final("format_error", detail="a marker is not closed")
    if len(content) > MAX_ANSWER_CHARS:
        return Final("format_error", detail=f"a marker holds more than {MAX_ANSWER_CHARS} characters")
    text = clean(content)
    if not text:
        return Final("format_error", detail="a marker is empty", text=text)
    try:
        found = grammar.scan(text)
    except Unreadable as exc:
        words = hedges(text, allowed_words)
        if words:
            return Final(AMBIGUOUS, detail=f"hedged answer ({', '.join(words)}): {text[:60]!r}", text=text)
        return Final("format_error", detail=f"{exc} in {text[:60]!r}", text=text)
    distinct: list[Any] = []
    for c in found:
        if not any(grammar.same(c.value, d) for d in distinct):
            distinct.append(c.value)
    if len(distinct) > 1:
        return Final(AMBIGUOUS, detail=f"{len(distinct)} candidates in {text[:60]!r}", text=text)
    prose = getattr(grammar, "prose", None)
    residual = prose(text) if prose is not None else text
    for c in sorted(found, key=lambda c: -c.start):
        residual = residual[:c.start] + " " + residual[c.end:]
    words = hedges(residual, allowed_words)
    if words:
        return Final(AMBIGUOUS, detail=f"hedged answer ({', '.join(words)}): {text[:60]!r}", text=text)
    if not distinct:
        return Final("format_error", detail=f"no {grammar.what} in {text[:60]!r}", text=text)
    return Final("ok", distinct[0], text=text)


def read_final(completion: str, grammar: Grammar, *, allowed_words: str = "",
               markers: Callable[[str], list[Marker]] = find_markers) -> Final:
    """The completion's final answer under the shared rule (see the module docstring)."""
    text = normalize_text(completion[-MAX_SCAN_CHARS:])
    allowed_words = allowed_words or getattr(grammar, "gold_words", "")
    found = [(m, read_content(m.content, grammar, allowed_words)) for m in markers(text)]
    # "the answer is ..." without a colon is prose when it cannot be read; when it can, it is an answer
    found = [(m, r) for m, r in found if not (m.weak and r.status == "format_error")]
    if not found:
        return Final("format_error", detail="no final-answer marker (\\boxed{}, <answer></answer> or 'Answer:')")
    last_marker, last = found[-1]
    if last.status != "ok":
        return last
    hedge = _hedged_tail(text[last_marker.end:], last.value, grammar, allowed_words)
    if hedge:
        return Final(AMBIGUOUS, detail=f"text after the final answer offers another: {hedge[:60]!r}", text=last.text)
    for _, earlier in found[:-1]:
        if earlier.status == AMBIGUOUS:
            return Final(AMBIGUOUS, detail=f"an earlier marker is ambiguous: {earlier.detail}", text=last.text)
        if earlier.status == "ok" and not grammar.same(earlier.value, last.value):
            return Final(AMBIGUOUS, detail=f"markers give different answers: {earlier.text[:30]!r} and "
                                           f"{last.text[:30]!r}", text=last.text)
    return last


def _hedged_tail(tail: str, value: Any, grammar: Grammar, allowed_words: str) -> str:
    """The text after the last marker when it offers another candidate: with a hedge word
    ("\\boxed{A}, though B is possible") or bare (`Answer: 42` and then a line `43`); "" otherwise.
    Prose naming no other candidate, or naming one without a hedge, is harmless."""
    text = clean(tail[:2000])
    if not text:
        return ""
    try:
        found = grammar.scan(text)
    except Unreadable:
        return ""
    others = [c for c in found if not grammar.same(c.value, value)]
    if not others:
        return ""
    if all(c.end == c.start for c in found):  # free text: the tail is prose unless it offers an alternative
        return text if _TEXT_TAIL_HEDGE.search(text) else ""
    residual = text
    for c in sorted(found, key=lambda c: -c.start):
        residual = residual[:c.start] + " " + residual[c.end:]
    bare = all(c.end > c.start for c in found) and not re.search(r"[^\W\d_]", residual)
    return text if bare or _TAIL_HEDGE.search(residual) or hedges(residual, allowed_words + " " + _NEGATIONS) else ""


# ----------------------------------------------------------------------------- grammars

_NUMBER = re.compile(
    r"(?<![\w.])-?\\[dt]?frac(?:\{\s*-?\d+\s*\}\{\s*-?\d+\s*\}|\d\d)"
    r"|(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?(?:/\d+)?(?![\w])"
)
_FRAC = re.compile(r"^(-?)\\[dt]?frac(?:\{\s*(-?\d+)\s*\}\{\s*(-?\d+)\s*\}|(\d)(\d))$")


def parse_number(token: str) -> Fraction | None:
    """An exact rational for '7', '-2.50', '1,000', '3/4', '\\frac{3}{4}', '1e3'; None otherwise."""
    s = token.strip()
    m = _FRAC.match(s)
    if m:
        num, den = int(m.group(2) or m.group(4)), int(m.group(3) or m.group(5))
        if den == 0:
            return None
        return -Fraction(num, den) if m.group(1) else Fraction(num, den)
    s = s.replace(",", "")
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d{1,4})?(/\d+)?", s):
        return None
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return value if abs(value) < 10**60 else None


def numbers_equal(a: Fraction, b: Fraction) -> bool:
    return a == b or abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


class NumberGrammar:
    """A candidate is one number (integer, decimal, fraction, \\frac, thousands separators)."""

    what = "number"

    def scan(self, text: str) -> list[Candidate]:
        out = []
        for m in _NUMBER.finditer(text):
            if not m.group(0) or not any(ch.isdigit() for ch in m.group(0)):
                continue
            value = parse_number(m.group(0))
            if value is not None:
                out.append(Candidate(m.start(), m.end(), value))
        if not out:
            raise Unreadable("no number")
        residual = text
        for c in reversed(out):
            residual = residual[:c.start] + " " + residual[c.end:]
        if any(ch.isdigit() for ch in residual):  # numeric text that is not one number: 1/2/2, x_1 = 5
            raise Unreadable("digits outside a readable number")
        return out

    def same(self, a: Any, b: Any) -> bool:
        return numbers_equal(a, b)


_FILLER = frozenset((
    "the", "a", "an", "final", "answer", "answers", "is", "are", "so", "therefore", "thus", "hence", "result",
    "solution", "correct", "value", "we", "get", "got", "it", "that", "this", "my", "i", "think", "say", "equals",
    "equal", "to", "be", "which", "gives", "give", "output", "here", "be", "as", "follows", "of",
))
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Free-text comparison form: cleaned, case and runs of blanks folded."""
    return re.sub(r"\s+", " ", clean(text)).strip().lower()


class TextGrammar:
    """A candidate is the whole content, for families whose answers are free text.

    When the content contains the gold as a whole phrase plus other words, the other words must
    be filler ("the answer is ..."); anything else next to the gold is a second value (`gold,
    other`, `gold and other`) and the content is ambiguous.
    """

    what = "answer"

    def __init__(self, gold: str):
        self.gold = fold(gold)
        self.gold_words = gold  # hedge words that are part of the gold are not hedges

    def scan(self, text: str) -> list[Candidate]:
        folded = fold(text)
        if self.gold and folded != self.gold:
            at = _phrase_at(folded, self.gold)
            if at >= 0:
                extra = folded[:at] + " " + folded[at + len(self.gold):]
                if all(w in _FILLER for w in _WORD.findall(extra)) and not re.search(r"[\[\]{}(),;|/&+]", extra):
                    return [Candidate(0, 0, self.gold)]
                return [Candidate(0, 0, self.gold), Candidate(0, 0, ("other", extra.strip()))]
        # zero-width span: the whole content stays subject to the hedge check (gold words exempt)
        return [Candidate(0, 0, folded)]

    def same(self, a: Any, b: Any) -> bool:
        return a == b


def _phrase_at(text: str, phrase: str) -> int:
    """Where `phrase` occurs in `text` not glued to letters or digits on either side; -1 if nowhere."""
    start = 0
    while True:
        at = text.find(phrase, start)
        if at < 0:
            return -1
        before = text[at - 1] if at > 0 else " "
        after = text[at + len(phrase)] if at + len(phrase) < len(text) else " "
        if not (before.isalnum() or after.isalnum()):
            return at
        start = at + 1



_LETTER = re.compile(r"(?<![^\W_])([A-Za-z])(?![^\W_]|'[a-z])")
_LABEL_WORD = re.compile(r"(?i)(?:option|choice|letter)\s*[(\[]?\s*$")


class LetterGrammar:
    """A candidate is one option letter: `C`, `(C)`, `C)`, `C.`, `[C]`, `Option C`, any case.

    An uppercase letter standing alone is a label; a lowercase one only when it is the whole
    content or is marked as a label (`(c)`, `c)`, `option c`), so "a" and "i" in prose are words.
    Option texts (when given) are blanked first, so `C) <text of C>` is one candidate and hedge
    words inside an option's own text are not hedges.
    """

    def __init__(self, n_options: int, options: list[str] | tuple[str, ...] = ()):
        self.letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_options]
        self.options = sorted({fold(o) for o in options if len(fold(o)) > 1}, key=len, reverse=True)
        self.options_by_letter = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i]: fold(o) for i, o in enumerate(options[:26])}
        self.what = f"option letter ({self.letters[:1]}-{self.letters[-1:]})" if self.letters else "option letter"

    def prose(self, text: str) -> str:
        """`text` with every option's own text blanked (same length, so spans stay valid)."""
        lowered = text.lower()
        if len(lowered) != len(text):
            return text
        for needle in self.options:
            at = lowered.find(needle)
            while at >= 0:
                lowered = lowered[:at] + " " * len(needle) + lowered[at + len(needle):]
                text = text[:at] + " " * len(needle) + text[at + len(needle):]
                at = lowered.find(needle)
        return text

    def scan(self, text: str) -> list[Candidate]:
        quoted = self._label_with_quote(text)
        if quoted is not None:
            return [quoted]
        text = self.prose(text)
        core = text.strip(" \t\n()[]{}.,;:!*")
        if len(core) == 1 and core.isalpha():
            at = text.find(core)
            return [Candidate(at, at + 1, core.upper())]
        found = []
        for m in _LETTER.finditer(text):
            letter = m.group(1)
            before, after = text[:m.start()].rstrip(), text[m.end():].lstrip()
            labelled = (before.endswith(("(", "[")) or after.startswith((")", "]"))
                        or bool(_LABEL_WORD.search(text[:m.start()])))
            if letter.islower() and not labelled:
                continue
            if letter.upper() in self.letters:
                found.append(Candidate(m.start(), m.end(), letter.upper()))
        if not found:
            raise Unreadable(f"no single {self.what}")
        return found

    def _label_with_quote(self, text: str) -> Candidate | None:
        """`C) The first words of option C...`: a label followed by the start of its own option's
        text (a partial quote, which blanking whole option texts does not catch) is one candidate."""
        m = re.match(r"(?:(?:option|choice)\s*)?\(?([A-Za-z])[).:]\s+(\S.*)$", text, re.I | re.S)
        if m is None or not self.options_by_letter:
            return None
        letter = m.group(1).upper()
        quote = fold(m.group(2)).rstrip(". ").removesuffix("...").rstrip(". ")
        option = self.options_by_letter.get(letter, "")
        if len(quote) >= 3 and option.startswith(quote):
            return Candidate(0, len(text), letter)
        return None

    def same(self, a: Any, b: Any) -> bool:
        return a == b
