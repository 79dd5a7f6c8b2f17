"""FIM without shortcuts, the parts that need no model: grammatical meaning-changing flips, the
per-item option layout, the feature-balanced choice of distractors, and the shortcut rules."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from rlvr.synth.fim.layout import Filling, choose, draw_layout, group_fillings, length_ok, place_answer, rank
from rlvr.synth.fim.perturb import _flip_sites, perturb_negation, perturb_number, perturbations
from rlvr.synth.fim.shortcuts import (
    blind_bow_accuracy,
    boundary_fit,
    has_twin,
    heuristic_accuracy,
    option_features,
    pick_credit,
)


def flips(text: str, code: bool = False) -> list[tuple[str, str]]:
    return [(text[a:b], rep) for a, b, rep in _flip_sites(text, code)]


@pytest.mark.parametrize("text,word", [
    ("Right now, the async block runs on the event loop.", "right"),  # "Left now" is not English
    ("We left out the bias term.", "left"),  # a verb, not a direction
    ("The loss is more or less constant.", "more"),
    ("The loss is more or less constant.", "less"),
    ("Once more we apply the update.", "more"),
    ("Stop as soon as possible.", "possible"),
    ("Run the workers in parallel.", "parallel"),
    ("The value can increase or decrease.", "increase"),  # the flip would repeat its neighbour
    ("The value can increase or decrease.", "decrease"),
    ("The estimate is the same as the true mean.", "same"),  # "a different as" does not read
    ("We use different methods here.", "different"),  # "same methods" without an article does not read
    ("This does the job.", "does"),  # "does not the job"
    ("It is almost exactly the same for all wavelengths.", "same"),  # "a different for all"
    ("All parts move at about the same speed.", "same"),  # "at about a different speed"
    ("This is indeed on the right order of magnitude.", "right"),  # "the left order"
    ("It is better to define a field rather than always working with forces.", "always"),
])
def test_flips_that_break_grammar_or_keep_meaning_are_rejected(text, word):
    assert word not in {a.lower().split()[-1] for a, _ in flips(text)}, flips(text)


@pytest.mark.parametrize("text,site,rep", [
    ("Both arrive at the same time.", "the same", "a different"),
    ("A different pivot gives another order.", "A different", "The same"),
    ("This is different from the greedy choice.", "different from", "the same as"),
    ("The result is independent of the order.", "independent of", "dependent on"),
    ("We see an increase in the loss.", "an increase", "a decrease"),
    ("It is a correct answer.", "a correct", "an incorrect"),
    ("Go to the left child first.", "left", "right"),
    ("The lower bound is tight.", "lower", "upper"),
    ("The lower cost wins.", "lower", "higher"),
])
def test_flips_stay_grammatical(text, site, rep):
    assert (site, rep) in flips(text)


def test_code_flips_skip_comments_and_strings():
    # "and" -> "or" inside a comment or a string changes no behaviour: both options would be right
    assert flips("x = 1  # a and b are equal", code=True) == []
    assert flips("print('a and b')", code=True) == []
    assert (" and ", " or ") in flips("if a and b:  # both", code=True)


def test_number_perturbations_keep_math_well_formed_and_leave_stated_powers_alone():
    rng = random.Random(0)
    assert perturb_number("Beyond a temperature of about $10^9$ K, the motion is fast.", "", rng, code=False) is None
    # "10" recurring in the context's "10^{33}" does not pin down the base of "10^9"
    assert perturb_number("Beyond about $10^9$ K, the motion is fast.", "At $10^{33}$ degrees", rng, code=False) is None
    for seed in range(20):
        p = perturb_number("so $x^9$ grows", "", random.Random(seed), code=False)
        assert p is not None and re.search(r"x\^(\d|\{\d+\})\$", p.text), p.text  # x^{10}, never x^10


def test_every_perturbation_changes_the_text():
    rng = random.Random(0)
    for text in ("The error increases with depth and the bias is small.", "if a < b:\n    a += 1"):
        for p in perturbations(text, "", rng, code="if" in text):
            assert p.text != text
    assert perturb_negation("It is not the same as before.", rng, code=False) is not None


def test_layouts_vary_and_place_the_answer_by_slot():
    rng = random.Random(1)
    layouts = Counter(tuple(draw_layout(4, 2, rng)) for _ in range(3000))
    assert set(layouts) == {(1, 1, 1, 1), (2, 1, 1), (2, 2)}  # no fixed two-twin layout
    assert all(v > 600 for v in layouts.values())
    assert all(sum(layout) == 4 for layout in layouts)
    assert max(max(draw_layout(9, 3, rng)) for _ in range(200)) == 3
    # the answer heads a group of size z with probability z * n_z / K: in (2, 1, 1) a pair half the time
    heads = Counter(place_answer([2, 1, 1], 1, rng)[1] for _ in range(4000))
    assert abs(heads[0] / 4000 - 0.5) < 0.04
    # with no perturbation of the answer it can only be a single option
    sizes, g = place_answer([2, 2], 0, rng)
    assert sizes[g] == 1 and sum(sizes) == 4


def test_group_fillings_respect_twin_capacity_and_skip_reorderings():
    rng = random.Random(2)
    picks = group_fillings([2, 1, 1], [0, 1, 0, 2], rng)
    assert picks and all(p[0] in (1, 3) and len(set(p)) == 3 for p in picks)
    assert len(picks) == len({(p[0], frozenset(p[1:])) for p in picks})  # singles in another order: same filling
    assert group_fillings([2, 2], [1, 0, 0], rng) == []


def test_choose_balances_the_answer_rank_on_overlap():
    """Over many draws from the same candidates, the answer's overlap rank among the chosen options
    varies (it is top sometimes, but not always and not never): the rank follows per-item targets."""
    masked = "The heap keeps the smallest key at the root, so [MASK] Each pop then restores the heap order."
    answer = "the smallest key is found in constant time by reading the root."
    cands = ["the root holds the smallest key so a pop restores order quickly.",
             "a queue of tasks is served in arrival time without any priority.",
             "the tree keeps a key at the root and the smallest key below it.",
             "an array of size n is scanned left to right in linear time here.",
             "sorting the input first costs n log n comparisons in the worst case."]
    rng = random.Random(3)
    ranks = Counter()
    for _ in range(200):
        fills = [Filling((cands[a], cands[b], cands[c]), ()) for a, b, c in group_fillings([1, 1, 1], [0] * 5, rng)]
        f = choose(masked, answer, fills, rng)
        feats = option_features(masked, [answer, *f.texts])
        ranks[rank(feats, "overlap_share")] += 1
    assert len(ranks) >= 3 and 5 <= ranks[0] <= 100, ranks


def test_length_guard_is_a_ratio():
    assert length_ok(10, [9, 8, 12]) and length_ok(11, [10, 9, 9])  # slightly longest is fine
    assert not length_ok(20, [10, 9, 9]) and not length_ok(5, [10, 9, 9])


def test_shortcut_rules_split_ties_and_see_boundaries():
    assert pick_credit([1, 3, 3, 2], 1) == 0.5 and pick_credit([1, 3, 3, 2], 0) == 0.0
    assert boundary_fit("It grows. ", " Then", "So it doubles.") == 3
    assert boundary_fit("It grows, ", " and then", "So it doubles.") == 1
    items = [("a b [MASK] c", ["a b c", "x y z", "q r s", "t u v"], 0)] * 4
    acc = heuristic_accuracy(items)
    assert acc["chance"] == 0.25 and acc["overlap_share"] == 1.0 and acc["longest"] == 0.25
    assert has_twin(["the error increases fast", "the error decreases fast", "something else entirely"]) == [
        True, True, False]


def test_blind_bag_of_words_finds_a_planted_cue_and_not_noise():
    rng = random.Random(4)
    vocab = [f"w{i}" for i in range(60)]

    def item(cue: bool):
        opts = [" ".join(rng.choices(vocab, k=8)) for _ in range(4)]
        key = rng.randrange(4)
        if cue:
            opts[key] += " therefore"
        return opts, key

    assert blind_bow_accuracy([item(True) for _ in range(200)]) > 0.9
    assert blind_bow_accuracy([item(False) for _ in range(200)]) < 0.35
