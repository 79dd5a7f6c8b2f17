"""Absolute Zero programs: the checks a proposed (program, input) pair must pass to become a task.

A valid program parses, has exactly one top-level function `f` taking at least one argument,
passes the sandbox ban list, and, for every input, runs in the sandbox within the time limit and
returns the same value when called twice in one process and across two processes with different
hash seeds (so an output that depends on set iteration order is caught). The gold output is
`repr(f(x))`, which must itself be a Python expression, so predictions can be compared as parsed
literals.

Model text never runs in this process: inputs and predicted outputs are parsed with the `ast`
module and accepted only as literals; any code runs in `rlvr.synth.sandbox`.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any

from rlvr.synth.sandbox import DEFAULT_POLICY, BanPolicy, SandboxError, SandboxLimits, run_python

MAX_LITERAL_CHARS = 10_000  # longer model answers are format errors, never parsed
MAX_OUTPUT_CHARS = 2_000  # gold outputs longer than this make poor tasks and are rejected
_ALLOWED_TOP_LEVEL = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.Assign, ast.AnnAssign)


class Rejected(ValueError):
    """A proposal or answer is not acceptable; the message is the reason recorded for it."""


# ----------------------------------------------------------------------------- literals


def _literal(node: ast.AST) -> Any:
    """ast.literal_eval's node walk, plus set(), frozenset(...), inf and nan, which repr() emits."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id in ("set", "frozenset") and len(node.args) <= 1:
            inner = _literal(node.args[0]) if node.args else ()
            return set(inner) if node.func.id == "set" else frozenset(inner)
        if node.func.id == "float" and len(node.args) == 1:
            value = _literal(node.args[0])
            if isinstance(value, str) and value.strip().lower() in ("inf", "-inf", "nan", "+inf"):
                return float(value)
    if isinstance(node, ast.Name) and node.id in ("inf", "nan"):
        return float(node.id)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_literal(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items if isinstance(node, ast.List) else set(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise Rejected("dict unpacking is not a literal")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    return ast.literal_eval(node)


def parse_literal(text: str) -> Any:
    """The value of a Python literal written as text; Rejected if it is anything else."""
    text = text.strip()
    if not text:
        raise Rejected("empty answer")
    if len(text) > MAX_LITERAL_CHARS:
        raise Rejected(f"answer is {len(text)} characters (limit {MAX_LITERAL_CHARS})")
    try:
        return _literal(ast.parse(text, mode="eval").body)
    except Rejected:
        raise
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, OverflowError) as exc:
        raise Rejected(f"not a Python literal: {type(exc).__name__}") from None


def parse_arguments(text: str) -> str:
    """Check that `text` is the inside of a call `f(...)` made only of literals; returns it stripped."""
    text = text.strip()
    if len(text) > MAX_LITERAL_CHARS:
        raise Rejected(f"input is {len(text)} characters (limit {MAX_LITERAL_CHARS})")
    try:
        call = ast.parse(f"f({text}\n)", mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise Rejected("input is not a valid argument list") from None
    if not isinstance(call, ast.Call) or not (call.args or call.keywords):
        raise Rejected("input gives no arguments")
    for node in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(node, ast.Starred) or any(k.arg is None for k in call.keywords):
            raise Rejected("input uses * or ** unpacking")
        try:
            _literal(node)
        except Rejected:
            raise
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, OverflowError):
            raise Rejected("input arguments must be Python literals") from None
    return text


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - exotic values that refuse comparison are simply unequal
        return False


def outputs_match(gold: str, predicted: str) -> bool:
    """Whether two reprs denote the same value: as literals when both are literals (so `[1,2]`
    equals `[1, 2]` and set order does not matter), otherwise as identical expression trees."""
    if len(predicted) > MAX_LITERAL_CHARS:
        return False
    try:
        return _same(parse_literal(gold), parse_literal(predicted))
    except Rejected:
        pass
    try:
        return ast.dump(ast.parse(gold.strip(), mode="eval")) == ast.dump(ast.parse(predicted.strip(), mode="eval"))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


# ----------------------------------------------------------------------------- programs


def check_program(code: str, policy: BanPolicy = DEFAULT_POLICY, *, single_function: bool = True) -> str:
    """The program, normalised; Rejected with the reason if it breaks the rules.

    Rules: it parses; the only top-level statements are imports, classes, functions and
    assignments (anything else, such as a `print(f(...))` or an `if __name__ == ...` block, is
    removed, as Absolute Zero's prompt announces); it defines `f` with at least one parameter
    (and, for proposals, no other top-level function); it passes the ban list.
    """
    if len(code) > 20 * MAX_LITERAL_CHARS:
        raise Rejected(f"program is {len(code)} characters (limit {20 * MAX_LITERAL_CHARS})")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise Rejected(f"does not parse: {type(exc).__name__}: {getattr(exc, 'msg', exc)}") from None
    kept = [node for node in tree.body if isinstance(node, _ALLOWED_TOP_LEVEL)]
    functions = [n for n in kept if isinstance(n, ast.FunctionDef)]
    named_f = [n for n in functions if n.name == "f"]
    if any(isinstance(n, ast.AsyncFunctionDef) for n in tree.body):
        raise Rejected("async functions are not allowed")
    if len(named_f) != 1:
        raise Rejected("no top-level function named f" if not named_f else "f is defined more than once")
    if single_function and len(functions) != 1:
        raise Rejected(f"exactly one top-level function is allowed, found {len(functions)}")
    args = named_f[0].args
    if not (args.posonlyargs or args.args or args.vararg or args.kwonlyargs):
        raise Rejected("f must take at least one argument")
    if len(kept) != len(tree.body):
        tree.body = kept
        code = ast.unparse(tree)
    reason = policy.check(code)
    if reason:
        raise Rejected(f"banned: {reason}")
    return code


@dataclass
class Validation:
    """Outcome of validating a program on inputs: gold outputs when ok, else the reason."""

    ok: bool
    reason: str = ""
    program: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def _run_status_reason(status: str, detail: str) -> str:
    return {"timeout": "timed out", "memory": "memory limit", "output_limit": "output too large",
            "banned": "banned"}.get(status, "raised") + (f": {detail}" if detail else "")


def validate(program: str, inputs: list[str], limits: SandboxLimits | None = None,
             policy: BanPolicy = DEFAULT_POLICY, *, single_function: bool = True) -> Validation:
    """Check a program and inputs as Absolute Zero does (see module docstring); never raises on
    bad model text, only on a broken sandbox (SandboxError)."""
    try:
        program = check_program(program, policy, single_function=single_function)
        inputs = [parse_arguments(x) for x in inputs]
    except Rejected as exc:
        return Validation(False, str(exc), program, list(inputs))
    if not inputs:
        return Validation(False, "no inputs", program)
    expressions = [f"f({x}\n)" for x in inputs for _ in range(2)]
    runs = [run_python(program, expressions=expressions, limits=limits, policy=policy, hash_seed=seed)
            for seed in (0, 1)]
    for run in runs:
        if run.status != "ok":
            return Validation(False, _run_status_reason(run.status, run.detail), program, inputs)
    first, second = runs[0].values, runs[1].values
    outputs = list(first[::2])
    if list(first[1::2]) != outputs or list(second) != list(first):
        return Validation(False, "not deterministic: f returned different values for the same input", program, inputs)
    for out in outputs:
        if len(out) > MAX_OUTPUT_CHARS:
            return Validation(False, f"output repr has {len(out)} characters (limit {MAX_OUTPUT_CHARS})", program, inputs)
        try:
            ast.parse(out, mode="eval")
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return Validation(False, f"output {out[:60]!r} is not a Python expression (an object without a repr?)",
                              program, inputs)
    return Validation(True, "", program, inputs, outputs)


__all__ = ["MAX_LITERAL_CHARS", "Rejected", "SandboxError", "Validation", "check_program", "outputs_match",
           "parse_arguments", "parse_literal", "validate"]
