"""Maximum independent set: find the largest set of pairwise non-adjacent vertices.

Instance (NP-Engine's generator): a planted independent set of k vertices; planted-to-other
pairs are edges with probability `cross_density`, other pairs with `density`, ids shuffled.

Reference: NP-Engine's solver, greedy randomized clique search on the complement graph, with
restarts, stopped early at the clique-cover upper bound (greedy colouring of the complement);
never worse than the planted set. Exact: maximum clique of the complement by branch and bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, distinct, in_range, int_list, render_list
from rlvr.synth.np.base import MAX, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import graph_fingerprint
from rlvr.synth.np.graphs import bitsets, colour_bound, complement, edges_to_adj, grasp_clique, max_clique
from rlvr.synth.np.prompt import adjacency_lines, build_prompt


@dataclass
class IndependentSetConfig(NPConfig):
    vertices: tuple[int, int] | None = field(default=None, metadata={"help": "vertex count range [lo, hi]"})
    planted: tuple[int, int] | None = field(default=None, metadata={"help": "planted independent set size range"})
    density: float | None = field(default=None, metadata={"help": "edge probability between other vertices"})
    cross_density: float | None = field(default=None, metadata={"help": "edge probability planted-to-other"})
    restarts: int | None = field(default=None, metadata={"help": "greedy restarts of the reference solver (default 2 x vertices)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "vertices": ((12, 20), (20, 30), (30, 40)),
        "planted": ((4, 8), (8, 12), (12, 16)),
        "density": (0.4, 0.4, 0.4),
        "cross_density": (0.4, 0.4, 0.4),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "vertices": (3, 200), "planted": (1, 200), "density": (0.0, 1.0), "cross_density": (0.0, 1.0),
    }
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"vertices": (20, 10)}, {"planted": (0, 3)}, {"cross_density": -0.2},
        {"vertices": (5, 6), "planted": (7, 9)}, {"restarts": 0},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vertices is not None and self.planted is not None and self.planted[1] > self.vertices[0]:
            raise ValueError(f"IndependentSetConfig: planted {list(self.planted)} can exceed vertices "
                             f"{list(self.vertices)}; keep the planted size at most the smallest vertex count")
        if self.restarts is not None and self.restarts < 1:
            raise ValueError(f"IndependentSetConfig.restarts must be at least 1, got {self.restarts}")


class MaxIndependentSet(Problem):
    name = "np.max_independent_set"
    title = "the maximum independent set problem"
    sense = MAX
    solver = "greedy randomized clique restarts on the complement, stopped at the clique-cover bound"
    exact_limit = ("vertices", 40)
    config_cls = IndependentSetConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n = sample(rng, knobs["vertices"])
        k = min(n, sample(rng, knobs["planted"]))
        planted = set(rng.sample(range(n), k))
        p_in, p_cross = knobs["density"], knobs["cross_density"]
        edges = []
        rand = rng.random
        for u in range(n):
            for v in range(u + 1, n):
                inside = (u in planted) + (v in planted)
                if inside < 2 and rand() < (p_cross if inside == 1 else p_in):
                    edges.append([u, v])
        return {"n": n, "edges": edges, "planted": sorted(planted)}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        n = instance["n"]
        comp = complement(bitsets(n, instance["edges"]))
        upper = colour_bound(comp)  # a clique cover of the original graph
        best = grasp_clique(comp, rng, config.restarts or 2 * n, upper)
        if len(instance["planted"]) > len(best):
            best = instance["planted"]
        return Reference(best, True if len(best) >= upper else None)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        return max_clique(complement(bitsets(instance["n"], instance["edges"])))

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        return [[0]] if instance["n"] else [[]]  # one vertex is always independent

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "vertex ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        in_range(solution, instance["n"], "vertex")
        distinct(solution, "vertex")
        bits = bitsets(instance["n"], instance["edges"])
        chosen = 0
        for v in solution:
            chosen |= 1 << v
        for v in solution:
            if bits[v] & chosen:
                u = (bits[v] & chosen & -(bits[v] & chosen)).bit_length() - 1
                raise Infeasible(f"vertices {v} and {u} are adjacent, so the set is not independent")
        return len(solution)

    def render(self, solution: list[int]) -> str:
        return render_list(sorted(solution))

    def describe(self, instance: dict[str, Any]) -> str:
        n = instance["n"]
        return build_prompt(
            title=self.title,
            description=(
                "Given an undirected graph as adjacency lists (vertex: [its neighbours]), find an "
                "independent set that is as large as possible: a set of vertices no two of which are "
                "joined by an edge."
            ),
            answer_format=(
                "A list of the vertex ids in your set, e.g. [0, 3, 5, 7]. No two listed vertices may be "
                "adjacent and no vertex may repeat."
            ),
            example_input="0: [1, 2]\n1: [0, 2, 3]\n2: [0, 1, 3]\n3: [1, 2]",
            example_answer="[0, 3]",
            instance=f"{n} vertices:\n{adjacency_lines(n, edges_to_adj(n, instance['edges']))}",
            placeholder="[vertex ids of your independent set]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        return graph_fingerprint(self.name, edges_to_adj(instance["n"], instance["edges"]))

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"vertices": instance["n"], "edges": len(instance["edges"])}


PROBLEM = register_problem(MaxIndependentSet())
