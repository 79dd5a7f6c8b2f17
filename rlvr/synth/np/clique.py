"""Maximum clique: find the largest set of pairwise adjacent vertices.

Instance (NP-Engine's generator): a planted clique of k vertices; clique-to-other pairs are
edges with probability `cross_density`, other pairs with `density`, vertex ids shuffled so the
clique is not 0..k-1. NP-Engine's easy graphs have 4-8 vertices, of which there are only a few
thousand up to isomorphism, so the easy end here starts at 10 vertices, and medium / hard grow
to 14-20 / 20-28 vertices (NP-Engine: 8-12 / 12-16), where a clique is no longer visible at a
glance.

Reference: greedy randomized restarts (NP-Engine's solver), stopped early when the clique
reaches the greedy-colouring upper bound (then it is certified optimal); never worse than the
planted clique. Exact: branch and bound with colouring bounds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, distinct, in_range, int_list, render_list
from rlvr.synth.np.base import MAX, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import graph_fingerprint
from rlvr.synth.np.graphs import (
    bitsets,
    colour_bound,
    edges_to_adj,
    grasp_clique,
    is_clique,
    max_clique,
)
from rlvr.synth.np.prompt import adjacency_lines, build_prompt


@dataclass
class CliqueConfig(NPConfig):
    vertices: tuple[int, int] | None = field(default=None, metadata={"help": "vertex count range [lo, hi]"})
    clique: tuple[int, int] | None = field(default=None, metadata={"help": "planted clique size range"})
    density: float | None = field(default=None, metadata={"help": "edge probability between non-clique vertices"})
    cross_density: float | None = field(default=None, metadata={"help": "edge probability clique-to-other"})
    restarts: int | None = field(default=None, metadata={"help": "greedy restarts of the reference solver (default 2 x vertices)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "vertices": ((10, 14), (14, 20), (20, 28)),
        "clique": ((3, 5), (4, 7), (6, 9)),
        "density": (0.35, 0.45, 0.55),
        "cross_density": (0.3, 0.3, 0.3),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "vertices": (3, 200), "clique": (2, 200), "density": (0.0, 1.0), "cross_density": (0.0, 1.0),
    }
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"vertices": (12, 8)}, {"vertices": (2, 5)}, {"density": 1.5},
        {"vertices": (5, 6), "clique": (7, 8)}, {"restarts": 0},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vertices is not None and self.clique is not None and self.clique[1] > self.vertices[0]:
            raise ValueError(f"CliqueConfig: clique {list(self.clique)} can exceed vertices {list(self.vertices)}; "
                             "keep the largest clique at most the smallest vertex count")
        if self.restarts is not None and self.restarts < 1:
            raise ValueError(f"CliqueConfig.restarts must be at least 1, got {self.restarts}")


class MaxClique(Problem):
    name = "np.max_clique"
    title = "the maximum clique problem"
    sense = MAX
    solver = "greedy randomized restarts, stopped at the greedy-colouring bound"
    exact_limit = ("vertices", 40)
    config_cls = CliqueConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n = sample(rng, knobs["vertices"])
        k = min(n, sample(rng, knobs["clique"]))
        planted = set(rng.sample(range(n), k))
        p_in, p_cross = knobs["density"], knobs["cross_density"]
        edges = []
        rand = rng.random
        for u in range(n):
            for v in range(u + 1, n):
                inside = (u in planted) + (v in planted)
                if inside == 2 or rand() < (p_cross if inside == 1 else p_in):
                    edges.append([u, v])
        return {"n": n, "edges": edges, "planted": sorted(planted)}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        n, bits = instance["n"], bitsets(instance["n"], instance["edges"])
        upper = colour_bound(bits)
        best = grasp_clique(bits, rng, config.restarts or 2 * n, upper)
        if len(instance["planted"]) > len(best):
            best = instance["planted"]
        return Reference(best, True if len(best) >= upper else None)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        return max_clique(bitsets(instance["n"], instance["edges"]))

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        return [[0]] if instance["n"] else [[]]  # one vertex is always a clique

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "vertex ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        in_range(solution, instance["n"], "vertex")
        distinct(solution, "vertex")
        pair = is_clique(bitsets(instance["n"], instance["edges"]), solution)
        if pair is not None:
            raise Infeasible(f"vertices {pair[0]} and {pair[1]} are not adjacent, so this is not a clique")
        return len(solution)

    def render(self, solution: list[int]) -> str:
        return render_list(sorted(solution))

    def describe(self, instance: dict[str, Any]) -> str:
        return build_prompt(
            title=self.title,
            description=(
                "Given an undirected graph as adjacency lists (vertex: [its neighbours]), find a clique "
                "that is as large as possible. A clique is a set of vertices in which every two distinct "
                "vertices are joined by an edge."
            ),
            answer_format=(
                "A list of the vertex ids in your clique, e.g. [0, 1, 3, 4]. Every pair in the list must "
                "be adjacent and no vertex may repeat."
            ),
            example_input="0: [1, 2, 3, 4]\n1: [0, 3, 4]\n2: [0, 3]\n3: [0, 1, 2, 4]\n4: [0, 1, 3]",
            example_answer="[0, 1, 3, 4]",
            instance=f"{instance['n']} vertices:\n{adjacency_lines(instance['n'], edges_to_adj(instance['n'], instance['edges']))}",
            placeholder="[vertex ids of your clique]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        return graph_fingerprint(self.name, edges_to_adj(instance["n"], instance["edges"]))

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"vertices": instance["n"], "edges": len(instance["edges"])}


PROBLEM = register_problem(MaxClique())
