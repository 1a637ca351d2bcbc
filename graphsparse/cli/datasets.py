"""``graphsparse datasets``: a table of every shipped dataset with its node/edge/feature/class counts."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list the shipped datasets with their counts")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--root", default=None, help="dataset root (default: $GRAPHSPARSE_DATA or datasets/)")
    p.add_argument(
        "--no-load", action="store_true", help="show the recorded counts without loading (fast; no file check)"
    )
    p.add_argument("--name", "--dataset", action="append", default=None, help="only these datasets (repeatable)")
    p.add_argument(
        "--verify", action="store_true", help="check every shipped file against its sha256; exit 1 if any fails"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    """Print the dataset table (or JSON rows); with ``--verify``, one checksum verdict per dataset."""
    if args.verify:
        from ..data import verify_datasets

        results = verify_datasets(args.name, root=args.root)
        for result in results:
            print(result.line())
        if not all(result.ok for result in results):
            raise SystemExit(1)
        return
    from ..data import dataset_rows
    from ..experiments.report import print_dataset_table

    rows = dataset_rows(names=args.name, root=args.root, load=not args.no_load)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print_dataset_table(rows)
