"""Run untrusted Python (model-written programs) in a separate, confined process.

    result = run_python(code, expressions=["f(3)"], timeout_s=5, memory_mb=512)
    result.status   # ok | error | timeout | memory | banned | output_limit
    result.values   # repr() of each expression's value, evaluated after the program ran

Every code-executing generator and verifier in rlvr goes through this module. Layers, in the
order a program meets them:

1. Static check (policy.py): Absolute Zero's banned imports plus a hardening list (os, socket,
   ctypes, eval/exec/__import__/open, `__subclasses__`-style walks, vars/dir/locals/__dict__),
   matched after constant string expressions are folded ('__imp' + 'ort__'). A hit is status
   "banned" and nothing runs.
2. A fresh interpreter (harness.py): the program runs in a new `python -s -S -B` process, exec'd
   after the confinement below, so nothing of rlvr or of the runner exists where it runs. The
   runner reports setup errors and how the program ended on a control pipe the program does not
   hold; the program's values come back on a pipe of their own, tagged with a per-run nonce.
3. seccomp (harness.py, x86_64 and aarch64): no execve, no sockets, no ptrace or process_vm_*,
   no namespaces, mounts, bpf, io_uring. fork stays allowed; RLIMIT_NPROC bounds it.
4. Audit hook (harness.py, PEP 578), on unless `runtime_guard=False`: refuses process creation,
   signals, sockets, ctypes and native-code imports, gc walks, writes outside the work dir, reads
   or listings outside the work dir and the standard library, and more than a fixed number of
   new files. Its tables are closed over and it calls no rebindable Python function. Python code
   cannot remove it; native code can step around it, which is why layers 3 and 5 exist.
5. Kernel, by isolation mode (runner.py has the process trees):
   - `namespaces` (rlvr running as root, unshare allowed): new network namespace (loopback down),
     new mount namespace and chroot into a private tmpfs root that holds only the empty work dir
     (`/tmp`, noexec, `disk_mb` in total) and read-only nosuid binds of the interpreter, its
     standard library, /lib* and /usr/lib*, /etc/ld.so.cache and /dev/null, zero, urandom,
     random; new pid namespace whose init kills everything when the program ends; a fresh uid
     per run (2,000,000 + the runner's pid) with no capabilities and no_new_privs.
   - `bwrap` (bubblewrap on PATH; no root needed): the same private root, network, pid, ipc and
     uts namespaces (and a user namespace without root), a `disk_mb` tmpfs /tmp,
     --die-with-parent and --new-session. As root, the harness drops to the per-run uid.
   - `basic` (no namespaces): a host temp dir as work dir. As root the program runs under the
     per-run uid, and when that uid cannot read the interpreter the run is refused (point
     RLVR_SANDBOX_PYTHON or `python=` at a world-readable Python); model code never runs as root.
   - every mode: rlimits (CPU seconds, address space, file size, processes, open files, no core).
   `auto` takes namespaces, then bwrap, then basic.
6. Parent: wall-clock timeout, stdout/stderr/values size caps; on either it kills the whole
   session with SIGKILL, and sweeps /proc for any process still owned by the run's uid. "ok"
   needs exactly one value per expression.

What it does NOT isolate:
- It is not a boundary against a determined attacker with a kernel exploit: the program shares
  the host kernel (no VM). Treat it as protection against buggy, greedy and reward-hacking
  programs.
- The program's own process is the program's: it can make that process report any values and
  any "ok"/"error" outcome, as it could by returning them. What it cannot forge is decided
  outside it: timeouts, CPU and memory kills, signals, setup errors, the layer list and the
  value count.
- CPU and memory are limited per process, not per run (no cgroup): a fork bomb gets at most
  `max_processes` processes, each with its own limits, until the wall-clock timeout.
- Timing and host load are observable (clock, CPU count, /dev/urandom).
- Basic mode has no namespaces: world-readable host files are unreadable only through the audit
  hook (native code could read them), a `setsid` child is killed only by the parent's uid sweep
  (as root) and when rlvr runs as a normal user the program keeps that user's uid and
  RLIMIT_NPROC counts all of the user's processes.
`result.isolation` lists the layers that were active for a run; `isolation_modes()` says which
modes run on this machine.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import logging
import marshal
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.synth.sandbox.policy import AZR_BANNED_MODULES, DEFAULT_POLICY, BanPolicy, check_code

log = logging.getLogger(__name__)

__all__ = ["AZR_BANNED_MODULES", "BanPolicy", "DEFAULT_POLICY", "ISOLATION_MODES", "SandboxError", "SandboxLimits",
           "SandboxResult", "STATUSES", "check_code", "isolation_modes", "run_many", "run_python", "sandbox_python"]

STATUSES = ("ok", "error", "timeout", "memory", "banned", "output_limit")
ISOLATION_MODES = ("auto", "namespaces", "bwrap", "basic")
_LABELS = {"namespaces": "mount+net+pid namespaces", "bwrap": "bwrap", "basic": "basic"}
RUNNER = Path(__file__).with_name("runner.py")
UID_BASE = 2_000_000


class SandboxError(RuntimeError):
    """The sandbox itself could not run (not the program failing); the message says why."""


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 5.0  # wall clock, from launch to exit
    memory_mb: int = 512  # RLIMIT_AS: address space, including the interpreter (~30 MB)
    cpu_s: int | None = None  # RLIMIT_CPU; default: timeout_s rounded up
    file_size_mb: int = 4  # RLIMIT_FSIZE: largest file the program may write
    max_processes: int = 16  # RLIMIT_NPROC (processes and threads of the run's uid)
    max_output_bytes: int = 1 << 16  # per stream (stdout, stderr)
    max_value_chars: int = 1 << 16  # per reported value
    disk_mb: int = 16  # private tmpfs size in namespace mode
    max_code_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if not (0 < self.timeout_s <= 3600):
            raise ValueError(f"timeout_s must be in (0, 3600] seconds, got {self.timeout_s}")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64 (the interpreter alone needs ~30 MB), got {self.memory_mb}")
        if self.cpu_s is not None and self.cpu_s < 1:
            raise ValueError(f"cpu_s must be a whole number of seconds >= 1, got {self.cpu_s}")
        for name in ("file_size_mb", "max_processes", "max_output_bytes", "max_value_chars", "disk_mb",
                     "max_code_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def cpu_seconds(self) -> int:
        return self.cpu_s if self.cpu_s is not None else max(1, int(-(-self.timeout_s // 1)))


@dataclass(frozen=True)
class SandboxResult:
    status: str
    stdout: str = ""
    stderr: str = ""
    values: tuple[str, ...] = ()
    detail: str = ""
    returncode: int | None = None
    duration_s: float = 0.0
    isolation: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_python(
    code: str,
    *,
    expressions: Sequence[str] = (),
    timeout_s: float | None = None,
    memory_mb: int | None = None,
    limits: SandboxLimits | None = None,
    policy: BanPolicy | None = DEFAULT_POLICY,
    hash_seed: int = 0,
    isolation: str = "auto",
    runtime_guard: bool = True,
    python: str | None = None,
) -> SandboxResult:
    """Run `code` as a module, then evaluate each of `expressions` in its namespace.

    `policy=None` skips the static check and `runtime_guard=False` the audit hook; both exist to
    test the kernel layers, and `runtime_guard=False` is refused unless namespace mode is active.
    `hash_seed` is the child's PYTHONHASHSEED (run twice with different seeds to catch programs
    whose output depends on set or dict-of-str iteration order). `python` is the interpreter that
    runs the program (see sandbox_python).
    """
    limits = limits or SandboxLimits()
    overrides = {k: v for k, v in (("timeout_s", timeout_s), ("memory_mb", memory_mb)) if v is not None}
    if overrides:
        limits = dataclasses.replace(limits, **overrides)
    if isolation not in ISOLATION_MODES:
        raise ValueError(f"isolation must be one of {ISOLATION_MODES}, got {isolation!r}")
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, got {type(code).__name__}")
    size = len(code.encode("utf-8", "surrogatepass")) + sum(len(e) for e in expressions)
    if size > limits.max_code_bytes:
        return SandboxResult("error", detail=f"program is {size} bytes (limit {limits.max_code_bytes})")
    if policy is not None:
        for text in (code, *expressions):
            reason = policy.check(text)
            if reason:
                return SandboxResult("banned", detail=reason)
    python = sandbox_python(python)
    return _Run(code, list(expressions), limits, hash_seed, isolation, runtime_guard,
                bwrap=_bwrap_for(isolation, python), python=python).execute()


def run_many(jobs: Sequence[dict[str, Any]], workers: int | None = None, **common: Any) -> list[SandboxResult]:
    """run_python over many jobs (each a dict of its keyword arguments plus `code`), in parallel
    threads; each run is its own process, so threads only wait. Results keep the jobs' order."""
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: run_python(**{**common, **job}), jobs))


_warned_basic = False


def sandbox_python(python: str | None = None) -> str:
    """The interpreter that runs sandboxed programs: `python`, else $RLVR_SANDBOX_PYTHON, else rlvr's own.

    The programs need only the standard library, so any CPython >= 3.10 serves. Basic mode as
    root drops to an unprivileged uid, which must be able to read the interpreter: point this at
    a system Python (e.g. /usr/bin/python3) when rlvr's own lives under a private home."""
    python = python or os.environ.get("RLVR_SANDBOX_PYTHON") or sys.executable
    if not os.path.isabs(python) or not os.access(python, os.X_OK):
        raise SandboxError(f"sandbox interpreter {python!r} (python= or $RLVR_SANDBOX_PYTHON) is not an absolute "
                           "path to an executable")
    return python


@functools.cache
def _mode_probe(mode: str, python: str) -> str | None:
    """None when `mode` can run here, else why not (one real run, cached per process)."""
    bwrap = shutil.which("bwrap") if mode == "bwrap" else None
    if mode == "bwrap" and bwrap is None:
        return "bubblewrap (bwrap) is not on PATH (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        result = _Run("def f():\n    return 1", ["f()"], SandboxLimits(timeout_s=20), 0, mode, True,
                      bwrap=bwrap, python=python).execute()
    except SandboxError as exc:
        return str(exc)
    if result.status != "ok" or result.values != ("1",) or result.isolation[:1] != (_LABELS[mode],):
        return f"a trial run ended {result.status}: {result.detail} {result.stderr[-300:]}".strip()
    return None


def isolation_modes(python: str | None = None) -> dict[str, str | None]:
    """Each explicit isolation mode mapped to None when it runs here, or to the reason it cannot."""
    python = sandbox_python(python)
    return {mode: _mode_probe(mode, python) for mode in ISOLATION_MODES if mode != "auto"}


def _bwrap_for(isolation: str, python: str) -> str | None:
    """The bwrap path to hand the runner: when asked for, or when auto may fall back to it."""
    if isolation not in ("bwrap", "auto"):
        return None
    if isolation == "auto" and os.geteuid() == 0 and _mode_probe("namespaces", python) is None:
        return None  # the runner takes namespaces first
    reason = _mode_probe("bwrap", python)
    if reason is None:
        return shutil.which("bwrap")
    if isolation == "bwrap":
        raise SandboxError(f"isolation='bwrap' is unavailable: {reason}")
    return None


class _Run:
    """One launch of runner.py, its output collection, and the cleanup after it."""

    def __init__(self, code: str, expressions: list[str], limits: SandboxLimits, hash_seed: int,
                 isolation: str, runtime_guard: bool, bwrap: str | None = None, python: str | None = None):
        self.code, self.expressions, self.limits = code, expressions, limits
        self.hash_seed, self.isolation, self.runtime_guard = hash_seed, isolation, runtime_guard
        self.bwrap, self.python = bwrap, python or sys.executable
        self.nonce = secrets.token_hex(8)
        self.buffers = {"stdout": bytearray(), "stderr": bytearray(), "values": bytearray(), "control": bytearray()}
        self.caps = {"stdout": limits.max_output_bytes, "stderr": limits.max_output_bytes,
                     "values": (len(expressions) + 1) * (4 * limits.max_value_chars + 1024) + 65536,
                     "control": 1 << 16}

    def _job(self, workdir: str, control_fd: int, values_fd: int, uid: int) -> bytes:
        lim = self.limits
        job = {
            "code": self.code, "expressions": self.expressions, "control_fd": control_fd, "values_fd": values_fd,
            "workdir": workdir, "uid": uid, "isolation": self.isolation, "runtime_guard": self.runtime_guard,
            "bwrap": self.bwrap, "hash_seed": self.hash_seed, "nonce": self.nonce,
            "limits": {"cpu_s": lim.cpu_seconds, "memory_bytes": lim.memory_mb << 20,
                       "file_bytes": lim.file_size_mb << 20, "nproc": lim.max_processes,
                       "disk_mb": lim.disk_mb, "max_value_chars": lim.max_value_chars},
        }
        return marshal.dumps(job)

    def execute(self) -> SandboxResult:
        workdir = tempfile.mkdtemp(prefix="rlvr-sandbox-")
        control_read, control_write = os.pipe()
        values_read, values_write = os.pipe()
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        start = time.monotonic()
        python = self.python
        try:
            proc = subprocess.Popen(
                [python, "-s", "-S", "-B", str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(control_write, values_write), start_new_session=True, env=env,
                cwd=workdir,
            )
        except OSError as exc:
            for fd in (control_read, control_write, values_read, values_write):
                os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            raise SandboxError(f"could not start the sandbox interpreter {python}: {exc}") from None
        os.close(control_write)
        os.close(values_write)
        uid = UID_BASE + proc.pid
        clean = False
        try:
            try:
                proc.stdin.write(self._job(workdir, control_write, values_write, uid))  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass  # the runner died at once; its exit status tells why
            killed = self._collect(proc, {"control": control_read, "values": values_read},
                                   start + self.limits.timeout_s)
            if killed:
                _kill_session(proc.pid)
            proc.wait()
            duration = time.monotonic() - start
            # In namespace mode the pid namespace already took every process of a finished run with
            # it; a sweep by uid is needed after a kill, or in basic mode, where setsid escapes killpg.
            clean = not killed and self._control()[0][:1] != ("basic",)
        finally:
            _kill_session(proc.pid)
            if not clean:
                _kill_uid(uid)
            for stream in (proc.stdout, proc.stderr):
                stream.close()  # type: ignore[union-attr]
            os.close(control_read)
            os.close(values_read)
            shutil.rmtree(workdir, ignore_errors=True)
            if os.path.exists(workdir):
                log.warning("sandbox work dir %s could not be removed", workdir)
        return self._result(killed, proc.returncode, duration)

    def _collect(self, proc: subprocess.Popen, pipes: dict[str, int], deadline: float) -> str | None:
        """Read the four pipes until EOF; 'timeout' or 'output_limit' when the run must be killed."""
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "stdout")  # type: ignore[arg-type]
        sel.register(proc.stderr, selectors.EVENT_READ, "stderr")  # type: ignore[arg-type]
        for name, fd in pipes.items():
            sel.register(fd, selectors.EVENT_READ, name)
        exited_at: float | None = None
        try:
            while sel.get_map():
                now = time.monotonic()
                if now >= deadline:
                    return "timeout"
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > 0.5:
                    return None  # the runner is gone; a straggler holding a pipe is killed below
                for key, _ in sel.select(timeout=min(deadline - now, 0.05)):
                    data = os.read(key.fd, 1 << 16)
                    if not data:
                        sel.unregister(key.fileobj)
                        continue
                    buf = self.buffers[key.data]
                    buf.extend(data)
                    if len(buf) > self.caps[key.data]:
                        return "output_limit"
            return None
        finally:
            sel.close()

    def _control(self) -> tuple[tuple[str, ...], str | None, dict[str, Any] | None]:
        """What the runner reported: active layers, a setup error, and how the program ended.
        Only the runner holds this pipe; the program cannot write to it."""
        isolation: tuple[str, ...] = ()
        runner_error, end = None, None
        for frame in _frames(self.buffers["control"]):
            if "isolation" in frame and not isolation:
                isolation = tuple(str(x) for x in frame["isolation"])
            if "runner_error" in frame and runner_error is None:
                runner_error = str(frame["runner_error"])
            if isinstance(frame.get("exit"), dict) and end is None:
                end = frame["exit"]
        return isolation, runner_error, end

    def _layers(self) -> tuple[str, ...]:
        """Layers the harness added before the program ran (its first line on the values pipe)."""
        frames = _frames(self.buffers["values"], self.nonce)
        if frames and isinstance(frames[0].get("layers"), list):
            return tuple(str(x) for x in frames[0]["layers"])
        return ()

    def _reported(self) -> tuple[list[str], dict[str, Any] | None]:
        """The values and the outcome the program's process wrote to the values pipe; up to its
        first result line (the harness writes that last and exits)."""
        values: list[str] = []
        for i, frame in enumerate(_frames(self.buffers["values"], self.nonce)):
            if i == 0 and "layers" in frame:
                continue
            if "value" in frame:
                values.append(str(frame["value"]))
            elif isinstance(frame.get("result"), dict):
                return values, frame["result"]
        return values, None

    def _result(self, killed: str | None, code: int | None, duration: float) -> SandboxResult:
        isolation, runner_error, end = self._control()
        isolation += self._layers()
        text = {k: bytes(self.buffers[k][: self.caps[k]]).decode("utf-8", "replace") for k in ("stdout", "stderr")}
        end = end or {}
        returncode = end.get("code") if end else code
        common = {"stdout": text["stdout"], "stderr": text["stderr"], "returncode": returncode,
                  "duration_s": round(duration, 4), "isolation": isolation}
        _warn_if_basic(isolation)
        if killed == "timeout":
            return SandboxResult("timeout", detail=f"wall-clock limit of {self.limits.timeout_s}s", **common)
        if killed == "output_limit":
            return SandboxResult("output_limit", detail="output exceeded the size limit", **common)
        if runner_error:
            raise SandboxError(f"sandbox setup failed: {runner_error}")
        if not end:
            return SandboxResult("error", detail=f"the sandbox runner ended (exit code {code}) without reporting "
                                                 "how the program ended", **common)
        if end.get("cpu_limit"):
            return SandboxResult("timeout", detail=f"CPU limit of {self.limits.cpu_seconds}s", **common)
        sig = end.get("signal")
        if isinstance(sig, int):
            name = signal.Signals(sig).name if sig in signal.valid_signals() else f"signal {sig}"
            if sig == signal.SIGXFSZ:
                return SandboxResult("output_limit", detail=f"file size limit ({self.limits.file_size_mb} MB)", **common)
            hint = " (C stack overflow or memory limit)" if sig in (signal.SIGSEGV, signal.SIGBUS) else ""
            return SandboxResult("error", detail=f"killed by {name}{hint}", **common)
        values, reported = self._reported()
        if reported is None or end.get("code") != 0:
            return SandboxResult("error", detail=f"exited with code {end.get('code')} before reporting a result",
                                 **common)
        status = reported.get("status") if reported.get("status") in STATUSES else "error"
        detail = str(reported.get("detail") or "")
        if status == "ok" and len(values) != len(self.expressions):
            status, detail = "error", (f"the program reported {len(values)} values for {len(self.expressions)} "
                                       "expressions")
        return SandboxResult(status, values=tuple(values), detail=detail, **common)


def _frames(buffer: bytearray, nonce: str = "") -> list[dict[str, Any]]:
    frames = []
    prefix = nonce.encode()
    for line in bytes(buffer).splitlines():
        if not line.startswith(prefix):
            continue
        line = line[len(prefix):]
        try:
            frame = ast.literal_eval(line.decode("utf-8", "replace"))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(frame, dict):
            frames.append(frame)
    return frames


def _warn_if_basic(isolation: tuple[str, ...]) -> None:
    global _warned_basic
    if isolation and isolation[0] == "basic" and not _warned_basic:
        _warned_basic = True
        log.warning("sandbox runs in basic mode (%s): no network/mount/pid namespaces; see rlvr.synth.sandbox "
                    "for what that leaves open", ", ".join(isolation))


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_uid(uid: int, rounds: int = 5) -> None:
    """SIGKILL every process owned by `uid` (the run's own uid), repeating while new ones appear."""
    if os.geteuid() != 0 or not os.path.isdir("/proc"):
        return
    marker = f"Uid:\t{uid}\t"
    for _ in range(rounds):
        found = False
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status") as fh:
                    owned = any(line.startswith(marker) for line in fh)
                if owned:
                    found = True
                    os.kill(int(entry.name), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if not found:
            return
