"""The shared final-answer rule (rlvr/answers.py) on its own, with the family grammars."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rlvr.answers import (
    AMBIGUOUS,
    LetterGrammar,
    NumberGrammar,
    TextGrammar,
    clean,
    find_markers,
    parse_number,
    read_final,
)
from rlvr.synth.np.answer import ListGrammar


@pytest.mark.parametrize("raw,cleaned", [
    ("**C**", "C"), ("`[0, 1]`", "[0, 1]"), ("\\boxed{\\text{C}}", "C"), ("= -224394", "-224394"),
    ("$\\frac{1}{2}$", "\\frac{1}{2}"), ("Ｃ", "C"), ("x**2 + 1", "x**2 + 1"), ("- 5", "5"), ("-5", "-5"),
])
def test_clean_removes_only_harmless_formatting(raw, cleaned):
    assert clean(raw) == cleaned


@pytest.mark.parametrize("token,value", [
    ("7", 7), ("-2.50", Fraction(-5, 2)), ("1,000", 1000), ("3/4", Fraction(3, 4)), ("\\frac{3}{4}", Fraction(3, 4)),
    ("-\\dfrac{1}{2}", Fraction(-1, 2)), ("\\frac12", Fraction(1, 2)), ("1e3", 1000), ("0 6 6", None), ("1/0", None),
])
def test_parse_number(token, value):
    assert parse_number(token) == value


def test_markers_in_order_and_nested_boxes_are_one():
    kinds = [(m.kind, m.content) for m in find_markers("Answer: A\n\\boxed{\\boxed{B}}\n<answer>C</answer>")]
    assert kinds == [("line", "A"), ("box", "\\boxed{B}"), ("tag", "C")]
    assert find_markers("the answer is C")[0].weak and not find_markers("Answer: C")[0].weak
    assert find_markers("\\boxed{C")[0].content is None


@pytest.mark.parametrize("completion,status,value", [
    ("Answer: [1, 2]", "ok", [1, 2]),
    ("Answer: [1, 2] or [1, 3]", AMBIGUOUS, None),
    ("Answer: [9, 9]\nAnswer: [1, 2]", AMBIGUOUS, None),  # two different final answers
    ("Answer: [1, 2]\nRemember the format is Answer: [vertex ids]", "format_error", None),  # last must be readable
    ("The format is Answer: <list>.\nAnswer: [1, 2]", "ok", [1, 2]),  # an unreadable earlier marker is ignored
    ("Answer: the clique is [1, 2] (2 vertices)", "ok", [1, 2]),
    ("Answer: maybe [1, 2]", AMBIGUOUS, None),
    ("Answer: [1, 2]\n\n[1, 3]", AMBIGUOUS, None),
])
def test_read_final_with_lists(completion, status, value):
    final = read_final(completion, ListGrammar())
    assert (final.status, final.value) == (status, value), final


def test_letters_numbers_and_text():
    letters = LetterGrammar(4)
    assert read_final("\\boxed{C}\nB is not supported by the passage.", letters).value == "C"
    assert read_final("\\boxed{C}\nB works too.", letters).status == AMBIGUOUS
    assert read_final("I think the answer is correct: \\boxed{C}", letters).value == "C"
    assert read_final("Answer: -224394.0", NumberGrammar()).value == -224394
    assert read_final("Answer: 1/2/2", NumberGrammar()).status != "ok"
    text = TextGrammar("to be or not to be")
    assert read_final("Answer: To be or not to be.", text).status == "ok"  # the gold's own words are no hedge
    assert read_final("Answer: to be or not to be, or to sleep", text).status == AMBIGUOUS


def test_prose_after_a_free_text_answer_is_harmless_unless_it_offers_an_alternative():
    text = TextGrammar("Paris")
    assert read_final("<answer>Paris</answer>\nThis is correct: it is the capital.", text).status == "ok"
    for tail in ("If not, London.", "Or maybe London.", "London is also right.", "London works too.",
                 "Alternatively London."):
        assert read_final(f"<answer>Paris</answer>\n{tail}", text).status == AMBIGUOUS, tail
