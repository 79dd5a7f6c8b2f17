"""The `rlvr` command. Subcommands live in their own modules and are imported only when used,
so `rlvr --help` never loads torch or transformers.

Each subcommand module provides `configure(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from rlvr.version import __version__

# name -> (module, one-line help). Add a command by adding a line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("rlvr.synth.cli", "make verifiable tasks (synth gym, ...)"),
    "curate": ("rlvr.curate.cli", "keep or drop each task: dedupe (exact, structural, MinHash, semantic), decontaminate"),
    "select": ("rlvr.select.cli", "estimate pass rates with a model (select estimate, ...)"),
    "train": ("rlvr.train.cli", "GRPO on TRL with a rollout ledger, probe set and a report of which data helped"),
    "card": ("rlvr.datasets_cards.cli", "write a Hugging Face dataset folder with its card (from a run or a task "
                                        "table), or validate or push one"),
    "value": ("rlvr.commands.value", "which data helped, from one training run or pooled over several (se over runs)"),
    "verify": ("rlvr.commands.verify", "score completions against tasks, or check every task's gold answer"),
    "models": ("rlvr.commands.models", "list or prepare the embedded models"),
    "run": ("rlvr.commands.run", "run a pipeline YAML into a run directory, resuming finished stages"),
}

# Errors a user can cause and fix: printed as one line, no traceback (set RLVR_DEBUG=1 for one).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, KeyError, RuntimeError, ImportError)


def _top_help() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: rlvr [-v|-q] COMMAND ...   (rlvr {__version__})",
        "",
        "Build RLVR datasets with checkable answers, curate them, train on them, report what helped.",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `rlvr COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    level = logging.WARNING
    while argv and argv[0] in ("-v", "--verbose", "-q", "--quiet"):
        level = logging.INFO if argv.pop(0) in ("-v", "--verbose") else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_top_help())
        return 0
    if argv[0] == "--version":
        print(f"rlvr {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"rlvr: unknown command {name!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"rlvr {name}", description=COMMANDS[name][1])
    module.configure(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("RLVR_DEBUG"):
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"rlvr {name}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
