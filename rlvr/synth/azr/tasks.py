"""Solver tasks made from Absolute Zero programs: prompts, reference answers, answer extraction.

- deduction (`azr.deduction`): program and input shown; predict the output.
- abduction (`azr.abduction`): program and output shown; give any input that produces it.
- induction (`azr.induction`): some input/output pairs and the proposer's message shown; write
  the program. Further pairs are held back and checked by the verifier.

The prompts paraphrase the Absolute Zero solver prompts. Answers go in a fenced block tagged
output / input / python; a final `<answer>...</answer>` is accepted too, since small models
follow that convention from other rlvr families.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.synth.azr.buffer import ProgramEntry

KINDS = ("deduction", "abduction", "induction")

SYSTEM_PROMPT = (
    "You solve Python code reasoning puzzles. Think step by step, then give the final answer in the "
    "fenced code block the question asks for."
)


@dataclass(frozen=True)
class ExecLimits:
    """Sandbox limits the verifier uses when it runs code for a task (stored in verifier params)."""

    timeout_s: float = 5.0
    memory_mb: int = 512

    def params(self) -> dict[str, Any]:
        return {"timeout_s": self.timeout_s, "memory_mb": self.memory_mb}


def _fence(tag: str, body: str) -> str:
    return f"```{tag}\n{body}\n```"


def deduction_prompt(program: str, args: str) -> str:
    return (
        "Work out what the Python function `f` below returns for the given input.\n\n"
        f"{_fence('python', program)}\n\n"
        f"The call is:\n{_fence('input', args)}\n\n"
        "Reason step by step. Then write only the returned value, as a Python literal (quote strings, use a "
        "tuple for several returned values), in a block tagged output, like this:\n"
        "```output\n<the value f returns>\n```"
    )


def abduction_prompt(program: str, output: str) -> str:
    return (
        "Find an input for the Python function `f` below that makes it return exactly the value shown. "
        "Any input that produces this value counts.\n\n"
        f"{_fence('python', program)}\n\n"
        f"The value `f` must return:\n{_fence('', output)}\n\n"
        "Reason step by step. Then write the arguments exactly as they would appear between the parentheses "
        "of the call f(...), as Python literals separated by commas, in a block tagged input, like this:\n"
        "```input\n<arguments for f>\n```"
    )


def induction_prompt(pairs: list[tuple[str, str]], message: str, n_hidden: int) -> str:
    shown = "\n".join(f"f({args}) -> {out}" for args, out in pairs)
    return (
        "A hidden Python function `f` produced these results:\n\n"
        f"{_fence('', shown)}\n\n"
        f"Its author left this note: {message or '(no note)'}\n\n"
        f"Write `f`. It is checked on the calls above and on {n_hidden} more that are not shown, and must "
        "reproduce every one. Use only the standard library: no randomness, time, files, network or printing. "
        "Give the complete code in a block tagged python, like this:\n"
        "```python\ndef f(...):\n    ...\n```"
    )


def _task(kind: str, user: str, answer: Any, meta: dict[str, Any], provenance: Provenance,
          limits: ExecLimits) -> Task:
    return Task(
        kind=f"azr.{kind}",
        prompt=[Message("system", SYSTEM_PROMPT), Message("user", user)],
        answer=answer,
        verifier=VerifierSpec(f"azr.{kind}", limits.params()),
        provenance=provenance,
        difficulty=Difficulty(),
        meta=meta,
    )


def deduction_task(entry: ProgramEntry, i: int, provenance: Provenance, limits: ExecLimits) -> Task:
    meta = {"program": entry.program, "input": entry.inputs[i], "output": entry.outputs[i], "entry_id": entry.entry_id}
    return _task("deduction", deduction_prompt(entry.program, entry.inputs[i]), entry.outputs[i], meta, provenance,
                 limits)


def abduction_task(entry: ProgramEntry, i: int, provenance: Provenance, limits: ExecLimits) -> Task:
    meta = {"program": entry.program, "input": entry.inputs[i], "output": entry.outputs[i], "entry_id": entry.entry_id}
    return _task("abduction", abduction_prompt(entry.program, entry.outputs[i]), entry.inputs[i], meta, provenance,
                 limits)


def induction_task(entry: ProgramEntry, given: list[int], hidden: list[int], provenance: Provenance,
                   limits: ExecLimits) -> Task:
    """`given` indexes the pairs shown, `hidden` those only the verifier sees."""
    if not given or not hidden or set(given) & set(hidden):
        raise ValueError("induction needs disjoint, non-empty sets of shown and hidden pairs")
    shown = [(entry.inputs[i], entry.outputs[i]) for i in given]
    held = [(entry.inputs[i], entry.outputs[i]) for i in hidden]
    meta = {"program": entry.program, "message": entry.message, "given": [list(p) for p in shown],
            "hidden": [list(p) for p in held], "entry_id": entry.entry_id}
    return _task("induction", induction_prompt(shown, entry.message, len(held)), entry.program, meta, provenance,
                 limits)


# ----------------------------------------------------------------------------- extraction

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def end_of_last_block(text: str, tag: str) -> int:
    """Where the last closed ```tag block or <answer>...</answer> ends; -1 when there is none."""
    tags = rf"(?:{tag}|py)?" if tag == "python" else re.escape(tag)
    ends = [m.end() for m in re.finditer(rf"```[ \t]*{tags}[ \t]*\n.*?```", text, re.DOTALL | re.IGNORECASE)]
    ends += [m.end() for m in _ANSWER.finditer(text)]
    return max(ends, default=-1)


def all_blocks(text: str, tag: str) -> list[str]:
    """The bodies of every closed ```tag block and every <answer>...</answer>, stripped: the
    final answers a completion commits to (the verifiers refuse two different ones)."""
    tags = rf"(?:{tag}|py)?" if tag == "python" else re.escape(tag)
    closed = re.findall(rf"```[ \t]*{tags}[ \t]*\n(.*?)```", text, re.DOTALL | re.IGNORECASE)
    answers = []
    for inner in _ANSWER.findall(text):
        fenced = re.fullmatch(r"\s*```[^\n]*\n(.*?)\n?```\s*", inner, re.DOTALL)
        answers.append(fenced.group(1) if fenced else inner)
    return [b.strip() for b in [*closed, *answers] if b.strip()]


def extract_block(text: str, tag: str) -> str | None:
    """The body of the last ```tag fenced block (an unclosed one at the very end counts), else of
    the last <answer>...</answer> (with any fence inside it removed); None when there is neither.
    For tag 'python' an untagged ``` block is accepted too."""
    tags = rf"(?:{tag}|py)?" if tag == "python" else re.escape(tag)
    closed = re.findall(rf"```[ \t]*{tags}[ \t]*\n(.*?)```", text, re.DOTALL | re.IGNORECASE)
    if closed:
        return closed[-1].strip()
    tail = re.search(rf"```[ \t]*{tags}[ \t]*\n((?:(?!```).)*)\Z", text, re.DOTALL | re.IGNORECASE)
    if tail and tail.group(1).strip():
        return tail.group(1).strip()
    answers = _ANSWER.findall(text)
    if answers:
        inner = answers[-1].strip()
        fenced = re.fullmatch(r"```[^\n]*\n(.*?)\n?```", inner, re.DOTALL)
        return (fenced.group(1) if fenced else inner).strip()
    return None
