"""0/1 knapsack: choose items of maximum total value whose total weight fits the capacity.

Instance (NP-Engine's generator): a planted set of good-ratio items sets the capacity (its
weight times a slack factor), then distractors are added: heavy low-value items, cheap filler,
and "traps" (heavy items with a good ratio that crowd out the planted set). Every knob follows
NP-Engine's easy / medium / hard presets.

Reference: exact dynamic programming over capacities (NP-Engine's solver), vectorised with
numpy, so the reference is always optimal. Exact (for tests): an independent branch and bound
with the fractional (Dantzig) bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, distinct, in_range, int_list, render_list
from rlvr.synth.np.base import MAX, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import multiset_fingerprint
from rlvr.synth.np.prompt import build_prompt


@dataclass
class KnapsackConfig(NPConfig):
    solution_items: tuple[int, int] | None = field(default=None, metadata={"help": "planted item count range"})
    distractors: tuple[int, int] | None = field(default=None, metadata={"help": "distractor item count range"})
    weights: tuple[int, int] | None = field(default=None, metadata={"help": "planted item weight range"})
    ratio: tuple[float, float] | None = field(default=None, metadata={"help": "planted value/weight ratio range"})
    slack: tuple[float, float] | None = field(default=None, metadata={"help": "capacity / planted weight range"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "solution_items": ((6, 10), (8, 12), (15, 25)),
        "distractors": ((8, 15), (15, 25), (20, 35)),
        "weights": ((5, 25), (20, 80), (50, 200)),
        "ratio": ((1.8, 2.5), (1.5, 2.0), (1.2, 1.6)),
        "slack": ((1.1, 1.4), (1.05, 1.25), (1.02, 1.15)),
        # distractor kinds scale with the planted weights (NP-Engine's ranges, as multiples)
        "filler_ratio": ((0.3, 0.8), (0.6, 1.0), (0.8, 1.1)),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "solution_items": (1, 500), "distractors": (0, 500), "weights": (1, 100_000),
        "ratio": (0.1, 100.0), "slack": (1.0, 10.0), "filler_ratio": (0.01, 100.0),
    }
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"solution_items": (0, 3)}, {"weights": (30, 10)}, {"slack": (0.5, 0.9)},
        {"ratio": (2.0,)},
    )


def dp_knapsack(weights: list[int], values: list[int], capacity: int) -> list[int]:
    """Optimal item set by DP over capacities; one numpy pass per item, then a backtrack."""
    import numpy as np

    n = len(weights)
    best = np.zeros(capacity + 1, dtype=np.int64)
    take = np.zeros((n, capacity + 1), dtype=bool)
    for i, (w, v) in enumerate(zip(weights, values)):
        if w > capacity:
            continue
        with_item = best[:-w] + v if w else best + v
        better = with_item > best[w:]
        take[i, w:] = better
        best[w:] = np.where(better, with_item, best[w:])
    chosen, c = [], capacity
    for i in range(n - 1, -1, -1):
        if take[i, c]:
            chosen.append(i)
            c -= weights[i]
    return sorted(chosen)


def branch_and_bound(weights: list[int], values: list[int], capacity: int) -> list[int]:
    """Optimal item set by depth-first branch and bound with the fractional relaxation bound."""
    order = sorted(range(len(weights)), key=lambda i: -values[i] / weights[i])
    w = [weights[i] for i in order]
    v = [values[i] for i in order]
    best_value, best_set = -1, []

    def bound(i: int, room: int, value: float) -> float:
        while i < len(w) and w[i] <= room:
            room -= w[i]
            value += v[i]
            i += 1
        return value + (v[i] * room / w[i] if i < len(w) else 0)

    def rec(i: int, room: int, value: int, chosen: list[int]) -> None:
        nonlocal best_value, best_set
        if value > best_value:
            best_value, best_set = value, list(chosen)
        if i == len(w) or bound(i, room, value) <= best_value:
            return
        if w[i] <= room:
            chosen.append(order[i])
            rec(i + 1, room - w[i], value + v[i], chosen)
            chosen.pop()
        rec(i + 1, room, value, chosen)

    rec(0, capacity, 0, [])
    return sorted(best_set)


class Knapsack(Problem):
    name = "np.knapsack"
    title = "the 0/1 knapsack problem"
    sense = MAX
    solver = "exact dynamic programming over capacities"
    config_cls = KnapsackConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        k = sample(rng, knobs["solution_items"])
        total = k + sample(rng, knobs["distractors"])
        ids = list(range(total))
        rng.shuffle(ids)
        weights, values = [0] * total, [0] * total
        wlo, whi = knobs["weights"]
        planted_weight = 0
        for i in ids[:k]:
            weights[i] = rng.randint(wlo, whi)
            values[i] = max(1, int(weights[i] * sample(rng, knobs["ratio"])))
            planted_weight += weights[i]
        filler = knobs["filler_ratio"]
        for i in ids[k:]:
            kind = rng.choices(("heavy", "cheap", "trap"), (0.4, 0.4, 0.2))[0]
            if kind == "heavy":  # heavy and low value
                w, ratio = rng.randint(int(1.5 * whi), int(2.5 * whi)), sample(rng, filler)
            elif kind == "cheap":  # light filler, lower value still
                w, ratio = rng.randint(max(1, wlo // 2), max(1, whi // 2)), sample(rng, filler)
            else:  # a trap: good ratio, but so heavy it crowds out the planted set
                w = rng.randint(max(1, planted_weight // 2), max(1, planted_weight * 9 // 10))
                ratio = sample(rng, knobs["ratio"])
            weights[i], values[i] = w, max(1, int(w * ratio))
        capacity = int(planted_weight * sample(rng, knobs["slack"]))
        return {"capacity": capacity, "weights": weights, "values": values, "planted": sorted(ids[:k])}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        return Reference(dp_knapsack(instance["weights"], instance["values"], instance["capacity"]), True)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        return branch_and_bound(instance["weights"], instance["values"], instance["capacity"])

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        n = len(instance["weights"])
        return [[], [0], list(range(n))]  # nothing, the first item, everything

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "item ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        weights, values = instance["weights"], instance["values"]
        in_range(solution, len(weights), "item")
        distinct(solution, "item")
        weight = sum(weights[i] for i in solution)
        if weight > instance["capacity"]:
            raise Infeasible(f"total weight {weight} exceeds the capacity {instance['capacity']}")
        return sum(values[i] for i in solution)

    def render(self, solution: list[int]) -> str:
        return render_list(sorted(solution))

    def describe(self, instance: dict[str, Any]) -> str:
        rows = "\n".join(f"{i}: weight {w}, value {v}" for i, (w, v) in
                         enumerate(zip(instance["weights"], instance["values"])))
        return build_prompt(
            title=self.title,
            description=(
                "Choose a subset of the items below to pack into a knapsack. The total weight of the chosen "
                "items must not exceed the capacity, and their total value should be as large as possible. "
                "Each item can be packed at most once."
            ),
            answer_format=(
                "A list of the ids of the items you pack, e.g. [0, 3, 5], with no repeats."
            ),
            example_input="capacity 10\n0: weight 3, value 4\n1: weight 4, value 5\n2: weight 7, value 10\n3: weight 8, value 11",
            example_answer="[0, 2]",
            instance=f"capacity {instance['capacity']}\n{len(instance['weights'])} items:\n{rows}",
            placeholder="[ids of the items you pack]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        return multiset_fingerprint(self.name, list(zip(instance["weights"], instance["values"])),
                                    capacity=instance["capacity"])

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"items": len(instance["weights"]), "capacity": instance["capacity"]}


PROBLEM = register_problem(Knapsack())
