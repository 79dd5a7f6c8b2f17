"""`rlvr verify`: score completions offline, or audit every task's gold answer.

    rlvr verify --tasks T.parquet --completions C.jsonl --out S.jsonl
    rlvr verify --tasks T.parquet --gold

C.jsonl has one `{"task_id": ..., "completion": ...}` per line. Lines that cannot be scored
(bad JSON, unknown task_id, missing fields) are reported with their line number and written to
the output with status "error", so every input line has exactly one output line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from rlvr.cliutil import table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", required=True, nargs="+", help="task Parquet file(s)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--completions", type=Path, help="JSONL of {task_id, completion}")
    mode.add_argument("--gold", action="store_true", help="check each task's reference completion scores 1.0")
    parser.add_argument("--out", type=Path, help="JSONL of scores (required with --completions)")


def run(args: argparse.Namespace) -> int:
    if args.out is None and not args.gold:
        raise ValueError("--out is required with --completions")
    tasks = index_tasks(args.tasks)
    if args.gold:
        return _gold(list(tasks.values()))
    return _score_file(tasks, args.completions, args.out)


def index_tasks(paths) -> dict:
    """task_id -> Task over every file. The same task twice is reported and scored once; two
    different tasks under one task_id are refused (which one would a completion be scored against?)."""
    from rlvr.io.tasks import read_tasks

    tasks: dict = {}
    where: dict[str, str] = {}
    repeats: list[str] = []
    for path in paths:
        for row, task in enumerate(read_tasks(path), start=1):
            here = f"{path}:{row}"
            if task.task_id not in tasks:
                tasks[task.task_id], where[task.task_id] = task, here
            elif task == tasks[task.task_id]:
                repeats.append(f"{here} repeats {where[task.task_id]}")
            else:
                raise ValueError(f"task_id {task.task_id!r} names two different tasks: {where[task.task_id]} and "
                                 f"{here}; give each task its own id (rlvr computes it from the content)")
    if repeats:
        print(f"note: {len(repeats)} duplicate task row(s), each scored once: " + "; ".join(repeats[:5])
              + (" ..." if len(repeats) > 5 else ""))
    return tasks


def _gold(tasks) -> int:
    from rlvr.verify import check_gold

    report = check_gold(tasks)
    print(f"checked {report.checked} tasks: {report.checked - len(report.failures)} gold answers score 1.0, "
          f"{len(report.failures)} do not")
    for task_id, score in report.failures[:50]:
        print(f"  {task_id}: reward {score.reward:.3f} status {score.status}: {score.detail}")
    return 1 if report.failures else 0


def _score_file(tasks, completions: Path, out: Path) -> int:
    from rlvr.io.atomic import atomic_path
    from rlvr.verify import verify

    if not completions.exists():
        raise FileNotFoundError(f"{completions}: no such file")
    statuses: Counter[str] = Counter()
    rewards: list[float] = []
    problems: list[str] = []
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh_out, open(completions, "rb") as fh_in:
        for lineno, raw in enumerate(fh_in, start=1):
            if not raw.strip():
                continue
            row, error = _parse_line(raw, lineno, tasks)
            if error:
                problems.append(error)
                record = {"line": lineno, "task_id": row.get("task_id") if row else None,
                          "reward": None, "status": "error", "detail": error}
            else:
                score = verify(tasks[row["task_id"]], row["completion"])
                rewards.append(score.reward)
                record = {"line": lineno, "task_id": row["task_id"], "reward": score.reward,
                          "status": score.status, "detail": score.detail, **score.info}
            statuses[record["status"]] += 1
            fh_out.write(json.dumps(record, ensure_ascii=False) + "\n")
    mean = sum(rewards) / len(rewards) if rewards else float("nan")
    print(table({**dict(statuses), "mean reward": f"{mean:.4f}"}, f"scored {sum(statuses.values())} lines -> {out}"))
    for p in problems[:20]:
        print("  " + p)
    if not rewards:
        what = f"all {len(problems)} lines are errors" if problems else "the file has no lines"
        print(f"rlvr verify: nothing could be scored in {completions}: {what}", file=sys.stderr)
        return 1
    return 0


def _parse_line(raw: bytes, lineno: int, tasks) -> tuple[dict | None, str | None]:
    try:
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"line {lineno}: not valid UTF-8 JSON ({exc})"
    if not isinstance(row, dict):
        return None, f"line {lineno}: expected an object with task_id and completion"
    if not isinstance(row.get("task_id"), str):
        return row, f"line {lineno}: field 'task_id' missing or not a string"
    if not isinstance(row.get("completion"), str):
        return row, f"line {lineno}: field 'completion' missing or not a string"
    if row["task_id"] not in tasks:
        return row, f"line {lineno}: field 'task_id': {row['task_id']!r} is not in the task files"
    return row, None
