"""The sandbox hostility suite: hostile programs, each run at three depths of defence.

- full:   what rlvr uses (static ban list + audit hook + kernel isolation);
- guard:  static check off, so the audit hook and the kernel must hold;
- kernel: static check and audit hook off, so only the kernel layers (namespaces, private root,
          per-run uid, rlimits) and the parent's timeouts hold.
The guard and kernel modes need namespace mode (root, unshare allowed) and skip without it.

Every program must end with the expected status in every mode, within its time limit, and
leave the host untouched: no file written outside the sandbox, the victim process and the test
process alive, no connection reaching a host socket, no process of the run's uid left behind,
no secret from the environment printed. All runs go through a thread pool (each run is its own
process), so the suite takes seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from rlvr.synth.sandbox import SandboxLimits, SandboxResult, run_python

NAMESPACES = run_python("pass").isolation[:1] == ("mount+net+pid namespaces",)
TOKEN = uuid.uuid4().hex[:10]
SECRET = f"s3cret-{TOKEN}"
RUNNER = Path(__file__).resolve().parents[1] / "rlvr" / "synth" / "sandbox" / "runner.py"
HOST_FILES = [f"/tmp/rlvr_pwned_{TOKEN}", f"/tmp/rlvr_ct_{TOKEN}", f"/var/tmp/rlvr_pwned_{TOKEN}",
              f"/dev/shm/rlvr_pwned_{TOKEN}", str(RUNNER.parents[3] / f"PWNED_{TOKEN}")]
LIMITS = SandboxLimits(timeout_s=2.0, memory_mb=128, max_output_bytes=20_000, file_size_mb=4, disk_mb=8,
                       max_processes=16)
MODES = {"full": {}, "guard": {"policy": None}, "kernel": {"policy": None, "runtime_guard": False}}


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    full: str  # expected status per mode
    guard: str
    kernel: str
    expressions: tuple[str, ...] = ()
    limits: SandboxLimits = LIMITS
    stdout_must_not_contain: tuple[str, ...] = ()


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
            "banned", "ok", "ok"),
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


def _case_ids() -> list[str]:
    return [f"{c.name}-{m}" for c in CASES for m in MODES]


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A victim process, a listening host socket and a secret in the environment."""
    os.environ["RLVR_HOSTILE_SECRET"] = SECRET
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    runner_digest = hashlib.sha256(RUNNER.read_bytes()).hexdigest()
    yield {"victim": victim, "listener": listener, "port": listener.getsockname()[1], "runner": runner_digest}
    victim.kill()
    victim.wait()
    listener.close()
    os.environ.pop("RLVR_HOSTILE_SECRET", None)
    for path in HOST_FILES:
        if os.path.exists(path):
            os.remove(path)


@pytest.fixture(scope="module")
def outcomes(host) -> dict[str, SandboxResult | None]:
    """Every case in every mode, run once, in parallel; None where a mode is unavailable."""
    def run(case: Hostile, mode: str) -> SandboxResult | None:
        if mode != "full" and not NAMESPACES:
            return None  # the guard and kernel expectations assume namespace mode
        code = case.code.replace("{port}", str(host["port"])).replace("{victim}", str(host["victim"].pid))
        return run_python(code, expressions=case.expressions, limits=case.limits, **MODES[mode])

    jobs = [(c, m) for c in CASES for m in MODES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: run(*job), jobs))
    return dict(zip(_case_ids(), results))


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


def test_suite_has_at_least_thirty_hostile_programs():
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case,mode", [(c, m) for c in CASES for m in MODES], ids=_case_ids())
def test_hostile_program_is_contained(case, mode, outcomes, host):
    result = outcomes[f"{case.name}-{mode}"]
    if result is None:
        pytest.skip("the guard and kernel-only modes need namespace isolation (root on Linux, unshare allowed)")
    expected = getattr(case, mode)
    assert result.status == expected, f"{case.name} [{mode}]: {result.status} ({result.detail}), expected {expected}"
    assert result.duration_s < case.limits.timeout_s + 2, "the run must end within its wall-clock limit"
    for text in case.stdout_must_not_contain:
        assert text not in result.stdout, f"{case.name} [{mode}] printed {text!r}"
    # The host is untouched.
    assert host["victim"].poll() is None, "the victim process was killed"
    for path in HOST_FILES:
        assert not os.path.exists(path), f"{case.name} [{mode}] created {path} on the host"
    assert hashlib.sha256(RUNNER.read_bytes()).hexdigest() == host["runner"]
    with pytest.raises(BlockingIOError):
        host["listener"].accept()
    uid = next((int(x.split()[1]) for x in result.isolation if x.startswith("uid ")), None)
    if uid is not None and os.path.isdir("/proc"):
        assert _processes_of(uid) == [], f"{case.name} [{mode}] left processes behind"
