"""The mcqa.fim verifier against adversarial completions: exactly one final choice is paid."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.records import Message, Provenance, Task, VerifierSpec
from rlvr.synth.fim.task import LETTERS, read_choice, render_prompt
from rlvr.verify import gold_completion, verify


def make_task(key: str = "C", n: int = 4) -> Task:
    options = [f"option text {i}" for i in range(n)]
    return Task(kind="mcqa.fim", prompt=[Message("user", render_prompt("a [MASK] b", options))], answer=key,
                verifier=VerifierSpec("mcqa.fim", {"n_options": n}), provenance=Provenance("test", index=0))


TASK = make_task()


@pytest.mark.parametrize("completion", [
    "\\boxed{C}", "\\boxed{c}", "\\boxed{ (C) }", "\\boxed{\\text{C}}", "\\boxed{\\textbf{c}.}", "Answer: C",
    "answer: c", "**Answer:** (C).", "Final answer: C", "The answer is: C", "Answer: C) option text 2",
    "Answer: Option C", "\\boxed{C.}", "Answer: (C)", "**Final answer: C**", "I think B fits, but no.\nAnswer: C", "\\boxed{C} so the answer: C", "Answer: [C]",
    "\\boxed{Ｃ}", "Answer: ｃ", "\\boxed{\\boxed{C}}", "Answer: `C`", "The answer is C.", "Answer: C.", "\\boxed{C)}",
])
def test_single_choice_of_the_key_is_paid(completion):
    s = verify(TASK, completion)
    assert (s.reward, s.status) == (1.0, "ok"), (completion, s)


@pytest.mark.parametrize("completion", ["\\boxed{A}", "Answer: b", "**Answer:** D.", "Answer: A) option text 0"])
def test_single_wrong_choice_is_wrong(completion):
    s = verify(TASK, completion)
    assert (s.reward, s.status) == (0.0, "wrong"), (completion, s)


@pytest.mark.parametrize("completion", [
    "", "C", "The gap is filled by C.", "\\boxed{}", "Answer:", "\\boxed{ABCD}", "\\boxed{E}",
    "Answer: Z", "\\boxed{LETTER}", TASK.prompt_text, "\\boxed{C", "\\boxed{C}\nFinal answer: the third one",
])
def test_unreadable_or_out_of_range_choice_is_a_format_error(completion):
    s = verify(TASK, completion)
    assert (s.reward, s.status) == (0.0, "format_error"), (completion, s)


@pytest.mark.parametrize("completion", [
    "\\boxed{A, C}", "Answer: A and C", "Answer: C or D", "Answer: A B C D", "Answer: all of the above",
    "\\boxed{none}", "Answer: (A) and (C)", "\\boxed{A}\n\\boxed{C}", "Answer: A\nAnswer: C",
    "\\boxed{C} ... on reflection \\boxed{B}", "Answer: A/C", "Answer: both",
    # paid 1.0 before the shared final-answer rule (issue 13)
    "\\boxed{C - B}", "Answer: C) or maybe B)", "\\boxed{C. B. A.}", "\\boxed{C: B}",
    "\\boxed{C}\nFinal answer: I'd also accept B", "Answer: maybe C", "Answer: not B", "Answer: C, not B",
    "Answer: C (could be D)", "Answer: C and/or D", "\\boxed{\\boxed{C} \\boxed{D}}",
])
def test_several_choices_or_hedges_are_ambiguous(completion):
    s = verify(TASK, completion)
    assert (s.reward, s.status) == (0.0, "ambiguous"), (completion, s)


def test_gold_scores_one_and_nine_options_accept_i():
    task = make_task("I", 9)
    assert verify(task, gold_completion(task)).reward == 1.0
    assert verify(task, "\\boxed{i}").reward == 1.0
    assert verify(make_task("D", 4), "\\boxed{I}").status == "format_error"


def test_read_choice_reasons():
    assert read_choice(TASK, "Answer: B").value == "B"
    assert read_choice(TASK, "Answer: A, B").status == "ambiguous"
    assert read_choice(TASK, "Answer: the second one").status == "format_error"
    assert read_choice(TASK, "x \\boxed{A} y\nAnswer: A").value == "A"


def test_option_text_after_the_letter_is_not_a_hedge():
    task = make_task("B", 4)
    task.meta["options"] = ["to be or not to be", "either way it is fine", "maybe later", "all of it"]
    assert verify(task, "Answer: B) either way it is fine").reward == 1.0
    assert verify(task, "Answer: B) either way it is fine or A) to be or not to be").status == "ambiguous"
    assert verify(task, "Answer: B) either way...").reward == 1.0  # a partial quote of B's own text
    assert verify(task, "Answer: B) to be or not").status == "ambiguous"  # A's text after B's label


# ----------------------------------------------------------------------------- hypothesis

letters4 = st.sampled_from(LETTERS[:4])
noise = st.text(alphabet=string.ascii_letters + string.digits + " .,;()\n", max_size=60).filter(
    lambda s: "answer" not in s.lower() and "boxed" not in s.lower())


@st.composite
def decorated(draw, letter):
    """A single choice of `letter` in one of the tolerated spellings."""
    ch = draw(st.sampled_from([letter, letter.lower()]))
    inner = draw(st.sampled_from(["{}", "({})", "[{}]", "{}.", "{})", " {} ", "\\text{{{}}}", "**{}**", "Option {}"]))
    inner = inner.format(ch)
    return draw(st.sampled_from([f"\\boxed{{{inner}}}", f"Answer: {inner}", f"**Answer:** {inner}",
                                 f"Final answer: {inner}"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=letters4, choice=letters4, before=noise, data=st.data())
def test_fuzz_one_choice_reward_iff_key(key, choice, before, data):
    task = make_task(key)
    marker = data.draw(decorated(choice))
    s = verify(task, f"{before}\n{marker}")
    assert s.status in ("ok", "wrong"), (marker, s)
    assert s.reward == (1.0 if choice == key else 0.0)


@settings(max_examples=200, deadline=None)
@given(key=letters4, chosen=st.lists(letters4, min_size=2, max_size=4, unique=True),
       sep=st.sampled_from([", ", " and ", " or ", "/", " ", ";"]), boxed=st.booleans())
def test_fuzz_several_letters_never_paid(key, chosen, sep, boxed):
    body = sep.join(chosen)
    s = verify(make_task(key), f"\\boxed{{{body}}}" if boxed else f"Answer: {body}")
    assert (s.reward, s.status) == (0.0, "ambiguous")


@settings(max_examples=200, deadline=None)
@given(key=letters4, first=letters4, second=letters4, middle=noise)
def test_fuzz_hedging_with_two_markers_is_never_paid(key, first, second, middle):
    s = verify(make_task(key), f"\\boxed{{{first}}}{middle}Answer: {second}")
    if first == second:
        assert s.reward == (1.0 if first == key else 0.0)
    else:
        assert (s.reward, s.status) == (0.0, "ambiguous")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text_never_crashes(text):
    s = verify(TASK, text)
    assert s.status in ("ok", "wrong", "format_error", "ambiguous") and s.reward in (0.0, 1.0)
    if "boxed" not in text.lower() and "answer" not in text.lower():
        assert s.status == "format_error"
