"""`rlvr card`: write, validate or push a dataset folder.

    rlvr card --run RUN_DIR --out DATASET_DIR [--name me/set] [--license cc-by-sa-4.0]
    rlvr card validate DATASET_DIR
    rlvr card push DATASET_DIR --repo-id me/set
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=Path, help="run directory to publish")
    parser.add_argument("--out", type=Path, help="dataset folder to write")
    parser.add_argument("--tasks", type=Path, help="task table to publish (default: the run's last one)")
    parser.add_argument("--name", default="", help="Hub repo id the dataset will live at (for the usage snippet)")
    parser.add_argument("--pretty-name", default="", help="human title of the dataset")
    parser.add_argument("--license", default="", help="Hub licence id (default: derived from the sources)")
    parser.add_argument("--attribution", action="append", default=[], metavar="SOURCE=LINE",
                        help="attribution line for a source corpus (repeatable)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    v = sub.add_parser("validate", help="check a dataset folder's card header offline")
    v.add_argument("dataset_dir", type=Path)
    p = sub.add_parser("push", help="validate, then upload to the Hugging Face Hub")
    p.add_argument("dataset_dir", type=Path)
    p.add_argument("--repo-id", required=True)
    p.add_argument("--private", action="store_true")


def run(args: argparse.Namespace) -> int:
    if args.action == "validate":
        from rlvr.datasets_cards.card import read_header
        from rlvr.datasets_cards.hub_schema import validate_header

        problems = validate_header(read_header(args.dataset_dir), args.dataset_dir)
        for p in problems:
            print(f"  {p}")
        print(f"{args.dataset_dir}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if args.action == "push":
        from rlvr.datasets_cards.push import push

        print(f"uploaded: {push(args.dataset_dir, args.repo_id, args.private)}")
        return 0
    if args.run is None or args.out is None:
        raise ValueError("give --run RUN_DIR and --out DATASET_DIR (or use `rlvr card validate|push DATASET_DIR`)")
    from rlvr.datasets_cards.card import CardOptions, build_dataset

    attributions = {}
    for item in args.attribution:
        source, sep, line = item.partition("=")
        if not sep:
            raise ValueError(f"--attribution {item!r}: expected SOURCE=LINE")
        attributions[source] = line
    opts = CardOptions(name=args.name, pretty_name=args.pretty_name, license=args.license, attributions=attributions)
    readme, facts = build_dataset(args.run, args.out, opts, args.tasks)
    print(f"wrote {facts.n_tasks} tasks in {len(facts.kinds)} kind(s); card: {readme}")
    return 0
