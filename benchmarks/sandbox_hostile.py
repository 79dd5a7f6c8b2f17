"""The sandbox hostility table: every hostile program of tests/test_sandbox_hostile.py in every
isolation mode and depth, and whether it was contained.

    python benchmarks/sandbox_hostile.py [--only NAME ...] [--workers 4]

A cell reads `ok` when the program was contained and ended with the status the suite expects,
`C:<status>` when it was contained with a status the suite does not pin, `BREACH` (with what it
achieved below the table) or `STATUS` (contained, but not the expected status), and `-` where
the mode cannot run here (the reason is printed). The last lines count contained runs per mode.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _suite():
    spec = importlib.util.spec_from_file_location("sandbox_hostile_suite", ROOT / "tests" / "test_sandbox_hostile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    suite = _suite()
    cases = [c for c in suite.ALL_CASES if not args.only or c.name in args.only]
    fixture = suite.host.__wrapped__ if hasattr(suite.host, "__wrapped__") else suite.host.__pytest_wrapped__.obj
    gen = fixture(None)
    host = next(gen)
    start = time.monotonic()
    try:
        jobs = [(c, i, d) for c in cases for i, d in suite.MODES]
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(lambda job: suite.run_case(*job, host), jobs))
        host["connections"] = suite._accept_all(host["listener"]) + suite._accept_all(host["unix"])
        rows, notes = {}, []
        totals = {f"{i}/{d}": [0, 0] for i, d in suite.MODES}
        for (case, iso, depth), result in zip(jobs, results):
            key = f"{iso}/{depth}"
            if result is None:
                cell = "-"
            else:
                found = suite.breaches(case, iso, depth, result, host)
                expected = case.expected(iso, depth)
                status = getattr(result, "status", "setup-error")
                totals[key][1] += 1
                if found:
                    cell = "BREACH"
                    notes.append(f"{case.name} [{key}]: {'; '.join(found)}")
                else:
                    totals[key][0] += 1
                    if expected is None:
                        cell = f"C:{status}"
                    elif status == expected:
                        cell = "ok"
                    else:
                        cell = "STATUS"
                        notes.append(f"{case.name} [{key}]: contained, status {status} ({result.detail[:80]}), "
                                     f"suite expects {expected}")
            rows.setdefault(case.name, {})[key] = cell
    finally:
        gen.close()
    keys = [f"{i}/{d}" for i, d in suite.MODES]
    width = max(len(c.name) for c in cases)
    print("case".ljust(width), *[k.rjust(17) for k in keys])
    for name, row in rows.items():
        print(name.ljust(width), *[row[k].rjust(17) for k in keys])
    print("contained".ljust(width), *[f"{totals[k][0]}/{totals[k][1]}".rjust(17) for k in keys])
    for iso, (python, reason) in suite._interpreters().items():
        if reason:
            print(f"{iso}: cannot run here: {reason}")
        elif python:
            print(f"{iso}: runs with python={python}")
    for note in notes:
        print(note)
    print(f"{len(jobs)} runs in {time.monotonic() - start:.1f} s")
    return 1 if any("BREACH" in r.values() for r in rows.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
