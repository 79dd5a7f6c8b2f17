"""The guards that keep text similarity from merging different verifiable problems.

`same_numbers`: a near-duplicate pair must contain the same multiset of numbers. Right for
task tables, where templated prompts ("how many legs do 13 crabs and 7 flies have") differ only
in their numbers; wrong for prose, where two copies of a page that differ in a year, a page
number or a footnote mark are still the same page (on planted prose near-duplicates the guard cut
recall from 0.996 to 0.909, benchmarks/prose_dedupe.py). So by default (`same_numbers` unset) it
applies to a pair only when both items are rlvr tasks (their item `kind` is set) and never to
plain-text records; `true` or `false` forces it. The decisions say which way it went.

`same_answer`: when both items have a reference answer, the normalised answers must be equal.
"""

from __future__ import annotations

import numpy as np


def numbers_guard(same_numbers: bool | None, task_flags: np.ndarray) -> tuple[np.ndarray, str]:
    """Per item: does the numbers guard apply to it; and a phrase for the decisions."""
    if same_numbers is None:
        on = np.asarray(task_flags, dtype=bool)
        if on.all():
            return on, "numbers guard on (task table)"
        if not on.any():
            return on, "numbers guard off (plain text)"
        return on, "numbers guard on for tasks only"
    return np.full(len(task_flags), bool(same_numbers)), f"numbers guard {'on' if same_numbers else 'off'} (set)"


def pair_guards(config, left: np.ndarray, right: np.ndarray, numbers: np.ndarray, answers: np.ndarray,
                guarded: np.ndarray) -> np.ndarray:
    """Which candidate pairs pass the guards."""
    ok = np.ones(len(left), dtype=bool)
    both = guarded[left] & guarded[right]
    ok &= ~both | (numbers[left] == numbers[right])
    if config.same_answer:
        a, b = answers[left], answers[right]
        ok &= (a == 0) | (b == 0) | (a == b)
    return ok
