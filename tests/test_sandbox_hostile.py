"""The sandbox hostility suite: hostile programs, each in every isolation mode at every depth.

Isolation modes (rlvr.synth.sandbox): namespaces (root), bwrap (bubblewrap, no root needed) and
basic (no namespaces; as root it runs the program under an unprivileged uid, and refuses when
that uid cannot read the interpreter, so here it may use a system Python, see _interpreters).
Depths of defence:
- full:   what rlvr uses (static ban list + audit hook + the mode's kernel layers);
- guard:  static check off, so the audit hook, seccomp and the kernel layers must hold;
- kernel: static check and audit hook off (namespaces and bwrap only).
A mode that cannot run here skips, with the reason.

Every program must end within its time limit and leave the host untouched: no file written or
read outside the sandbox (a canary file's content never appears in any output), no connection
reaching a host TCP or unix socket, no command run (`id`'s output never appears), never root,
the victim and the test process alive, no process of the run's uid left behind, no secret from
the environment printed, and no forged verdict (no setup error, layer list, CPU verdict or value
that the program wrote itself; "ok" only with one value per expression). The first CASES also
have an expected status per depth. All runs go through a thread pool (each run is its own
process), so the suite takes a minute, not an hour.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rlvr.synth.sandbox import SandboxError, SandboxLimits, SandboxResult, isolation_modes, run_python

TOKEN = uuid.uuid4().hex[:10]
SECRET = f"s3cret-{TOKEN}"
CANARY = f"canary-{TOKEN}-contents"
CANARY_FILE = f"/tmp/rlvr_canary_{TOKEN}"
UNIX_SOCKET = f"/tmp/rlvr_unix_{TOKEN}.sock"
MARKER_PREFIX = f"/tmp/rlvr_marker_{TOKEN}_"
RUNNER = Path(__file__).resolve().parents[1] / "rlvr" / "synth" / "sandbox" / "runner.py"
HOST_FILES = [f"/tmp/rlvr_pwned_{TOKEN}", f"/tmp/rlvr_ct_{TOKEN}", f"/var/tmp/rlvr_pwned_{TOKEN}",
              f"/dev/shm/rlvr_pwned_{TOKEN}", str(RUNNER.parents[3] / f"PWNED_{TOKEN}")]
LIMITS = SandboxLimits(timeout_s=2.0, memory_mb=128, max_output_bytes=20_000, file_size_mb=4, disk_mb=8,
                       max_processes=16)
ISOLATIONS = ("namespaces", "bwrap", "basic")
DEPTHS = {"full": {}, "guard": {"policy": None}, "kernel": {"policy": None, "runtime_guard": False}}
MODES = [(i, d) for i in ISOLATIONS for d in DEPTHS if not (i == "basic" and d == "kernel")]
LABELS = {"namespaces": "mount+net+pid namespaces", "bwrap": "bwrap", "basic": "basic"}
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


@functools.cache
def _interpreters() -> dict[str, tuple[str | None, str | None]]:
    """isolation -> (interpreter to pass as python=, None) or (None, why the mode cannot run here).

    Basic mode as root refuses an interpreter the unprivileged uid cannot read (rlvr's own may
    sit under /root); a world-readable system Python then stands in, which is what a user in that
    situation is told to do."""
    found = {}
    own = isolation_modes()
    for iso in ISOLATIONS:
        found[iso] = (None, own[iso])
        if own[iso] is not None and iso == "basic":
            for python in SYSTEM_PYTHONS:
                if os.access(python, os.X_OK) and isolation_modes(python)["basic"] is None:
                    found[iso] = (python, None)
                    break
    return found


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    full: str | None  # expected status per depth; None: any status, containment is what counts
    guard: str | None
    kernel: str | None
    expressions: tuple[str, ...] = ()
    limits: SandboxLimits = LIMITS
    stdout_must_not_contain: tuple[str, ...] = ()
    # (isolation, depth) -> expected status, where a mode's layers give another (contained) outcome
    overrides: dict[tuple[str, str], str] = field(default_factory=dict)
    honest_values: tuple[str, ...] | None = None  # what "ok" must report, when the program is honest

    def expected(self, isolation: str, depth: str) -> str | None:
        return self.overrides.get((isolation, depth), getattr(self, depth))


CASES = [
    Hostile("fork_bomb", "import os\nwhile True:\n    os.fork()", "banned", "error", "error"),
    Hostile("fork_bomb_swallowing_errors", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
            "banned", "timeout", "timeout"),
    Hostile("setsid_daemon", "import os\nif os.fork() == 0:\n    os.setsid()\n    while True:\n        pass\nprint('bye')",
            "banned", "error", "ok"),
    Hostile("memory_bomb", "x = bytearray(1 << 34)", "memory", "memory", "memory"),
    Hostile("memory_growth", "a = []\nwhile True:\n    a.append(' ' * 10**6)", "memory", "memory", "memory"),
    Hostile("infinite_loop", "while True:\n    pass", "timeout", "timeout", "timeout"),
    Hostile("catastrophic_regex", "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')", "timeout", "timeout", "timeout"),
    Hostile("ignore_sigxcpu_and_spin", "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass",
            "banned", "timeout", "timeout", limits=SandboxLimits(timeout_s=6, cpu_s=1, memory_mb=128)),
    Hostile("deep_recursion", "def r(n):\n    return r(n + 1)\nr(0)", "error", "error", "error"),
    Hostile("recursion_limit_raised_c_stack", "import sys\nsys.setrecursionlimit(10**7)\nx = []\nfor _ in range(10**6):\n"
            "    x = [x]\nrepr(x)", "error", "error", "error", limits=SandboxLimits(timeout_s=8, memory_mb=256)),
    Hostile("huge_stdout", "while True:\n    print('x' * 10000)", "output_limit", "output_limit", "output_limit"),
    Hostile("huge_stderr", "import sys\nwhile True:\n    sys.stderr.write('y' * 10000)", "output_limit", "output_limit",
            "output_limit"),
    Hostile("huge_return_value", "def f():\n    return 'z' * 10**7", "output_limit", "output_limit", "output_limit",
            expressions=("f()",)),
    Hostile("huge_file", "open('big', 'wb').write(b'x' * (64 << 20))", "banned", "output_limit", "output_limit"),
    Hostile("disk_fill", "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (3 << 20))\n    i += 1",
            "banned", "output_limit", "output_limit"),
    Hostile("write_into_repo", f"open({HOST_FILES[4]!r}, 'w').write('x')", "banned", "error", "error"),
    Hostile("write_host_tmp", f"open({HOST_FILES[0]!r}, 'w').write('x')\nprint('wrote the private /tmp')",
            "banned", "ok", "ok", overrides={("basic", "guard"): "error"}),  # basic has no private /tmp
    Hostile("write_var_tmp_and_dev_shm", f"open({HOST_FILES[2]!r}, 'w').write('x')\nopen({HOST_FILES[3]!r}, 'w')",
            "banned", "error", "error"),
    Hostile("append_to_runner_source", f"open({str(RUNNER)!r}, 'a').write('import os')", "banned", "error", "error"),
    Hostile("symlink_escape", "import os\nos.symlink('/etc', 'e')\nopen('e/hosts_pwned', 'w')", "banned", "error", "error"),
    Hostile("read_environment", "import os\nprint(dict(os.environ))", "banned", "ok", "ok",
            stdout_must_not_contain=(SECRET, "RLVR_HOSTILE_SECRET")),
    Hostile("read_etc_passwd", "print(open('/etc/passwd').read())", "banned", "error", "error",
            stdout_must_not_contain=("root:",)),
    Hostile("read_host_process_environ", "print(open('/proc/1/environ', 'rb').read())", "banned", "error", "error"),
    Hostile("list_filesystem_root", "import os\nprint(os.listdir('/'))", "banned", "error", "ok",
            stdout_must_not_contain=("'proc'", "'work'", "'home'", "'sys'", "'bin'")),
    Hostile("socket_to_internet", "import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('1.1.1.1', 80))",
            "banned", "error", "error"),
    Hostile("socket_to_host_listener", "import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('127.0.0.1', {port}))",
            "banned", "error", "error"),
    Hostile("dns_lookup", "import socket\nsocket.getaddrinfo('example.com', 80)", "banned", "error", "error"),
    Hostile("kill_parent", "import os\nos.kill(os.getppid(), 9)", "banned", "error", "error"),
    Hostile("kill_victim_process", "import os\nos.kill({victim}, 9)", "banned", "error", "error"),
    Hostile("kill_every_process", "import os\nos.kill(-1, 9)", "banned", "error", "error"),
    Hostile("kill_own_process_group", "import os\nos.killpg(0, 9)", "banned", "error", "error"),
    Hostile("setuid_root", "import os\nos.setuid(0)", "banned", "error", "error"),
    Hostile("os_system", f"import os\nos.system('touch {HOST_FILES[0]}')", "banned", "error", "ok"),
    Hostile("subprocess_daemon", "import subprocess\nsubprocess.Popen(['/bin/sleep', '60'])", "banned", "error", "error"),
    Hostile("ctypes_libc_system", f"import ctypes\nctypes.CDLL(None).system(b'touch {HOST_FILES[1]}')",
            "banned", "error", "ok"),
    Hostile("dunder_import", f"__import__('os').system('touch {HOST_FILES[1]}')", "banned", "error", "ok"),
    Hostile("getattr_builtins", "getattr(__builtins__, '__imp' + 'ort__')('os').system('id')", "banned", "error", "ok"),
    Hostile("importlib_subprocess", "import importlib\nimportlib.import_module('subprocess').run(['id'])",
            "banned", "error", "error"),
    Hostile("eval_string", "eval(\"__imp\" + \"ort__('o' + 's').system('id')\")", "banned", "error", "ok"),
    Hostile("exec_string", "exec('imp' + 'ort os; os.system(\"id\")')", "banned", "error", "ok"),
    Hostile("subclasses_walk", "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
            ".__init__.__globals__['system']('id')", "banned", "error", "ok"),
    Hostile("sys_modules_os", "import sys\nsys.modules['os'].system('id')", "banned", "error", "ok"),
    Hostile("pickle_payload", "import pickle\npickle.loads(b\"cos\\nsystem\\n(S'id'\\ntR.\")", "banned", "error", "ok"),
    Hostile("thread_bomb", "import threading, time\nfor _ in range(10000):\n"
            "    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()", "banned", "error", "error"),
    Hostile("raise_sigsegv", "import signal\nsignal.raise_signal(signal.SIGSEGV)", "banned", "error", "error"),
    Hostile("os_exit_before_result", "import os\nos._exit(0)", "banned", "error", "error"),
    Hostile("sys_exit_nonzero", "import sys\nsys.exit(3)", "banned", "error", "error"),
    Hostile("read_stdin", "input()", "banned", "error", "error"),
]

# Attacks added for issue 19: each names the route it tries; every one runs in every mode.
FORGED = "FORGED-VALUE"
ATTACKS = [
    Hostile("import_harness_and_clear_guard_tables", "import sys\nh = sys.modules.get('harness')\ntry:\n"
            "    import harness as h\nexcept ImportError:\n    pass\nif h is not None:\n    print('HARNESS_REACHED')\n"
            "    for k in list(vars(h)):\n        if k.startswith('BLOCKED'):\n            setattr(h, k, frozenset())\n"
            "import os\nos.system('id; id > {marker}')", "banned", None, None),
    Hostile("vars_and_split_strings_reach_os_system", "b = __builtins__ if isinstance(__builtins__, dict) else "
            "vars(__builtins__)\nimp = b['__imp' + 'ort__']\no = imp('o' + 's')\nvars(o)['sys' + 'tem']('id > {marker}')",
            "banned", None, None),
    Hostile("getattr_chr_join_import", "n = ''.join(map(chr, [95, 95, 105, 109, 112, 111, 114, 116, 95, 95]))\n"
            "getattr(__builtins__, n)('os').system('id > {marker}')", "banned", None, None),
    Hostile("run_id_and_report_root", "import os\nprint('EUID=%d' % os.geteuid())\nos.system('id; id > {marker}')",
            "banned", None, None),
    Hostile("subprocess_run_id", "import subprocess\nprint(subprocess.run(['id'], capture_output=True).stdout)",
            "banned", "error", "error"),
    Hostile("posixsubprocess_via_loader", "import _frozen_importlib as b\nspec = b._find_spec('_posixsubprocess', None)\n"
            "m = spec.loader.create_module(spec)\nspec.loader.exec_module(m)\nimport os\nr, w = os.pipe()\n"
            "args = [b'/bin/sh', b'-c', b'id > {marker}']\nimport subprocess\n"
            "subprocess._fork_exec = m.fork_exec\nsubprocess.Popen(['/bin/sh', '-c', 'id > {marker}']).wait()",
            "banned", "error", "error"),
    Hostile("read_host_canary", "print(open('{canary}').read())", "banned", "error", "error"),
    Hostile("read_etc_shadow", "print(open('/etc/shadow').read())", "banned", "error", "error",
            stdout_must_not_contain=("root:",)),
    Hostile("read_test_process_environ", "print(open('/proc/{hostpid}/environ', 'rb').read())", "banned", "error",
            "error"),
    Hostile("proc_self_mem", "f = open('/proc/self/mem', 'r+b')\nprint('MEM_OPENED')", "banned", "error", "error",
            stdout_must_not_contain=("MEM_OPENED",)),
    Hostile("connect_host_tcp_listener", "import socket\ns = socket.create_connection(('127.0.0.1', {port}), 1)\n"
            "s.sendall(b'{tag}')", "banned", "error", "error"),
    Hostile("connect_host_unix_socket", "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('{unix}')\n"
            "s.sendall(b'{tag}')", "banned", "error", "error"),
    Hostile("gc_hook_closure_cells", "import gc\nfor o in gc.get_objects():\n    for c in getattr(o, '__closure__', None) or ():\n"
            "        try:\n            if isinstance(c.cell_contents, (frozenset, tuple)):\n"
            "                c.cell_contents = type(c.cell_contents)()\n        except Exception:\n            pass\n"
            "print(open('{canary}').read())", "banned", "error", "error"),
    Hostile("traceback_into_hook_frame", "try:\n    open('/etc/hostname')\nexcept Exception as e:\n    tb = e.__traceback__\n"
            "    while tb is not None:\n        for v in list(tb.tb_frame.f_locals.values()):\n"
            "            for c in getattr(v, '__closure__', None) or ():\n                try:\n"
            "                    c.cell_contents = (lambda *a, **k: '/tmp')\n                except Exception:\n"
            "                    pass\n        tb = tb.tb_next\nprint(open('{canary}').read())", "banned", "error", "error"),
    Hostile("monkeypatch_realpath_and_builtins", "import builtins, posixpath, os\n"
            "posixpath.realpath = os.path.realpath = lambda p, *a, **k: os.getcwd()\n"
            "builtins.any = lambda it: True\nbuiltins.isinstance = lambda a, b: False\nprint(open('{canary}').read())",
            "banned", "error", "error"),
    Hostile("str_subclass_path", "class P(str):\n    def startswith(self, *a):\n        return True\n"
            "    def __eq__(self, o):\n        return True\n    __hash__ = str.__hash__\nprint(open(P('{canary}')).read())",
            "banned", "error", "error"),
    Hostile("pathlike_changes_its_mind", "class P:\n    n = 0\n    def __fspath__(self):\n        P.n += 1\n"
            "        return 'x' if P.n == 1 else '{canary}'\nprint(open(P()).read())", "banned", "error", "error"),
    Hostile("dotdot_relative_to_dir_fd", "import os\nfd = os.open('.', os.O_RDONLY)\n"
            "g = os.open('../../../../../../../..{canary}', os.O_RDONLY, dir_fd=fd)\nprint(os.read(g, 100))",
            "banned", "error", "error"),
    Hostile("symlink_to_canary", "import os\nos.symlink('{canary}', 'link')\nprint(open('link').read())",
            "banned", "error", "error"),
    Hostile("symlink_swap_race", "import os, threading\nos.mkdir('d')\nos.symlink('d/..', 'l')\nstop = []\n"
            "def swap():\n    while not stop:\n        try:\n            os.rmdir('d')\n            os.symlink('.', 'd')\n"
            "            os.remove('d')\n            os.mkdir('d')\n        except OSError:\n            pass\n"
            "t = threading.Thread(target=swap)\nt.start()\nfor _ in range(2000):\n    try:\n"
            "        print(open('l/' + '{canary}'.split('/')[-1]).read())\n        break\n    except OSError:\n"
            "        pass\nstop.append(1)\nt.join()", "banned", None, None),
    Hostile("subclasses_walk_to_system", "w = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "
            "'_wrap_close'][0]\nw.__init__.__globals__['system']('id > {marker}')", "banned", None, None),
    Hostile("frame_walk_edits_result", "import sys\ndef f(x):\n    return x * 2\ndef g():\n    fr = sys._getframe()\n"
            "    while fr is not None:\n        for d in (fr.f_locals, fr.f_globals):\n"
            "            for k, v in list(d.items()):\n                if k == 'result' and isinstance(v, dict):\n"
            "                    v['values'] = ['FORGED-VALUE']\n                    v['status'] = 'ok'\n"
            "                if k == 'expressions' and isinstance(v, list):\n                    v.clear()\n"
            "        fr = fr.f_back\n    return 1", "banned", None, None, expressions=("g()", "f(21)"),
            honest_values=("1", "42")),
    Hostile("stdout_forgery", "def f(x):\n    return x\nprint(\"{'value': 'FORGED-VALUE'}\")\n"
            "print(\"{'result': {'status': 'ok', 'detail': '', 'values': ['FORGED-VALUE']}}\")",
            "ok", "ok", "ok", expressions=("f(1)",), honest_values=("1",)),
    Hostile("values_pipe_blind_forgery", "import os\nfor fd in range(3, 20):\n    try:\n"
            "        os.write(fd, b\"{'value': 'FORGED-VALUE'}\\n{'result': {'status': 'ok', 'detail': ''}}\\n\")\n"
            "    except OSError:\n        pass\nos._exit(0)", "banned", "error", "error", expressions=("1",)),
    Hostile("control_frame_forgery", "import os\ndef f(x):\n    return x\nfor fd in range(3, 20):\n    try:\n"
            "        os.write(fd, b\"{'runner_error': 'forged'}\\n{'isolation': ['forged']}\\n"
            "{'exit': {'code': 0, 'signal': 24, 'cpu_limit': True}}\\n{'layers': ['forged']}\\n\")\n"
            "    except OSError:\n        pass", "banned", "ok", "ok", expressions=("f(7)",), honest_values=("7",)),
    Hostile("exit_code_of_a_setup_error", "import os\nos._exit(251)", "banned", "error", "error"),
    Hostile("fewer_values_then_clean_exit", "import sys\ndef f(x):\n    fr = sys._getframe()\n    while fr is not None:\n"
            "        if 'expressions' in fr.f_locals and isinstance(fr.f_locals['expressions'], list):\n"
            "            fr.f_locals['expressions'].clear()\n        fr = fr.f_back\n    return x",
            "banned", None, None, expressions=("f(1)", "f(2)", "f(3)")),
    Hostile("signal_handler_ignores_everything", "import signal\nfor s in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, "
            "signal.SIGHUP):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass", "banned", "timeout", "timeout",
            limits=SandboxLimits(timeout_s=4, cpu_s=1, memory_mb=128)),
    Hostile("ptrace_attach_parent", "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "r = libc.ptrace(16, os.getppid(), 0, 0)\nprint('PTRACE_ATTACHED' if r == 0 else 'no ptrace')",
            "banned", "error", None, stdout_must_not_contain=("PTRACE_ATTACHED",)),
    Hostile("ctypes_execve_and_socket", "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print('SOCKET_OPENED' if libc.socket(2, 1, 0) >= 0 else 'no socket')\n"
            "libc.execv(b'/usr/bin/id', None)\nlibc.execv(b'/bin/sh', None)",
            "banned", "error", None, stdout_must_not_contain=("SOCKET_OPENED",)),
    Hostile("env_and_self_environ", "import os\nprint(dict(os.environ))\nprint(open('/proc/self/environ').read())",
            "banned", None, None, stdout_must_not_contain=(SECRET, "RLVR_HOSTILE_SECRET")),
]
ALL_CASES = CASES + ATTACKS


def _tag(case: Hostile, isolation: str, depth: str) -> str:
    return f"{case.name}-{isolation}-{depth}"


def _fill(code: str, tag: str, host: dict) -> str:
    for key, value in (("{port}", host["port"]), ("{victim}", host["victim"].pid), ("{canary}", CANARY_FILE),
                       ("{unix}", UNIX_SOCKET), ("{marker}", MARKER_PREFIX + tag), ("{tag}", tag),
                       ("{hostpid}", os.getpid())):
        code = code.replace(key, str(value))
    return code


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A victim process, listening TCP and unix sockets, a canary file and a secret in the environment."""
    os.environ["RLVR_HOSTILE_SECRET"] = SECRET
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.setblocking(False)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(UNIX_SOCKET)
    os.chmod(UNIX_SOCKET, 0o777)  # so a dropped uid could connect if nothing else stopped it
    unix.listen(64)
    unix.setblocking(False)
    Path(CANARY_FILE).write_text(CANARY)
    os.chmod(CANARY_FILE, 0o644)  # world-readable, as most host files are
    runner_digest = hashlib.sha256(RUNNER.read_bytes()).hexdigest()
    yield {"victim": victim, "listener": listener, "unix": unix, "port": listener.getsockname()[1],
           "runner": runner_digest, "connections": []}
    victim.kill()
    victim.wait()
    listener.close()
    unix.close()
    os.environ.pop("RLVR_HOSTILE_SECRET", None)
    for path in [*HOST_FILES, CANARY_FILE, UNIX_SOCKET, *map(str, Path("/tmp").glob(f"rlvr_marker_{TOKEN}_*"))]:
        if os.path.exists(path):
            os.remove(path)


def run_case(case: Hostile, isolation: str, depth: str, host: dict) -> SandboxResult | SandboxError | None:
    """One run; None where the mode cannot run here; a SandboxError is returned, not raised."""
    python, reason = _interpreters()[isolation]
    if reason is not None:
        return None
    code = _fill(case.code, _tag(case, isolation, depth), host)
    try:
        return run_python(code, expressions=case.expressions, limits=case.limits, isolation=isolation,
                          python=python, **DEPTHS[depth])
    except SandboxError as exc:
        return exc


def _accept_all(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return got
        conn.settimeout(0.5)
        try:
            got.append(conn.recv(200))
        except OSError:
            got.append(b"")
        conn.close()


@pytest.fixture(scope="module")
def outcomes(host) -> dict[str, SandboxResult | SandboxError | None]:
    """Every case in every mode, run once, in parallel; then every connection the host sockets got."""
    jobs = [(c, i, d) for c in ALL_CASES for i, d in MODES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: run_case(*job, host), jobs))
    host["connections"] = _accept_all(host["listener"]) + _accept_all(host["unix"])
    return {_tag(*job): result for job, result in zip(jobs, results)}


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                status = Path(f"/proc/{entry.name}/status").read_text()
            except OSError:
                continue
            if re.search(rf"^Uid:\t{uid}\t", status, re.MULTILINE):
                pids.append(int(entry.name))
    return pids


def breaches(case: Hostile, isolation: str, depth: str, result: SandboxResult | SandboxError,
             host: dict) -> list[str]:
    """What the program achieved against the host or the verdict; [] when it was contained."""
    tag = _tag(case, isolation, depth)
    if isinstance(result, SandboxError):
        return [f"forged or caused a sandbox setup error: {result}"]
    found = []
    texts = [result.stdout, result.stderr, result.detail, *result.values]
    if any(CANARY in t for t in texts):
        found.append("read the host canary file")
    if any(SECRET in t for t in texts):
        found.append("printed a secret from the environment")
    if any(re.search(r"uid=\d+\(?\w*\)? gid=", t) for t in texts):
        found.append("ran `id`")
    if re.search(r"EUID=0\b", result.stdout):
        found.append("ran as root")
    if "HARNESS_REACHED" in result.stdout:
        found.append("reached the harness module")
    if os.path.exists(MARKER_PREFIX + tag):
        found.append("a command wrote a file on the host")
    if any(tag.encode() in c for c in host["connections"]):
        found.append("connected to a host socket")
    ran = result.status != "banned"  # a banned program never started, so no layer was reported
    if ran and (not result.isolation or result.isolation[0] != LABELS[isolation] or "forged" in result.isolation):
        found.append(f"isolation report is {result.isolation}")
    if any(FORGED in v for v in result.values):
        found.append("forged a value")
    if result.status == "ok" and len(result.values) != len(case.expressions):
        found.append(f"ok with {len(result.values)} values for {len(case.expressions)} expressions")
    if result.status == "ok" and case.honest_values is not None and result.values != case.honest_values:
        found.append(f"ok with values {result.values}, honest {case.honest_values}")
    for text in case.stdout_must_not_contain:
        if text in result.stdout:
            found.append(f"printed {text!r}")
    return found


def test_suite_size():
    assert len(CASES) >= 30 and len(ATTACKS) >= 20
    assert len({c.name for c in ALL_CASES}) == len(ALL_CASES)


@pytest.mark.parametrize("case,isolation,depth", [(c, i, d) for c in ALL_CASES for i, d in MODES],
                         ids=[_tag(c, i, d) for c in ALL_CASES for i, d in MODES])
def test_hostile_program_is_contained(case, isolation, depth, outcomes, host):
    result = outcomes[_tag(case, isolation, depth)]
    if result is None:
        pytest.skip(f"isolation={isolation!r} cannot run here: {_interpreters()[isolation][1]}")
    assert breaches(case, isolation, depth, result, host) == []
    expected = case.expected(isolation, depth)
    if expected is not None:
        assert result.status == expected, (f"{case.name} [{isolation}/{depth}]: {result.status} ({result.detail}), "
                                           f"expected {expected}")
    assert result.duration_s < case.limits.timeout_s + 2, "the run must end within its wall-clock limit"
    # The host is untouched.
    assert host["victim"].poll() is None, "the victim process was killed"
    for path in HOST_FILES:
        assert not os.path.exists(path), f"{case.name} [{isolation}/{depth}] created {path} on the host"
    assert hashlib.sha256(RUNNER.read_bytes()).hexdigest() == host["runner"]
    assert [c for c in host["connections"] if not c] == [], "a program connected to a host socket"
    uid = next((int(x.split()[1]) for x in result.isolation if re.fullmatch(r"uid \d+", x)), None)
    if uid is not None and os.path.isdir("/proc"):
        assert _processes_of(uid) == [], f"{case.name} [{isolation}/{depth}] left processes behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="the caller is not root")
def test_basic_mode_as_root_drops_or_refuses():
    """The issue-19 finding: basic mode ran `id` as root. Now it runs as an unprivileged uid, or not at all."""
    reason = isolation_modes()["basic"]
    if reason is not None:
        assert "will not run the program as root" in reason
    python, why = _interpreters()["basic"]
    if why is None:
        r = run_python("import os\nprint('EUID=%d' % os.geteuid())", policy=None, isolation="basic", python=python)
        assert r.ok and not r.stdout.startswith("EUID=0"), r


NOBODY_SCRIPT = """
import importlib.util, json, sys, types
package = sys.argv[1]
for name in ("rlvr", "rlvr.synth"):  # the sandbox needs only the standard library, not rlvr's dependencies
    module = types.ModuleType(name)
    module.__path__ = []
    sys.modules[name] = module
spec = importlib.util.spec_from_file_location("rlvr.synth.sandbox", package + "/__init__.py",
                                              submodule_search_locations=[package])
sandbox = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = sandbox
spec.loader.exec_module(sandbox)
out = {"modes": sandbox.isolation_modes()}
if out["modes"]["bwrap"] is None:
    for name, code in json.loads(sys.argv[2]).items():
        r = sandbox.run_python(code, expressions=["f(21)"], isolation="auto", policy=None, runtime_guard=False)
        out[name] = [r.status, list(r.values), r.stdout + r.stderr + r.detail, list(r.isolation)]
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a child as uid 65534, which needs root")
def test_bwrap_gives_kernel_layers_without_root(host):
    """An unprivileged user (uid 65534, a system Python) gets bwrap's layers from `auto`, with the
    static check and the audit hook off: the host canary, /etc and the network stay out of reach."""
    python = next((p for p in SYSTEM_PYTHONS if os.access(p, os.X_OK)), None)
    setpriv = "/usr/bin/setpriv"
    if python is None or not os.access(setpriv, os.X_OK):
        pytest.skip("needs a system Python and setpriv (util-linux)")
    package = Path(__file__).resolve().parents[1] / "rlvr" / "synth" / "sandbox"
    programs = {
        "honest": "def f(x):\n    return x * 2",
        "canary": f"def f(x):\n    return x\nprint(open({CANARY_FILE!r}).read())",
        "passwd": "def f(x):\n    return x\nprint(open('/etc/passwd').read())",
        "tcp": f"import socket\ndef f(x):\n    return x\nsocket.create_connection(('127.0.0.1', {host['port']}), 1)",
        "shell": "import os\ndef f(x):\n    return x\nprint(os.system('id'))",
    }
    done = subprocess.run([setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", python, "-c",
                           NOBODY_SCRIPT, str(package), json.dumps(programs)], capture_output=True, text=True,
                          timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if out["modes"]["bwrap"] is not None:
        pytest.skip(f"bwrap cannot run without root here: {out['modes']['bwrap']}")
    assert out["honest"][:2] == ["ok", ["42"]] and out["honest"][3][0] == "bwrap", out["honest"]
    assert "caller's uid (not root)" in out["honest"][3] and "audit hook" not in out["honest"][3]
    for name in ("canary", "passwd", "tcp", "shell"):
        status, _, text, _ = out[name]
        assert CANARY not in text and "root:" not in text and "uid=" not in text, (name, text)
    assert out["canary"][0] == out["passwd"][0] == out["tcp"][0] == "error"
    assert _accept_all(host["listener"]) == []
