"""Can a FIM item be answered without reading it? Accuracy of shortcut rules against chance.

    python benchmarks/fim_shortcuts.py --corpus ../shared/data/corpus/*.jsonl --n 500 --seed 11
    python benchmarks/fim_shortcuts.py --tasks fim.parquet        # items made earlier

Generates `--n` embedded-mode items from the corpus (or reads mcqa.fim tasks) and prints the
accuracy of each rule from rlvr.synth.fim.shortcuts (longest, shortest, word-overlap share and
count against the masked passage, boundary-character fit, fewest negations; ties split evenly)
and of a bag-of-words logistic regression that never sees the passage (2-fold cross-validation
over items), each against chance and against the issue's target (chance + 0.08). Three more
diagnostics follow: picking among the options that have a near-identical twin, among those that
do not, and among those of neither the longest nor the shortest length, plus how items are laid out (twins of the answer, twins of distractors, where the
distractors come from).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_MARGIN = 0.08


def load_items(args: argparse.Namespace) -> list:
    from rlvr.records import Task

    if args.tasks:
        tasks = [t for t in Task.read_parquet(args.tasks) if t.kind == "mcqa.fim"]
        return tasks[: args.n] if args.n else tasks
    from rlvr.synth.fim.config import FimConfig
    from rlvr.synth.fim.generator import FimGenerator

    gen = FimGenerator(FimConfig(corpus=list(args.corpus), options=args.options, perturbations=args.perturbations))
    start = time.perf_counter()
    tasks = list(gen.iter_tasks(args.seed, args.n))
    print(f"generated {len(tasks)} items in {time.perf_counter() - start:.0f} s "
          f"(seed {args.seed}, {len(gen.passages)} passages)")
    if args.save:
        Task.write_parquet(args.save, tasks)
    return tasks


def layout(task) -> str:
    """e.g. 'answer+1 | 1 twinned distractor pair | 1 single': how the options relate."""
    origins = task.meta["option_origins"]
    of = Counter(o.get("of") for o in origins if o["kind"].startswith("perturb:"))
    answer_twins = of.pop("answer", 0)
    twinned = len(of)
    singles = sum(1 for i, o in enumerate(origins)
                  if o["kind"] != "answer" and not o["kind"].startswith("perturb:") and "ABCDEFGHIJ"[i] not in of)
    return f"answer+{answer_twins} twins | {twinned} twinned distractors | {singles} single distractors"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs="+", default=[], help="corpus paths (or builtin:pydocs)")
    parser.add_argument("--tasks", type=Path, help="read mcqa.fim tasks instead of generating")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--options", type=int, default=4)
    parser.add_argument("--perturbations", type=int, default=1)
    parser.add_argument("--save", type=Path, help="also write the generated tasks here")
    args = parser.parse_args()
    if not args.tasks and not args.corpus:
        parser.error("give --corpus PATH... or --tasks FILE")

    from rlvr.synth.fim.shortcuts import blind_bow_accuracy, has_twin, heuristic_accuracy
    from rlvr.synth.fim.text import tokens

    tasks = load_items(args)
    if not tasks:
        raise SystemExit("no items")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    items = [(t.meta["masked_text"], t.meta["options"], letters.index(t.answer)) for t in tasks]
    acc = heuristic_accuracy(items)
    chance = acc.pop("chance")
    acc["blind_bag_of_words (2-fold)"] = blind_bow_accuracy([(o, k) for _, o, k in items], seed=args.seed)
    twin_credit = single_credit = 0.0
    for _, options, key in items:
        tw = has_twin(options)
        pool = [i for i, t in enumerate(tw) if t] or list(range(len(options)))
        twin_credit += (key in pool) / len(pool)
        pool = [i for i, t in enumerate(tw) if not t] or list(range(len(options)))
        single_credit += (key in pool) / len(pool)
    middle = 0.0  # the inverse of longest/shortest: any option that is neither
    for _, options, key in items:
        n = [len(tokens(o)) for o in options]
        pool = [i for i, x in enumerate(n) if min(n) < x < max(n)] or list(range(len(options)))
        middle += (key in pool) / len(pool)
    extra = {"pick_among_twinned": twin_credit / len(items), "pick_among_untwinned": single_credit / len(items),
             "pick_middle_length": middle / len(items)}

    print(f"\n{len(items)} items, chance {chance:.3f}, target: every rule <= chance + {TARGET_MARGIN} "
          f"= {chance + TARGET_MARGIN:.3f}")
    print(f"{'rule':32s} {'accuracy':>8s} {'- chance':>8s}  verdict")
    for name, value in list(acc.items()) + list(extra.items()):
        verdict = "ok" if value <= chance + TARGET_MARGIN else "SHORTCUT"
        print(f"{name:32s} {value:8.3f} {value - chance:+8.3f}  {verdict}{'  (diagnostic)' if name in extra else ''}")
    gold_twin = sum(has_twin(o)[k] for _, o, k in items) / len(items)
    print(f"\nanswer has a near-identical twin in {gold_twin:.0%} of items; "
          f"options with a twin: {sum(sum(has_twin(o)) for _, o, _ in items) / sum(len(o) for _, o, _ in items):.0%}")
    kinds = Counter()
    for t in tasks:
        for o in t.meta["option_origins"]:
            if o["kind"] != "answer":
                kinds[o["kind"].split(":")[0] + (f":{o['scope']}" if o.get("scope") else "")] += 1
    total = sum(kinds.values())
    print("distractor origins: " + ", ".join(f"{k} {v / total:.0%}" for k, v in kinds.most_common()))
    print("layouts:")
    for name, count in Counter(layout(t) for t in tasks).most_common(8):
        print(f"  {count / len(tasks):5.0%}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
