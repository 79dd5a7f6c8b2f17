"""Hamiltonian cycle, optimisation form: find the longest simple cycle (most vertices).

Instance (NP-Engine's generator): a Hamiltonian cycle through a random order of the vertices is
planted, then every other pair becomes an edge with probability `density`. With `plant=False`
the graph is a plain random graph and the longest cycle is unknown.

Reference: NP-Engine's kind of solver, greedy path extension choosing the neighbour with the
fewest onward options (Warnsdorff), with Posa rotations when stuck and restarts under a fixed
budget; every other restart extends to a random neighbour instead (on 150 small unplanted
graphs this cut the references short of the exact optimum from 23 to 2). The best cycle found
along any path is kept. A planted cycle visits every vertex, so when there is one it is optimal
and is the reference.
Exact (for tests): depth-first search over simple cycles.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, int_list, render_list
from rlvr.synth.np.base import MAX, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import graph_fingerprint
from rlvr.synth.np.graphs import edges_to_adj
from rlvr.synth.np.prompt import adjacency_lines, build_prompt


@dataclass
class HamiltonianConfig(NPConfig):
    vertices: tuple[int, int] | None = field(default=None, metadata={"help": "vertex count range"})
    density: float | None = field(default=None, metadata={"help": "probability of each edge beyond the planted cycle"})
    plant: bool = field(default=True, metadata={"help": "plant a Hamiltonian cycle (else a plain random graph)"})
    restarts: int | None = field(default=None, metadata={"help": "path restarts of the reference solver (default 2 x vertices)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "vertices": ((15, 20), (20, 30), (30, 40)),
        "density": (0.2, 0.3, 0.4),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {"vertices": (3, 2000), "density": (0.0, 1.0)}
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"vertices": (2, 9)}, {"vertices": (9, 4)}, {"density": -0.5}, {"restarts": 0},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.restarts is not None and self.restarts < 1:
            raise ValueError(f"HamiltonianConfig.restarts must be at least 1, got {self.restarts}")


def _longest_closing(path: list[int], adj_sets: list[set[int]]) -> list[int]:
    """The longest cycle made of a path suffix closed by an edge back from its end."""
    end = path[-1]
    for i in range(len(path) - 2):
        if path[i] in adj_sets[end]:
            return path[i:]
    return []


def warnsdorff_cycle(adj: list[list[int]], rng: random.Random, restarts: int, rotations: int) -> list[int]:
    """Greedy longest-cycle search: grow a path to the neighbour with the fewest unvisited
    neighbours (random ties; a random neighbour on odd restarts); when stuck, grow from the other end, then try Posa rotations
    (reverse the path after a neighbour of the end, giving a new end). After every move the
    path's longest closing cycle is a candidate."""
    n = len(adj)
    adj_sets = [set(a) for a in adj]
    best: list[int] = []
    for r in range(restarts):
        start = r if r < n else rng.randrange(n)
        path, on_path = [start], {start}
        budget, flipped = rotations, False
        while True:
            free = [u for u in adj[path[-1]] if u not in on_path]
            if free:
                if r % 2:  # odd restarts wander at random, which finds cycles Warnsdorff's rule skips
                    nxt = free[rng.randrange(len(free))] if len(free) > 1 else free[0]
                else:
                    nxt = min(free, key=lambda u: (sum(1 for w in adj[u] if w not in on_path), rng.random()))
                path.append(nxt)
                on_path.add(nxt)
            elif not flipped:
                path.reverse()  # grow from the other end once
                flipped = True
                continue
            else:
                pivots = [i for i in range(len(path) - 2) if path[i] in adj_sets[path[-1]]]
                if not pivots or budget <= 0:
                    break
                budget -= 1
                i = pivots[rng.randrange(len(pivots))]
                path[i + 1:] = path[i + 1:][::-1]  # Posa rotation: the end becomes path[i + 1]
            if len(path) > len(best):
                cycle = _longest_closing(path, adj_sets)
                if len(cycle) > len(best):
                    best = cycle
                    if len(best) == n:
                        return best
    return best


def any_cycle(adj: list[list[int]]) -> list[int]:
    """Some simple cycle (from the first back edge of a depth-first search), or [] for a forest."""
    n = len(adj)
    parent = [-2] * n
    for root in range(n):
        if parent[root] != -2:
            continue
        parent[root] = -1
        stack = [(root, iter(adj[root]))]
        while stack:
            v, it = stack[-1]
            for u in it:
                if parent[u] == -2:
                    parent[u] = v
                    stack.append((u, iter(adj[u])))
                    break
                if u != parent[v] and any(w == u for w, _ in stack):  # back edge to an ancestor
                    cycle = [v]
                    while cycle[-1] != u:
                        cycle.append(parent[cycle[-1]])
                    return cycle
            else:
                stack.pop()
    return []


def longest_cycle_exact(adj: list[list[int]]) -> list[int]:
    """A longest simple cycle by DFS from each start over higher-numbered vertices only (each
    cycle is found from its smallest vertex). Exponential: small graphs only."""
    n = len(adj)
    adj_sets = [set(a) for a in adj]
    best: list[int] = []

    def dfs(start: int, path: list[int], on_path: set[int]) -> bool:
        nonlocal best
        end = path[-1]
        if len(path) >= 3 and start in adj_sets[end] and len(path) > len(best):
            best = list(path)
            if len(best) == n:
                return True
        for u in adj[end]:
            if u > start and u not in on_path:
                path.append(u)
                on_path.add(u)
                if dfs(start, path, on_path):
                    return True
                path.pop()
                on_path.discard(u)
        return False

    for s in range(n):
        if n - s <= len(best) or dfs(s, [s], {s}):
            break
    return best


class HamiltonianCycle(Problem):
    name = "np.hamiltonian_cycle"
    title = "the longest cycle (Hamiltonian cycle) problem"
    sense = MAX
    solver = "Warnsdorff / random path growth with Posa rotations and restarts; a planted Hamiltonian cycle when present"
    exact_limit = ("vertices", 14)
    config_cls = HamiltonianConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n = sample(rng, knobs["vertices"])
        p, rand = knobs["density"], rng.random
        planted: list[int] = []
        cycle_edges: set[tuple[int, int]] = set()
        if knobs["plant"]:
            planted = list(range(n))
            rng.shuffle(planted)
            cycle_edges = {tuple(sorted((planted[i - 1], planted[i]))) for i in range(n)}
        edges = [[u, v] for u in range(n) for v in range(u + 1, n) if (u, v) in cycle_edges or rand() < p]
        if not any_cycle(edges_to_adj(n, edges)):  # a forest has no answer: close a triangle
            a, b, c = sorted(rng.sample(range(n), 3))
            edges = sorted({tuple(e) for e in edges} | {(a, b), (a, c), (b, c)})
            edges = [list(e) for e in edges]
        return {"n": n, "edges": edges, "planted": planted}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        n = instance["n"]
        if len(instance["planted"]) == n:  # a planted Hamiltonian cycle cannot be beaten
            return Reference(instance["planted"], True)
        adj = edges_to_adj(n, instance["edges"])
        best = warnsdorff_cycle(adj, rng, config.restarts or 2 * n, rotations=n) or any_cycle(adj)
        return Reference(best, True if len(best) == n else None)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        return longest_cycle_exact(edges_to_adj(instance["n"], instance["edges"]))

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        n = instance["n"]
        return [list(range(n)), [0, 1, 2]]  # the cycle in id order, the first triangle

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "vertex ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        n = instance["n"]
        cycle = solution[:-1] if len(solution) > 1 and solution[0] == solution[-1] else solution
        if len(cycle) < 3:
            raise Infeasible(f"a cycle needs at least 3 distinct vertices, got {len(cycle)}")
        seen: set[int] = set()
        for v in cycle:
            if not 0 <= v < n:
                raise Infeasible(f"vertex {v} does not exist (valid: 0..{n - 1})")
            if v in seen:
                raise Infeasible(f"vertex {v} is visited twice")
            seen.add(v)
        edges = {(u, v) for u, v in instance["edges"]}
        for i in range(len(cycle)):
            u, v = cycle[i - 1], cycle[i]
            if (min(u, v), max(u, v)) not in edges:
                raise Infeasible(f"there is no edge between {u} and {v}")
        return len(cycle)

    def render(self, solution: list[int]) -> str:
        return render_list(solution + solution[:1])

    def describe(self, instance: dict[str, Any]) -> str:
        n = instance["n"]
        return build_prompt(
            title=self.title,
            description=(
                "Given an undirected graph as adjacency lists (vertex: [its neighbours]), find a cycle that "
                "visits as many vertices as possible: a closed walk along edges that never repeats a vertex "
                "before returning to its start. A cycle through every vertex is a Hamiltonian cycle."
            ),
            answer_format=(
                "The cycle as a list of vertex ids that starts and ends at the same vertex, e.g. "
                "[0, 1, 2, 3, 0]; consecutive vertices must be adjacent and no vertex may repeat apart from "
                "the start."
            ),
            example_input="0: [1, 2]\n1: [0, 2, 3]\n2: [0, 1, 3]\n3: [1, 2]",
            example_answer="[0, 1, 3, 2, 0]",
            instance=f"{n} vertices:\n{adjacency_lines(n, edges_to_adj(n, instance['edges']))}",
            placeholder="[start vertex, ..., start vertex]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        return graph_fingerprint(self.name, edges_to_adj(instance["n"], instance["edges"]))

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"vertices": instance["n"], "edges": len(instance["edges"])}


PROBLEM = register_problem(HamiltonianCycle())
