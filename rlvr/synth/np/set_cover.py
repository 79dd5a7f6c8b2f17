"""Set cover: pick as few of the given subsets as possible so that every element is covered.

Instance (NP-Engine's generator): random subsets of sizes 2..40% of the universe; if some
elements are left uncovered, one more subset made of exactly those elements is added, so a
cover always exists.

Reference: NP-Engine's solver, greedy start then simulated annealing over irredundant covers
(remove one subset, repair greedily, drop redundant ones), with randomized greedy restarts and
a fixed step budget; it stops early when the cover meets a packing lower bound (elements no two
of which share a subset each need their own subset), which certifies it optimal.
Exact (for tests): enumeration of subset combinations in increasing size.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, distinct, in_range, int_list, render_list
from rlvr.synth.np.base import MIN, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import incidence_fingerprint
from rlvr.synth.np.prompt import build_prompt


@dataclass
class SetCoverConfig(NPConfig):
    universe: tuple[int, int] | None = field(default=None, metadata={"help": "universe size range"})
    subsets: tuple[int, int] | None = field(default=None, metadata={"help": "subset count range (before the repair subset)"})
    max_fraction: float | None = field(default=None, metadata={"help": "largest subset as a fraction of the universe"})
    steps: int | None = field(default=None, metadata={"help": "annealing steps of the reference solver (default 6 x subsets)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "universe": ((10, 20), (20, 25), (25, 30)),
        "subsets": ((6, 10), (10, 15), (15, 25)),
        "max_fraction": (0.4, 0.4, 0.4),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "universe": (2, 10_000), "subsets": (1, 10_000), "max_fraction": (0.01, 1.0),
    }
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"universe": (1, 5)}, {"subsets": (8, 2)}, {"max_fraction": 0.0}, {"steps": -5},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.steps is not None and self.steps < 0:
            raise ValueError(f"SetCoverConfig.steps must be >= 0, got {self.steps}")


def _masks(subsets: list[list[int]]) -> list[int]:
    out = []
    for s in subsets:
        m = 0
        for e in s:
            m |= 1 << e
        out.append(m)
    return out


def _greedy(masks: list[int], full: int, rng: random.Random, chosen: list[int], alpha: float) -> list[int]:
    """Extend `chosen` to a cover, each time taking a subset whose number of newly covered
    elements is within `alpha` of the best (alpha 0: the classic greedy), ties at random."""
    covered = 0
    for i in chosen:
        covered |= masks[i]
    chosen = list(chosen)
    while covered != full:
        gains = [((m & ~covered).bit_count(), i) for i, m in enumerate(masks)]
        top = max(g for g, _ in gains)
        pool = [i for g, i in gains if g and g >= top * (1 - alpha)]
        pick = pool[rng.randrange(len(pool))] if len(pool) > 1 else pool[0]
        chosen.append(pick)
        covered |= masks[pick]
    return chosen


def _prune(masks: list[int], full: int, chosen: list[int], rng: random.Random) -> list[int]:
    """Drop redundant subsets, visiting them in random order. A subset is redundant when every
    element it has is covered at least twice; `once`/`twice` hold those coverage levels and are
    recomputed only after a removal."""
    chosen = list(chosen)
    rng.shuffle(chosen)

    def levels() -> int:
        once = twice = 0
        for j in chosen:
            twice |= once & masks[j]
            once |= masks[j]
        return twice

    twice, i = levels(), 0
    while i < len(chosen):
        if masks[chosen[i]] & ~twice:
            i += 1
        else:
            chosen.pop(i)
            twice = levels()
    return chosen


def packing_bound(masks: list[int], universe: int) -> int:
    """Elements pairwise sharing no subset each need a different subset: a lower bound. Built
    greedily from the rarest elements."""
    holders = [[i for i, m in enumerate(masks) if m >> e & 1] for e in range(universe)]
    used: set[int] = set()
    count = 0
    for hs in sorted(holders, key=len):
        if not used.intersection(hs):
            used.update(hs)
            count += 1
    return count


class SetCover(Problem):
    name = "np.set_cover"
    title = "the set cover problem"
    sense = MIN
    solver = "randomized greedy restarts + simulated annealing (remove, repair, prune), stopped at a packing bound"
    exact_limit = ("subsets", 20)
    config_cls = SetCoverConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        m = sample(rng, knobs["universe"])
        s = sample(rng, knobs["subsets"])
        biggest = max(2, int(m * knobs["max_fraction"]))
        subsets = [sorted(rng.sample(range(m), rng.randint(min(2, m), min(m, biggest)))) for _ in range(s)]
        covered = set().union(*subsets)
        if len(covered) < m:  # NP-Engine's repair: one subset of exactly the uncovered elements
            subsets.insert(rng.randrange(len(subsets) + 1), sorted(set(range(m)) - covered))
        return {"universe": m, "subsets": subsets}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        masks, full = _masks(instance["subsets"]), (1 << instance["universe"]) - 1
        lower = packing_bound(masks, instance["universe"])
        best = _prune(masks, full, _greedy(masks, full, rng, [], 0.0), rng)
        for _ in range(3):  # a few randomized greedy restarts
            if len(best) <= lower:
                break
            cand = _prune(masks, full, _greedy(masks, full, rng, [], 0.3), rng)
            if len(cand) < len(best):
                best = cand
        current, temp = best, 1.0
        steps = 6 * len(masks) if config.steps is None else config.steps
        for _ in range(steps):
            if len(best) <= lower:
                break
            drop = rng.randrange(len(current))
            cand = _prune(masks, full, _greedy(masks, full, rng, current[:drop] + current[drop + 1:], 0.3), rng)
            delta = len(cand) - len(current)
            if delta <= 0 or rng.random() < math.exp(-delta / temp):
                current = cand
                if len(current) < len(best):
                    best = current
            temp = max(0.05, temp * 0.97)
        return Reference(sorted(best), True if len(best) <= lower else None)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        masks, full = _masks(instance["subsets"]), (1 << instance["universe"]) - 1
        for size in range(1, len(masks) + 1):
            for combo in combinations(range(len(masks)), size):
                covered = 0
                for i in combo:
                    covered |= masks[i]
                if covered == full:
                    return list(combo)
        raise ValueError("the subsets do not cover the universe")

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        return [list(range(len(instance["subsets"])))]  # every subset

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "subset ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        subsets = instance["subsets"]
        in_range(solution, len(subsets), "subset")
        distinct(solution, "subset")
        covered: set[int] = set()
        for i in solution:
            covered.update(subsets[i])
        missing = sorted(set(range(instance["universe"])) - covered)
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
            raise Infeasible(f"element(s) {shown} are not covered")
        return len(solution)

    def render(self, solution: list[int]) -> str:
        return render_list(sorted(solution))

    def describe(self, instance: dict[str, Any]) -> str:
        m, subsets = instance["universe"], instance["subsets"]
        rows = "\n".join(f"{i}: {render_list(s)}" for i, s in enumerate(subsets))
        return build_prompt(
            title=self.title,
            description=(
                f"The universe is the elements 0 to {m - 1}. Given the subsets below (id: [elements]), choose "
                "as few subsets as possible whose union is the whole universe, so every element is in at "
                "least one chosen subset."
            ),
            answer_format=(
                "A list of the ids of the chosen subsets, e.g. [0, 3, 4], with no repeats; order does not "
                "matter."
            ),
            example_input="universe 0..5\n0: [0, 1, 2]\n1: [2, 3]\n2: [0, 4]\n3: [3, 4, 5]\n4: [1, 2, 5]",
            example_answer="[0, 3]",
            instance=f"universe 0..{m - 1} ({m} elements)\n{len(subsets)} subsets:\n{rows}",
            placeholder="[ids of the chosen subsets]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        subsets = instance["subsets"]
        edges = [(i, e) for i, s in enumerate(subsets) for e in s]
        return incidence_fingerprint(self.name, [0] * len(subsets), [0] * instance["universe"], edges)

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"universe": instance["universe"], "subsets": len(instance["subsets"])}


PROBLEM = register_problem(SetCover())
