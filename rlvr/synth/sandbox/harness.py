"""The program's own process: a fresh interpreter started as `python -s -S -B -c <this file>`.

runner.py confines a process (namespaces, private root, unprivileged uid) and then execs a new
interpreter on this source, so no module, object or pipe of the runner exists here. The job
arrives on stdin (marshal). Before the program runs, this code drops root if asked (privileged
bwrap), sets the rlimits, keeps only fds 0-3, installs the audit hook and replaces `__main__`
with the program's module. It then writes one line per expression value and a last result line
to fd 3, the values pipe.

Nothing in this process is trusted afterwards: the program can reach every object here and
write to fd 3 itself. What it writes is its own answer; the verdict (statuses that come from
limits, signals, setup errors, and whether every expression produced exactly one value) is made
by the runner and the parent, which the program cannot reach.

The audit hook (PEP 578) refuses, for the rest of the process's life, the Python-level routes out
of the sandbox: process creation, signals to other processes, sockets, ctypes and native-code
imports, writes outside the work dir, reads or listings outside the work dir and the standard
library, and the reflection that would reach the hook itself (gc.get_objects/get_referrers/
get_referents, settrace/setprofile, code swaps on functions). Its tables are frozensets closed
over by the hook; the hook is referenced by nothing but the interpreter. PEP 578 says plainly
that audit hooks are not a sandbox: native code can step around them. The kernel layers set up
by runner.py are the boundary.
"""


def _boot():
    import builtins
    import marshal
    import os
    import sys

    # This module's globals are what a frame walk from the program reaches first: leave them empty.
    describe, set_limits, install_guard, seccomp = _describe, _set_limits, _install_guard, _seccomp
    globals().clear()

    data = bytearray()
    while True:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        data += chunk
    job = marshal.loads(bytes(data))
    del data
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out, write, exit_now, to_text = 3, os.write, os._exit, repr
    stdout, stderr = sys.stdout, sys.stderr

    nonce = job["nonce"]  # lines without it are ignored by the parent: a blind write to fd 3 forges nothing

    def emit(obj):
        line = (nonce + to_text(obj) + "\n").encode("utf-8", "backslashreplace")
        while line:
            line = line[write(out, line):]

    def finish(status, detail=""):
        for stream in (stdout, stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - the program may have closed or broken it
                pass
        emit({"result": {"status": status, "detail": detail}})
        exit_now(0)

    if job["drop_uid"] is not None and os.geteuid() == 0:  # privileged bwrap: never run the program as root
        uid = job["drop_uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if 0 in (os.getuid(), os.geteuid(), *os.getresgid()):
            raise SystemExit("sandbox: could not drop root")
    os.closerange(4, 65536)
    sys.path[:] = job["read_roots"]
    sys.path_importer_cache.clear()
    try:
        filtered = seccomp()
    except (OSError, ImportError, AttributeError):
        filtered = False
    for name in [n for n in sys.modules if n == "ctypes" or n.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]
    emit({"layers": ["seccomp"] if filtered else []})  # the first line, before any program code runs
    set_limits(job["limits"])
    max_chars = job["limits"]["max_value_chars"]
    reserve = bytearray(1 << 20)  # freed on MemoryError so the report itself can be built
    try:
        code = compile(job["code"], "<program>", "exec")
        expressions = [compile(e, f"<expression {i}>", "eval") for i, e in enumerate(job["expressions"])]
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError) as exc:
        finish("error", describe(exc))
    if job["runtime_guard"]:
        limits = job["limits"]
        max_files = max(16, limits["disk_mb"] * 4 // max(1, limits["file_bytes"] >> 20))
        install_guard(job["workdir"], job["read_roots"], max_files)
    module = type(sys)("__main__")
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    sys.modules["__main__"] = module
    sys.argv[:] = ["<program>"]
    del job
    try:
        try:
            exec(code, namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        for expression in expressions:
            text = to_text(eval(expression, namespace))
            if len(text) > max_chars:
                finish("output_limit", f"a value's repr has {len(text)} characters (limit {max_chars})")
            emit({"value": text})
    except MemoryError:
        del reserve
        finish("memory", "MemoryError")
    except BaseException as exc:  # noqa: BLE001 - everything the program raises is its outcome
        # CPython ignores SIGXFSZ, so the file-size limit and a full work dir surface as OSError.
        full = isinstance(exc, OSError) and exc.errno in (28, 27, 122)  # ENOSPC, EFBIG, EDQUOT
        detail = describe(exc)
        try:
            import traceback  # only now: it costs every run a few ms of imports

            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next, limit=20, file=stderr)
        except Exception:  # noqa: BLE001, S110 - stderr may be broken or the traceback hostile
            pass
        finish("output_limit" if full else "error", detail)
    finish("ok")


def _seccomp():
    """A seccomp filter for this process and its children, or False where it cannot be loaded.

    Refused with EPERM: execve/execveat (no program other than this interpreter ever runs, so
    `os.system`, `_posixsubprocess.fork_exec` and ctypes reach no binary), every socket call,
    ptrace and process_vm_*, namespaces, mounts, chroot, bpf, perf, io_uring (whose requests skip
    seccomp), keyrings, kernel modules, mknod, personality and the x32 ABI; another architecture's
    syscalls kill the process. fork and threads stay allowed: RLIMIT_NPROC bounds them. Loaded
    with ctypes, which the audit hook then keeps from the program."""
    import ctypes
    import os
    machine = os.uname().machine
    tables = {
        "x86_64": (0xC000003E, 0x40000000, (59, 322, 101, 310, 311, 41, 53, 42, 49, 50, 43, 288, 272, 308, 165, 166,
                                             155, 161, 321, 298, 323, 250, 248, 249, 425, 426, 427, 246, 320, 175, 313,
                                             176, 169, 133, 259, 135, 303, 304, 167, 168, 163, 170, 171, 172, 173)),
        "aarch64": (0xC00000B7, None, (221, 281, 117, 270, 271, 198, 199, 203, 200, 201, 202, 242, 97, 268, 40, 39,
                                       41, 51, 280, 241, 282, 219, 217, 218, 425, 426, 427, 104, 294, 105, 273, 106,
                                       142, 33, 92, 264, 265, 224, 225, 89, 161, 162)),
    }
    if machine not in tables:
        return False
    arch, x32, denied = tables[machine]
    errno_eperm, allow, kill = 0x00050000 | 1, 0x7FFF0000, 0x80000000
    prog = [(0x20, 0, 0, 4), (0x15, 1, 0, arch), (0x06, 0, 0, kill), (0x20, 0, 0, 0)]
    if x32 is not None:
        prog += [(0x35, 0, 1, x32), (0x06, 0, 0, errno_eperm)]
    for nr in denied:
        prog += [(0x15, 0, 1, nr), (0x06, 0, 0, errno_eperm)]
    prog.append((0x06, 0, 0, allow))

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    filters = (Filter * len(prog))(*[Filter(*f) for f in prog])
    program = Program(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(38, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(22, 2, ctypes.addressof(program), 0, 0) == 0


def _set_limits(limits):
    import resource
    import sys

    cpu = limits["cpu_s"]
    for name, value in (("RLIMIT_CPU", (cpu, cpu + 1)), ("RLIMIT_AS", (limits["memory_bytes"],) * 2),
                        ("RLIMIT_FSIZE", (limits["file_bytes"],) * 2), ("RLIMIT_NPROC", (limits["nproc"],) * 2),
                        ("RLIMIT_NOFILE", (64, 64)), ("RLIMIT_CORE", (0, 0))):
        resource.setrlimit(getattr(resource, name), value)
    del sys.modules["resource"]


def _describe(exc):
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - a hostile __str__ must not break the report
        text = type(exc).__name__
    return text[:1000]


def _install_guard(workdir, read_roots, max_created):
    """Add the audit hook. Python code cannot remove it; its tables live only in its closure.

    `max_created` caps the files and directories the program creates: each can grow to
    RLIMIT_FSIZE, so in basic mode, where the work dir is a host directory with no size of its
    own, that bounds the disk a run can fill."""
    import itertools
    import os
    import sys

    # Whole families of audited events that a sandboxed program never needs.
    blocked_families = frozenset({
        "ctypes", "socket", "subprocess", "webbrowser", "urllib", "http", "ftplib", "smtplib", "poplib",
        "imaplib", "telnetlib", "nntplib", "resource", "fcntl", "pty", "winreg", "msvcrt", "_winapi", "ssl",
        "gc", "mmap",
    })
    blocked_events = frozenset({
        "os.system", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.posix_spawn", "os.spawn", "os.exec",
        "os.startfile", "sys.remote_exec", "sys.settrace", "sys.setprofile", "sys._current_frames",
        "sys._current_exceptions", "signal.pthread_kill",
        # No symlinks: a link made while it pointed inside the work dir can point outside after a
        # rename of one of its components, between this hook's check and the kernel's lookup.
        "os.symlink",
    })
    # Modules whose import is refused (native code that is not audited, or unaudited process
    # creation), whether or not the interpreter already loaded them.
    blocked_imports = frozenset({
        "ctypes", "_ctypes", "cffi", "_posixsubprocess", "_socket", "socket", "_ssl", "ssl", "mmap", "fcntl",
        "resource", "pty", "termios", "_multiprocessing", "_xxsubinterpreters", "_testcapi", "_testinternalcapi",
        "_testbuffer", "_testmultiphase", "_xxtestfuzz", "_posixshmem", "gc", "_tracemalloc", "faulthandler",
    })
    write_events = frozenset({
        "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.chmod", "os.chown",
        "os.truncate", "os.utime", "os.setxattr", "os.removexattr", "os.chflags", "os.lchflags",
        "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
        "shutil.move", "shutil.chown", "shutil.make_archive", "shutil.unpack_archive", "os.mkfifo", "os.mknod",
    })
    read_events = frozenset({"os.listdir", "os.scandir", "os.chdir", "os.listxattr", "os.getxattr", "glob.glob",
                             "glob.glob/2", "os.chroot"})
    devices = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    # The hook calls no Python function and looks up no global or builtin name when it runs: the
    # program could rebind those (builtins.any, posixpath.realpath, os.lstat, ...). Everything it
    # uses is a C function or an immutable value bound here, and paths are resolved inline with
    # posix.lstat/readlink. A refused event's traceback shows the hook's frame; its locals hold
    # nothing the program could change.
    import posix

    lstat, readlink, getcwd = posix.lstat, posix.readlink, posix.getcwd
    join, is_, str_type, bytes_type, int_type = "".join, isinstance, str, bytes, int
    function_type, type_of, denied = type(lambda: None), type, PermissionError
    loop_error = (OSError, ValueError, TypeError)
    created, quota, creating = itertools.count(1), OSError, os.O_CREAT  # a count can only go up
    other_arguments = (int, float, tuple)
    writable = (workdir.rstrip("/") or "/", "/dev/null")
    readable = writable + tuple(r.rstrip("/") for r in read_roots if r) + devices

    def hook(event, args):
        if event in blocked_events or event.partition(".")[0] in blocked_families:
            raise denied(f"sandbox: {event} is not allowed")
        if event == "import":
            name = args[0]
            if not is_(name, str_type) or join((name,)).partition(".")[0] in blocked_imports:
                raise denied("sandbox: this import is not allowed")
            return
        if event == "object.__setattr__":
            if type_of(args[0]) is function_type and args[1] == "__code__":
                raise denied("sandbox: replacing a function's __code__ is not allowed")
            return
        create = event == "os.mkdir"
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            writing = is_(flags, int_type) and flags & write_flags
            create = is_(flags, int_type) and flags & creating
            if is_(mode, str_type):
                for c in "wax+":
                    if c in join((mode,)):
                        writing = True
                        create = create or c != "+"
            roots = writable if writing else readable
            paths = (path,)
        elif event in write_events:
            roots, paths = writable, args
        elif event in read_events:
            roots, paths = readable, args[:1] or (None,)
        else:
            return
        for path in paths:
            if path is None:
                if event in write_events:
                    continue  # dir_fd=None and other absent arguments
                path = "."
            if is_(path, other_arguments):
                continue  # an open descriptor (opening it was checked), a mode, utime's times
            if is_(path, bytes_type):
                path = path.decode("utf-8", "surrogateescape")
            elif not is_(path, str_type):
                raise denied(f"sandbox: {event} with a path that is not str or bytes is not allowed")
            path = join((path,))  # an exact str: a str subclass's methods never run here
            if "\0" in path:
                raise denied(f"sandbox: {event} {path!r} is not allowed")
            # Resolve to an absolute path without symlinks, as os.path.realpath does.
            pending = path.split("/") if path.startswith("/") else getcwd().split("/") + path.split("/")
            parts, hops = [], 0
            while pending:
                part = pending.pop(0)
                if part in ("", "."):
                    continue
                if part == "..":
                    if parts:
                        parts.pop()
                    continue
                candidate = "/" + "/".join(parts + [part])
                try:
                    is_link = (lstat(candidate).st_mode & 0o170000) == 0o120000
                except loop_error:
                    is_link = False
                if not is_link:
                    parts.append(part)
                    continue
                hops += 1
                if hops > 40:
                    raise denied(f"sandbox: {event} {path!r} (symlink loop) is not allowed")
                target = readlink(candidate)
                if target.startswith("/"):
                    parts = []
                pending = target.split("/") + pending
            resolved = "/" + "/".join(parts)
            for root in roots:
                if resolved == root or resolved.startswith(root + "/") or root == "/":
                    break
            else:
                raise denied(f"sandbox: {event} {path!r} is not allowed")
            if create:
                try:
                    lstat(resolved)
                except loop_error:  # a new file or directory
                    if next(created) > max_created:
                        raise quota(122, f"sandbox: the program may create at most {max_created} files") from None
                create = False

    sys.addaudithook(hook)
    # Modules already loaded by the interpreter are not imported again, so the import check
    # would not see them: drop those the program must not reach.
    for name in list(sys.modules):
        if name.partition(".")[0] in blocked_imports:
            del sys.modules[name]


_boot()
