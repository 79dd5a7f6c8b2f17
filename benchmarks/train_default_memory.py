"""Peak resident memory of `rlvr train` with default settings on CPU, against its planned budget.

The first thing a user tries: reasoning-gym basic_arithmetic tasks, the bundled SmolLM2-135M,
every setting at its default (4 prompts x 8 completions x 256 tokens, influence on), 3 steps:

    rlvr synth gym --name basic_arithmetic --n 64 --out tasks.parquet
    rlvr train --tasks tasks.parquet --steps 3 --out runs/default

Before the memory planner (rlvr/train/memory.py) this passed 15 GB resident: one 8192-token
micro-batch at about 2 MB per token. Now the micro-batches are sized for the memory the run may
use (what is available, at most 4 GB by default). This script runs the two commands in
subprocesses and prints the run's peak resident memory (the kernel's ru_maxrss of the child),
its wall time, and the ratio of the peak to the budget (target: <= 1.0).

    python benchmarks/train_default_memory.py [--steps 3] [--memory-gb 0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--memory-gb", type=float, default=0.0, help="passed to rlvr train (0: its default)")
    args = parser.parse_args()

    from rlvr.train.memory import GB, cpu_budget

    budget = cpu_budget(args.memory_gb)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        tasks = Path(tmp) / "tasks.parquet"
        subprocess.run([sys.executable, "-m", "rlvr", "synth", "gym", "--name", "basic_arithmetic", "--n", "64",
                        "--out", str(tasks)], check=True, env=env, stdout=subprocess.DEVNULL)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        cmd = [sys.executable, "-m", "rlvr", "train", "--tasks", str(tasks), "--steps", str(args.steps),
               "--out", str(Path(tmp) / "run")]
        if args.memory_gb:
            cmd += ["--memory-gb", str(args.memory_gb)]
        start = time.monotonic()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if done.returncode != 0:
            sys.exit(f"rlvr train failed:\n{done.stderr[-3000:]}")
        manifest = json.loads((Path(tmp) / "run" / "manifest.json").read_text())
        counts = manifest["stages"]["train"]["counts"]
    peak = peak_kb * 1024 if peak_kb > before else float("nan")
    print(f"rlvr train, defaults, {args.steps} steps on CPU: micro_batches={counts.get('micro_batches')}, "
          f"{seconds:.0f} s wall")
    print(f"peak resident {peak / GB:.2f} GB; budget {budget / GB:.2f} GB; peak/budget = {peak / budget:.2f}")


if __name__ == "__main__":
    main()
