"""The exact solvers that certify the references, checked against plain brute force on tiny
instances (so a bug in a branch and bound cannot hide behind a matching bug in a heuristic)."""

from __future__ import annotations

import random
from itertools import combinations, permutations, product

import pytest

from rlvr.synth.np import coloring, hamiltonian, knapsack, subset_sum, tsp
from rlvr.synth.np.answer import Infeasible
from rlvr.synth.np.base import PROBLEMS, NPGenerator
from rlvr.synth.np.graphs import bitsets, complement, edges_to_adj, is_clique, max_clique


def random_graph(rng, n, p):
    return [[u, v] for u in range(n) for v in range(u + 1, n) if rng.random() < p]


@pytest.mark.parametrize("seed", range(12))
def test_max_clique_matches_brute_force(seed):
    rng = random.Random(seed)
    n = rng.randint(4, 10)
    bits = bitsets(n, random_graph(rng, n, rng.uniform(0.2, 0.8)))
    best = max(len(c) for k in range(1, n + 1) for c in combinations(range(n), k) if is_clique(bits, list(c)) is None)
    assert len(max_clique(bits)) == best
    assert is_clique(bits, max_clique(bits)) is None
    comp = complement(bits)
    assert is_clique(comp, max_clique(comp)) is None  # an independent set of the original


@pytest.mark.parametrize("seed", range(10))
def test_chromatic_number_matches_brute_force(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 7)
    edges = random_graph(rng, n, rng.uniform(0.3, 0.9))
    adj = edges_to_adj(n, edges)
    chi = next(k for k in range(1, n + 1)
               if any(all(c[u] != c[v] for u, v in edges) for c in product(range(k), repeat=n)))
    colouring = coloring.chromatic_exact(adj)
    assert max(colouring) + 1 == chi
    assert all(colouring[u] != colouring[v] for u, v in edges)


@pytest.mark.parametrize("seed", range(8))
def test_tabucol_finds_planted_colourings(seed):
    rng = random.Random(seed)
    n, k = 18, 3
    cls = [i % k for i in range(n)]
    edges = [[u, v] for u in range(n) for v in range(u + 1, n) if cls[u] != cls[v] and rng.random() < 0.5]
    adj = edges_to_adj(n, edges)
    start = [rng.randrange(k) for _ in range(n)]
    found = coloring.tabucol(adj, k, start, rng, 5000)
    assert found is not None and all(found[u] != found[v] for u, v in edges)
    assert coloring.tabucol(adj, 1, [0] * n, rng, 50) is None  # with edges, one colour is impossible


@pytest.mark.parametrize("seed", range(10))
def test_held_karp_matches_brute_force(seed):
    rng = random.Random(seed)
    n = rng.randint(4, 7)
    dist = [[0] * n for _ in range(n)]
    for i, j in combinations(range(n), 2):
        dist[i][j] = dist[j][i] = rng.randint(1, 50)
    best = min(tsp.tour_length(dist, [0, *p]) for p in permutations(range(1, n)))
    tour = tsp.held_karp(dist)
    assert sorted(tour) == list(range(n)) and tsp.tour_length(dist, tour) == best


@pytest.mark.parametrize("seed", range(10))
def test_knapsack_dp_and_branch_and_bound_match_brute_force(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 11)
    weights = [rng.randint(1, 30) for _ in range(n)]
    values = [rng.randint(1, 40) for _ in range(n)]
    cap = rng.randint(10, sum(weights))
    best = max(sum(values[i] for i in c) for k in range(n + 1) for c in combinations(range(n), k)
               if sum(weights[i] for i in c) <= cap)
    for solver in (knapsack.dp_knapsack, knapsack.branch_and_bound):
        chosen = solver(weights, values, cap)
        assert sum(weights[i] for i in chosen) <= cap and sum(values[i] for i in chosen) == best


@pytest.mark.parametrize("seed", range(10))
def test_subset_sum_dp_matches_brute_force(seed):
    rng = random.Random(seed)
    numbers = [rng.randint(1, 12) for _ in range(rng.randint(3, 11))]
    target = rng.randint(1, sum(numbers))
    sizes = [len(c) for k in range(1, len(numbers) + 1) for c in combinations(range(len(numbers)), k)
             if sum(numbers[i] for i in c) == target]
    found = subset_sum.max_count_subset(numbers, target)
    if not sizes:
        assert found is None
    else:
        assert sum(numbers[i] for i in found) == target and len(found) == max(sizes)


@pytest.mark.parametrize("seed", range(10))
def test_longest_cycle_matches_brute_force(seed):
    rng = random.Random(seed)
    n = rng.randint(4, 7)
    edges = random_graph(rng, n, rng.uniform(0.3, 0.8))
    es = {tuple(e) for e in edges}
    adj_ok = lambda c: all(tuple(sorted((c[i - 1], c[i]))) in es for i in range(len(c)))  # noqa: E731
    lengths = [k for k in range(3, n + 1) for c in permutations(range(n), k) if adj_ok(c)]
    cycle = hamiltonian.longest_cycle_exact(edges_to_adj(n, edges))
    assert len(cycle) == (max(lengths) if lengths else 0)
    if cycle:
        assert adj_ok(cycle) and len(set(cycle)) == len(cycle)
    assert bool(hamiltonian.any_cycle(edges_to_adj(n, edges))) == bool(lengths)


def test_meeting_exact_matches_brute_force():
    """Every meeting either skipped or at each grid start in each room: all combinations."""
    problem = PROBLEMS["np.meeting_scheduling"]
    gen = NPGenerator(problem, problem.config_cls(meetings=(2, 3), rooms=(1, 2), people=(3, 4), group=(2, 3)))
    for i in range(4):
        instance = gen.instance(5, i)
        choices = [[None] + [(r, s) for r in range(len(instance["rooms"])) for s in range(540, 1020, 30)]
                   for _ in instance["meetings"]]
        best = 0
        for combo in product(*choices):
            schedule = [[m, *c] for m, c in enumerate(combo) if c is not None]
            try:
                best = max(best, problem.evaluate(instance, schedule))
            except Infeasible:
                continue  # most combinations clash; only feasible ones count
        assert problem.evaluate(instance, problem.exact(instance)) == best


def test_planted_hamiltonian_reference_is_a_longest_cycle():
    problem = PROBLEMS["np.hamiltonian_cycle"]
    gen = NPGenerator(problem, problem.config_cls(vertices=(8, 11), density=0.15))
    for i in range(6):
        task = gen.generate(2, i)
        n = task.meta["instance"]["n"]
        assert task.answer["value"] == n and task.meta["optimal"] is True
        assert len(problem.exact(task.meta["instance"])) == n
