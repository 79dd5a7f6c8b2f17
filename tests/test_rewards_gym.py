"""reasoning-gym rewards: the per-dataset rule table, no partial credit for a wrong number, and
correct answers in harmless formats paid in full (issue 13)."""

from __future__ import annotations

import pytest

from rlvr.synth.gym import (
    FORM,
    GRADED,
    NUMERIC_GOLDS,
    RULES,
    GymConfig,
    GymGenerator,
    dataset_rule,
    item_rule,
)
from rlvr.verify import gold_completion, verify

rg = pytest.importorskip("reasoning_gym")


def task(name: str, idx: int = 0):
    return GymGenerator(GymConfig(name)).generate(0, idx)


def test_every_installed_dataset_has_a_rule():
    from reasoning_gym.factory import DATASETS

    assert {dataset_rule(n) for n in DATASETS} <= set(RULES)
    for name in GRADED | FORM | NUMERIC_GOLDS:
        assert name in DATASETS, f"{name} is in a rule set but not in reasoning-gym"
    from reasoning_gym.dataset import ProceduralDataset

    for name in GRADED:  # graded keeps a dataset's own partial credit: it must have its own scorer
        assert DATASETS[name][0].score_answer is not ProceduralDataset.score_answer


def test_basic_arithmetic_numbers_are_all_or_nothing():
    t = task("basic_arithmetic")
    assert t.answer == "-224394" and item_rule("basic_arithmetic", t.answer) == "numeric"
    for right in ("<answer>-224394</answer>", "<answer>-224394.0</answer>", "<answer>= -224394</answer>",
                  "\\boxed{\\boxed{-224394}}", "Answer: **-224394**", "The answer is -224394.", "\\boxed{−224394}",
                  "Answer: -224,394", "<answer>－２２４３９４</answer>", "Answer: `-224394`", "$\\boxed{-224394}$"):
        s = verify(t, right)
        assert (s.reward, s.status) == (1.0, "ok"), (right, s)
    for wrong in ("<answer>-2243945</answer>", "<answer>224394</answer>", "<answer>-224394.5</answer>",
                  "Answer: -22439"):
        s = verify(t, wrong)
        assert (s.reward, s.status) == (0.0, "wrong"), (wrong, s)
    for hedge in ("<answer>-224394 or 7</answer>", "<answer>-224394, 7</answer>", "\\boxed{-224394}\\boxed{7}",
                  "Answer: maybe -224394", "Answer: -224394 (or 7)", "<answer>7</answer><answer>-224394</answer>",
                  "\\boxed{-224394}\nFinal answer: I'd also accept 7", "Answer: not -224394", "Answer: -224394/7"):
        s = verify(t, hedge)
        assert s.reward == 0.0 and s.status in ("ambiguous", "wrong"), (hedge, s)
    assert verify(t, "<answer>-224394 or 7</answer>").status == "ambiguous"


def test_chain_sum_substring_credit_is_gone():
    t = task("chain_sum", 2)
    gold = t.answer
    assert verify(t, f"<answer>{gold}5</answer>").reward == 0.0
    assert verify(t, f"<answer>{gold}.00</answer>").reward == 1.0


def test_exact_datasets_drop_partial_credit_and_graded_keep_it():
    t = task("caesar_cipher")
    assert dataset_rule("caesar_cipher") == "exact"
    assert verify(t, gold_completion(t)).reward == 1.0
    assert verify(t, f"<answer>{t.answer} EXTRA</answer>").reward == 0.0  # default scorer paid a substring ratio
    w = task("word_sorting")
    words = [x.strip() for x in w.answer.split(",")]
    swapped = ", ".join([words[1], words[0], *words[2:]])
    score = verify(w, f"<answer>{swapped}</answer>")
    assert dataset_rule("word_sorting") == "graded" and 0.0 < score.reward < 1.0


def test_fraction_simplification_keeps_its_form():
    t = task("fraction_simplification")
    assert item_rule("fraction_simplification", t.answer) == "form"
    assert verify(t, gold_completion(t)).reward == 1.0
    import re
    num, den = map(int, re.findall(r"\d+", t.answer))
    assert verify(t, f"<answer>$\\frac{{{2 * num}}}{{{2 * den}}}$</answer>").reward == 0.0
