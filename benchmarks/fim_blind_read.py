"""A blind reading check of fill-in-the-middle items: the issue's quality target is that, in 50
random items read by a person, the masked span is recoverable from context and no distractor is
also correct in at least 45.

Two steps, so the reader never sees the key while judging:

    python benchmarks/fim_blind_read.py sample TASKS.parquet --n 50 --seed 7 --out DIR
        writes DIR/items.txt (the prompts, numbered, no key) and DIR/key.json
    (read items.txt; write one line per item to DIR/answers.txt: the letter you would choose,
     followed by "ambiguous" when another option is also defensible, e.g. "B ambiguous")
    python benchmarks/fim_blind_read.py score DIR
        prints agreement with the key and the items that fail (wrong pick or ambiguous)

Make TASKS.parquet with e.g. `rlvr synth fim --corpus ../shared/data/corpus/*.jsonl --n 50
--seed 7 --out TASKS.parquet` (a seed the generator was not tuned on).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def sample(tasks_path: Path, n: int, seed: int, out: Path) -> None:
    from rlvr.records import Task

    tasks = [t for t in Task.read_parquet(tasks_path) if t.kind == "mcqa.fim"]
    if not tasks:
        raise SystemExit(f"{tasks_path}: no mcqa.fim tasks")
    chosen = random.Random(seed).sample(tasks, min(n, len(tasks)))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "items.txt", "w", encoding="utf-8") as f:
        for i, t in enumerate(chosen):
            f.write(f"=== ITEM {i}\n{t.prompt[-1].content}\n\n")
    (out / "key.json").write_text(json.dumps({str(i): t.answer for i, t in enumerate(chosen)}, indent=1))
    print(f"wrote {len(chosen)} items to {out / 'items.txt'}; the key is in {out / 'key.json'} (do not open it yet)")


def score(folder: Path) -> int:
    key = json.loads((folder / "key.json").read_text())
    lines = [ln.split() for ln in (folder / "answers.txt").read_text().splitlines() if ln.strip()]
    if len(lines) != len(key):
        raise SystemExit(f"{folder / 'answers.txt'}: {len(lines)} answers for {len(key)} items (one line per item)")
    failures = []
    for i, parts in enumerate(lines):
        pick, ambiguous = parts[0].upper(), "ambiguous" in (p.lower() for p in parts[1:])
        if pick != key[str(i)] or ambiguous:
            failures.append((i, pick, key[str(i)], "ambiguous" if ambiguous else "wrong pick"))
    ok = len(key) - len(failures)
    print(f"{ok} of {len(key)} items recoverable with no second defensible option (target: 45 of 50)")
    for i, pick, answer, why in failures:
        print(f"  item {i}: read {pick}, key {answer} ({why})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    s = sub.add_parser("sample", help="write unkeyed items and a separate key")
    s.add_argument("tasks", type=Path)
    s.add_argument("--n", type=int, default=50)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("score", help="compare DIR/answers.txt with DIR/key.json")
    c.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.action == "sample":
        sample(args.tasks, args.n, args.seed, args.out)
        return 0
    return score(args.folder)


if __name__ == "__main__":
    raise SystemExit(main())
