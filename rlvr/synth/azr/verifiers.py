"""Verifiers for the three Absolute Zero task kinds.

- `azr.deduction`: the predicted output is parsed as a literal here (never evaluated) and
  compared with the gold repr as a value, so `[1,2]` matches `[1, 2]` and `{2, 1}` matches `{1, 2}`.
- `azr.abduction`: any input counts if `f(input)` returns the gold output. The input must be
  literal arguments; `f` runs in the sandbox and the returned repr is compared here.
- `azr.induction`: the solver's program must reproduce every pair, the shown ones and the
  hidden ones; it runs in the sandbox, all pairs in one run.

Every sandbox run is bounded by the task's `timeout_s` (verifier params), so a hostile
completion costs at most that long. Statuses: a malformed or banned answer is format_error; a
program that raises, runs out of memory or prints too much is wrong; one that runs out of time is
timeout; two final blocks with different content (a hedge) are ambiguous. A sandbox that cannot
start raises, which `rlvr.verify.verify` records as error.
"""

from __future__ import annotations

import re

from rlvr.answers import HEDGE_WORDS
from rlvr.records import Task
from rlvr.synth.azr.programs import Rejected, check_program, outputs_match, parse_arguments, parse_literal
from rlvr.synth.azr.tasks import all_blocks, end_of_last_block, extract_block
from rlvr.synth.sandbox import SandboxLimits, SandboxResult, run_python
from rlvr.verify import AnswerProbe, FunctionVerifier, Score, register_probe, register_verifier


def _limits(task: Task) -> SandboxLimits:
    p = task.verifier.params
    return SandboxLimits(timeout_s=float(p.get("timeout_s", 5.0)), memory_mb=int(p.get("memory_mb", 512)))


def _run_failure(result: SandboxResult) -> Score:
    if result.status == "timeout":
        return Score(0.0, "timeout", result.detail)
    if result.status == "banned":
        return Score(0.0, "format_error", f"banned: {result.detail}")
    return Score(0.0, "wrong", f"{result.status}: {result.detail}"[:300])


def _several(completion: str, tag: str, same) -> Score | None:
    """`ambiguous` when the completion commits to two different final blocks (the shared rule of
    rlvr.answers: a hedge such as one ```output block per candidate earns nothing)."""
    blocks = all_blocks(completion, tag)
    if any(not same(blocks[-1], b) for b in blocks[:-1]):
        return Score(0.0, "ambiguous", f"{len(blocks)} ```{tag} / <answer> blocks with different content")
    return None


_VALUE_HEDGE = re.compile(r"(?i)\b(?:" + "|".join(w for w in HEDGE_WORDS if w not in ("not", "none", "nor", "neither",
                                                                                      "except", "unless"))
                          + r"|too|actually|rather|wait|works?|valid|correct)\b")


def _hedged_after(completion: str, tag: str) -> Score | None:
    """`ambiguous` when the text after the last block offers another value (`maybe 12`, `or [1]`):
    a hedge word next to a digit, quote or bracket."""
    end = end_of_last_block(completion, tag)
    tail = completion[end:] if end >= 0 else ""
    if _VALUE_HEDGE.search(tail) and re.search(r"[\d'\"\[({]", tail):
        return Score(0.0, "ambiguous", f"text after the final block offers another value: {tail.strip()[:60]!r}")
    return None


def score_deduction(task: Task, completion: str) -> Score:
    text = extract_block(completion, "output")
    if text is None:
        return Score(0.0, "format_error", "no ```output block")
    several = _several(completion, "output", lambda a, b: a == b or outputs_match(a, b))
    if several is None:
        several = _hedged_after(completion, "output")
    if several is not None:
        return several
    if outputs_match(task.answer, text):  # also matches non-literal golds such as Counter({...})
        return Score(1.0, "ok", f"output {text[:60]!r}")
    try:
        parse_literal(text)
    except Rejected as exc:
        return Score(0.0, "format_error", str(exc))
    return Score(0.0, "wrong", f"predicted {text[:60]!r}, expected {task.answer[:60]!r}")


def score_abduction(task: Task, completion: str) -> Score:
    text = extract_block(completion, "input")
    if text is None:
        return Score(0.0, "format_error", "no ```input block")
    several = _several(completion, "input", lambda a, b: a == b) or _hedged_after(completion, "input")
    if several is not None:
        return several
    try:
        args = parse_arguments(text)
    except Rejected as exc:
        return Score(0.0, "format_error", str(exc))
    result = run_python(task.meta["program"], expressions=[f"f({args}\n)"], limits=_limits(task))
    if result.status != "ok":
        return _run_failure(result)
    if outputs_match(task.meta["output"], result.values[0]):
        return Score(1.0, "ok", f"f({args[:40]}) reproduces the output")
    return Score(0.0, "wrong", f"f({args[:40]}) returned {result.values[0][:60]!r}")


def score_induction(task: Task, completion: str) -> Score:
    code = extract_block(completion, "python")
    if code is None:
        return Score(0.0, "format_error", "no ```python block")
    several = _several(completion, "python", lambda a, b: a == b)
    if several is not None:
        return several
    try:
        code = check_program(code, single_function=False)
    except Rejected as exc:
        return Score(0.0, "format_error", str(exc))
    pairs = [*task.meta["given"], *task.meta["hidden"]]
    result = run_python(code, expressions=[f"f({args}\n)" for args, _ in pairs], limits=_limits(task))
    if result.status != "ok":
        return _run_failure(result)
    failed = [i for i, ((_, gold), got) in enumerate(zip(pairs, result.values)) if not outputs_match(gold, got)]
    if failed:
        n_given = len(task.meta["given"])
        hidden_failed = sum(1 for i in failed if i >= n_given)
        return Score(0.0, "wrong", f"{len(failed)}/{len(pairs)} pairs differ ({hidden_failed} hidden)")
    return Score(1.0, "ok", f"all {len(pairs)} pairs reproduced")


def gold_deduction(task: Task) -> str:
    return f"```output\n{task.answer}\n```"


def gold_abduction(task: Task) -> str:
    return f"```input\n{task.answer}\n```"


def gold_induction(task: Task) -> str:
    return f"```python\n{task.answer}\n```"


DESCRIPTIONS = {
    "azr.deduction": "the last ```output block is parsed as a Python literal (never evaluated) and must equal the "
                     "program's recorded output as a value",
    "azr.abduction": "the last ```input block must be literal arguments for which the program, run in the sandbox, "
                     "returns the recorded output (any such input counts)",
    "azr.induction": "the last ```python block must define f reproducing every input/output pair, the shown and the "
                     "hidden ones, in one sandboxed run",
}
VERIFIERS = {
    name: register_verifier(FunctionVerifier(name, score, gold, description=DESCRIPTIONS[name]))
    for name, score, gold in (
        ("azr.deduction", score_deduction, gold_deduction),
        ("azr.abduction", score_abduction, gold_abduction),
        ("azr.induction", score_induction, gold_induction),
    )
}



def _probe_tasks(kind: str) -> list[Task]:
    from rlvr.records import Provenance
    from rlvr.synth.azr.buffer import ProgramEntry
    from rlvr.synth.azr.tasks import ExecLimits, abduction_task, deduction_task, induction_task

    entry = ProgramEntry("def f(n):\n    return n % 3 + 10", ["4", "9", "5", "7"], ["11", "10", "12", "11"])
    prov, limits = Provenance("probe"), ExecLimits(timeout_s=5.0, memory_mb=256)
    if kind == "azr.deduction":
        return [deduction_task(entry, 0, prov, limits), deduction_task(entry, 2, prov, limits)]
    if kind == "azr.abduction":
        return [abduction_task(entry, 0, prov, limits)]
    return [induction_task(entry, [0, 1], [2, 3], prov, limits)]


_PROBE_OTHERS = {"azr.deduction": ["99", "[11]", "'11'"], "azr.abduction": ["3", "6"],
                 "azr.induction": ["def f(n):\n    return n", "def f(n):\n    return n % 3"]}
_FENCE = {"azr.deduction": "output", "azr.abduction": "input", "azr.induction": "python"}
for _name in VERIFIERS:
    register_probe(_name, AnswerProbe(
        samples=lambda n=_name: _probe_tasks(n),
        gold=lambda task: str(task.answer),
        others=lambda task: _PROBE_OTHERS[task.verifier.name],
        wrap=lambda text, fence=_FENCE[_name]: f"```{fence}\n{text}\n```",
        slow=_name != "azr.deduction",
    ))
