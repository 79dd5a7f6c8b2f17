"""rlvr.synth.sandbox: statuses, expressions, limits, the static ban policy, both isolation modes.

The hostile programs live in test_sandbox_hostile.py; this file checks the ordinary behaviour a
verifier relies on.
"""

from __future__ import annotations

import ast
import os
import tempfile

import pytest

from rlvr.synth import sandbox
from rlvr.synth.sandbox import (
    DEFAULT_POLICY,
    SandboxError,
    SandboxLimits,
    isolation_modes,
    run_many,
    run_python,
)
from rlvr.synth.sandbox.policy import AZR_ONLY_POLICY, BanPolicy, check_code

NAMESPACES = run_python("pass").isolation[:1] == ("mount+net+pid namespaces",)


def test_program_and_expressions_report_reprs():
    r = run_python("def f(a, b=2):\n    return [a] * b\nprint('side effect')", expressions=["f('x')", "f(1, b=3)"])
    assert r.status == "ok", r
    assert r.values == ("['x', 'x']", "[1, 1, 1]")
    assert r.stdout == "side effect\n"
    assert r.isolation and "rlimits" in r.isolation and "audit hook" in r.isolation


def test_exception_is_error_with_type_and_traceback():
    r = run_python("def f(x):\n    return 1 // x", expressions=["f(1)", "f(0)"])
    assert r.status == "error"
    assert r.detail.startswith("ZeroDivisionError")
    assert r.values == ("1",), "values computed before the failure are kept"
    assert "<program>" in r.stderr and "harness" not in r.stderr


def test_syntax_error_is_error_not_banned():
    r = run_python("def f(:\n  pass")
    assert r.status == "error" and "SyntaxError" in r.detail


def test_sys_exit_zero_ends_the_module_but_expressions_still_run():
    r = run_python("import sys\ndef f(): return 5\nraise SystemExit(0)", expressions=["f()"], policy=None)
    assert r.status == "ok" and r.values == ("5",)
    r = run_python("raise SystemExit(3)")
    assert r.status == "error" and "SystemExit: 3" in r.detail


def test_wall_timeout_cpu_limit_and_memory():
    r = run_python("while True:\n    pass", timeout_s=1.0)
    assert r.status == "timeout" and r.duration_s < 3
    r = run_python("while True:\n    pass", limits=SandboxLimits(timeout_s=6, cpu_s=1))
    assert r.status == "timeout" and "CPU" in r.detail
    r = run_python("x = bytearray(1 << 33)", memory_mb=128)
    assert r.status == "memory"


def test_output_limits():
    r = run_python("while True:\n    print('x' * 1000)", limits=SandboxLimits(max_output_bytes=10_000))
    assert r.status == "output_limit"
    r = run_python("def f():\n    return 'y' * 5000", expressions=["f()"], limits=SandboxLimits(max_value_chars=1000))
    assert r.status == "output_limit" and "5002" in r.detail


def test_hash_seed_controls_set_order():
    code = "def f():\n    return list({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'})"
    seen = {run_python(code, expressions=["f()"], hash_seed=s).values for s in range(6)}
    assert len(seen) > 1, "different PYTHONHASHSEED values must be able to change str-set order"
    same = {run_python(code, expressions=["f()"], hash_seed=3).values for _ in range(2)}
    assert len(same) == 1


def test_work_dir_is_empty_private_and_removed(monkeypatch):
    made = []
    real = tempfile.mkdtemp

    def record(*a, **k):
        made.append(real(*a, **k))
        return made[-1]

    monkeypatch.setattr(sandbox.tempfile, "mkdtemp", record)
    r = run_python("import os\nprint(sorted(os.listdir('.')))\nopen('scratch.txt', 'w').write('hi')", policy=None)
    assert r.status == "ok" and r.stdout == "[]\n"
    assert made and not os.path.exists(made[0]), "the work dir must be removed after the run"


def test_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("RLVR_SANDBOX_SECRET", "hunter2")
    r = run_python("import os\nprint(sorted(os.environ))", policy=None)
    assert r.status == "ok"
    assert "RLVR_SANDBOX_SECRET" not in r.stdout and "hunter2" not in r.stdout
    assert set(ast.literal_eval(r.stdout)) <= {"PATH", "LANG", "HOME", "TMPDIR", "LC_ALL", "PYTHONHASHSEED", "PYTHONIOENCODING"}


def _basic_python() -> str | None:
    """An interpreter basic mode can run here (rlvr's own, else a system one), or None."""
    for python in (None, "/usr/bin/python3"):
        if (python is None or os.access(python, os.X_OK)) and isolation_modes(python)["basic"] is None:
            return python or sandbox.sandbox_python()
    return None


def test_basic_mode_still_confines_through_the_audit_hook():
    python = _basic_python()
    if python is None:
        pytest.skip(f"basic mode cannot run here: {isolation_modes()['basic']}")
    r = run_python("import socket\nsocket.socket()", policy=None, isolation="basic", python=python)
    assert r.status == "error" and "not allowed" in r.detail
    assert r.isolation[0] == "basic"
    r = run_python("import os\nos.fork()", policy=None, isolation="basic", python=python)
    assert r.status == "error" and "os.fork" in r.detail
    r = run_python("open('/etc/hostname_pwned', 'w')", policy=None, isolation="basic", python=python)
    assert r.status == "error" and "not allowed" in r.detail
    r = run_python("def f(a): return a * 2", expressions=["f(21)"], isolation="basic", python=python)
    assert r.ok and r.values == ("42",)


@pytest.mark.skipif(os.geteuid() != 0, reason="the caller is not root")
def test_basic_mode_never_runs_the_program_as_root():
    python = _basic_python()
    if python is not None:
        r = run_python("import os\nprint(os.getuid(), os.getgid(), os.getgroups())", policy=None, isolation="basic",
                       python=python)
        uid, gid, groups = r.stdout.split(" ", 2)
        assert r.ok and int(uid) >= sandbox.UID_BASE and int(gid) >= sandbox.UID_BASE and groups.strip() == "[]"
    unreadable = isolation_modes()["basic"]
    if unreadable is not None:  # rlvr's interpreter sits where an unprivileged uid cannot read it
        assert "will not run the program as root" in unreadable
        with pytest.raises(SandboxError, match="will not run the program as root"):
            run_python("print(1)", isolation="basic")


def test_runtime_guard_off_requires_kernel_isolation():
    with pytest.raises(SandboxError, match="kernel isolation"):
        run_python("print(1)", isolation="basic", runtime_guard=False)


@pytest.mark.skipif(not NAMESPACES, reason="namespace mode needs root on Linux and a kernel that allows unshare")
def test_namespace_mode_is_active_as_root():
    r = run_python("print(1)", isolation="namespaces")
    assert r.ok and r.isolation[0] == "mount+net+pid namespaces" and any(x.startswith("uid ") for x in r.isolation)


def test_run_many_keeps_order():
    jobs = [{"code": f"def f():\n    return {i}", "expressions": ["f()"]} for i in range(6)]
    results = run_many(jobs, workers=3, timeout_s=5)
    assert [r.values for r in results] == [(str(i),) for i in range(6)]


def test_bad_limits_and_arguments_raise():
    for kwargs in ({"timeout_s": 0}, {"memory_mb": 8}, {"cpu_s": 0}, {"max_output_bytes": 0}):
        with pytest.raises(ValueError):
            SandboxLimits(**kwargs)
    with pytest.raises(ValueError, match="isolation"):
        run_python("pass", isolation="docker")
    r = run_python("x = 1\n" * 200_000, limits=SandboxLimits(max_code_bytes=1000))
    assert r.status == "error" and "bytes" in r.detail


# ----------------------------------------------------------------------------- static policy


@pytest.mark.parametrize("code,fragment", [
    ("import random", "random"),
    ("from datetime import date", "datetime"),
    ("import os.path", "os"),
    ("from os import path", "os"),
    ("import sys\nsys.exit(1)", "exit"),
    ("import numpy, subprocess", "subprocess"),
    ("from . import x", "relative"),
    ("x = eval('1')", "eval"),
    ("x = ().__class__.__bases__", "__bases__"),
    ("getattr(object, name)", "string constant"),
    ("getattr(object, '__subclasses__')", "__subclasses__"),
    ("import operator\noperator.attrgetter('__globals__')", "__globals__"),
    ("s = '{0.__globals__}'", "__globals__"),
    ("import sys\nsys.modules['os']", "modules"),
    ("x = '__imp' + 'ort__'", "__import__"),
    ("y = ''.join(['__glo', 'bals__'])", "__globals__"),
    ("z = '__tropmi__'[::-1]", "__import__"),
    ("n = chr(95) * 2 + 'subclasses' + chr(95) * 2", "__subclasses__"),
    ("m = '%s%s' % ('__bui', 'ltins__')", "__builtins__"),
    ("s = 'sys' + 'tem'", "system"),
    ("vars(x)['system']", "vars"),
    ("dir(x)", "dir"),
    ("locals()['x']", "locals"),
    ("x.__dict__['system']", "__dict__"),
    ("g = getattr\ng(x, 'a')", "passed around"),
    ("import functools\nfunctools.reduce(getattr, ['a'], x)", "passed around"),
    ("a = '{0.'\n(a + 'x}').format(1)", "constant format string"),
])
def test_policy_bans(code, fragment):
    reason = check_code(code)
    assert reason and fragment in reason, reason
    assert run_python(code).status == "banned"


@pytest.mark.parametrize("code", [
    "import collections, heapq, itertools, functools, math, re, string\nfrom collections import deque",
    "class Node:\n    def __init__(self, v):\n        self.v = v\n    def __repr__(self):\n        return f'Node({self.v})'",
    "import sys\nsys.setrecursionlimit(5000)",
    "def f(s):\n    return getattr(s, 'upper')()",
    "x = '__init__ is fine as text'",
    "s = '{:>3}'.format(4) + f'{5:02d}' + 'ab' + 'cd'",
    "s = 'a' * 10**9",
])
def test_policy_allows_ordinary_programs(code):
    assert check_code(code) is None


def test_unparsable_code_uses_regex_fallback():
    assert "regex" in (check_code("import subprocess\ndef f(:") or "")
    assert check_code("def f(:\n    return 1") is None


def test_policy_variants():
    assert AZR_ONLY_POLICY.check("import os") is None
    assert AZR_ONLY_POLICY.check("import time") is not None
    custom = BanPolicy(modules=frozenset({"json"}))
    assert custom.check("import json") and custom.check("import random") is None
    assert DEFAULT_POLICY.check("import json") is None


def test_program_cannot_reach_the_harness_or_guard_state():
    """The program runs in a fresh interpreter: no runner or harness module, `__main__` is the
    program's own module, the frames below it hold empty globals, and no module carries guard
    tables (the hook's tables live only in its closure)."""
    code = ("import sys\n"
            "mods = sorted(sys.modules)\n"
            "tables = [n for n, m in list(sys.modules.items()) if any(k.startswith('BLOCKED') for k in dir(m))]\n"
            "main_is_program = sys.modules['__main__'].__dict__ is globals()\n"
            "below = []\n"
            "fr = sys._getframe().f_back\n"
            "while fr is not None:\n"
            "    below.append(sorted(k for k in fr.f_globals if not k.startswith('__')))\n"
            "    fr = fr.f_back\n"
            "def f():\n"
            "    return (mods, tables, main_is_program, below)")
    r = run_python(code, expressions=["f()"], policy=None)
    assert r.ok, r
    mods, tables, main_is_program, below = ast.literal_eval(r.values[0])
    assert not {"harness", "runner"} & set(mods) and not any(m.startswith("rlvr") for m in mods)
    assert "ctypes" not in mods and "_ctypes" not in mods
    assert tables == [] and main_is_program
    assert below and all(names == [] for names in below), below
