"""Selection overhead: proposal + update time for pools of 1e4, 1e5 and 1e6 tasks.

One "round" is what a training step costs the selector: `propose(batch)` over the whole pool,
then folding `batch` groups of k rollouts back into the store (one step of forgetting plus the
Beta update). Each selector is timed against a baseline measured in the same run and the same
process: a bare numpy top-B (`np.argpartition` over a fresh score array of the pool's size),
the least any top-B selector can cost. Absolute times on a shared machine are noisy; the
ratios are what to compare across machines. The issue's target is absolute: a batch of 256
from 1e6 tasks in under 50 ms.

    python benchmarks/select_overhead.py [--sizes 10000 100000 1000000] [--batch 256] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from rlvr.select.base import SelectConfig, make_selector, selector_names
from rlvr.select.store import PassRateStore

TARGET_MS = 50.0


def warm_store(n: int, k: int, rng: np.random.Generator) -> PassRateStore:
    """A store where every task has been seen a few times, so scores are not all ties."""
    # SelectConfig's store: empirical prior (refitted, and every task shifted, at each update),
    # forgetting per step and per visit, as a training run gets it.
    store = SelectConfig().make_store(task_ids=[f"t{i}" for i in range(n)])
    idx = np.arange(n)
    for step in range(3):
        store.update(idx, rng.binomial(k, rng.beta(0.5, 0.5, n)).astype(np.float64), np.full(n, float(k)), step=step)
    return store


def time_round(selector, batch: int, k: int, rng: np.random.Generator) -> float:
    start = time.perf_counter()
    proposal = selector.propose(batch, rng)
    successes = rng.binomial(k, 0.5, len(proposal)).astype(np.float64)
    selector.observe_counts(proposal.indices, successes, np.full(len(proposal), float(k)),
                            step=selector.store.step + 1)
    return time.perf_counter() - start


def time_baseline(n: int, batch: int, rng: np.random.Generator) -> float:
    start = time.perf_counter()
    scores = rng.random(n)
    np.argpartition(scores, n - batch)[n - batch:]
    return time.perf_counter() - start


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: first-touch page faults and lazy imports are not per-step costs
    return 1000 * statistics.median(fn() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--selectors", nargs="+", default=selector_names())
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}, k {args.k}, median of {args.repeats} rounds (propose + update), "
          "ratio = selector / numpy argpartition top-B on the same pool size")
    for n in args.sizes:
        base = median_ms(lambda n=n: time_baseline(n, args.batch, rng), args.repeats)
        print(f"\npool {n:>9,}   baseline argpartition top-{args.batch}: {base:7.2f} ms")
        store = warm_store(n, args.k, rng)
        for name in args.selectors:
            selector = make_selector(name, store, SelectConfig(selector=name, k=args.k, max_pending_age=1))
            ms = median_ms(lambda s=selector: time_round(s, args.batch, args.k, rng), args.repeats)
            flag = "" if n < 1_000_000 else ("  < 50 ms" if ms < TARGET_MS else "  >= 50 ms (target missed)")
            print(f"  {name:<11} {ms:8.2f} ms   {ms / base:5.1f}x baseline{flag}")
        if n <= 100_000:  # exact k-rollout MI is far slower; shown where it is still usable
            form = SelectConfig(selector="insight", k=args.k, insight_form="weighted_mi", max_pending_age=1)
            wmi = make_selector("insight", store, form)
            ms = median_ms(lambda s=wmi: time_round(s, args.batch, args.k, rng), max(3, args.repeats // 2))
            print(f"  {'insight/wmi':<11} {ms:8.2f} ms   {ms / base:5.1f}x baseline  (insight_form=weighted_mi)")


if __name__ == "__main__":
    main()
