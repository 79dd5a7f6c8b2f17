"""NP-hard task families after NP-Engine (arXiv 2510.16476): ten problems in five domains,
each with a difficulty-controlled generator, a heuristic reference solver, an exact solver for
small instances and a quality-ratio verifier.

Importing this package registers one generator and one verifier per problem, both named like
the task kind (`np.tsp`). See `base.py` for the shared contract and one module per problem.
"""

from __future__ import annotations

import importlib

# problem module -> registered name; the order is the order `--task all` cycles through.
MODULES: dict[str, str] = {
    "clique": "np.max_clique",
    "independent_set": "np.max_independent_set",
    "coloring": "np.graph_coloring",
    "meeting": "np.meeting_scheduling",
    "bisection": "np.min_bisection",
    "knapsack": "np.knapsack",
    "subset_sum": "np.subset_sum",
    "set_cover": "np.set_cover",
    "tsp": "np.tsp",
    "hamiltonian": "np.hamiltonian_cycle",
}

for _module in MODULES:
    importlib.import_module(f"rlvr.synth.np.{_module}")
