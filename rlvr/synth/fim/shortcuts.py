"""Shortcut features of a FIM item: what a solver that does not read for meaning could use.

A multiple-choice item is only worth training on if the key cannot be found without working out
what the passage says. These are the cheap cues a model (or a careless reader) can pick up, each
an option score where the heuristic picks the highest (or lowest) scoring option:

- `longest` / `shortest`: option length in tokens.
- `overlap_share` / `overlap_count`: the share (count) of an option's distinct words that occur in
  the masked passage. The answer was written for this passage, so its words tend to be there.
- `boundary_fit`: how well an option's first and last characters fit the text around the gap
  (capital after a sentence end, lower case mid-sentence; no full stop when the text goes on in
  lower case; balanced `$`).
- `fewest_negations`: the option with the fewest negation words (perturbations add "not").

`heuristic_accuracy` scores a rule with ties split evenly (the expected accuracy of picking at
random among the tied options), so a cue that ties everywhere scores chance. The generator uses
the same features to choose among candidate distractors (`generator._balanced`), and
`benchmarks/fim_shortcuts.py` reports each rule, plus a passage-blind bag-of-words classifier,
against chance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rlvr.synth.fim.guards import MASK
from rlvr.synth.fim.text import tokens

_WORD = re.compile(r"[a-z0-9]+")
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|neither|nor|without|nothing|nobody)\b|n't\b", re.I)
_SENT_END = re.compile(r"(?:[.!?:;]|\$\$|```)[\"')\]*_]*$")


@dataclass(frozen=True)
class OptionFeatures:
    n_tokens: int
    overlap_share: float
    overlap_count: int
    boundary_fit: int
    negations: int


def word_set(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def negations(text: str) -> int:
    return len(_NEGATION.findall(text))


def boundary_fit(before: str, after: str, option: str) -> int:
    """0-3: does the option start, end and close its math the way the text around the gap needs?"""
    option = option.strip()
    if not option:
        return 0
    head = before.rstrip(" \t")
    sentence_start = not head or head.endswith("\n") or bool(_SENT_END.search(head))
    first = option.lstrip("*_([`\"'")[:1] or option[:1]
    fit = int(sentence_start != first.islower())
    tail = after.lstrip(" \t")
    goes_on = bool(tail) and (tail[0].islower() or tail[0] in ",;)")
    ends = bool(_SENT_END.search(option))
    fit += int(goes_on != ends)
    fit += int(option.count("$") % 2 == 0)
    return fit


def option_features(masked: str, options: Sequence[str]) -> list[OptionFeatures]:
    """The features of every option of an item whose masked text is `masked` (one [MASK])."""
    before, _, after = masked.partition(MASK)
    context = word_set(before + " " + after)
    out = []
    for text in options:
        ws = word_set(text)
        shared = len(ws & context)
        out.append(OptionFeatures(len(tokens(text)), round(shared / max(len(ws), 1), 6), shared,
                                  boundary_fit(before, after, text), negations(text)))
    return out


# name -> option score; the rule picks the option with the highest score
RULES: dict[str, Callable[[OptionFeatures], float]] = {
    "longest": lambda f: f.n_tokens,
    "shortest": lambda f: -f.n_tokens,
    "overlap_share": lambda f: f.overlap_share,
    "overlap_count": lambda f: f.overlap_count,
    "boundary_fit": lambda f: f.boundary_fit,
    "fewest_negations": lambda f: -f.negations,
}


def pick_credit(scores: Sequence[float], key: int) -> float:
    """1/|ties| when the key is among the highest scores, else 0 (a random pick among the ties)."""
    top = max(scores)
    tied = [i for i, s in enumerate(scores) if s == top]
    return 1.0 / len(tied) if key in tied else 0.0


def rule_credits(features: Sequence[OptionFeatures], key: int) -> dict[str, float]:
    return {name: pick_credit([rule(f) for f in features], key) for name, rule in RULES.items()}


def heuristic_accuracy(items: Sequence[tuple[str, Sequence[str], int]]) -> dict[str, float]:
    """Mean credit of every rule over (masked text, options, key index) items, plus `chance`."""
    totals = dict.fromkeys(RULES, 0.0)
    chance = 0.0
    for masked, options, key in items:
        for name, credit in rule_credits(option_features(masked, options), key).items():
            totals[name] += credit
        chance += 1.0 / len(options)
    n = max(len(items), 1)
    return {"chance": chance / n, **{k: v / n for k, v in totals.items()}}


def twin_similarity(a: str, b: str) -> float:
    """Similarity of two options' token sequences (difflib ratio): near 1 for an option and its
    perturbation, which differ in one edit."""
    from difflib import SequenceMatcher

    return SequenceMatcher(None, tokens(a), tokens(b), autojunk=False).ratio()


def has_twin(options: Sequence[str], threshold: float = 0.7) -> list[bool]:
    """Which options have a near-identical sibling among the others."""
    return [any(i != j and twin_similarity(a, b) >= threshold for j, b in enumerate(options))
            for i, a in enumerate(options)]


def blind_bow_accuracy(items: Sequence[tuple[Sequence[str], int]], seed: int = 0, folds: int = 2) -> float:
    """Accuracy of a bag-of-words logistic regression that sees the options but never the passage,
    trained to tell keys from distractors and evaluated by `folds`-fold cross-validation over items
    (an item's options are all in the same fold); it picks each item's highest-scoring option."""
    import random

    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    fold_of = {i: k % folds for k, i in enumerate(order)}
    credit = 0.0
    for fold in range(folds):
        train = [i for i in range(len(items)) if fold_of[i] != fold]
        test = [i for i in range(len(items)) if fold_of[i] == fold]
        texts = [o for i in train for o in items[i][0]]
        labels = [int(j == items[i][1]) for i in train for j in range(len(items[i][0]))]
        if not test or len(set(labels)) < 2:
            continue
        vec = CountVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b|[^\w\s]", binary=True, min_df=2)
        model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
        model.fit(vec.fit_transform(texts), labels)
        for i in test:
            scores = model.decision_function(vec.transform(list(items[i][0])))
            credit += pick_credit(list(np.round(scores, 9)), items[i][1])
    return credit / max(len(items), 1)
