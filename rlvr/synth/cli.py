"""`rlvr synth FAMILY ...`: one subcommand per task family (declared in rlvr.builtins), each in its family's module."""

from __future__ import annotations

import argparse
import importlib

from rlvr.builtins import synth_commands


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for family, (module, help_) in synth_commands().items():  # one line per family in rlvr.builtins
        p = sub.add_parser(family, help=help_, description=help_)
        p.set_defaults(_module=module)
        importlib.import_module(module).configure(p)


def run(args: argparse.Namespace) -> int:
    return importlib.import_module(args._module).run(args)
