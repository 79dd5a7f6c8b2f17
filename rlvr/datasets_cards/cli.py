"""`rlvr card`: write, validate or push a dataset folder.

    rlvr card --run RUN_DIR --out DATASET_DIR [--name me/set] [--license cc-by-sa-4.0]   (write, from a run)
    rlvr card --run RUN_DIR --value-runs RUN2 RUN3 --out DATASET_DIR                      (value pooled over seeds)
    rlvr card --tasks TABLE.parquet --out DATASET_DIR                                     (write, no run)
    rlvr card validate DATASET_DIR
    rlvr card push DATASET_DIR --repo-id me/set
"""

from __future__ import annotations

import argparse
from pathlib import Path

WRITE_USAGE = ("rlvr card --run RUN_DIR --out DATASET_DIR, or rlvr card --tasks TABLE.parquet --out DATASET_DIR, "
               "or rlvr card validate|push DATASET_DIR")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write a Hugging Face dataset folder with its card (no ACTION: needs --out and --run or "
                          "--tasks), or check one offline (validate), or upload one (push).")
    parser.add_argument("--run", type=Path, help="run directory to publish (its last task table, curation, training "
                                                 "records)")
    parser.add_argument("--out", type=Path, metavar="DATASET_DIR",
                        help="dataset folder to write (required when writing)")
    parser.add_argument("--tasks", type=Path, help="task table to publish (with --run: instead of the run's last one; "
                                                   "without: on its own, e.g. from rlvr synth or rlvr curate)")
    parser.add_argument("--curator", default="", help="who made and maintains the dataset (shown in the card)")
    parser.add_argument("--contact", default="", help="how to reach the curator: e-mail or URL (shown in the card)")
    parser.add_argument("--name", default="", help="Hub repo id the dataset will live at (for the usage snippet)")
    parser.add_argument("--pretty-name", default="", help="human title of the dataset")
    parser.add_argument("--license", default="", help="Hub licence id (default: derived from the sources)")
    parser.add_argument("--attribution", action="append", default=[], metavar="SOURCE=LINE",
                        help="attribution line for a source corpus (repeatable)")
    parser.add_argument("--value-runs", nargs="+", type=Path, default=[], metavar="RUN",
                        help="other training runs of the same data (run folders, train stage folders or value.parquet "
                             "files): the card's training value is pooled with --run's, mean +- se over the runs")
    sub = parser.add_subparsers(dest="action", metavar="ACTION",
                                help="validate or push an existing folder; leave out to write one")
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
    if args.out is None or (args.run is None and args.tasks is None):
        missing = "--out DATASET_DIR" if args.out is None else "--run RUN_DIR or --tasks TABLE.parquet"
        raise ValueError(f"writing a dataset needs {missing}: {WRITE_USAGE}")
    from rlvr.datasets_cards.card import CardOptions, build_dataset

    attributions = {}
    for item in args.attribution:
        source, sep, line = item.partition("=")
        if not sep:
            raise ValueError(f"--attribution {item!r}: expected SOURCE=LINE")
        attributions[source] = line
    opts = CardOptions(name=args.name, pretty_name=args.pretty_name, license=args.license, attributions=attributions,
                       curator=args.curator, contact=args.contact, value_runs=tuple(args.value_runs))
    readme, facts = build_dataset(args.run, args.out, opts, args.tasks)
    print(f"wrote {facts.n_tasks} tasks in {len(facts.kinds)} kind(s); card: {readme}")
    return 0
