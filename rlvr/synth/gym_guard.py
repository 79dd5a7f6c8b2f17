"""What may reach a reasoning-gym scorer that runs text as code.

Some of reasoning-gym's `score_answer` methods hand the policy's answer to Python's `eval`
(string_insertion, spiral_matrix, binary_matrix, n_queens: "is it a Python list?") or to
`sympy.parse_expr`, which is `eval` with sympy's names (polynomial_multiplication, the
integration datasets, puzzle24, countdown). Called as they are, a completion ending in
`<answer>__import__('os').system(...)</answer>` runs in the trainer's process, and
`<answer>9**9**9**9</answer>` stalls it computing a number with billions of digits. Two more
`eval` what the task carries (number_sorting its gold, bitwise_arithmetic its stored problem), so
a task table from someone else could run code when it is verified.

rlvr closes both doors, reading the text first with Python's own parser and letting it through
only when its syntax tree has a harmless form (`has_form`):

- `eval` (EVAL_FORMS): `install()` gives each such reasoning-gym module its own `eval`, which
  evaluates text of the module's form and raises ValueError on anything else (the scorers catch
  it and pay nothing for it, as they do for text that is not a list). The scorers keep their own
  logic: an exact match is still checked before their `eval`, so a correct answer written
  their way is paid whatever it looks like.
- `parse_expr` (EXPRESSION_FIELDS): `admissible()` is asked before the scorer is called; an
  answer (or a task field) that is not an expression is not given to the scorer at all (it can
  still equal the gold as text, which rlvr checks itself). The golds of these datasets are all
  expressions, so no correct answer is refused.
- the task's own evaluated fields (TASK_FIELDS: number_sorting's gold, bitwise_arithmetic's
  problem, the sympy datasets' gold/integrand) are checked first (`task_fault`): a task whose
  field fails is scored with status "error" naming the field, never as a plain wrong answer.

Forms:
- literal: numbers, strings, lists and tuples of them, a sign on a number; evaluated with
  `ast.literal_eval`: no name is looked up and nothing is called;
- integer: integer literals (hex too) with + - * << >> & | ^ ~ and signs, shifts by at most
  MAX_SHIFT (bitwise_arithmetic's problems), evaluated with no builtins;
- expression (sympy): numbers, names that do not start with `_`, + - * / **, signs, and calls of
  the elementary functions in FUNCTIONS by plain name. An exponent is a name, a number of at
  most MAX_EXPONENT, or a quotient/sign of those, so no power builds a huge number; no
  attribute, subscript, lambda, comprehension or keyword argument passes.

tests/test_gym_guard.py checks that every scorer in the installed reasoning-gym that reaches
`eval`, `exec`, `parse_expr` or `sympify` is covered here, that golds are paid, and that hostile
answers and tampered tasks run nothing.
"""

from __future__ import annotations

import ast

EVAL_FORMS = {
    "binary_matrix": "literal",
    "n_queens": "literal",
    "number_sorting": "literal",
    "spiral_matrix": "literal",
    "string_insertion": "literal",
    "bitwise_arithmetic": "integer",
}  # dataset whose module calls eval -> the form eval accepts there
EXPRESSION_FIELDS = {
    "countdown": ("answer",),
    "intermediate_integration": ("answer", "gold"),
    "polynomial_multiplication": ("answer", "gold"),
    "puzzle24": ("answer",),
    "simple_integration": ("answer", "integrand"),
}  # dataset whose scorer calls sympy.parse_expr -> the fields it parses ("gold" is entry["answer"],
#    others entry["metadata"][field]); each must be an expression
FUNCTIONS = frozenset({
    "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "ln",
    "sqrt", "Abs", "abs",
})
MAX_NODES = 2_000
MAX_DIGITS = 60
MAX_EXPONENT = 100
MAX_CHARS = 10_000
MAX_SHIFT = 64

_NUMBER = (int, float, complex)


TASK_FIELDS = {
    "number_sorting": {"gold": "literal"},
    "bitwise_arithmetic": {"problem": "integer"},
    **{name: {f: "expression" for f in fields if f != "answer"} for name, fields in EXPRESSION_FIELDS.items()},
}  # fields of the task itself that a scorer evaluates -> their form


def _scored_by(dataset: str, entry: dict) -> str:
    """The dataset whose scorer scores `entry` (a composite item names the one it came from)."""
    if dataset == "composite":
        return str((entry.get("metadata") or {}).get("source_dataset", ""))
    return dataset


def task_fault(dataset: str, entry: dict) -> str | None:
    """Why `entry`'s own evaluated fields must not reach `dataset`'s scorer (a tampered or foreign
    task table), or None when they may."""
    for field, form in TASK_FIELDS.get(_scored_by(dataset, entry), {}).items():
        text = entry.get("answer") if field == "gold" else (entry.get("metadata") or {}).get(field)
        ok, why = has_form(text, form)
        if not ok:
            return f"the task field {field!r} is not {form} text: {why}"
    return None


def admissible(dataset: str, answer: str, entry: dict) -> tuple[bool, str]:
    """(True, "") when `answer` and `entry` may be handed to `dataset`'s scorer, else (False, why)."""
    fault = task_fault(dataset, entry)
    if fault:
        return False, fault
    if "answer" in EXPRESSION_FIELDS.get(_scored_by(dataset, entry), ()):
        ok, why = has_form(answer, "expression")
        if not ok:
            return False, f"the answer: {why}"
    return True, ""


_INSTALLED: set[str] = set()


def install() -> None:
    """Give every reasoning-gym module in EVAL_FORMS an `eval` that accepts only its form (idempotent)."""
    import importlib

    from reasoning_gym.factory import DATASETS

    for dataset, form in EVAL_FORMS.items():
        if dataset in _INSTALLED or dataset not in DATASETS:
            continue
        module = importlib.import_module(DATASETS[dataset][0].__module__)
        module.eval = guarded_eval(form, f"{module.__name__}.eval")
        _INSTALLED.add(dataset)


def guarded_eval(form: str, where: str):
    """An `eval` replacement that evaluates text of `form` and refuses anything else."""

    def evaluate(source, globals=None, locals=None):  # noqa: A002 - eval's own signature
        ok, why = has_form(source, form)
        if not ok:
            raise ValueError(f"{where} (rlvr's guard) refuses to evaluate {str(source)[:60]!r}: {why}")
        if form == "literal":
            return ast.literal_eval(source.strip())
        return eval(compile(ast.parse(source.strip(), mode="eval"), "<guarded>", "eval"), {"__builtins__": {}}, {})

    evaluate.rlvr_guard = form
    return evaluate


def has_form(text: object, form: str) -> tuple[bool, str]:
    """Whether `text` parses as a Python expression of `form` (literal, expression or integer)."""
    if not isinstance(text, str):
        return False, "not text"
    if len(text) > MAX_CHARS:
        return False, f"longer than {MAX_CHARS} characters"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False, "not a Python expression"
    nodes = 0
    for _ in ast.walk(tree):
        nodes += 1
        if nodes > MAX_NODES:
            return False, f"more than {MAX_NODES} syntax nodes"
    check = {"literal": _literal, "expression": _expression, "integer": _integer}[form]
    try:
        why = check(tree.body)
    except RecursionError:
        return False, "nested too deeply"
    return (why is None), (why or "")


def _number(node: ast.AST) -> str | None:
    if isinstance(node.value, bool) or not isinstance(node.value, _NUMBER):
        return "not a number"
    if isinstance(node.value, int) and len(str(abs(node.value))) > MAX_DIGITS:  # ast made it: <= 4300 digits
        return f"a number of more than {MAX_DIGITS} digits"
    return None


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        return None if isinstance(node.value, str) else _number(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            why = _literal(element)
            if why:
                return why
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant):
        return _number(node.operand)
    return f"{type(node).__name__} is not a literal"


def _expression(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        return _number(node)
    if isinstance(node, ast.Name):
        return "a name starting with _" if node.id.startswith("_") else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _expression(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return _expression(node.left) or _expression(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _expression(node.left) or _exponent(node.right)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            return "a call of something other than an elementary function"
        if node.keywords or len(node.args) > 2:
            return "a call with keywords or more than two arguments"
        for arg in node.args:
            why = _expression(arg)
            if why:
                return why
        return None
    return f"{type(node).__name__} is not part of an expression"


def _exponent(node: ast.AST) -> str | None:
    """A power's exponent: a name, a number of at most MAX_EXPONENT, or a sign/quotient of those."""
    if isinstance(node, ast.Name):
        return _expression(node)
    if isinstance(node, ast.Constant):
        why = _number(node)
        if why:
            return why
        return None if abs(node.value) <= MAX_EXPONENT else f"an exponent over {MAX_EXPONENT}"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _exponent(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _exponent(node.left) or _exponent(node.right)
    return "an exponent that is not a name, a small number or a quotient of those"


_INTEGER_OPS = (ast.Add, ast.Sub, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)


def _integer(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int) or isinstance(node.value, bool):
            return "not an integer"
        return _number(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
        return _integer(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, _INTEGER_OPS):
        return _integer(node.left) or _integer(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.LShift, ast.RShift)):
        why = _integer(node.left)
        if why:
            return why
        if not (isinstance(node.right, ast.Constant) and isinstance(node.right.value, int)
                and 0 <= node.right.value <= MAX_SHIFT):
            return f"a shift by something other than a number up to {MAX_SHIFT}"
        return None
    return f"{type(node).__name__} is not part of an integer expression"
