"""Inside the sandboxed process: compile, install the audit hook, run, report one result line.

Loaded by runner.py (standard library only). The result line goes to a pipe of its own, so
nothing the program prints can be mistaken for it; the parent only ever compares the values
reported here with expected values it keeps to itself, so a program that forges a result line
gains nothing it could not get by returning those values.

The audit hook (PEP 578) refuses, for the rest of the process's life, the Python-level routes
out of the sandbox: starting processes, signalling other processes, sockets, ctypes and
native-code imports, writes outside the work dir, and reads or listings outside the work dir and
the standard library. PEP 578 says plainly that audit hooks are not a sandbox: native code can
step around them. They are the second layer; the kernel layers set up by runner.py are the
boundary.
"""

import builtins
import errno
import os
import sys

# Whole families of audited events that a sandboxed program never needs.
BLOCKED_EVENT_MODULES = frozenset({
    "ctypes", "socket", "subprocess", "webbrowser", "urllib", "http", "ftplib", "smtplib", "poplib",
    "imaplib", "telnetlib", "nntplib", "resource", "fcntl", "pty", "winreg", "msvcrt", "_winapi", "ssl",
})
BLOCKED_EVENTS = frozenset({
    "os.system", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.posix_spawn", "os.spawn", "os.exec",
    "os.startfile", "sys.remote_exec",
})
# Modules whose import is refused at run time (their native code is not audited, or it is the
# route to unaudited process creation).
BLOCKED_IMPORTS = frozenset({
    "ctypes", "_ctypes", "cffi", "_posixsubprocess", "_socket", "socket", "_ssl", "ssl", "mmap", "fcntl",
    "resource", "pty", "termios", "_multiprocessing", "_xxsubinterpreters", "_testcapi", "_testinternalcapi",
})
WRITE_EVENTS = frozenset({
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.chmod", "os.chown",
    "os.truncate", "os.utime", "os.setxattr", "os.removexattr", "os.chflags", "os.lchflags",
    "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
    "shutil.move", "shutil.chown", "shutil.make_archive", "shutil.unpack_archive",
})
READ_EVENTS = frozenset({"os.listdir", "os.scandir", "os.chdir", "os.listxattr", "os.getxattr", "glob.glob",
                         "glob.glob/2"})
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def install_guard(workdir, read_roots):
    """Add the audit hook. It cannot be removed from Python code once added."""
    realpath, fsdecode = os.path.realpath, os.fsdecode
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    writable = (realpath(workdir), "/dev/null")
    readable = writable + tuple(realpath(r) for r in read_roots if r) + DEVICES

    def inside(path, roots):
        if path is None:
            path = "."
        if isinstance(path, int):
            return True  # an already-open descriptor: opening it was checked
        try:
            p = realpath(fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)

    def refuse(event, what=""):
        raise PermissionError(f"sandbox: {event} {what}".strip() + " is not allowed")

    def hook(event, args):
        if event in BLOCKED_EVENTS or event.partition(".")[0] in BLOCKED_EVENT_MODULES:
            refuse(event)
        if event == "import":
            if str(args[0]).partition(".")[0] in BLOCKED_IMPORTS:
                refuse("import", repr(args[0]))
        elif event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & write_flags)
            if not inside(path, writable if writing else readable):
                refuse("open", repr(path))
        elif event in WRITE_EVENTS:
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)) and not inside(arg, writable):
                    refuse(event, repr(arg))
        elif event in READ_EVENTS:
            if args and not inside(args[0], readable):
                refuse(event, repr(args[0]))

    sys.addaudithook(hook)


def _describe(exc):
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - a hostile __str__ must not break the report
        text = type(exc).__name__
    return text[:1000]


def run_program(job, workdir, read_roots, isolation):
    """Run job['code'] then evaluate job['expressions']; write one result line; exit."""
    out = job["result_fd"]
    write, to_text, exit_now = os.write, repr, os._exit
    stdout, stderr = sys.stdout, sys.stderr
    max_chars = job["limits"]["max_value_chars"]
    reserve = bytearray(1 << 20)  # freed on MemoryError so the report itself can be built
    result = {"status": "ok", "detail": "", "values": []}

    def finish(res):
        for stream in (stdout, stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - the program may have closed or broken it
                pass
        data = (to_text({"result": res}) + "\n").encode("utf-8", "backslashreplace")
        while data:
            data = data[write(out, data):]
        exit_now(0)

    try:
        code = compile(job["code"], "<program>", "exec")
        expressions = [compile(e, f"<expression {i}>", "eval") for i, e in enumerate(job["expressions"])]
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError) as exc:
        finish({"status": "error", "detail": _describe(exc), "values": []})
    if job["runtime_guard"]:
        install_guard(workdir, read_roots)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        try:
            exec(code, namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        for expression in expressions:
            text = to_text(eval(expression, namespace))
            if len(text) > max_chars:
                result = {"status": "output_limit", "values": result["values"],
                          "detail": f"a value's repr has {len(text)} characters (limit {max_chars})"}
                break
            result["values"].append(text)
    except MemoryError:
        del reserve
        result = {"status": "memory", "detail": "MemoryError", "values": result["values"]}
    except BaseException as exc:  # noqa: BLE001 - everything the program raises is its outcome
        # CPython ignores SIGXFSZ, so the file-size limit and a full work dir surface as OSError.
        full = isinstance(exc, OSError) and exc.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT)
        result = {"status": "output_limit" if full else "error", "detail": _describe(exc), "values": result["values"]}
        try:
            import traceback  # only now: it costs every run a few ms of imports

            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next, limit=20, file=stderr)
        except Exception:  # noqa: BLE001, S110 - stderr may be broken or the traceback hostile
            pass
    finish(result)
