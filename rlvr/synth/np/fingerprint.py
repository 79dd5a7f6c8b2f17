"""Canonical structural fingerprints of NP instances, for dedupe that text hashing cannot do.

Two NP prompts from one template differ only in a few numbers, so MinHash over the text sees
near-duplicates everywhere, while the same graph with its vertices renumbered is a different
text but the same problem. The fingerprint is a hash of the instance's structure instead:

- graphs: a Weisfeiler-Lehman colour-refinement digest (vertex and edge labels included) plus
  the sorted degree sequence; invariant to relabelling the vertices;
- set systems and bipartite structures (set cover, meetings): WL over the incidence graph, so
  renumbering elements, subsets, meetings or attendees leaves it unchanged;
- number problems: sorted multisets of the numbers (or weight/value pairs) with the capacity
  or target, which is exactly what makes two instances the same problem.

WL can give two non-isomorphic graphs the same digest (e.g. some regular graphs), which would
at worst drop one of two distinct instances; it never separates two relabelled copies. Labels
are compressed to ranks of sorted signatures each round, so the digest depends only on the
structure, never on Python's hash seed or vertex order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

MAX_ROUNDS = 8


def _digest(problem: str, **parts: Any) -> str:
    """sha256 over the reprs of int/str/tuple/list parts, in name order: cheaper than canonical
    JSON for long lists and just as deterministic (reprs of these types never change)."""
    h = hashlib.sha256(problem.encode())
    for name in sorted(parts):
        h.update(f"|{name}=".encode())
        h.update(repr(parts[name]).encode())
    return h.hexdigest()[:32]


def wl_digest(labels: Sequence[Any], nbrs: Sequence[Sequence[Any]], weighted: bool = False) -> str:
    """Colour refinement from `labels`; `nbrs[v]` lists neighbours, or (edge_label, u) pairs
    when `weighted`. Stops when the partition into colour classes no longer splits."""
    n = len(labels)
    h = hashlib.sha256()
    distinct = sorted(set(labels))
    rank = {lab: i for i, lab in enumerate(distinct)}
    h.update(repr(distinct).encode())
    cur = [rank[lab] for lab in labels]
    classes = len(distinct)
    for _ in range(MAX_ROUNDS):
        if weighted:
            sigs = [(cur[v], tuple(sorted([(w, cur[u]) for w, u in nbrs[v]]))) for v in range(n)]
        else:
            sigs = [(cur[v], tuple(sorted([cur[u] for u in nbrs[v]]))) for v in range(n)]
        ordered = sorted(sigs)
        h.update(repr(ordered).encode())
        distinct_sigs = sorted(set(ordered))
        rank_of = {s: i for i, s in enumerate(distinct_sigs)}
        cur = [rank_of[s] for s in sigs]
        if len(distinct_sigs) == classes or len(distinct_sigs) == n:
            break
        classes = len(distinct_sigs)
    return h.hexdigest()[:32]


def graph_fingerprint(problem: str, adj: Sequence[Sequence[int]], **extra: Any) -> str:
    """Relabelling-invariant fingerprint of an unweighted graph given as adjacency lists."""
    degrees = [len(a) for a in adj]
    return _digest(problem, degrees=sorted(degrees), wl=wl_digest(degrees, adj), **extra)


def weighted_graph_fingerprint(problem: str, wadj: Sequence[dict[int, int]], **extra: Any) -> str:
    """Relabelling-invariant fingerprint of an edge-weighted graph (`wadj[v] = {u: weight}`)."""
    nbrs = [[(w, u) for u, w in a.items()] for a in wadj]
    labels = [tuple(sorted(a.values())) for a in wadj]  # each vertex's incident weights
    return _digest(problem, degrees=sorted(len(a) for a in wadj), weights=sorted(w for a in wadj for w in a.values()),
                   wl=wl_digest(labels, nbrs, weighted=True), **extra)


def incidence_fingerprint(problem: str, left_labels: Sequence[Any], right_labels: Sequence[Any],
                          edges: Sequence[tuple[int, int]], **extra: Any) -> str:
    """Fingerprint of a bipartite structure (left item i incident to right item j for (i, j)
    in edges) invariant to renumbering either side: WL over the incidence graph."""
    nl = len(left_labels)
    labels = [(0, lab) for lab in left_labels] + [(1, lab) for lab in right_labels]
    nbrs: list[list[int]] = [[] for _ in labels]
    for i, j in edges:
        nbrs[i].append(nl + j)
        nbrs[nl + j].append(i)
    return _digest(problem, left_degrees=sorted(len(nbrs[i]) for i in range(nl)),
                   right_degrees=sorted(len(nbrs[nl + j]) for j in range(len(right_labels))),
                   wl=wl_digest(labels, nbrs), **extra)


def multiset_fingerprint(problem: str, items: Sequence[Any], **extra: Any) -> str:
    """Fingerprint of an unordered collection (numbers, or (weight, value) pairs) plus extras
    such as the capacity or the target."""
    return _digest(problem, items=sorted(items), **extra)
