"""The process side of `rlvr.synth.sandbox`: runs ONE untrusted Python program.

Never imported by rlvr. The parent executes it as `python -s -S -B runner.py` with a clean
environment and a JSON job on stdin, so it may import only the standard library.

Process tree in namespace mode (the parent is root and the kernel allows unshare):

  R  this script as started, still root. Enters new mount, network and pid namespaces, builds a
     tiny root filesystem on a private tmpfs (work dir, read-only binds of the standard library
     and shared libraries, /dev/null and friends), forks C, waits for it, exits with its code.
  C  pid 1 of the new pid namespace, a minimal init. Forks U, reaps it, kills whatever U left
     behind and exits. When pid 1 of a namespace dies the kernel kills every process in it, so
     nothing the program starts (even after setsid) outlives the run.
  U  chroots into the tiny root, sets rlimits, drops to a per-run uid with no capabilities and
     no_new_privs, installs the audit hook, runs the program and the requested expressions, and
     writes one JSON line with the outcome to the result pipe.

Basic mode (not root, or unshare refused): R forks U directly; U gets the rlimits and the audit
hook, and keeps R's uid unless the standard library is readable by other users.
"""

import marshal
import os
import signal
import sys

CPU_LIMIT_EXIT = 250  # U was killed by RLIMIT_CPU (SIGXCPU, or SIGKILL at the hard limit)
SETUP_ERROR_EXIT = 251  # the runner could not build the sandbox; a frame says why

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

SHARED_LIBRARY_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
WORK = "/tmp"  # the program's working directory inside the tiny root


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


def _bind_ro(libc, source, target, is_file=False):
    if is_file:
        open(target, "a").close()
    else:
        os.makedirs(target, exist_ok=True)
    _mount(libc, source, target, None, MS_BIND | MS_REC)
    _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def _build_root(libc, job, stdlib):
    """A tmpfs root holding only what a Python program needs (call after unsharing)."""
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount propagates to the host
    root = job["workdir"]
    size = f"size={job['limits']['disk_mb']}m,mode=0755"
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, size)
    work = root + WORK
    os.mkdir(work, 0o700)
    os.chown(work, job["uid"], job["uid"])
    for d in SHARED_LIBRARY_DIRS:
        if os.path.islink(d):
            os.symlink(os.readlink(d), root + d)
        elif os.path.isdir(d):
            _bind_ro(libc, d, root + d)
    if os.path.exists("/etc/ld.so.cache"):
        os.makedirs(root + "/etc", exist_ok=True)
        _bind_ro(libc, "/etc/ld.so.cache", root + "/etc/ld.so.cache", is_file=True)
    for d in stdlib:
        if os.path.isdir(d) and not os.path.exists(root + d):
            _bind_ro(libc, d, root + d)
    os.makedirs(root + "/dev", exist_ok=True)
    for dev in DEVICES:
        if os.path.exists(dev):
            open(root + dev, "a").close()
            _mount(libc, dev, root + dev, None, MS_BIND)
    return root


def _stdlib_world_readable(stdlib):
    for d in stdlib:
        path = os.path.abspath(d)
        while True:
            if os.path.exists(path) and not os.stat(path).st_mode & 0o005:
                return False
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
    return True


def _reap(pid, cpu_s):
    """Wait for pid; its status folded into one exit code (see CPU_LIMIT_EXIT)."""
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL) and usage.ru_utime + usage.ru_stime >= cpu_s - 0.05:
            return CPU_LIMIT_EXIT
        return 128 + sig
    return os.WEXITSTATUS(status)


def _set_limits(limits):
    import resource

    cpu = limits["cpu_s"]
    for name, soft, hard in (
        ("RLIMIT_CPU", cpu, cpu + 1),
        ("RLIMIT_AS", limits["memory_bytes"], limits["memory_bytes"]),
        ("RLIMIT_FSIZE", limits["file_bytes"], limits["file_bytes"]),
        ("RLIMIT_NPROC", limits["nproc"], limits["nproc"]),
        ("RLIMIT_NOFILE", 64, 64),
        ("RLIMIT_CORE", 0, 0),
    ):
        resource.setrlimit(getattr(resource, name), (soft, hard))


def _drop_privileges(uid, libc):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if libc is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _close_fds(keep):
    top = 256
    for fd in range(3, top):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _user(job, chroot, uid, stdlib, libc, isolation):
    """U: confine this process, then run the program (never returns)."""
    out = job["result_fd"]
    try:
        if chroot:
            os.chroot(chroot)
            os.chdir(WORK)
            workdir = WORK
        else:
            workdir = job["workdir"]
            os.chdir(workdir)
        _set_limits(job["limits"])
        if chroot is None and libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # no pid namespace to end us with R
        if uid is not None:
            _drop_privileges(uid, libc)
        elif libc is not None:
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _close_fds({out})
        libc = None  # nothing the program can reach should hold a ctypes handle
    except OSError as exc:
        _frame(out, {"runner_error": f"could not confine the program: {exc}"})
        os._exit(SETUP_ERROR_EXIT)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir})
    sys.path[:] = stdlib
    sys.path_importer_cache.clear()
    for name in ("ctypes", "_ctypes", "ctypes._endian"):
        sys.modules.pop(name, None)
    from harness import run_program  # noqa: E402 - the harness module sits beside this file

    run_program(job, workdir, stdlib, isolation)


def _init(job, chroot, uid, stdlib, libc, isolation):
    """C: pid 1 of the new pid namespace."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        _user(job, chroot, uid, stdlib, libc, isolation)
    code = _reap(pid, job["limits"]["cpu_s"])
    try:
        os.kill(-1, signal.SIGKILL)  # from pid 1: every other process in this namespace
    except ProcessLookupError:
        pass
    os._exit(code)


def main():
    job = marshal.loads(sys.stdin.buffer.read())  # from the parent, which is trusted
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = job["result_fd"]
    stdlib = _stdlib_dirs()
    sys.path[:] = [os.path.dirname(os.path.abspath(__file__))] + stdlib
    import harness  # noqa: F401 - loaded now, while every directory is still readable

    libc = _libc()
    mode = job["isolation"]
    chroot, uid, isolation = None, None, []
    if mode in ("auto", "namespaces") and os.geteuid() == 0 and libc is not None:
        try:
            _check(libc, libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
        except OSError as exc:  # e.g. a container whose seccomp profile forbids unshare
            if mode == "namespaces" or not job["runtime_guard"]:
                _frame(out, {"runner_error": f"kernel isolation unavailable: {exc}"})
                os._exit(SETUP_ERROR_EXIT)
        else:
            try:
                chroot = _build_root(libc, job, stdlib)
            except OSError as exc:  # half-built namespaces are no place to fall back to basic mode
                _frame(out, {"runner_error": f"could not build the private root: {exc}"})
                os._exit(SETUP_ERROR_EXIT)
            uid = job["uid"]
            isolation = ["mount+net+pid namespaces", "private root", f"uid {uid}"]
    elif mode == "namespaces" or not job["runtime_guard"]:
        _frame(out, {"runner_error": "kernel isolation needs root (or pass isolation='basic')"})
        os._exit(SETUP_ERROR_EXIT)
    if chroot is None:
        if os.geteuid() == 0 and _stdlib_world_readable(stdlib):
            uid = job["uid"]
            os.chown(job["workdir"], uid, uid)
        isolation = ["basic"] + ([f"uid {uid}"] if uid is not None else ["same uid as rlvr"])
    isolation += ["rlimits"] + (["audit hook"] if job["runtime_guard"] else [])
    _frame(out, {"isolation": isolation})
    pid = os.fork()
    if pid == 0:
        if chroot is not None:
            _init(job, chroot, uid, stdlib, libc, isolation)
        _user(job, None, uid, stdlib, libc, isolation)
    code = _reap(pid, job["limits"]["cpu_s"])
    os._exit(code)


if __name__ == "__main__":
    main()
