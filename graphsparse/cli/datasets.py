"""The ``graphsparse datasets`` command.

``graphsparse datasets``: a table of every shipped dataset with its node/edge/feature/class counts;
``graphsparse datasets fetch NAME``: download a dataset's original files into the data home (sha256-checked).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``datasets`` subcommand (and its ``fetch`` action) to the ``graphsparse`` parser.

    Args:
        sub: the ``graphsparse`` parser's subparsers.
    """
    p = sub.add_parser(
        "datasets",
        help="list the datasets with their counts; 'datasets fetch NAME' downloads one",
        description="List the datasets with their counts. Datasets are searched in $GRAPHSPARSE_DATA "
        "(os.pathsep-separated), then the data home (graphsparse datasets fetch puts them there), then the "
        "source checkout's datasets/ folder.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--root", default=None, help="dataset root (default: search $GRAPHSPARSE_DATA, data home, datasets/)"
    )
    p.add_argument(
        "--no-load", action="store_true", help="show the recorded counts without loading (fast; no file check)"
    )
    p.add_argument("--name", "--dataset", action="append", default=None, help="only these datasets (repeatable)")
    p.add_argument(
        "--verify", action="store_true", help="check every shipped file against its sha256; exit 1 if any fails"
    )
    p.set_defaults(handler=run)
    actions = p.add_subparsers(dest="datasets_action", parser_class=type(p))
    fetch = actions.add_parser(
        "fetch",
        help="download a dataset's original files (the URLs in its SOURCE.md) and check their sha256",
        description="Download a dataset's original files from the public URLs named in its SOURCE.md into the data "
        "home (or --to DIR) and check each file's sha256 (a mismatch deletes the file and fails).",
    )
    fetch.add_argument("name", help="dataset name, e.g. cora (see 'graphsparse datasets --no-load')")
    fetch.add_argument("--to", default=None, help="dataset root to fill (default: <data home>/datasets)")
    fetch.add_argument(
        "--base-url",
        default=None,
        help="replace scheme and host of every download URL (a mirror; default: $GRAPHSPARSE_MIRROR)",
    )
    fetch.set_defaults(handler=run_fetch)


def run_fetch(args: argparse.Namespace) -> None:
    """Download one dataset; one line per file, then where it went."""
    from ..config import dataset_home
    from ..data import DatasetError, fetch_dataset

    try:
        paths = fetch_dataset(args.name, to=args.to, base_url=args.base_url, progress=print)
    except DatasetError as err:
        print(f"graphsparse datasets fetch: error: {err}", file=sys.stderr)
        raise SystemExit(1) from err
    root = args.to if args.to is not None else dataset_home()
    print(f"{args.name}: {len(paths)} file{'s' if len(paths) != 1 else ''} in {root}")


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
    from ..experiments.tables import print_dataset_table

    rows = dataset_rows(names=args.name, root=args.root, load=not args.no_load)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print_dataset_table(rows)
    missing = [row["name"] for row in rows if row.get("found") is False]
    if missing:
        print(
            f"not found on the search path (counts as recorded): {', '.join(missing)}; graphsparse datasets fetch NAME"
        )
