"""Mean reward of each NP family's trivial answers: answers written without reading the instance
(set cover "every subset", the TSP tour 0..n-1, bisection "first half", clique [0], ...).

Under the default `normalized` reward they must earn 0.00; the `ratio` column is NP-Engine's
quality ratio on the same answers in the same run (the floor a policy could collect before).
The last column is the share of references known optimal (exact solvers on small instances).

    python benchmarks/np_trivial.py [--n 20] [--difficulty 0 0.5 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses

from rlvr.records import VerifierSpec
from rlvr.synth.np.answer import MARKER
from rlvr.synth.np.base import PROBLEMS, NPGenerator
from rlvr.verify import verify


def measure(name: str, difficulty: float, n: int, seed: int) -> tuple[float, float, float, int]:
    problem = PROBLEMS[name]
    gen = NPGenerator(problem, problem.config_cls(difficulty=difficulty))
    normalized, ratio, optimal, answers = [], [], 0, 0
    for idx in range(n):
        task = gen.generate(seed, idx)
        optimal += task.meta["optimal"] is True
        as_ratio = dataclasses.replace(task, verifier=VerifierSpec(task.kind, {"reward": "ratio"}))
        for trivial in problem.trivial_answers(task.meta["instance"]):
            completion = f"{MARKER} {problem.render(trivial)}"
            normalized.append(verify(task, completion).reward)
            ratio.append(verify(as_ratio, completion).reward)
            answers += 1
    return sum(normalized) / len(normalized), sum(ratio) / len(ratio), optimal / n, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="instances per family and difficulty")
    parser.add_argument("--difficulty", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'family':<26}{'difficulty':>10}{'answers':>9}{'normalized':>12}{'ratio':>8}{'optimal ref':>13}")
    worst = 0.0
    for name in sorted(PROBLEMS):
        for d in args.difficulty:
            norm, ratio, optimal, answers = measure(name, d, args.n, args.seed)
            worst = max(worst, norm)
            print(f"{name:<26}{d:>10.1f}{answers:>9}{norm:>12.2f}{ratio:>8.2f}{optimal:>13.2f}")
    print(f"highest mean normalized reward of trivial answers: {worst:.2f} (must be 0.00)")


if __name__ == "__main__":
    main()
