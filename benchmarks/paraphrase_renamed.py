"""Paraphrases with other names and objects: caught, and what must not be flagged.

Sets (tests/curate/paraphrases.py, all hand-written): 40 retellings of GSM8K test items with every
name and object changed and the numbers kept (RENAMED_GSM8K), 12 more written after the constants were fixed
(HELD_OUT_RENAMED_GSM8K, the honest estimate), 40 same-style look-alikes with new
questions and new numbers (LOOK_ALIKES), the earlier name-keeping paraphrases (87), and 450
clean reasoning-gym and procedural tasks. Benchmarks: GSM8K + MATH-500 test questions. Then the
false-alarm check on real data: every GSM8K test question curated against MATH-500 + MMLU-STEM
(other word-problem sets; none of them is a copy of another).

Two settings of the same step in the same run: the number-set retrieval off
(`paraphrase_structure=2.0`, which no pair can reach: the paraphrase check as before) and on
(default 1.0). The renamed set was used to set the number-path constants, so its recall is
optimistic; the look-alikes, clean tasks and the GSM8K check were never tuned on.

    python benchmarks/paraphrase_renamed.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "curate"))
DATA = REPO.parent / "shared" / "data" / "benchmarks"

from paraphrases import (  # noqa: E402
    HELD_OUT_RENAMED_GSM8K,
    LOOK_ALIKES,
    RENAMED_GSM8K,
    all_paraphrases,
    held_out_paraphrases,
)
from planted import farm_task, gym_tasks, task  # noqa: E402

from rlvr.curate.config import CurateConfig  # noqa: E402
from rlvr.curate.decontam import DecontamStep  # noqa: E402
from rlvr.curate.items import Inputs, items_from_tasks  # noqa: E402
from rlvr.curate.runner import run_steps  # noqa: E402


def decide(tasks, benchmarks: list[Path], structure: float) -> dict:
    config = CurateConfig(steps=["decontam"], benchmarks=[str(b) for b in benchmarks],
                          paraphrase_structure=structure)
    result = run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), [DecontamStep(config)])
    return {d["task_id"]: d for d in result.decisions.to_pylist()}


def flagged(decisions: dict, tasks) -> int:
    return sum(not decisions[t.task_id]["keep"] for t in tasks)


def main() -> None:
    renamed = [task(t, None) for t in RENAMED_GSM8K.values()]
    held = [task(t, None) for t in HELD_OUT_RENAMED_GSM8K.values()]
    looks = [task(t, None) for t in LOOK_ALIKES]
    earlier = [task(t, None) for _, _, t in all_paraphrases() + held_out_paraphrases()]
    clean = gym_tasks(400, seed=21) + [farm_task(c, h) for c in range(2, 12) for h in range(3, 8)]
    gsm8k = [json.loads(line) for line in (DATA / "gsm8k_test.jsonl").open(encoding="utf-8")]
    gsm_tasks = [task(r["question"], r["answer"]) for r in gsm8k]
    print(f"{'number-set retrieval':<22} {'renamed':>9} {'held out':>9} {'look-alikes':>12} {'earlier':>9} {'clean':>7} "
          f"{'GSM8K vs MATH/MMLU':>19}")
    for label, structure in (("off", 2.0), ("on (default)", 1.0)):
        d = decide(renamed + held + looks + earlier + clean, [DATA / "gsm8k_test.jsonl", DATA / "math500_test.jsonl"],
                   structure)
        caught = sum(d[t.task_id]["evidence"]["matched_id"] == key and not d[t.task_id]["keep"]
                     for t, key in zip(renamed, RENAMED_GSM8K))
        held_caught = sum(d[t.task_id]["evidence"]["matched_id"] == key and not d[t.task_id]["keep"]
                          for t, key in zip(held, HELD_OUT_RENAMED_GSM8K))
        g = decide(gsm_tasks, [DATA / "math500_test.jsonl", DATA / "mmlu_stem_test.jsonl"], structure)
        g_flagged = sum(not x["keep"] for x in g.values())
        print(f"{label:<22} {caught:>6}/{len(renamed)} {held_caught:>6}/{len(held)} {flagged(d, looks):>9}/{len(looks)} "
              f"{flagged(d, earlier):>6}/{len(earlier)} {flagged(d, clean):>3}/{len(clean)} "
              f"{g_flagged:>8}/{len(gsm_tasks)} ({g_flagged / len(gsm_tasks):.2%})")
    print("targets: renamed >= 70% caught, 0 look-alikes, <= 0.1% of GSM8K flagged")


if __name__ == "__main__":
    main()
