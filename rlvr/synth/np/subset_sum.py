"""Subset sum, most-elements variant: pick numbers that add up to exactly the target, using as
many numbers as possible (NP-Engine's variant of the decision problem).

Instance (NP-Engine's generator): a planted subset sets the target, several other subsets of
the same size are planted with the same sum ("variants", so no single lucky guess finds the
answer), and the rest are random fillers. NP-Engine's easy setting (5-10 numbers in 1-5) has
only a few thousand distinct multisets, so the easy end here uses 9-12 numbers in 1-20, and the
value range grows with difficulty (1-30, 1-40) instead of NP-Engine's 1-10 and 1-15.

Reference: exact DP over (count, sum) with Python-int bitsets (NP-Engine solves this exactly
too), so the reference is always optimal. Exact (for tests): enumeration of subsets from the
largest size down.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, distinct, in_range, int_list, render_list
from rlvr.synth.np.base import MAX, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import multiset_fingerprint
from rlvr.synth.np.prompt import build_prompt


@dataclass
class SubsetSumConfig(NPConfig):
    numbers: tuple[int, int] | None = field(default=None, metadata={"help": "how many numbers, range [lo, hi]"})
    solution_size: tuple[int, int] | None = field(default=None, metadata={"help": "planted subset size range"})
    values: tuple[int, int] | None = field(default=None, metadata={"help": "range of each number"})
    variants: tuple[int, int] | None = field(default=None, metadata={"help": "planted subsets sharing the target"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "numbers": ((9, 12), (10, 14), (12, 16)),
        "solution_size": ((3, 5), (4, 7), (6, 9)),
        "values": ((1, 20), (1, 30), (1, 40)),
        "variants": ((2, 3), (3, 4), (4, 5)),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "numbers": (1, 1000), "solution_size": (1, 1000), "values": (1, 10**6), "variants": (1, 100),
    }
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"numbers": (0, 4)}, {"values": (0, 10)}, {"values": (9, 3)},
        {"numbers": (4, 5), "solution_size": (6, 7)},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.numbers is not None and self.solution_size is not None and self.solution_size[1] > self.numbers[0]:
            raise ValueError(f"SubsetSumConfig: solution_size {list(self.solution_size)} can exceed numbers "
                             f"{list(self.numbers)}; keep the planted subset within the smallest instance")


def max_count_subset(numbers: list[int], target: int) -> list[int] | None:
    """Indices of a largest subset summing exactly to target, or None. reach[c] is a bitset of
    the sums reachable with exactly c numbers; one snapshot per number allows the backtrack."""
    mask = (1 << (target + 1)) - 1
    reach = [1] + [0] * len(numbers)
    history = []
    for i, v in enumerate(numbers):
        history.append(list(reach))
        for c in range(i + 1, 0, -1):
            reach[c] |= (reach[c - 1] << v) & mask
    best = next((c for c in range(len(numbers), -1, -1) if reach[c] >> target & 1), None)
    if best is None:
        return None
    chosen, c, t = [], best, target
    for i in range(len(numbers) - 1, -1, -1):
        v = numbers[i]
        if c and t >= v and history[i][c - 1] >> (t - v) & 1:
            chosen.append(i)
            c, t = c - 1, t - v
    return sorted(chosen)


def _subset_with_sum(rng: random.Random, size: int, total: int, lo: int, hi: int) -> list[int] | None:
    """`size` numbers in [lo, hi] summing to `total`: random draws nudged onto the sum."""
    if not size * lo <= total <= size * hi:
        return None
    vals = [rng.randint(lo, hi) for _ in range(size)]
    diff = total - sum(vals)
    for _ in range(50 * size):
        if diff == 0:
            return vals
        i = rng.randrange(size)
        step = min(diff, hi - vals[i]) if diff > 0 else max(diff, lo - vals[i])
        vals[i] += step
        diff -= step
    return vals if diff == 0 else None


class SubsetSum(Problem):
    name = "np.subset_sum"
    title = "the subset sum problem (most elements)"
    sense = MAX
    solver = "exact DP over (count, sum) bitsets"
    config_cls = SubsetSumConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n = sample(rng, knobs["numbers"])
        k = min(n, sample(rng, knobs["solution_size"]))
        lo, hi = knobs["values"]
        planted = [rng.randint(lo, hi) for _ in range(k)]
        target = sum(planted)
        numbers = list(planted)
        for _ in range(min(sample(rng, knobs["variants"]), n // k) - 1):
            variant = _subset_with_sum(rng, k, target, lo, hi)
            if variant is not None and sorted(variant) != sorted(planted):
                numbers.extend(variant)
        numbers.extend(rng.randint(lo, hi) for _ in range(n - len(numbers)))
        order = list(range(n))
        rng.shuffle(order)
        return {"target": target, "numbers": [numbers[j] for j in order],
                "planted": sorted(order.index(j) for j in range(k))}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        best = max_count_subset(instance["numbers"], instance["target"])
        if best is None:  # impossible: the planted subset sums to the target
            raise RuntimeError(f"{self.name}: no subset reaches the planted target {instance['target']}")
        return Reference(best, True)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        numbers, target = instance["numbers"], instance["target"]
        for size in range(len(numbers), 0, -1):
            for combo in combinations(range(len(numbers)), size):
                if sum(numbers[i] for i in combo) == target:
                    return list(combo)
        return []

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        return [[], list(range(len(instance["numbers"])))]  # nothing, everything

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "number ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        numbers = instance["numbers"]
        in_range(solution, len(numbers), "number id")
        distinct(solution, "number id")
        total = sum(numbers[i] for i in solution)
        if total != instance["target"]:
            raise Infeasible(f"the chosen numbers sum to {total}, not the target {instance['target']}")
        return len(solution)

    def render(self, solution: list[int]) -> str:
        return render_list(sorted(solution))

    def describe(self, instance: dict[str, Any]) -> str:
        rows = "\n".join(f"{i}: {v}" for i, v in enumerate(instance["numbers"]))
        return build_prompt(
            title=self.title,
            description=(
                "Given a list of numbers (id: value) and a target, choose numbers whose values add up to "
                "exactly the target. Among all such choices, use as many numbers as possible. Each id can be "
                "used at most once."
            ),
            answer_format=(
                "A list of the ids of the chosen numbers, e.g. [0, 1, 4], with no repeats; their values must "
                "sum to the target."
            ),
            example_input="target 10\n0: 2\n1: 3\n2: 7\n3: 8\n4: 5",
            example_answer="[0, 1, 4]",
            instance=f"target {instance['target']}\n{len(instance['numbers'])} numbers:\n{rows}",
            placeholder="[ids of the chosen numbers]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        return multiset_fingerprint(self.name, instance["numbers"], target=instance["target"])

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"numbers": len(instance["numbers"]), "target": instance["target"]}


PROBLEM = register_problem(SubsetSum())
