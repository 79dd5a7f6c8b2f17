"""Throughput of the NP task families: instances generated + reference-solved + verified per
second on one core, at difficulties 0, 0.5 and 1, next to reasoning-gym's nearest families
(graph_color, n_queens, sudoku) measured the same way in the same run.

One "instance" is: generate(seed, idx) (instance, reference solver, prompt, fingerprint, Task
record with its content hash) plus verify(task, gold completion). reasoning-gym items are
dataset[i] plus score_answer(reference answer) on its own dataset object, which builds no Task
record. Rates are per CPU-second of this process (time.process_time), i.e. per core, which
other load on a shared machine disturbs far less than wall time; each figure is the best of
--repeats passes over --n items, and ratios are against reasoning-gym's graph_color measured
in the same run.

    python benchmarks/np_throughput.py                 # all families, 3 difficulties
    python benchmarks/np_throughput.py --n 100 --families np.tsp np.knapsack --uniqueness
"""

from __future__ import annotations

import argparse
import sys
import time

TARGET = 500.0  # instances/s/core for easy and medium (issue 3), except TSP and bisection
SOLVER_BOUND = ("np.tsp", "np.min_bisection")


def measure_np(name: str, difficulty: float, n: int, repeats: int) -> tuple[float, float]:
    """(instances/s, share of time spent verifying) for one family at one difficulty."""
    from rlvr.synth.np.base import PROBLEMS, NPGenerator
    from rlvr.verify import gold_completion, verify

    problem = PROBLEMS[name]
    gen = NPGenerator(problem, problem.config_cls(difficulty=difficulty))
    best, share = 0.0, 0.0
    for r in range(repeats):
        t_gen = t_ver = 0.0
        for i in range(n):
            t0 = time.process_time()
            task = gen.generate(1000 + r, i)
            t1 = time.process_time()
            score = verify(task, gold_completion(task))
            t_ver += time.process_time() - t1
            t_gen += t1 - t0
            if score.reward != 1.0:
                raise RuntimeError(f"{name}: gold scored {score}")
        rate = n / (t_gen + t_ver)
        if rate > best:
            best, share = rate, t_ver / (t_gen + t_ver)
    return best, share


def measure_gym(name: str, n: int, repeats: int) -> float:
    import reasoning_gym as rg

    from rlvr.synth.gym import reference_answer

    best = 0.0
    for r in range(repeats):
        t0 = time.process_time()
        ds = rg.create_dataset(name, size=n, seed=1000 + r)
        for i in range(n):
            entry = ds[i]
            if ds.score_answer(reference_answer(entry), entry) != 1.0:
                raise RuntimeError(f"reasoning-gym {name}: reference answer did not score 1.0")
        best = max(best, n / (time.process_time() - t0))
    return best


def gym_graph_color_uniqueness(count: int = 3000) -> int:
    """Distinct graph_color instances (our relabelling-invariant graph fingerprint) in `count`."""
    import reasoning_gym as rg

    from rlvr.synth.np.fingerprint import graph_fingerprint

    ds = rg.create_dataset("graph_color", size=count, seed=0)
    prints = set()
    for i in range(count):
        puzzle = ds[i]["metadata"]["puzzle"]
        adj: list[list[int]] = [[] for _ in puzzle["vertices"]]
        for u, v in puzzle["edges"]:
            adj[u].append(v)
            adj[v].append(u)
        prints.add(graph_fingerprint(f"gym.graph_color/{puzzle['num_colors']}", adj))
    return len(prints)


def main(argv: list[str] | None = None) -> int:
    from rlvr.synth.np.base import PROBLEMS
    from rlvr.synth.np.stage import problem_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="items per pass (TSP and bisection use n/5)")
    parser.add_argument("--repeats", type=int, default=3, help="passes per measurement; the best is kept")
    parser.add_argument("--families", nargs="+", default=None, help="NP problems to measure (default: all)")
    parser.add_argument("--difficulties", nargs="+", type=float, default=[0.0, 0.5, 1.0])
    parser.add_argument("--uniqueness", action="store_true", help="also count distinct graph_color instances in 3000")
    args = parser.parse_args(argv)

    gym = {}
    for name in ("graph_color", "n_queens", "sudoku"):
        gym[name] = measure_gym(name, args.n if name != "sudoku" else max(10, args.n // 10), args.repeats)
    base = gym["graph_color"]
    print(f"{'family':<24} {'difficulty':>10} {'inst/s':>9} {'vs rg graph_color':>18} {'verify share':>13}  note")
    for name in args.families or problem_names():
        if name not in PROBLEMS:
            parser.error(f"unknown family {name!r}; valid: {', '.join(problem_names())}")
        n = max(10, args.n // 5) if name in SOLVER_BOUND else args.n
        for d in args.difficulties:
            rate, share = measure_np(name, d, n, args.repeats)
            if name in SOLVER_BOUND:
                note = "solver-bound, reported separately: " + _budget(name, d)
            elif d <= 0.5:
                note = "meets 500/s" if rate >= TARGET else "BELOW 500/s"
            else:
                note = ""
            print(f"{name:<24} {d:>10.1f} {rate:>9.0f} {rate / base:>17.2f}x {share:>12.0%}  {note}")
        sys.stdout.flush()
    for name, rate in gym.items():
        print(f"{'gym.' + name:<24} {'default':>10} {rate:>9.0f} {rate / base:>17.2f}x {'':>13}  reasoning-gym, same run")
    if args.uniqueness:
        print(f"reasoning-gym graph_color: {gym_graph_color_uniqueness()} distinct instances in 3000 (seed 0)")
    return 0


def _budget(name: str, difficulty: float) -> str:
    from rlvr.synth.np.base import PROBLEMS

    knobs = PROBLEMS[name].config_cls(difficulty=difficulty).knobs()
    if name == "np.tsp":
        lo, hi = knobs["cities"]
        return f"{lo}-{hi} cities, SA 1000 x cities steps + 2-opt/Or-opt descents"
    lo, hi = knobs["vertices"]
    return f"{lo}-{hi} vertices, {knobs['restarts']} descent restarts + SA 20 x vertices steps"


if __name__ == "__main__":
    raise SystemExit(main())
