"""The trusted process side of `rlvr.synth.sandbox`: confines ONE untrusted Python program.

Never imported by rlvr. The parent executes it as `python -s -S -B runner.py` with a clean
environment and a marshal job on stdin, so it may import only the standard library.

The program itself never runs in this process, nor in any process that shares its memory: the
last step of every mode is an execve of a fresh interpreter (`python -s -S -B -c <harness.py>`,
"U"), so nothing of this runner (its job, its pipes, its modules) exists where the program runs.
U's only channels are stdout, stderr and the values pipe (fd 3). This runner keeps the control
pipe to itself (close-on-exec): it reports which layers are active, setup failures, and how U
ended; U cannot write there, so it cannot forge a setup error, a CPU-limit verdict or a clean exit.

Modes:

namespaces (root, unshare allowed):
  R  this script: enters new mount, network and pid namespaces, builds a tiny root filesystem on
     a private tmpfs (work dir, read-only binds of the interpreter, its standard library, the
     shared libraries, /dev/null and friends), forks C, waits for it.
  C  pid 1 of the new pid namespace: forks U, reaps it, reports its end on the control pipe and
     kills whatever U left behind (when pid 1 of a namespace dies the kernel kills every process
     in it, so nothing outlives the run).
  U  chroots, drops to a per-run uid with no capabilities and no_new_privs, execs the harness.
bwrap (bubblewrap on PATH; needs no root): R runs U under `bwrap` with new network, pid, ipc,
  uts (and, without root, user) namespaces and a root that holds only the same read-only binds
  and a size-capped tmpfs /tmp. When R is root the harness drops to the per-run uid before it
  reads the program (bwrap's own root mode keeps the caller's uid).
basic (no namespaces at all): R forks U directly. As root, U drops to the per-run uid; when that
  uid cannot read the interpreter, the run is refused: model code never runs as root.
"""

import marshal
import os
import signal
import sys
import time

SETUP_ERROR_EXIT = 251  # R could not build the sandbox; a control frame says why

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

SHARED_LIBRARY_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
WORK = "/tmp"  # the program's working directory inside a private root
VALUES_FD = 3  # U's end of the values pipe
STATUS_FD = 4  # bwrap's --json-status-fd (the harness closes it before the program runs)
HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.py")


class Refused(Exception):
    """The sandbox cannot be built as asked; the message goes to the parent as a setup error."""


def _frame(fd, obj):
    # repr of plain data, read back with ast.literal_eval: json would cost every run ~8 ms of imports
    data = (repr(obj) + "\n").encode("utf-8", "backslashreplace")
    while data:
        data = data[os.write(fd, data):]


def _libc():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None


def _check(libc, rc, what):
    if rc != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(libc, libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _stdlib_dirs():
    """The interpreter's module directories (sys.path without the script's own folder)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [p for p in sys.path if p and os.path.abspath(p) != here]


def _interpreter():
    """The real interpreter binary and the libpython files beside it (a shared-library build)."""
    exe = os.path.realpath(sys.executable)
    files = [exe]
    libdir = os.path.join(os.path.dirname(os.path.dirname(exe)), "lib")
    if os.path.isdir(libdir):
        files += [os.path.join(libdir, n) for n in sorted(os.listdir(libdir))
                  if n.startswith("libpython") and ".so" in n]
    return exe, files


def _covered(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _read_only_paths(stdlib, interpreter_files):
    """(kind, source) pairs a private root needs: symlinks and dirs of shared libraries, then the
    standard library and the interpreter where those directories do not already hold them."""
    entries, bound = [], []
    for d in SHARED_LIBRARY_DIRS:
        if os.path.islink(d):
            entries.append(("symlink", d))
        elif os.path.isdir(d):
            entries.append(("dir", d))
            bound.append(d)
    if os.path.exists("/etc/ld.so.cache"):
        entries.append(("file", "/etc/ld.so.cache"))
    for d in stdlib:
        if os.path.isdir(d) and not _covered(d, bound):
            entries.append(("dir", d))
            bound.append(d)
    for f in interpreter_files:
        if not _covered(f, bound):
            entries.append(("file", f))
    return entries


def _bind_ro(libc, source, target, is_file=False):
    if is_file:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    else:
        os.makedirs(target, exist_ok=True)
    _mount(libc, source, target, None, MS_BIND | MS_REC)
    _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def _build_root(libc, job, paths):
    """A tmpfs root holding only what a Python program needs (call after unsharing)."""
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount propagates to the host
    root = job["workdir"]
    size = f"size={job['limits']['disk_mb']}m,mode=0755"
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, size)
    work = root + WORK
    os.mkdir(work, 0o700)
    os.chown(work, job["uid"], job["uid"])
    for kind, path in paths:
        if kind == "symlink":
            os.symlink(os.readlink(path), root + path)
        else:
            _bind_ro(libc, path, root + path, is_file=kind == "file")
    os.makedirs(root + "/dev", exist_ok=True)
    for dev in DEVICES:
        if os.path.exists(dev):
            open(root + dev, "a").close()
            _mount(libc, dev, root + dev, None, MS_BIND)
    return root


def _bwrap_args(bwrap, job, paths, root):
    """The bubblewrap command line for U (everything but the interpreter's own arguments)."""
    args = [bwrap, "--die-with-parent", "--new-session"]
    if root:  # privileged bwrap: no user namespace, so the harness can drop to a real unprivileged uid
        args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        args += ["--unshare-all"]
    args += ["--hostname", "sandbox"]
    made = set()
    for _, path in paths:  # bwrap makes missing parents 0700, closed to the dropped uid
        parent = os.path.dirname(path)
        chain = []
        while parent not in ("/", "") and parent not in made:
            chain.append(parent)
            made.add(parent)
            parent = os.path.dirname(parent)
        for d in reversed(chain):
            args += ["--perms", "0755", "--dir", d]
    for kind, path in paths:
        if kind == "symlink":
            args += ["--symlink", os.readlink(path), path]
        else:
            args += ["--ro-bind", path, path]
    for dev in DEVICES:
        if os.path.exists(dev):
            args += ["--dev-bind", dev, dev]
    args += ["--perms", "1777", "--size", str(job["limits"]["disk_mb"] << 20), "--tmpfs", WORK,
             "--chdir", WORK, "--remount-ro", "/", "--"]
    return args


def _end(status, usage_cpu, cpu_s):
    """How U ended, as the control frame reports it."""
    code = sig = None
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    # SIGXCPU comes only from RLIMIT_CPU's soft limit (rusage may lag it by a tick); SIGKILL also
    # comes from elsewhere, so it counts as the hard limit only when the CPU time says so.
    cpu_limit = sig == signal.SIGXCPU or (sig == signal.SIGKILL and usage_cpu >= cpu_s)
    return {"code": code, "signal": sig, "cpu_limit": cpu_limit}


def _wait(pid):
    while True:
        try:
            return os.wait4(pid, 0)[1:]
        except InterruptedError:
            continue


def _drop_privileges(uid, libc):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(0, f"could not drop to uid {uid}")
    if libc is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _exec_harness(job, argv_prefix, job_read, interpreter, ctl, status_fd=None):
    """In the child: stdin from the job pipe, fds 0-3 (and bwrap's status fd 4) only, then execve
    the fresh interpreter."""
    os.dup2(job_read, 0)
    if status_fd is not None:
        os.dup2(status_fd, STATUS_FD)
    low = STATUS_FD if status_fd is None else STATUS_FD + 1
    os.closerange(low, ctl)  # ctl itself is close-on-exec: it reports a failed execve below
    os.closerange(ctl + 1, 65536)
    argv = argv_prefix + [interpreter, "-s", "-S", "-B", "-c", job["harness_source"]]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": job["u_workdir"],
           "TMPDIR": job["u_workdir"], "PYTHONHASHSEED": str(job["hash_seed"]),
           "PYTHONIOENCODING": "utf-8:backslashreplace"}
    os.execve(argv[0], argv, env)


def _send_job(job, write_fd, read_fd):
    os.close(read_fd)
    try:
        payload = marshal.dumps(job["harness_job"])
        while payload:
            payload = payload[os.write(write_fd, payload):]
    except BrokenPipeError:
        pass  # U died at once; its end tells why
    os.close(write_fd)


def _child_setup(ctl, fn):
    """Run fn in a freshly forked child; a failure there is a setup error, reported and fatal."""
    try:
        fn()
        raise Refused("the harness did not start")  # fn execs; it returns only on a bug
    except BaseException as exc:  # noqa: BLE001 - a forked child must never return into the runner
        try:
            what = str(exc) if isinstance(exc, (OSError, Refused)) else f"{type(exc).__name__}: {exc}"
            _frame(ctl, {"runner_error": f"could not confine the program: {what}"})
        finally:
            os._exit(SETUP_ERROR_EXIT)


def _launch(job, ctl, confine, argv_prefix, interpreter, status_fd=None):
    """Fork U (confine() then exec the harness), feed it the job, wait; returns (status, cpu, wall)."""
    job_read, job_write = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(job_write)

        def go():
            confine()
            _exec_harness(job, argv_prefix, job_read, interpreter, ctl, status_fd)

        _child_setup(ctl, go)
    if status_fd is not None:
        os.close(status_fd)
    _send_job(job, job_write, job_read)
    status, usage = _wait(pid)
    return status, usage.ru_utime + usage.ru_stime, time.monotonic() - start


def _namespaces(job, ctl, libc, paths, interpreter):
    root = _build_root(libc, job, paths)
    uid = job["uid"]

    def confine():
        os.chroot(root)
        os.chdir(WORK)
        _drop_privileges(uid, libc)

    pid = os.fork()
    if pid == 0:  # C: pid 1 of the namespace
        code = SETUP_ERROR_EXIT
        try:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            status, cpu, _ = _launch(job, ctl, confine, [], interpreter)
            # Always reported: a setup failure also wrote a runner_error, which the parent reads first.
            _frame(ctl, {"exit": _end(status, cpu, job["limits"]["cpu_s"])})
            code = 0
        finally:
            try:
                os.kill(-1, signal.SIGKILL)  # from pid 1: every other process in this namespace
            except ProcessLookupError:
                pass
            os._exit(code)
    return _wait(pid)[0]


def main():
    job = marshal.loads(sys.stdin.buffer.read())  # from the parent, which is trusted
    import fcntl

    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # The control pipe moves above U's fds and is closed on exec; the values pipe becomes fd 3.
    ctl = fcntl.fcntl(job["control_fd"], fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(job["control_fd"])
    if job["values_fd"] != VALUES_FD:
        os.dup2(job["values_fd"], VALUES_FD)
        os.close(job["values_fd"])
    os.set_inheritable(VALUES_FD, True)
    try:
        code = _run(job, ctl)
    except Refused as exc:
        _frame(ctl, {"runner_error": str(exc)})
        code = SETUP_ERROR_EXIT
    except OSError as exc:
        _frame(ctl, {"runner_error": f"could not build the sandbox: {exc}"})
        code = SETUP_ERROR_EXIT
    os._exit(code)


def _run(job, ctl):
    with open(HARNESS, encoding="utf-8") as fh:  # now: a private root will not hold this file
        job["harness_source"] = fh.read()
    stdlib = _stdlib_dirs()
    interpreter, interpreter_files = _interpreter()
    paths = _read_only_paths(stdlib, interpreter_files)
    libc = _libc()
    mode, guard, root = job["isolation"], job["runtime_guard"], os.geteuid() == 0
    cpu_s = job["limits"]["cpu_s"]
    uid = job["uid"]
    harness_job = {"code": job["code"], "expressions": job["expressions"], "limits": job["limits"],
                   "runtime_guard": guard, "read_roots": stdlib + interpreter_files, "drop_uid": None,
                   "nonce": job["nonce"]}
    chosen = None
    if mode in ("auto", "namespaces") and root and libc is not None:
        try:
            _check(libc, libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
            chosen = "namespaces"
        except OSError as exc:  # e.g. a container whose seccomp profile forbids unshare
            if mode == "namespaces":
                raise Refused(f"kernel isolation unavailable: {exc}") from None
    elif mode == "namespaces":
        raise Refused("namespace isolation needs root (use isolation='bwrap' or 'basic')")
    if chosen is None and (mode == "bwrap" or (mode == "auto" and job["bwrap"])):
        if not job["bwrap"]:
            raise Refused("bubblewrap (bwrap) is not on PATH or cannot create namespaces here")
        chosen = "bwrap"
    if chosen is None:
        if not guard:
            raise Refused("runtime_guard=False needs kernel isolation (namespaces or bwrap); none is available here")
        chosen = "basic"

    if chosen == "namespaces":
        job.update(u_workdir=WORK, harness_job={**harness_job, "workdir": WORK})
        _frame(ctl, {"isolation": ["mount+net+pid namespaces", "private root", f"uid {uid}", "fresh interpreter",
                                   "rlimits"] + (["audit hook"] if guard else [])})
        status = _namespaces(job, ctl, libc, paths, interpreter)
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)

    if chosen == "bwrap":
        args = _bwrap_args(job["bwrap"], job, paths, root)
        job.update(u_workdir=WORK, harness_job={**harness_job, "workdir": WORK, "drop_uid": uid if root else None})
        who = f"uid {uid}" if root else "caller's uid (not root)"
        _frame(ctl, {"isolation": ["bwrap", "net+pid+mount+ipc+uts namespaces", "private root", who,
                                   "fresh interpreter", "rlimits"] + (["audit hook"] if guard else [])})

        def confine():
            if libc is not None:
                libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

        status_read, status_write = os.pipe()
        os.set_blocking(status_read, False)
        args[1:1] = ["--json-status-fd", str(STATUS_FD)]
        status, cpu, wall = _launch(job, ctl, confine, args, interpreter, status_write)
        started = _read_all(status_read)
        os.close(status_read)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        if b'"child-pid"' not in started:
            raise Refused(f"bwrap could not build the sandbox (exit status {code}; its message is on stderr)")
        # bwrap passes on the program's end as its own exit code (128 + signal for a signal) and
        # does not pass on its CPU time, so a SIGKILL counts as the CPU limit by wall time.
        if code is not None and code > 128 and code - 128 < signal.NSIG:
            end = {"code": None, "signal": code - 128}
            end["cpu_limit"] = end["signal"] == signal.SIGXCPU or (end["signal"] == signal.SIGKILL and wall >= cpu_s)
        else:
            end = _end(status, cpu, cpu_s)
        _frame(ctl, {"exit": end})
        return 0

    # basic
    workdir = job["workdir"]
    job.update(u_workdir=workdir, harness_job={**harness_job, "workdir": workdir})
    if root:
        os.chown(workdir, uid, uid)
    _frame(ctl, {"isolation": ["basic", f"uid {uid}" if root else "caller's uid (not root)", "fresh interpreter",
                               "rlimits", "audit hook"]})

    needed = [p for p in [*interpreter_files, *stdlib] if os.path.exists(p)]

    def confine():
        os.chdir(workdir)
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if root:
            _drop_privileges(uid, libc)
            unreadable = [p for p in needed if not os.access(p, os.R_OK)]
            if unreadable:
                raise Refused(f"basic isolation will not run the program as root, and uid {uid} cannot read "
                              f"{unreadable[0]} (a parent directory is closed to other users); use isolation="
                              "'bwrap' or 'namespaces', or set RLVR_SANDBOX_PYTHON to a Python every user can read (e.g. /usr/bin/python3)")
        elif libc is not None:
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)

    status, cpu, _ = _launch(job, ctl, confine, [], interpreter)
    _frame(ctl, {"exit": _end(status, cpu, cpu_s)})
    return 0


def _read_all(fd):
    chunks = []
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


if __name__ == "__main__":
    main()
