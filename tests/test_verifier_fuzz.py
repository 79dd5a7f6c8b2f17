"""Reward integrity over the WHOLE verifier registry (issue 13).

For every registered verifier kind, through the `AnswerProbe` it registers beside its verifier:

- the gold plus any other candidate, in any of the hedging forms below, earns 0 (and, for kinds
  read with the shared final-answer rule, the status is `ambiguous`);
- harmless spellings of the gold earn 1 (trailing `.0`, a leading `=`, nested `\\boxed{}`,
  markdown, fullwidth letters and digits, surrounding prose, and the family's own spellings);
- junk never raises and never scores outside [0, 1].

A new verifier gets these tests by registering a probe with `rlvr.verify.register_probe`.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.verify import STATUSES, get_probe, gold_completion, verifier_names, verify

KINDS = verifier_names()

# The cases of issue 13, written for gold g and another candidate o.
AMBIGUOUS_FORMS = (
    "Answer: {g} or {o}",
    "Answer: {o} or {g}",
    "Answer: {g}, {o}",
    "Answer: {g} {o}",
    "Answer: {g} and/or {o}",
    "Answer: either {g} or {o}",
    "Answer: {g}; {o}",
    "Answer: {g} | {o}",
    "Answer: {g} vs {o}",
    "Answer: {g}) or maybe {o})",
    "Answer: {g} (could be {o})",
    "Answer: {g}, not {o}",
    "Answer: not {o}, {g}",
    "Answer: {g}\nAnswer: {o}",
    "Answer: {o}\nAnswer: {g}",
    "Final answer: {g}\nI'd also accept {o}",
    "\\boxed{{{g}}} \\boxed{{{o}}}",
    "\\boxed{{{o}}}\n\nOn reflection:\n\\boxed{{{g}}}",
    "\\boxed{{{g} - {o}}}",
    "\\boxed{{{g}: {o}}}",
    "\\boxed{{{g}. {o}.}}",
    "\\boxed{{\\boxed{{{g}}} \\boxed{{{o}}}}}",
    "\\boxed{{{g}}}\nFinal answer: I'd also accept {o}",
    "\\boxed{{{g}}}\nThough maybe {o}.",
    "<answer>{g}</answer>\n<answer>{o}</answer>",
    "<answer>{g} or {o}</answer>",
    "The answer is {g} or {o}.",
    "\\boxed{{{g}}}\n(If not, {o}.)",
    "\\boxed{{{g}}} or \\boxed{{{o}}}",
    "\\boxed{{{g}}}\n\nP.S. {o} is also right",
    "Answer: {g}\\\\{o}",
    "Answer: {g} ({o})",
    "Answer: {g} -> {o}",
    "Answer: {o}, wait no, {g}",
    "Answer: {g}, {o}, or both",
    "Answer: one of {g}, {o}",
)
HEDGED_FORMS = ("Answer: maybe {g}", "Answer: not {g}", "Answer: possibly {g}", "Answer: {g}?",
                "Answer: {g} or something else")
HARMLESS_FORMS = (
    "Answer: {g}",
    "Final answer: {g}",
    "**Answer:** {g}",
    "Answer: **{g}**",
    "Answer: `{g}`",
    "ANSWER: {g}",
    "Answer:\n{g}",
    "Answer: = {g}",
    "The answer is {g}.",
    "Let me think step by step.\nSo the final answer is: {g}",
    "\\boxed{{{g}}}",
    "\\boxed{{\\boxed{{{g}}}}}",
    "$\\boxed{{{g}}}$",
    "\\boxed{{\\textbf{{{g}}}}}",
    "<answer>{g}</answer>",
    "<answer>\n{g}\n</answer>",
    "Reasoning first.\n\n\\boxed{{{g}}}\n\nHope this helps!",
    "\\boxed{{{g}}}\nAnswer: {g}",
    "**Final Answer:**\n\n{g}",
    "The final answer is $\\boxed{{{g}}}$.",
    "\\[\\boxed{{{g}}}\\]",
    "Answer - {g}",
    "<ANSWER>{g}</ANSWER>",
    "So the answer is {g}.",
    "\\boxed{{{g}}}\nThe other options do not fit.",
    "Answer: {g}\n\nExplanation: it fits the constraints best.",
)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@functools.cache
def probe_and_samples(kind: str):
    probe = get_probe(kind)
    assert probe is not None, (f"verifier {kind!r} registers no AnswerProbe: add one with rlvr.verify.register_probe "
                               "beside the verifier so the reward tests cover it")
    return probe, tuple(probe.samples())


def samples_or_skip(kind: str):
    probe, samples = probe_and_samples(kind)
    if not samples:
        pytest.skip(f"{kind}: no sample tasks (optional dependency missing)")
    return probe, samples


def uses_markers(probe) -> bool:
    return probe.final_answer and probe.wrap is None


def check_zero(kind, probe, task, completion, *, ambiguous: bool):
    score = verify(task, completion)
    assert score.status != "error", (kind, completion, score)
    assert score.reward == 0.0, (kind, completion, score)
    if ambiguous and uses_markers(probe):
        assert score.status == "ambiguous", (kind, completion, score)


def test_every_registered_verifier_has_a_probe():
    for kind in KINDS:
        probe, _ = probe_and_samples(kind)
        assert probe.final_answer or probe.wrap is None


@pytest.mark.parametrize("kind", KINDS)
def test_gold_and_another_candidate_earn_nothing(kind):
    probe, samples = samples_or_skip(kind)
    if not probe.final_answer:
        pytest.skip(f"{kind} has no final answer (covered by the gold/other/junk tests)")
    for task in samples:
        g = probe.gold(task)
        for o in probe.others(task)[:2]:
            if probe.wrap is not None:  # fenced-block kinds: two different blocks are the hedge
                for completion in (probe.wrap(g) + "\n" + probe.wrap(o), probe.wrap(o) + "\nor\n" + probe.wrap(g),
                                   probe.wrap(g) + f"\n<answer>{o}</answer>"):
                    check_zero(kind, probe, task, completion, ambiguous=False)
                    assert verify(task, completion).status == "ambiguous", (kind, completion)
            for form in AMBIGUOUS_FORMS:
                check_zero(kind, probe, task, form.format(g=g, o=o), ambiguous=True)


@pytest.mark.parametrize("kind", KINDS)
def test_hedged_gold_earns_nothing(kind):
    probe, samples = samples_or_skip(kind)
    if not uses_markers(probe):
        pytest.skip(f"{kind} is not read with the shared marker rule")
    for task in samples:
        for form in HEDGED_FORMS:
            check_zero(kind, probe, task, form.format(g=probe.gold(task)), ambiguous=True)


@pytest.mark.parametrize("kind", KINDS)
def test_harmless_formats_of_the_gold_earn_one(kind):
    probe, samples = samples_or_skip(kind)
    for task in samples:
        completions = [gold_completion(task)]
        g = probe.gold(task)
        if probe.wrap is not None:
            completions += [probe.wrap(g), f"Working it out.\n{probe.wrap(g)}\nDone.", f"<answer>{g}</answer>"]
        elif probe.final_answer:
            completions += [form.format(g=g) for form in HARMLESS_FORMS]
            completions += [f"Answer: {fullwidth(g)}", f"\\boxed{{{fullwidth(g)}}}"]
            completions += [f"Answer: {h}" for h in probe.harmless(task)]
            completions += [f"\\boxed{{{h}}}" for h in probe.harmless(task)]
        for completion in completions:
            score = verify(task, completion)
            assert (score.reward, score.status) == (1.0, "ok"), (kind, completion, score)


@pytest.mark.parametrize("kind", KINDS)
def test_another_candidate_alone_is_not_paid_in_full(kind):
    probe, samples = samples_or_skip(kind)
    for task in samples:
        for o in probe.others(task):
            completion = probe.wrap(o) if probe.wrap else (f"Answer: {o}" if probe.final_answer else o)
            score = verify(task, completion)
            assert score.reward < 1.0 and score.status != "error", (kind, completion, score)


def test_issue_13_cases_explicitly():
    """The completions the issue found paid, by kind."""
    fim = probe_and_samples("mcqa.fim")[1][0]
    key = fim.answer
    other = "A" if key != "A" else "B"
    third = "C" if key != "C" else "D"
    for completion in (f"\\boxed{{{key} - {other}}}", f"Answer: {key}) or maybe {other})",
                       f"\\boxed{{{key}. {other}. {third}.}}", f"\\boxed{{{key}: {other}}}",
                       f"\\boxed{{{key}}}\nFinal answer: I'd also accept {other}"):
        assert (verify(fim, completion).reward, verify(fim, completion).status) == (0.0, "ambiguous"), completion
    assert verify(fim, f"\\boxed{{{fullwidth(key)}}}").reward == 1.0
    for kind in (k for k in KINDS if k.startswith("np.")):
        task = probe_and_samples(kind)[1][0]
        probe = get_probe(kind)
        s = verify(task, f"Answer: {probe.gold(task)} or {probe.others(task)[0]}")
        assert (s.reward, s.status) == (0.0, "ambiguous"), (kind, s)
    gym = [t for t in probe_and_samples("gym")[1] if t.answer == "-224394"]
    if gym:
        t = gym[0]
        assert verify(t, "<answer>-2243945</answer>").reward == 0.0
        assert verify(t, "<answer>-224394 or 7</answer>").reward == 0.0
        for right in ("<answer>-224394.0</answer>", "<answer>= -224394</answer>", "\\boxed{\\boxed{-224394}}"):
            assert verify(t, right).reward == 1.0, right


# ----------------------------------------------------------------------------- hypothesis

FAST_KINDS = [k for k in KINDS if not get_probe(k).slow]
SLOW_KINDS = [k for k in KINDS if get_probe(k).slow]
prose = st.text(alphabet="abcdefghij klmnop.,;:\n0123456789()", max_size=40)
wrappers = st.sampled_from(["Answer: {x}", "\\boxed{{{x}}}", "<answer>{x}</answer>", "Final answer: {x}",
                            "The answer is {x}.", "\\boxed{{\\boxed{{{x}}}}}", "**Answer:** {x}"])
joiners = st.sampled_from([" or ", ", ", " and/or ", " / ", "; ", " or maybe ", " (or ", ", I'd also accept ",
                           " - ", ": ", ", not ", " vs ", " | ", " and "])


@pytest.mark.parametrize("kind", FAST_KINDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), before=prose)
def test_fuzz_gold_with_another_candidate_is_never_paid(kind, data, before):
    probe, samples = probe_and_samples(kind)
    if not samples or not probe.final_answer:
        return
    task = data.draw(st.sampled_from(samples))
    g, o = probe.gold(task), data.draw(st.sampled_from(probe.others(task)))
    if probe.wrap is not None:
        first, second = data.draw(st.permutations([g, o]))
        completion = before + probe.wrap(first) + "\n" + probe.wrap(second)
    else:
        first, second = data.draw(st.permutations([g, o]))
        body = first + data.draw(joiners) + second
        if data.draw(st.booleans()):
            completion = before + "\n" + data.draw(wrappers).format(x=body)
        else:  # two separate markers
            completion = (before + "\n" + data.draw(wrappers).format(x=first) + "\n"
                          + data.draw(wrappers).format(x=second))
    score = verify(task, completion)
    assert score.reward == 0.0 and score.status != "error", (completion, score)


@pytest.mark.parametrize("kind", FAST_KINDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), before=prose)
def test_fuzz_wrapped_gold_is_paid(kind, data, before):
    probe, samples = probe_and_samples(kind)
    if not samples:
        return
    task = data.draw(st.sampled_from(samples))
    g = probe.gold(task)
    if probe.wrap is not None:
        completion = before + "\n" + probe.wrap(g)
    elif probe.final_answer:
        spelled = data.draw(st.sampled_from([g, fullwidth(g), *probe.harmless(task)]))
        completion = before + "\n" + data.draw(wrappers).format(x=spelled)
    else:
        completion = gold_completion(task)
    score = verify(task, completion)
    assert (score.reward, score.status) == (1.0, "ok"), (completion, score)


junk = st.one_of(
    st.text(max_size=300),
    st.builds(lambda a, b: a + "Answer: " + b, st.text(max_size=50), st.text(max_size=100)),
    st.builds(lambda a, b: a + "\\boxed{" + b, st.text(max_size=50), st.text(max_size=100)),
    st.builds(lambda a: "<answer>" + a + "</answer>", st.text(max_size=100)),
    st.builds(lambda a: "```output\n" + a + "\n```", st.text(max_size=100)),
)


@pytest.mark.parametrize("kind", FAST_KINDS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), text=junk)
def test_fuzz_junk_never_raises(kind, data, text):
    _, samples = probe_and_samples(kind)
    if not samples:
        return
    score = verify(data.draw(st.sampled_from(samples)), text)
    assert score.status in STATUSES and score.status != "error", (text, score)
    assert 0.0 <= score.reward <= 1.0


@pytest.mark.parametrize("kind", SLOW_KINDS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), text=junk)
def test_fuzz_junk_never_raises_sandboxed(kind, data, text):
    _, samples = probe_and_samples(kind)
    score = verify(data.draw(st.sampled_from(samples)), text)
    assert score.status in STATUSES and score.status != "error", (text, score)
