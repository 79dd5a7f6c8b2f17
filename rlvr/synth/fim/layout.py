"""How an item's options relate to one another, and which candidates fill them.

An item's options fall into *groups*: an original text (the answer, or a wrong span from the same
topic) and zero or more perturbations of it, near-identical twins that differ in one checkable
edit. If only the answer ever had a twin, "pick the option that has a twin" would find it; if the
answer always had one and exactly one other pair existed, "pick the on-topic pair, then the
grammatical member" would. So the layout is drawn per item:

1. `draw_layout`: how many of the K options are perturbations (0 to K // 2), spread over the
   originals, at most `max_group - 1` per original.
2. `place_answer`: the answer takes a uniformly random one of the K option slots, so it is in a
   group of size z with probability z * (groups of size z) / K. A solver that picks any option by
   the shape of its group (twinned or not, pair or triple) then scores chance.
3. `choose`: among the candidate fillings of the other groups, the one whose shortcut features
   put the answer at a rank (by length, word overlap with the passage, negations, boundary fit)
   closest to a rank drawn uniformly per item, so that none of these cues points at the answer
   more (or less) often than chance, and the answer is not much longer or shorter than every
   other option.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from rlvr.synth.fim.guards import LENGTH_RATIO
from rlvr.synth.fim.shortcuts import OptionFeatures, option_features, pick_credit

# feature -> weight of its rank miss; word overlap (the answer comes from the passage) and length
# are the strongest cues, so they count double
FEATURES = {"n_tokens": 2.0, "overlap_share": 2.0, "overlap_count": 2.0, "negations": 1.0, "boundary_fit": 1.0}
MAX_FILLINGS = 256  # candidate fillings scored per item


def draw_layout(k: int, max_group: int, rng: random.Random) -> list[int]:
    """Group sizes (largest first) summing to k: 0..k//2 perturbations spread over the originals."""
    if max_group <= 1:
        return [1] * k
    n_pert = rng.randint(0, k // 2)
    sizes = [1] * (k - n_pert)
    for _ in range(n_pert):
        open_ = [i for i, z in enumerate(sizes) if z < max_group]
        if not open_:
            break
        sizes[rng.choice(open_)] += 1
    sizes += [1] * (k - sum(sizes))
    return sorted(sizes, reverse=True)


def place_answer(sizes: list[int], available: int, rng: random.Random) -> tuple[list[int], int]:
    """(layout, index of the group the answer heads): the group of a uniformly drawn option slot,
    among the groups whose perturbations the answer can supply (`available` of them). When none
    can, the smallest group is cut down to what the answer has, the rest becoming single options."""
    slots = [g for g, z in enumerate(sizes) for _ in range(z) if z - 1 <= available]
    if not slots:
        smallest = min(sizes)
        i = sizes.index(smallest)
        sizes = sorted(sizes[:i] + sizes[i + 1:] + [available + 1] + [1] * (smallest - available - 1), reverse=True)
        slots = [g for g, z in enumerate(sizes) for _ in range(z) if z - 1 <= available]
    return sizes, rng.choice(slots)


@dataclass(frozen=True)
class Filling:
    """One way to fill an item: the distractor texts (in option order after the answer) and, for
    the caller, an opaque payload per distractor."""

    texts: tuple[str, ...]
    payload: tuple


def rank(features: Sequence[OptionFeatures], name: str, i: int = 0) -> float:
    """Option i's rank on one feature among all options (0 = highest); ties count half."""
    mine = getattr(features[i], name)
    others = [getattr(f, name) for j, f in enumerate(features) if j != i]
    return sum(v > mine for v in others) + 0.5 * sum(v == mine for v in others)


def overlap_top_credit(masked: str, options: Sequence[str]) -> float:
    """How much "pick the option sharing the most words with the passage" (by share or by count,
    whichever credits it more) would earn on option 0: 1 when it tops both alone, 1/n in an n-way tie."""
    feats = option_features(masked, options)
    return max(pick_credit([f.overlap_share for f in feats], 0), pick_credit([f.overlap_count for f in feats], 0))


def length_ok(answer_tokens: int, others: Sequence[int]) -> bool:
    longest, shortest = max(others), min(others)
    return answer_tokens <= LENGTH_RATIO * longest and answer_tokens * LENGTH_RATIO >= shortest


def choose(masked: str, answer: str, fillings: Sequence[Filling], rng: random.Random) -> Filling | None:
    """The filling whose features put the answer closest to per-item random target ranks, among
    those that pass the length guard (None when none does). Scored on at most MAX_FILLINGS."""
    if not fillings:
        return None
    k = 1 + len(fillings[0].texts)
    targets = {name: rng.randrange(k) for name in FEATURES}
    pool = list(fillings)
    if len(pool) > MAX_FILLINGS:
        pool = rng.sample(pool, MAX_FILLINGS)
    best, best_cost = None, float("inf")
    for f in pool:
        feats = option_features(masked, [answer, *f.texts])
        if not length_ok(feats[0].n_tokens, [x.n_tokens for x in feats[1:]]):
            continue
        cost = sum(w * abs(rank(feats, name) - targets[name]) for name, w in FEATURES.items())
        if cost < best_cost:
            best, best_cost = f, cost
    return best


def group_fillings(sizes: Sequence[int], capacity: Sequence[int], rng: random.Random, limit: int = MAX_FILLINGS
                   ) -> list[tuple[int, ...]]:
    """Up to `limit` ways (shuffled; all of them when there are few) to give each group a distinct
    original, where a group of size z needs an original with at least z - 1 perturbations
    (`capacity[i]` of original i). Empty when no way exists."""
    n = len(capacity)
    if len(sizes) > n:
        return []
    options = [[i for i in range(n) if capacity[i] >= z - 1] for z in sizes]

    def canonical(pick: Sequence[int]) -> tuple[int, ...]:  # groups of one size are interchangeable
        return tuple(i for _, i in sorted(zip((-z for z in sizes), pick), key=lambda t: t))

    out: list[tuple[int, ...]] = []
    total = 1
    for opts in options:
        total *= max(len(opts), 1)
    if total <= 4 * limit:
        out = sorted({canonical(p) for p in itertools.product(*options) if len(set(p)) == len(p)})
        rng.shuffle(out)
        return out[:limit]
    seen: set[tuple[int, ...]] = set()
    for _ in range(8 * limit):
        pick: list[int] = []
        for opts in options:
            free = [i for i in opts if i not in pick]
            if not free:
                break
            pick.append(rng.choice(free))
        key = canonical(pick)
        if len(key) == len(sizes) and key not in seen:
            seen.add(key)
            out.append(key)
            if len(out) == limit:
                break
    return out
