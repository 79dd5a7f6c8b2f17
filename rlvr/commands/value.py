"""`rlvr value RUN [RUN ...]`: which data helped, from one training run or pooled over several.

    rlvr value runs/seed0                                  (one run: its own bootstrap se)
    rlvr value runs/seed0 runs/seed1 runs/seed2 --out pooled_value.parquet

Each RUN is a run folder (its last train stage is read), a train stage's folder or a value.parquet.
One run prints its rows as value.parquet holds them: influence +- the bootstrap se over probe tasks
and groups, which cannot see how much a rerun would move the value. Several runs of the same data
(other seeds, other draws of a pool) are pooled by `rlvr.train.value.across_runs`: the mean over
the runs that hold a key +- the spread over them / sqrt(runs), which holds the noise of training
itself. `--out` writes the pooled rows of every level as a value.parquet, which `rlvr card --run RUN
--value-runs ...` also builds on its own.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                        help="run folder, train stage folder or value.parquet (several: pooled over them)")
    parser.add_argument("--level", default="source",
                        help="rows to print: source (default), generator, kind, doc, task, or all (every level but task)")
    parser.add_argument("--top", type=int, default=0, help="print only the N most helpful and N most harmful rows")
    parser.add_argument("--out", type=Path, help="write the pooled rows (every level) to this value.parquet")


def _pm(x: float | None, se: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:+.3g}" + (f" +- {se:.2g}" if se else "")


def _verdict(x: float | None, se: float | None) -> str:
    from rlvr.train.value import Z_SURE  # the report's threshold

    if x is None:
        return "no influence"
    if not se:
        return "no se" if x else "none"
    return ("helped" if x > 0 else "hurt") if abs(x) >= Z_SURE * se else "unclear"


def _rows(values, level: str, top: int):
    rows = [v for v in values if (v.level != "task" if level == "all" else v.level == level)]
    if top and len(rows) > 2 * top:
        ranked = sorted(rows, key=lambda v: -(v.influence or 0.0))
        rows = ranked[:top] + ranked[-top:]
    return rows


def render(values, level: str, n_runs: int, top: int = 0) -> str:
    """The table `rlvr value` prints: one line per key of `level`."""
    rows = _rows(values, level, top)
    if not rows:
        levels = sorted({v.level for v in values})
        raise ValueError(f"no value rows at level {level!r}; the runs hold {', '.join(levels) or 'none'}")
    se_of = "se over runs" if n_runs > 1 else "bootstrap se (probe tasks, groups)"
    header = ["level", "key", "runs", "groups", "mixed", f"influence +- {se_of}", "vs replacement", "verdict"]
    body = [[v.level, v.key, str(v.meta.get("runs", 1)), str(v.n_groups), str(v.n_mixed_groups),
             _pm(v.influence, v.influence_se),
             _pm(v.meta.get("influence_vs_replacement"), v.meta.get("influence_vs_replacement_se")),
             _verdict(v.influence, v.influence_se)] for v in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *body])


def run(args: argparse.Namespace) -> int:
    from rlvr.records import Value
    from rlvr.train.value import pool_runs, value_file

    files = [value_file(p) for p in args.runs]
    if len(set(map(Path.resolve, files))) < len(files):
        raise ValueError("the same value.parquet was given twice: " + ", ".join(map(str, files)))
    runs = [Value.read_parquet(f) for f in files]
    for f, values in zip(files, runs):
        if not values:
            raise ValueError(f"{f}: no value rows (was anything trained?)")
    values = runs[0] if len(runs) == 1 else pool_runs(runs)
    what = str(files[0]) if len(files) == 1 else f"{len(files)} runs pooled (mean +- spread over runs / sqrt(runs))"
    print(f"rlvr value: {what}")
    print(render(values, args.level, len(runs), args.top))
    if args.out:
        Value.write_parquet(args.out, values)
        print(f"wrote {len(values)} rows to {args.out}")
    return 0
