"""The static half of the sandbox: an AST ban list checked before any code runs.

Absolute Zero rejects proposed programs that import modules which make a program
non-deterministic or let it touch the outside world (random, time, subprocess, ...; see
ALGORITHMS.md section 6). We apply that list, plus a hardening list of our own: modules that
reach the operating system or native code (os, socket, ctypes, ...), builtins that run or load
strings as code (`eval`, `exec`, `__import__`, `open`, ...), and attributes that walk from any
object to the interpreter's internals (`__subclasses__`, `__globals__`, frame attributes, ...).
`getattr`-style calls must name their attribute with a string constant, so the banned names
cannot be assembled at run time, and `getattr` and friends may only be called, never passed
around as values. Constant string expressions ('__imp' + 'ort__', ''.join([...]), f-strings of
constants, slices, chr(95), %-formatting) are folded before they are matched, and `str.format`
needs a format string that folds to a constant. Reflection that reaches a module's or a class's
dict (`vars`, `dir`, `locals`, `globals`, `__dict__`) is banned outright.

Code that does not parse is checked with regular expressions instead (as Absolute Zero does),
so an unparsable program is still reported as banned when it mentions a banned import.

This check is a filter for well-meaning and reward-hacking programs, not the security
boundary: the process-level limits in `rlvr.synth.sandbox` hold even for code that passes it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

# Absolute Zero's banned imports (configs/azr_ppo_trainer.yaml, banned_words). Dotted entries ban
# that attribute of the module as well as importing it (`import sys` is fine, `sys.exit` is not).
AZR_BANNED_MODULES: tuple[str, ...] = (
    "logging", "random", "multiprocessing", "pebble", "subprocess", "threading", "datetime", "time",
    "hashlib", "hmac", "bcrypt", "os.sys", "os.path", "sys.exit", "os.environ", "calendar",
)

# Modules that reach processes, files, the network, native code or the import machinery.
HARDENING_MODULES: tuple[str, ...] = (
    "os", "posix", "nt", "pty", "tty", "termios", "fcntl", "mmap", "resource", "signal", "_signal",
    "socket", "_socket", "ssl", "select", "selectors", "asyncio", "socketserver", "urllib", "http",
    "ftplib", "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "webbrowser",
    "ctypes", "_ctypes", "cffi", "_posixsubprocess", "_thread", "_threading_local", "concurrent",
    "shutil", "tempfile", "glob", "pathlib", "io", "_io", "fileinput", "shelve", "dbm", "sqlite3",
    "pickle", "_pickle", "marshal", "copyreg", "builtins", "__main__", "importlib", "imp", "pkgutil",
    "runpy", "zipimport", "site", "sysconfig", "gc", "inspect", "code", "codeop", "pdb", "bdb",
    "trace", "tracemalloc", "faulthandler", "atexit", "platform", "getpass", "pwd", "grp", "spwd",
    "crypt", "zipfile", "tarfile", "gzip", "bz2", "lzma", "pydoc", "antigravity", "this", "ensurepip",
    "venv", "distutils", "setuptools", "pip", "codecs", "_codecs", "linecache", "tokenize", "netrc", "mailcap",
    "mimetypes", "filecmp", "compileall", "py_compile", "modulefinder", "pyclbr", "_imp", "_frozen_importlib",
    "_frozen_importlib_external", "_thread", "_weakref", "_abc", "_signal", "_io", "_osx_support", "_aix_support",
    "_bootsubprocess", "_sysconfigdata", "_tracemalloc", "_xxsubinterpreters", "_testcapi", "_testinternalcapi",
    "_posixshmem", "_multiprocessing", "_pyio", "types", "posixpath", "ntpath", "genericpath", "sched", "asynchat",
    "asyncore", "smtpd", "cgi", "cgitb", "wsgiref", "xml.sax", "xml.dom", "xml.etree.ElementTree.parse",
)

BANNED_NAMES: frozenset[str] = frozenset({
    "__import__", "eval", "exec", "compile", "open", "input", "breakpoint", "globals", "locals", "vars", "dir",
    "__builtins__", "__loader__", "__spec__", "exit", "quit", "help", "memoryview", "__build_class__",
})

# Attribute names that lead from ordinary objects to code, frames, modules or the OS.
BANNED_ATTRIBUTES: frozenset[str] = frozenset({
    "__subclasses__", "__bases__", "__base__", "__mro__", "mro", "__globals__", "__builtins__",
    "__code__", "__closure__", "__getattribute__", "__import__", "__loader__", "__spec__",
    "__reduce__", "__reduce_ex__", "__self__", "__func__", "__objclass__", "__qualname__",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next",
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "co_code",
    "modules", "_getframe", "_current_frames", "settrace", "setprofile", "meta_path",
    "path_hooks", "path_importer_cache", "system", "popen", "fork", "forkpty", "kill", "killpg",
    "environ", "exit", "_exit", "get_field", "vformat", "load_module", "exec_module", "__dict__",
    "cell_contents", "f_trace", "gi_yieldfrom", "cr_await", "__class_getitem__", "_current_exceptions",
    "addaudithook", "audit", "__delattr__", "__setattr__", "spawnv", "spawnve", "execv", "execve",
    "posix_spawn", "posix_spawnp", "dup2", "fdopen", "sys", "os", "builtins", "format_map",
})

# getattr-like callables: their attribute-name argument must be a harmless string constant.
_ATTR_CALLS = {"getattr": 1, "setattr": 1, "delattr": 1, "hasattr": 1, "attrgetter": 0, "methodcaller": 0}

_DUNDER_IN_STRING = re.compile(r"__[A-Za-z_]+__")
_MAX_FOLD = 10_000  # folded strings longer than this are not built (a constant bomb is not a name)
_STR_METHODS = frozenset({"join", "format", "replace", "upper", "lower", "strip", "lstrip", "rstrip", "title",
                          "capitalize", "casefold", "swapcase", "decode", "removeprefix", "removesuffix",
                          "center", "ljust", "rjust", "zfill"})


def fold_string(node: ast.AST, memo: dict[int, object] | None = None) -> str | None:
    """The value of a constant string expression ('__imp' + 'ort__', ''.join(['a', 'b']),
    f'{"x"}y', 'abc'[::-1], chr(95), '%s' % 'x', b'..'.decode(), ...), or None."""
    try:
        value = _fold(node, {} if memo is None else memo)
    except (TypeError, ValueError, IndexError, KeyError, OverflowError, AttributeError, RecursionError):
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if isinstance(value, str) else None


def _fold(node: ast.AST, memo: dict[int, object]):
    key = id(node)
    if key not in memo:
        memo[key] = None  # a node met again while being folded folds to nothing
        memo[key] = _fold_node(node, memo)
    return memo[key]


def _fold_node(node: ast.AST, memo: dict[int, object]):  # noqa: C901 - one case per expression form
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, (str, bytes, int)) and not isinstance(node.value, bool) else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            part = _fold(v.value, memo) if isinstance(v, ast.FormattedValue) else _fold(v, memo)
            if part is None:
                return None
            parts.append(str(part))
        return "".join(parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _fold(node.operand, memo)
        return -value if isinstance(value, int) else None
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_fold(e, memo) for e in node.elts]
        return None if any(i is None for i in items) else tuple(items)
    if isinstance(node, ast.BinOp):
        left, right = _fold(node.left, memo), _fold(node.right, memo)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Mult):
            n, text = (right, left) if isinstance(right, int) else (left, right)
            if not isinstance(n, int) or not isinstance(text, (str, bytes)) or len(text) * max(n, 0) > _MAX_FOLD:
                return None
            return text * n
        if isinstance(node.op, ast.Add) and type(left) is type(right) and isinstance(left, (str, bytes)):
            return left + right if len(left) + len(right) <= _MAX_FOLD else None
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            return left % right
        return None
    if isinstance(node, ast.Subscript):
        base = _fold(node.value, memo)
        if not isinstance(base, (str, bytes)):
            return None
        sl = node.slice
        if isinstance(sl, ast.Slice):
            bounds = [None if b is None else _fold(b, memo) for b in (sl.lower, sl.upper, sl.step)]
            return base[slice(*bounds)]
        index = _fold(sl, memo)
        return base[index] if isinstance(index, int) else None
    if isinstance(node, ast.Call) and not node.keywords:
        args = [_fold(a, memo) for a in node.args]
        if any(a is None for a in args):
            return None
        if isinstance(node.func, ast.Name):
            if node.func.id == "chr" and len(args) == 1 and isinstance(args[0], int):
                return chr(args[0])
            if node.func.id == "str" and len(args) == 1:
                return str(args[0])
            return None
        if isinstance(node.func, ast.Attribute) and node.func.attr in _STR_METHODS:
            base = _fold(node.func.value, memo)
            if isinstance(base, (str, bytes)):
                result = getattr(base, node.func.attr)(*args)
                return result if len(result) <= _MAX_FOLD else None
    return None


@dataclass(frozen=True)
class BanPolicy:
    """What the static check refuses. `modules` entries may be dotted (`os.path`)."""

    modules: frozenset[str] = field(default_factory=lambda: frozenset(AZR_BANNED_MODULES + HARDENING_MODULES))
    names: frozenset[str] = BANNED_NAMES
    attributes: frozenset[str] = BANNED_ATTRIBUTES
    strict_getattr: bool = True

    def check(self, code: str) -> str | None:
        """None when `code` passes; otherwise a short reason naming the first violation."""
        return check_code(code, self)


AZR_ONLY_POLICY = BanPolicy(modules=frozenset(AZR_BANNED_MODULES), names=frozenset(), attributes=frozenset(),
                            strict_getattr=False)
DEFAULT_POLICY = BanPolicy()


def _module_banned(name: str, banned: frozenset[str]) -> str | None:
    """The banned entry that `name` (a dotted module path) falls under, if any."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in banned:
            return prefix
    return None


def _dotted(node: ast.AST) -> str | None:
    """'a.b.c' for a chain of Name/Attribute nodes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, policy: BanPolicy):
        self.policy = policy
        self.dotted_bans = {m for m in policy.modules if "." in m}
        self.reason: str | None = None
        self.called: set[int] = set()  # nodes that are the callee of a call
        self.memo: dict[int, object] = {}  # folded values by node id (the tree outlives the check)

    def fail(self, node: ast.AST, why: str) -> None:
        if self.reason is None:
            self.reason = f"line {getattr(node, 'lineno', '?')}: {why}"

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            hit = _module_banned(alias.name, self.policy.modules)
            if hit:
                self.fail(node, f"banned import {hit!r}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.fail(node, "relative imports are not allowed")
        hit = _module_banned(module, self.policy.modules)
        for alias in node.names:
            hit = hit or _module_banned(f"{module}.{alias.name}", self.policy.modules)
        if hit:
            self.fail(node, f"banned import {hit!r}")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.policy.names:
            self.fail(node, f"banned name {node.id!r}")
        if self.policy.strict_getattr and node.id in _ATTR_CALLS and id(node) not in self.called:
            self.fail(node, f"{node.id} may only be called, not passed around")

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for arg in ("getattr", "setattr", "delattr", "hasattr"):
            if node.name == arg:
                self.fail(node, f"redefining {arg!r} is not allowed")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in self.policy.attributes:
            self.fail(node, f"banned attribute {node.attr!r}")
        if self.policy.strict_getattr and node.attr in _ATTR_CALLS and id(node) not in self.called:
            self.fail(node, f"{node.attr} may only be called, not passed around")
        dotted = _dotted(node)
        if dotted and dotted in self.dotted_bans:
            self.fail(node, f"banned use of {dotted!r}")
        self.generic_visit(node)

    def check_string(self, node: ast.AST, text: str, folded: bool) -> None:
        for m in _DUNDER_IN_STRING.findall(text):
            if m in self.policy.attributes or m in self.policy.names:
                self.fail(node, f"string {'expression builds' if folded else 'mentions'} banned name {m!r}")
        if folded and (text in self.policy.attributes or text in self.policy.names
                       or _module_banned(text, self.policy.modules)):
            self.fail(node, f"string expression builds banned name {text!r}")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and self.policy.strict_getattr:
            self.check_string(node, node.value, folded=False)

    def generic_visit(self, node: ast.AST) -> None:
        if self.policy.strict_getattr and isinstance(node, (ast.BinOp, ast.JoinedStr, ast.Subscript, ast.Call)):
            text = fold_string(node, self.memo)
            if text is not None:
                self.check_string(node, text, folded=True)
        super().generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        self.called.add(id(func))
        if self.policy.strict_getattr and isinstance(func, ast.Attribute) and func.attr in ("format", "format_map"):
            if fold_string(func.value, self.memo) is None:
                self.fail(node, f".{func.attr}() needs a constant format string (use an f-string)")
        if self.policy.strict_getattr and name in _ATTR_CALLS and len(node.args) > _ATTR_CALLS[name]:
            arg = node.args[_ATTR_CALLS[name]]
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self.fail(node, f"{name}() must name its attribute with a string constant")
            elif arg.value.startswith("__") or arg.value in self.policy.attributes:
                self.fail(node, f"{name}() of banned attribute {arg.value!r}")
        self.generic_visit(node)


def _regex_check(code: str, policy: BanPolicy) -> str | None:
    """Fallback for code that does not parse: look for banned imports and calls as words."""
    for module in sorted(policy.modules):
        top = re.escape(module.split(".")[0])
        if "." in module:
            pattern = rf"\b{re.escape(module)}\b"
        else:
            pattern = rf"^\s*(?:import|from)\s+[^\n]*\b{top}\b"
        if re.search(pattern, code, re.MULTILINE):
            return f"banned import {module!r} (regex check: the code does not parse)"
    for name in sorted(policy.names | policy.attributes):
        if re.search(rf"(?<![\w.]){re.escape(name)}\b" if name.startswith("_") else rf"\b{re.escape(name)}\s*\(",
                     code):
            return f"banned name {name!r} (regex check: the code does not parse)"
    return None


def check_code(code: str, policy: BanPolicy = DEFAULT_POLICY) -> str | None:
    """None when `code` passes `policy`; otherwise why it is banned.

    Code that fails to parse is checked by regex; if it passes that too, None is returned and
    the syntax error is reported when the sandbox compiles it.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _regex_check(code, policy)
    checker = _Checker(policy)
    try:
        checker.visit(tree)
    except RecursionError:
        return "the program is nested too deeply for the static check"
    return checker.reason
