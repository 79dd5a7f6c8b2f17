"""Travelling salesman: the shortest closed tour through every city exactly once.

Instance (NP-Engine's generator): symmetric integer distances drawn uniformly from [10, 100]
(not metric, so geometric intuition does not help), 10-20 / 20-30 / 35-45 cities.

Reference: NP-Engine's pipeline with a fixed step budget instead of a 60 s timeout, so it is
deterministic: nearest-neighbour tour, 2-opt descent, simulated annealing over 2-opt moves for
`sa_steps` steps, then a final 2-opt polish of the best tour. The 2-opt descent evaluates the
whole O(n^2) neighbourhood in one numpy expression per move. The solver dominates generation
time here, so TSP is timed separately from the 500/s target. Exact (for tests): Held-Karp DP.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, int_list, render_list
from rlvr.synth.np.base import MIN, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import weighted_graph_fingerprint
from rlvr.synth.np.prompt import build_prompt


@dataclass
class TSPConfig(NPConfig):
    cities: tuple[int, int] | None = field(default=None, metadata={"help": "city count range"})
    distances: tuple[int, int] | None = field(default=None, metadata={"help": "range of each distance"})
    sa_steps: int | None = field(default=None, metadata={"help": "annealing steps of the reference solver (default 1000 x cities)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "cities": ((10, 20), (20, 30), (35, 45)),
        "distances": ((10, 100), (10, 100), (10, 100)),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {"cities": (3, 2000), "distances": (1, 10**6)}
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"cities": (2, 5)}, {"cities": (30, 20)}, {"distances": (0, 50)}, {"sa_steps": -1},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sa_steps is not None and self.sa_steps < 0:
            raise ValueError(f"TSPConfig.sa_steps must be >= 0, got {self.sa_steps}")


def tour_length(dist: list[list[int]], tour: list[int]) -> int:
    return sum(dist[tour[i - 1]][tour[i]] for i in range(len(tour)))


def nearest_neighbour(dist: list[list[int]], start: int = 0) -> list[int]:
    n = len(dist)
    tour, left = [start], set(range(n)) - {start}
    while left:
        row = dist[tour[-1]]
        nxt = min(left, key=lambda c: (row[c], c))
        tour.append(nxt)
        left.discard(nxt)
    return tour


def two_opt(d: Any, tour: list[int]) -> list[int]:
    """Best-improvement 2-opt to a local optimum. Reversing tour[i..j] replaces edges
    (t[i-1], t[i]) and (t[j], t[j+1]) with (t[i-1], t[j]) and (t[i], t[j+1]); all (i, j) gains
    are computed at once with numpy."""
    import numpy as np

    n = len(tour)
    if n < 4:
        return tour
    t = np.array(tour)
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    upper[0, n - 1] = False  # reversing everything but one city changes nothing
    while True:
        prev, nxt = np.roll(t, 1), np.roll(t, -1)
        gain = d[prev[:, None], t[None, :]] + d[t[:, None], nxt[None, :]] - d[prev, t][:, None] - d[t, nxt][None, :]
        gain = np.where(upper, gain, 0)
        i, j = np.unravel_index(np.argmin(gain), gain.shape)
        if gain[i, j] >= 0:
            return t.tolist()
        t[i:j + 1] = t[i:j + 1][::-1].copy()


def or_opt(d: Any, tour: list[int]) -> list[int] | None:
    """One best-improvement Or-opt move (a run of 1-3 cities moved elsewhere, possibly
    reversed), evaluated for all positions with numpy; None when no move shortens the tour."""
    import numpy as np

    n = len(tour)
    if n < 5:
        return None
    t = np.array(tour)
    nxt_t = np.roll(t, -1)
    edge = d[t, nxt_t]  # edge[j] = d(t[j], t[j+1]), the edge a run is inserted into
    best = (0, 0, 0, 0, False)  # (delta, i, length, j, reversed)
    idx = np.arange(n)
    for length in (1, 2, 3):
        first, last = t, np.roll(t, -(length - 1))
        prev, after = np.roll(t, 1), np.roll(t, -length)
        removed = d[prev, first] + d[last, after] - d[prev, after]
        fwd = d[t[:, None], first[None, :]] + d[last[None, :], nxt_t[:, None]] - edge[:, None]
        rev = d[t[:, None], last[None, :]] + d[first[None, :], nxt_t[:, None]] - edge[:, None]
        # rows j = insertion edge, columns i = run start; the edge must lie outside the run
        offset = (idx[:, None] - idx[None, :]) % n
        bad = (offset >= n - 1) | (offset < length)
        for reverse, cost in ((False, fwd), (True, rev)):
            delta = np.where(bad, 0, cost - removed[None, :])
            j, i = np.unravel_index(np.argmin(delta), delta.shape)
            if delta[j, i] < best[0]:
                best = (int(delta[j, i]), int(i), length, int(j), reverse)
    gain, i, length, j, reverse = best
    if gain >= 0:
        return None
    rotated = tour[i:] + tour[:i]
    run, rest = rotated[:length], rotated[length:]
    at = rest.index(tour[j]) + 1
    return rest[:at] + (run[::-1] if reverse else run) + rest[at:]


def local_search(d: Any, tour: list[int]) -> list[int]:
    """2-opt and Or-opt descents alternated until neither improves the tour."""
    while True:
        tour = two_opt(d, tour)
        moved = or_opt(d, tour)
        if moved is None:
            return tour
        tour = moved


def anneal(dist: list[list[int]], tour: list[int], rng: random.Random, steps: int) -> list[int]:
    """Simulated annealing over random 2-opt moves with geometric cooling; returns the best tour."""
    n = len(tour)
    if n < 4 or steps <= 0:
        return tour
    tour = list(tour)
    length = best_len = tour_length(dist, tour)
    best = list(tour)
    temp = sum(map(sum, dist)) / (n * n) * 0.2
    cool = (0.5 / temp) ** (1 / steps) if temp > 0.5 else 1.0
    rand, exp, m = rng.random, math.exp, n - 1
    for _ in range(steps):
        i, j = 1 + int(rand() * m), 1 + int(rand() * m)  # cheaper than randrange in this loop
        if i > j:
            i, j = j, i
        if i == j:
            temp *= cool
            continue
        a, b, c, e = tour[i - 1], tour[i], tour[j], tour[(j + 1) % n]
        delta = dist[a][c] + dist[b][e] - dist[a][b] - dist[c][e]
        if delta <= 0 or rand() < exp(-delta / temp):
            tour[i:j + 1] = tour[i:j + 1][::-1]
            length += delta
            if length < best_len:
                best_len, best = length, list(tour)
        temp *= cool
    return best


def held_karp(dist: list[list[int]]) -> list[int]:
    """An optimal tour by the Held-Karp DP over subsets, O(2^n n^2), vectorised with numpy one
    subset size at a time (about 0.5 s at 17 cities); small n only."""
    import numpy as np

    n = len(dist)
    if n <= 3:
        return list(range(n))
    m = n - 1  # cities 1..n-1 are bits 0..m-1; city 0 is the fixed start
    d = np.array(dist, dtype=np.int64)
    inf = np.iinfo(np.int64).max // 4
    cost = np.full((1 << m, m), inf, dtype=np.int64)
    parent = np.zeros((1 << m, m), dtype=np.int8)
    for j in range(m):
        cost[1 << j, j] = d[0, j + 1]
    masks = np.arange(1 << m, dtype=np.int64)
    popcount = np.zeros(1 << m, dtype=np.int64)
    for j in range(m):
        popcount += (masks >> j) & 1
    inner = d[1:, 1:]  # inner[k, j]: from city k+1 to city j+1
    for size in range(2, m + 1):
        layer = masks[popcount == size]
        for j in range(m):
            sub = layer[(layer >> j) & 1 == 1]
            prev = cost[sub ^ (1 << j)] + inner[:, j]  # (len(sub), m): arrive at j from each k
            best = prev.argmin(axis=1)
            cost[sub, j] = prev[np.arange(len(sub)), best]
            parent[sub, j] = best
    full = (1 << m) - 1
    last = int((cost[full] + d[1:, 0]).argmin())
    tour, mask, j = [], full, last
    while True:
        tour.append(j + 1)
        if mask == 1 << j:
            break
        mask, j = mask & ~(1 << j), int(parent[mask, j])
    return [0] + tour[::-1]


class TSP(Problem):
    name = "np.tsp"
    title = "the travelling salesman problem"
    sense = MIN
    solver = "nearest neighbour, 2-opt + Or-opt descent, simulated annealing over 2-opt moves, descent again"
    exact_limit = ("cities", 18)
    config_cls = TSPConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n = sample(rng, knobs["cities"])
        lo, hi = knobs["distances"]
        dist = [[0] * n for _ in range(n)]
        randint = rng.randint
        for i in range(n):
            for j in range(i + 1, n):
                dist[i][j] = dist[j][i] = randint(lo, hi)
        return {"distances": dist}

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        import numpy as np

        dist = instance["distances"]
        n = len(dist)
        d = np.array(dist, dtype=np.int64)
        tour = local_search(d, nearest_neighbour(dist))
        steps = 1000 * n if config.sa_steps is None else config.sa_steps
        tour = local_search(d, anneal(dist, tour, rng, steps))
        start = tour.index(0)  # report tours from city 0, NP-Engine's convention
        return Reference(tour[start:] + tour[:start], True if n <= 3 else None)

    def exact(self, instance: dict[str, Any]) -> list[int]:
        return held_karp(instance["distances"])

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        n = len(instance["distances"])
        return [list(range(n))]  # the tour in id order

    def parse(self, literal: list[Any]) -> list[int]:
        return int_list(literal, "city ids")

    def evaluate(self, instance: dict[str, Any], solution: list[int]) -> int:
        dist = instance["distances"]
        n = len(dist)
        tour = solution[:-1] if len(solution) == n + 1 and solution[0] == solution[-1] else solution
        if len(tour) != n:
            raise Infeasible(f"the tour has {len(solution)} entries; it must visit all {n} cities once "
                             f"(and may repeat the first city at the end)")
        seen = set()
        for c in tour:
            if not 0 <= c < n:
                raise Infeasible(f"city {c} does not exist (valid: 0..{n - 1})")
            if c in seen:
                raise Infeasible(f"city {c} is visited twice")
            seen.add(c)
        return tour_length(dist, tour)

    def render(self, solution: list[int]) -> str:
        return render_list(solution + solution[:1])

    def describe(self, instance: dict[str, Any]) -> str:
        dist = instance["distances"]
        rows = "\n".join(f"{i}: {render_list(row)}" for i, row in enumerate(dist))
        return build_prompt(
            title=self.title,
            description=(
                "Given the distances between every pair of cities, find the shortest route that starts at "
                "a city, visits every other city exactly once and returns to the start. Row i lists the "
                "distances from city i to cities 0, 1, 2, ... in order (distances are symmetric)."
            ),
            answer_format=(
                "The route as a list of city ids that starts and ends at the same city, e.g. [0, 1, 3, 2, 0]; "
                "every city appears exactly once apart from the repeated start."
            ),
            example_input="0: [0, 10, 15, 20]\n1: [10, 0, 35, 25]\n2: [15, 35, 0, 30]\n3: [20, 25, 30, 0]",
            example_answer="[0, 1, 3, 2, 0]",
            instance=f"{len(dist)} cities, distance rows:\n{rows}",
            placeholder="[start city, ..., start city]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        dist = instance["distances"]
        wadj = [{j: row[j] for j in range(len(row)) if j != i} for i, row in enumerate(dist)]
        return weighted_graph_fingerprint(self.name, wadj)

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"cities": len(instance["distances"])}


PROBLEM = register_problem(TSP())
