"""Graph machinery shared by the clique, independent-set and colouring families.

Graphs are held as adjacency bitsets (Python ints, bit u of adj[v] set when u ~ v): set
intersection is one `&`, a set's size one `bit_count()`, and the lowest member `(x & -x)`.
That keeps the greedy restarts and the exact branch and bound fast enough in pure Python for
the instance sizes here (up to ~50 vertices) without numpy's per-call overhead.
"""

from __future__ import annotations

import random
from collections.abc import Iterable


def edges_to_adj(n: int, edges: Iterable[list[int]]) -> list[list[int]]:
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    return adj


def bitsets(n: int, edges: Iterable[list[int]]) -> list[int]:
    bits = [0] * n
    for u, v in edges:
        bits[u] |= 1 << v
        bits[v] |= 1 << u
    return bits


def complement(bits: list[int]) -> list[int]:
    full = (1 << len(bits)) - 1
    return [full & ~b & ~(1 << v) for v, b in enumerate(bits)]


def members(x: int) -> list[int]:
    out = []
    while x:
        low = x & -x
        out.append(low.bit_length() - 1)
        x ^= low
    return out


def greedy_colour_classes(bits: list[int], cand: int) -> list[int]:
    """Sequential greedy colouring of the vertices in `cand`, lowest id first; returns the
    colour classes as bitsets. Their number bounds any clique inside `cand` from above."""
    classes = []
    while cand:
        q, cls = cand, 0
        while q:
            low = q & -q
            v = low.bit_length() - 1
            cls |= low
            q &= ~bits[v] & ~low
        classes.append(cls)
        cand &= ~cls
    return classes


def colour_bound(bits: list[int]) -> int:
    """Colours used by greedy colouring in decreasing-degree order (Welsh-Powell): an upper
    bound on the clique number, so a clique of that size is certified maximum."""
    classes: list[int] = []
    for v in sorted(range(len(bits)), key=lambda v: (-bits[v].bit_count(), v)):
        nb = bits[v]
        for c, cls in enumerate(classes):
            if not nb & cls:
                classes[c] = cls | 1 << v
                break
        else:
            classes.append(1 << v)
    return len(classes)


def grasp_clique(bits: list[int], rng: random.Random, restarts: int, upper: int, alpha: float = 0.3) -> list[int]:
    """Greedy randomized clique with restarts (NP-Engine's clique heuristic).

    Each restart starts from a vertex (highest degree first, then random ones) and keeps adding
    a vertex from the restricted candidate list: candidates that keep at least (1 - alpha) of
    the most candidates any choice keeps. A restart stops as soon as it cannot beat the best
    clique so far; the search stops once a clique reaches `upper`, a proven bound.
    """
    n = len(bits)
    by_degree = sorted(range(n), key=lambda v: (-bits[v].bit_count(), v))
    best: list[int] = []
    for r in range(restarts):
        start = by_degree[r] if r < n else rng.randrange(n)
        clique, cand = [start], bits[start]
        while cand and len(clique) + cand.bit_count() > len(best):
            mem = members(cand)
            counts = [(bits[u] & cand).bit_count() for u in mem]
            floor = max(counts) * (1 - alpha)
            pool = [u for u, c in zip(mem, counts) if c >= floor]
            u = pool[rng.randrange(len(pool))] if len(pool) > 1 else pool[0]
            clique.append(u)
            cand &= bits[u]
        if len(clique) > len(best) and not cand:
            best = clique
            if len(best) >= upper:
                break
    return sorted(best)


def max_clique(bits: list[int]) -> list[int]:
    """An exact maximum clique by branch and bound with greedy-colouring bounds (Tomita's MCQ).
    Exponential in the worst case; fine for the test-sized graphs (a few dozen vertices)."""
    best: list[int] = []

    def expand(clique: list[int], cand: int) -> None:
        nonlocal best
        order: list[tuple[int, int]] = []  # (vertex, colour number) in increasing colour
        for colour, cls in enumerate(greedy_colour_classes(bits, cand), start=1):
            order.extend((v, colour) for v in members(cls))
        for v, colour in reversed(order):
            if len(clique) + colour <= len(best):
                return
            new = cand & bits[v]
            if new:
                expand(clique + [v], new)
            elif len(clique) + 1 > len(best):
                best = clique + [v]
            cand &= ~(1 << v)

    expand([], (1 << len(bits)) - 1)
    return sorted(best)


def is_clique(bits: list[int], vertices: list[int]) -> tuple[int, int] | None:
    """The first non-adjacent pair among `vertices`, or None when they form a clique."""
    for i, u in enumerate(vertices):
        for v in vertices[i + 1:]:
            if not bits[u] >> v & 1:
                return (u, v)
    return None
