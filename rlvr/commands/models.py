"""`rlvr models list|prepare`: the embedded models and their on-disk state."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="show embedded models and whether they are ready")
    p = sub.add_parser("prepare", help="convert the bundled policy to a trainable checkpoint (once)")
    p.add_argument("name", nargs="?", default="smollm2-135m-instruct")
    p.add_argument("--force", action="store_true", help="rebuild even if already prepared")


def run(args: argparse.Namespace) -> int:
    import rlvr.models as models

    if args.action == "list":
        print(f"cache: {models.cache_dir()}")
        for name, kind, state, where in models.status():
            print(f"  {name:<24} {kind:<9} {state:<12} {where}")
        return 0
    if args.name == models.DEFAULT_POLICY:
        path = models.prepare_smollm2(force=args.force)
    else:
        path = models.resolve_model(args.name)
    print(f"{args.name}: ready at {path}")
    return 0
