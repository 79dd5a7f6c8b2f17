"""Short final answers: extraction from a completion, normalisation, and the `final_answer` verifier.

SvS variants and SwS problems are both "a question plus one short reference answer": an SvS
variant keeps its parent's reference (the variant must have the same answer), an SwS problem
gets the majority answer of several samples. Neither comes with a dataset-specific scorer, so
one verifier checks both: it pulls the final answer out of the completion and compares it with
`task.answer` after normalisation.

Extraction (first rule that finds something wins): the last `<answer>...</answer>` block, else
the last `\\boxed{...}` (braces matched, so `\\boxed{\\frac{1}{2}}` works), else the last
"Answer: ..." / "final answer is ..." line. Nothing found is a format error, not a wrong answer.

Normalisation, chosen so that equal answers written differently match and different answers
never do: surrounding `$`, `\\(`, `\\[` and a final period go; `\\text{}`/`\\mathrm{}` keep their
content; `\\dfrac`/`\\tfrac` become `\\frac`; `\\left`/`\\right`, LaTeX spacing and `%` go; a
leading "x =" goes; thousands separators in numbers go (1,000 -> 1000); case and runs of
spaces fold. Numbers are then compared as exact rationals, so 7 = 7.0 = 14/2 and 0.5 = 1/2 =
\\frac{1}{2}, with a 1e-9 relative tolerance for long decimals. Anything else must match as
normalised text. There is no symbolic algebra: `2\\sqrt{2}` does not match `\\sqrt{8}`.
"""

from __future__ import annotations

import re
from fractions import Fraction

from rlvr.answers import NumberGrammar, TextGrammar, fold, numbers_equal, parse_number, read_final
from rlvr.records import Task
from rlvr.verify import AnswerProbe, FunctionVerifier, Score, register_probe, register_verifier

VERIFIER = "final_answer"
MAX_ANSWER_CHARS = 200  # longer "answers" are prose, not a final answer

_TAGGED = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_ANSWER_LINE = re.compile(
    r"(?im)^[ \t*#>-]*(?:the\s+)?(?:final\s+)?answer\**\s*(?:is\s*[:：]?|[:：=])\s*\**\s*(\S.*?)\s*\**\s*$")
_FINAL_IS = re.compile(r"(?i)final answer is[:\s]*\**\s*([^\n]+?)\s*\**\s*$", re.MULTILINE)


def _boxed(text: str) -> list[str]:
    """Contents of every \\boxed{...} (or \\fbox{...}), with nested braces matched."""
    found = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append(text[m.end():i - 1])
    return found


def extract_final_answer(completion: str) -> str | None:
    """The completion's final answer (see the module docstring), stripped; None when absent or empty."""
    for candidates in (_TAGGED.findall(completion), _boxed(completion), _FINAL_IS.findall(completion),
                       _ANSWER_LINE.findall(completion)):
        if candidates:
            answer = candidates[-1].strip()
            return answer if answer and len(answer) <= MAX_ANSWER_CHARS else None
    return None


_UNWRAP = re.compile(r"\\(?:text|mathrm|textbf|mathbf|operatorname)\s*\{([^{}]*)\}")
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?![\d,])")
_LEADING_VAR = re.compile(r"^[a-z]\w{0,11}\s*=\s*(?=\S)", re.IGNORECASE)


def normalize_answer(answer: str) -> str:
    """A canonical text form of an answer (see the module docstring); numbers become p/q or integers."""
    s = str(answer).strip().rstrip(".").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left):len(s) - len(right)].strip()
    for _ in range(3):  # nested \text{\textbf{..}}
        s = _UNWRAP.sub(r"\1", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\left", "").replace("\\right", "")
    for token in ("\\!", "\\,", "\\;", "\\:", "\\ ", "\\%", "%", "^\\circ", "^{\\circ}", "°"):
        s = s.replace(token, " " if token == "\\ " else "")
    s = s.strip().rstrip(".").strip()
    s = _LEADING_VAR.sub("", s)
    s = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), s)
    s = re.sub(r"\s+", " ", s).lower()
    number = as_number(s)
    if number is not None:
        return str(number.numerator) if number.denominator == 1 else f"{number.numerator}/{number.denominator}"
    return s


def as_number(text: str) -> Fraction | None:
    """An exact rational for '7', '-2.50', '3/4', '\\frac{3}{4}', '1e3'; None for anything else.

    rlvr.answers.parse_number's rule (bounded exponent, so '1e99999999' is refused instead of
    building a 330-million-bit integer), on text that normalize_answer has already stripped of
    thousands separators: a comma left over is not part of a number here."""
    s = text.replace(" ", "")
    return None if "," in s else parse_number(s)


def answers_match(predicted: str, reference: str) -> bool:
    """Whether two answers are the same after normalisation (exact rationals, small float tolerance)."""
    a, b = normalize_answer(predicted), normalize_answer(reference)
    if a == b:
        return True
    x, y = as_number(a), as_number(b)
    if x is None or y is None:
        return False
    return abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(y)))


def is_short_answer(answer: object, max_chars: int = 32) -> bool:
    """A scalar, one-line answer a rewritten problem can keep (not a list, mapping or long text)."""
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        return False
    text = str(answer).strip()
    return bool(text) and len(text) <= max_chars and "\n" not in text and not text.startswith(("[", "{"))


def score(task: Task, completion: str) -> Score:
    """The final answer, read with the shared rule of rlvr.answers (last marker; several candidates
    or a hedge is ambiguous), must equal the reference after normalisation (numbers compared as
    exact rationals)."""
    gold = str(task.answer)
    number = as_number(normalize_answer(gold))
    grammar = NumberGrammar() if number is not None else TextGrammar(gold)
    final = read_final(completion, grammar, allowed_words=gold)
    if final.status != "ok":
        return Score(0.0, final.status, final.detail)
    if number is not None:
        ok = numbers_equal(final.value, number)
    else:
        ok = final.value == fold(gold) or answers_match(final.text, gold)
    return Score(1.0 if ok else 0.0, "ok" if ok else "wrong", f"answer {final.text[:60]!r}")


def gold_completion(task: Task) -> str:
    return f"<answer>{task.answer}</answer>"


register_verifier(FunctionVerifier(
    VERIFIER, score, gold_completion,
    description="the final answer (the last <answer>...</answer>, \\boxed{} or 'Answer:' marker; several candidates or a "
                "hedge: ambiguous, 0) must equal the reference after normalisation (LaTeX wrappers, case and spacing folded; numbers compared as exact "
                "rationals, so 0.5 = 1/2)",
))


def _probe_tasks() -> list[Task]:
    from rlvr.records import Message, Provenance, VerifierSpec

    return [Task(kind="probe.final_answer", prompt=[Message("user", f"What is the answer {i}?")], answer=gold,
                 verifier=VerifierSpec(VERIFIER), provenance=Provenance("probe", index=i))
            for i, gold in enumerate(("42", "-3.5", "\\frac{1}{2}", "Paris", "x^2 + 1"))]


_OTHERS = {"42": ["43", "7"], "-3.5": ["3.5", "-35"], "\\frac{1}{2}": ["\\frac{1}{3}", "2"], "Paris": ["London", "Rome"],
           "x^2 + 1": ["x^2 - 1", "2x"]}
_HARMLESS = {"42": ["42.0", "= 42", "x = 42", "42.", "4.2e1"], "-3.5": ["-3.50", "-7/2", "= -3.5"],
             "\\frac{1}{2}": ["0.5", "1/2", "\\dfrac{1}{2}"], "Paris": ["paris", "\\text{Paris}"], "x^2 + 1": ["x^2 + 1."]}

register_probe(VERIFIER, AnswerProbe(
    samples=_probe_tasks,
    gold=lambda task: str(task.answer),
    others=lambda task: _OTHERS[str(task.answer)],
    harmless=lambda task: _HARMLESS[str(task.answer)],
))
