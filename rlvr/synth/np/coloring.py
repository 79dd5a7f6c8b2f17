"""Graph colouring (minimum colours): colour the vertices so that adjacent ones differ, using
as few colours as possible.

Instance (NP-Engine's GCP-D generator): the vertices are split into k planted colour classes
(each non-empty) and only pairs in different classes become edges, with probability `density`,
so the graph is k-colourable by construction. Easy graphs have 12-15 vertices and density 0.3
(NP-Engine: 8-12 and 0.2) so that the easiest setting does not repeat itself.

Reference: NP-Engine's DSatur + tabu search (TabuCol): DSatur gives a colouring, the planted
one is taken if better, then TabuCol tries one colour fewer at a time with a fixed iteration
budget until it fails or reaches a clique lower bound (which certifies the result optimal).
Exact: DSatur branch and bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, int_list, render_list
from rlvr.synth.np.base import MIN, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import graph_fingerprint
from rlvr.synth.np.graphs import bitsets, edges_to_adj, grasp_clique
from rlvr.synth.np.prompt import adjacency_lines, build_prompt


@dataclass
class ColoringConfig(NPConfig):
    vertices: tuple[int, int] | None = field(default=None, metadata={"help": "vertex count range [lo, hi]"})
    colours: tuple[int, int] | None = field(default=None, metadata={"help": "planted colour count range"})
    density: float | None = field(default=None, metadata={"help": "edge probability between different planted classes"})
    tabu_iterations: int | None = field(default=None, metadata={"help": "TabuCol moves per colour-count attempt (default 10 x vertices)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "vertices": ((12, 15), (15, 22), (25, 32)),
        "colours": ((3, 4), (4, 6), (6, 8)),
        "density": (0.3, 0.35, 0.5),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {"vertices": (3, 200), "colours": (2, 200), "density": (0.0, 1.0)}
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"vertices": (9, 4)}, {"colours": (1, 3)}, {"density": 2.0},
        {"vertices": (4, 5), "colours": (6, 6)}, {"tabu_iterations": -1},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vertices is not None and self.colours is not None and self.colours[1] > self.vertices[0]:
            raise ValueError(f"ColoringConfig: colours {list(self.colours)} can exceed vertices {list(self.vertices)}")
        if self.tabu_iterations is not None and self.tabu_iterations < 0:
            raise ValueError(f"ColoringConfig.tabu_iterations must be >= 0, got {self.tabu_iterations}")


def dsatur(adj: list[list[int]], rng: random.Random) -> list[int]:
    """DSatur: colour the vertex whose neighbours already use most colours next (ties: higher
    degree, then random), with the smallest colour its neighbours do not use."""
    n = len(adj)
    colour = [-1] * n
    seen: list[set[int]] = [set() for _ in range(n)]
    key = [(0, len(adj[v]), rng.random()) for v in range(n)]
    uncoloured = set(range(n))
    while uncoloured:
        v = max(uncoloured, key=key.__getitem__)
        uncoloured.discard(v)
        c = 0
        while c in seen[v]:
            c += 1
        colour[v] = c
        for u in adj[v]:
            if colour[u] < 0 and c not in seen[u]:
                seen[u].add(c)
                key[u] = (len(seen[u]), key[u][1], key[u][2])
    return colour


def tabucol(adj: list[list[int]], k: int, start: list[int], rng: random.Random, iterations: int) -> list[int] | None:
    """TabuCol (Hertz & de Werra): minimise conflicting edges of a k-colouring by recolouring
    one conflicting vertex per move; moving back to a colour is tabu for 0.6 x conflicts + U[0,9]
    moves unless it beats the best conflict count. Returns a proper colouring or None."""
    n = len(adj)
    colour = list(start)
    gamma = [[0] * k for _ in range(n)]  # gamma[v][c]: neighbours of v coloured c
    for v in range(n):
        g = gamma[v]
        for u in adj[v]:
            g[colour[u]] += 1
    conflicts = sum(gamma[v][colour[v]] for v in range(n)) // 2
    best = conflicts
    tabu = [[0] * k for _ in range(n)]
    for it in range(iterations):
        if conflicts == 0:
            return colour
        best_delta, moves = n * n, []
        for v in range(n):
            gv, cv = gamma[v], colour[v]
            own = gv[cv]
            if not own:
                continue
            tv = tabu[v]
            for c in range(k):
                if c == cv:
                    continue
                d = gv[c] - own
                if d > best_delta or (tv[c] > it and conflicts + d >= best):
                    continue
                if d < best_delta:
                    best_delta, moves = d, [(v, c)]
                else:
                    moves.append((v, c))
        if not moves:
            continue
        v, c = moves[rng.randrange(len(moves))] if len(moves) > 1 else moves[0]
        old = colour[v]
        colour[v] = c
        for u in adj[v]:
            gu = gamma[u]
            gu[old] -= 1
            gu[c] += 1
        conflicts += best_delta
        best = min(best, conflicts)
        tabu[v][old] = it + int(0.6 * conflicts) + rng.randrange(10)
    return colour if conflicts == 0 else None


def _drop_colour(adj: list[list[int]], colour: list[int], k: int) -> list[int]:
    """A k-colouring (possibly improper) from a (k+1)-colouring: each vertex of the highest
    colour moves to the colour fewest of its neighbours use."""
    out = list(colour)
    for v, c in enumerate(colour):
        if c >= k:
            counts = [0] * k
            for u in adj[v]:
                if out[u] < k:
                    counts[out[u]] += 1
            out[v] = counts.index(min(counts))
    return out


def chromatic_exact(adj: list[list[int]]) -> list[int]:
    """An optimal colouring by DSatur branch and bound (Brelaz's exact DSatur). Small graphs only."""
    n = len(adj)
    best: list[int] = dsatur(adj, random.Random(0))
    colour = [-1] * n

    def rec(used: int, done: int) -> None:
        nonlocal best
        if used >= max(best) + 1:
            return
        if done == n:
            best = list(colour)
            return
        v = max((u for u in range(n) if colour[u] < 0),
                key=lambda u: (len({colour[w] for w in adj[u] if colour[w] >= 0}), len(adj[u])))
        taken = {colour[w] for w in adj[v]}
        for c in range(min(used + 1, max(best))):
            if c not in taken:
                colour[v] = c
                rec(max(used, c + 1), done + 1)
                colour[v] = -1

    rec(0, 0)
    return best


class GraphColoring(Problem):
    name = "np.graph_coloring"
    title = "the graph colouring problem"
    sense = MIN
    solver = "DSatur, then TabuCol with one colour fewer until it fails or meets a clique bound"
    exact_limit = ("vertices", 20)
    config_cls = ColoringConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n = sample(rng, knobs["vertices"])
        k = min(n, sample(rng, knobs["colours"]))
        order = list(range(n))
        rng.shuffle(order)
        cls = [0] * n
        for i, v in enumerate(order):
            cls[v] = i if i < k else rng.randrange(k)
        p, rand = knobs["density"], rng.random
        edges = [[u, v] for u in range(n) for v in range(u + 1, n) if cls[u] != cls[v] and rand() < p]
        return {"n": n, "edges": edges, "planted": [c + 1 for c in cls]}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        n = instance["n"]
        adj = edges_to_adj(n, instance["edges"])
        best = dsatur(adj, rng)
        planted = [c - 1 for c in instance["planted"]]
        if max(planted) < max(best):
            best = planted
        lower = len(grasp_clique(bitsets(n, instance["edges"]), rng, min(n, 12), max(best) + 1)) if n else 0
        budget = 10 * n if config.tabu_iterations is None else config.tabu_iterations
        while max(best) + 1 > lower and budget:
            k = max(best)  # try one colour fewer than the best so far
            found = tabucol(adj, k, _drop_colour(adj, best, k), rng, budget)
            if found is None:
                break
            best = found
        return Reference([c + 1 for c in best], True if max(best) + 1 <= lower else None)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        return [c + 1 for c in chromatic_exact(edges_to_adj(instance["n"], instance["edges"]))]

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        n = instance["n"]
        return [list(range(1, n + 1)),  # a colour per vertex
                [1 + v % 2 for v in range(n)], [1] * n]

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "colours, one per vertex")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        n = instance["n"]
        if len(solution) != n:
            raise Infeasible(f"the list gives {len(solution)} colours but the graph has {n} vertices")
        for u, v in instance["edges"]:
            if solution[u] == solution[v]:
                raise Infeasible(f"adjacent vertices {u} and {v} both have colour {solution[u]}")
        return len(set(solution))

    def render(self, solution: list[int]) -> str:
        return render_list(solution)

    def describe(self, instance: dict[str, Any]) -> str:
        n = instance["n"]
        return build_prompt(
            title=self.title,
            description=(
                "Given an undirected graph as adjacency lists (vertex: [its neighbours]), give every vertex "
                "a colour so that no two adjacent vertices share a colour, using as few distinct colours as "
                "possible."
            ),
            answer_format=(
                f"A list of {n} positive integers: the i-th number is the colour of vertex i (vertex 0 first), "
                "e.g. [1, 2, 1, 2] means vertices 0 and 2 get colour 1 and vertices 1 and 3 colour 2."
            ),
            example_input="0: [1, 2]\n1: [0, 3]\n2: [0, 3]\n3: [1, 2]",
            example_answer="[1, 2, 2, 1]",
            instance=f"{n} vertices:\n{adjacency_lines(n, edges_to_adj(n, instance['edges']))}",
            placeholder="[colour of vertex 0, colour of vertex 1, ...]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        return graph_fingerprint(self.name, edges_to_adj(instance["n"], instance["edges"]))

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"vertices": instance["n"], "edges": len(instance["edges"])}


PROBLEM = register_problem(GraphColoring())
