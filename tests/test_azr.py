"""Absolute Zero tasks: literal parsing, program validation, task prompts, verifiers, the buffer.

Programs here are hand-written; every one that runs goes through the sandbox.
"""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from rlvr.records import Provenance
from rlvr.synth.azr.buffer import IDENTITY_PROGRAM, ProgramBuffer, ProgramEntry, identity_entry
from rlvr.synth.azr.programs import (
    Rejected,
    check_program,
    outputs_match,
    parse_arguments,
    parse_literal,
    validate,
)
from rlvr.synth.azr.tasks import ExecLimits, abduction_task, deduction_task, extract_block, induction_task
from rlvr.synth.sandbox import SandboxLimits
from rlvr.verify import gold_completion, verify

PROV = Provenance(generator="test")
FAST = ExecLimits(timeout_s=2.0, memory_mb=256)

# ----------------------------------------------------------------------------- literals


@pytest.mark.parametrize("text,value", [
    ("[1, 2, (3, 'a')]", [1, 2, (3, "a")]),
    ("{'k': [None, True]}", {"k": [None, True]}),
    ("set()", set()),
    ("frozenset({1, 2})", frozenset({1, 2})),
    ("-3.5", -3.5),
    ("(1+2j)", 1 + 2j),
    ("float('inf')", float("inf")),
    ("  'spaced'  ", "spaced"),
])
def test_parse_literal_accepts_reprs(text, value):
    assert parse_literal(text) == value


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch /tmp/x')", "open('/etc/passwd')", "x", "[1, 2", "", "lambda: 0",
    "9" * 5000, "[" * 500 + "]" * 500, "'a' * 10", "{[1]: 2}", "x" * 20_000,
])
def test_parse_literal_rejects_everything_else(text):
    with pytest.raises(Rejected):
        parse_literal(text)


@pytest.mark.parametrize("text", ["1, 'a'", "x=1", "[1, 2], {'a': (1, 2)}", "  (3, 4)  # trailing comment", "-1, b=2"])
def test_parse_arguments_accepts_literal_calls(text):
    assert parse_arguments(text) == text.strip()


@pytest.mark.parametrize("text", ["", "*a", "**kw", "g(1)", "open('x')", "1); import os; (2", "1\n)\nimport os\nf(1",
                                  "[x for x in range(3)]", "1 if True else 2"])
def test_parse_arguments_rejects_code(text):
    with pytest.raises(Rejected):
        parse_arguments(text)


@pytest.mark.parametrize("gold,pred,same", [
    ("[1, 2]", "[1,2]", True),
    ("{1, 2, 3}", "{3, 1, 2}", True),
    ("'a'", '"a"', True),
    ("(1, 'x')", "(1, 'x',)", True),
    ("Counter({'a': 2})", "Counter({'a':2})", True),
    ("nan", "float('nan')", True),
    ("[1]", "[2]", False),
    ("'1'", "1", False),
    ("Counter({'a': 2})", "Counter({'a': 3})", False),
    ("[1]", "__import__('os')", False),
])
def test_outputs_match(gold, pred, same):
    assert outputs_match(gold, pred) is same


# ----------------------------------------------------------------------------- programs


@pytest.mark.parametrize("code,reason", [
    ("def g(x):\n    return x", "no top-level function named f"),
    ("def f(x):\n    return x\ndef g(y):\n    return y", "exactly one"),
    ("def f():\n    return 1", "at least one argument"),
    ("async def f(x):\n    return x", "async"),
    ("def f(x:\n    return x", "does not parse"),
    ("import random\ndef f(x):\n    return random.random()", "banned"),
    ("def f(x):\n    return eval(x)", "banned"),
])
def test_check_program_rejects(code, reason):
    with pytest.raises(Rejected, match=reason):
        check_program(code)


def test_check_program_strips_top_level_calls_but_keeps_classes_and_imports():
    code = ("from collections import deque\nclass Q:\n    pass\nLIMIT = 3\ndef f(x):\n    return x\n"
            "print(f(1))\nif __name__ == '__main__':\n    f(2)")
    out = check_program(code)
    assert "print" not in out and "__main__" not in out and "class Q" in out and "LIMIT = 3" in out
    assert check_program("def f(x):\n    return x  # comment kept") == "def f(x):\n    return x  # comment kept"


def test_validate_gives_gold_reprs():
    v = validate("def f(s, n=2):\n    return {c: s.count(c) * n for c in sorted(set(s))}", ["'abca'", "'zz', n=1"])
    assert v.ok and v.outputs == ["{'a': 4, 'b': 2, 'c': 2}", "{'z': 2}"]


@pytest.mark.parametrize("code,inputs,reason", [
    ("def f(words):\n    return list(set(words))", ["['alpha', 'beta', 'gamma', 'delta', 'epsilon']"], "not deterministic"),
    ("count = [0]\ndef f(x):\n    count[0] += 1\n    return x + count[0]", ["1"], "not deterministic"),
    ("class A:\n    def __repr__(self):\n        return '<A>'\ndef f(x):\n    return A()", ["1"], "not a Python expression"),
    ("def f(x):\n    return 1 // x", ["0"], "raised: ZeroDivisionError"),
    ("import time\ndef f(x):\n    return time.time()", ["0"], "banned"),
    ("def f(x):\n    while True:\n        pass", ["0"], "timed out"),
    ("def f(x):\n    return 'a' * 5000", ["1"], "characters"),
    ("def f(x):\n    return x", ["__import__('os')"], "literals"),
    ("def f(x):\n    return bytearray(1 << 32)", ["1"], "memory"),
])
def test_validate_rejects(code, inputs, reason):
    v = validate(code, inputs, SandboxLimits(timeout_s=1.5, memory_mb=256))
    assert not v.ok and reason in v.reason, v.reason


# ----------------------------------------------------------------------------- tasks and verifiers

MOD3 = ProgramEntry("def f(n):\n    return n % 3", ["4"], ["1"])
LOOP = ProgramEntry("def f(n):\n    while n != 0:\n        n -= 1\n    return 'done'", ["3"], ["'done'"])
REV = ProgramEntry("def f(s):\n    return s[::-1].upper()", ["'ab'", "'xyz'", "''", "'q'", "'hello'", "'Ab c'"],
                   ["'BA'", "'ZYX'", "''", "'Q'", "'OLLEH'", "'C BA'"], message="Mirror, then shout.")


def test_prompts_do_not_leak_answers():
    ded = deduction_task(MOD3, 0, PROV, FAST)
    assert "4" in ded.prompt_text and "```output\n1" not in ded.prompt_text
    ind = induction_task(REV, [0, 1, 2], [3, 4, 5], PROV, FAST)
    assert "'hello'" not in ind.prompt_text and "s[::-1]" not in ind.prompt_text
    assert "Mirror, then shout." in ind.prompt_text


@pytest.mark.parametrize("completion,status", [
    ("so the result is\n```output\n1\n```", "ok"),
    ("<answer>1</answer>", "ok"),
    ("```output\n2\n```", "wrong"),
    ("```output\n'1'\n```", "wrong"),
    ("```output\n__import__('os').system('touch /tmp/pwn')\n```", "format_error"),
    ("the answer is 1", "format_error"),
    ("```output\n" + "9" * 50_000 + "\n```", "format_error"),
    ("```output\n2\n```\nor rather\n```output\n1\n```", "ambiguous"),
    ("```output\n1\n```\n<answer>2</answer>", "ambiguous"),
    ("```output\n1\n```\nso\n```output\n1\n```", "ok"),
    ("```output\n1\n```\nor maybe 2", "ambiguous"),
    ("```output\n1\n```\nf(4) is 4 % 3, which is 1.", "ok"),
])
def test_deduction_verifier(completion, status):
    assert verify(deduction_task(MOD3, 0, PROV, FAST), completion).status == status


@pytest.mark.parametrize("completion,status", [
    ("```input\n4\n```", "ok"),
    ("any input with remainder one works:\n```input\n7\n```", "ok"),
    ("```input\nn=10\n```", "ok"),
    ("```input\n5\n```", "wrong"),
    ("```input\n'x'\n```", "wrong"),  # f raises TypeError: a wrong answer, not a verifier error
    ("```input\n__import__('os').getpid()\n```", "format_error"),
    ("```input\n\n```", "format_error"),
    ("no block", "format_error"),
])
def test_abduction_accepts_any_input_that_reproduces_the_output(completion, status):
    score = verify(abduction_task(MOD3, 0, PROV, FAST), completion)
    assert score.status == status, score


def test_abduction_input_that_never_returns_is_a_timeout():
    task = abduction_task(LOOP, 0, PROV, ExecLimits(timeout_s=1.0, memory_mb=256))
    assert verify(task, "```input\n-1\n```").status == "timeout"
    assert verify(task, gold_completion(task)).status == "ok"


@pytest.mark.parametrize("code,status,detail", [
    ("def f(s):\n    return s[::-1].upper()", "ok", "all 6"),
    ("def helper(s):\n    return ''.join(reversed(s))\ndef f(s):\n    return helper(s).upper()", "ok", "all 6"),
    ("def f(s):\n    table = {'ab': 'BA', 'xyz': 'ZYX', '': ''}\n    return table[s]", "wrong", ""),
    ("def f(s):\n    return s.upper()[::-1] if len(s) < 4 else s", "wrong", "hidden"),
    ("import os\ndef f(s):\n    return os.getcwd()", "format_error", "banned"),
    ("def f(s):\n    while True:\n        pass", "timeout", ""),
    ("def f(s:\n    return s", "format_error", "parse"),
    ("def f(s):\n    print('x' * 10**6)\n    return s", "wrong", "output_limit"),
])
def test_induction_must_reproduce_every_pair(code, status, detail):
    task = induction_task(REV, [0, 1, 2], [3, 4, 5], PROV, ExecLimits(timeout_s=1.5, memory_mb=256))
    score = verify(task, f"Here it is:\n```python\n{code}\n```")
    assert score.status == status and detail in score.detail, score


def test_gold_completions_score_one():
    for task in (deduction_task(MOD3, 0, PROV, FAST), abduction_task(MOD3, 0, PROV, FAST),
                 induction_task(REV, [5, 0], [1, 2, 3, 4], PROV, FAST)):
        assert verify(task, gold_completion(task)).reward == 1.0


@pytest.mark.parametrize("text,tag,expected", [
    ("```output\n1\n```\nthen\n```output\n2\n```", "output", "2"),
    ("```python\ndef f(x): return x\n```", "python", "def f(x): return x"),
    ("```\ndef f(x): return x\n```", "python", "def f(x): return x"),
    ("```input\n3, 4", "input", "3, 4"),
    ("<answer>```output\n[1]\n```</answer>", "output", "[1]"),
    ("nothing here", "output", None),
])
def test_extract_block(text, tag, expected):
    assert extract_block(text, tag) == expected


# ----------------------------------------------------------------------------- buffer


def test_buffer_persists_dedupes_and_seeds_identity(tmp_path):
    path = tmp_path / "azr_buffer.jsonl"
    buf = ProgramBuffer(path)
    assert buf.ensure_seeded([identity_entry()]) == 1 and buf.ensure_seeded([MOD3]) == 0
    assert buf.entries[0].program == IDENTITY_PROGRAM and buf.entries[0].outputs == ["'Hello world'"]
    assert buf.add([MOD3, MOD3, REV]) == 2 and buf.add([REV]) == 0
    again = ProgramBuffer(path)
    assert [e.entry_id for e in again.entries] == [e.entry_id for e in buf.entries]
    assert again.entries[2].message == "Mirror, then shout."


def test_buffer_skips_and_heals_a_torn_last_line(tmp_path):
    path = tmp_path / "b.jsonl"
    ProgramBuffer(path).add([MOD3])
    with open(path, "a") as fh:
        fh.write('{"program": "def f(x):\\n    ret')  # a crash in the middle of an append
    buf = ProgramBuffer(path)
    assert len(buf) == 1 and buf.skipped_lines == 1
    buf.add([REV])
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)


def _append_many(path: str, worker: int) -> None:
    buf = ProgramBuffer(path)
    for i in range(20):
        buf.add([ProgramEntry(f"def f(x):\n    return x + {worker * 100 + i}", ["1"], [str(worker * 100 + i + 1)])])


def test_buffer_concurrent_appends_from_processes(tmp_path):
    path = str(tmp_path / "shared.jsonl")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    buf = ProgramBuffer(path)
    assert len(buf) == 80 and buf.skipped_lines == 0
    assert os.path.getsize(path) == sum(len(e.to_json()) + 1 for e in buf.entries)


def test_every_bundled_program_validates():
    from rlvr.synth.azr.generator import bundled_entries, bundled_programs

    entries = bundled_entries(SandboxLimits(timeout_s=5.0, memory_mb=512))
    assert len(entries) == len(bundled_programs()) >= 25
    assert entries[0].program == IDENTITY_PROGRAM and all(len(e.inputs) >= 6 and e.message for e in entries)
    assert len({e.program for e in entries}) == len(entries)


def test_program_entry_requires_matching_outputs():
    with pytest.raises(ValueError):
        ProgramEntry("def f(x):\n    return x", ["1", "2"], ["1"])
