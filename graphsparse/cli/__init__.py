"""The ``graphsparse`` command: ``train``, ``glt``, ``datasets`` (one module per subcommand).

The only place argparse lives, and the only place process-wide settings are made: :func:`main` selects
matplotlib's non-interactive backend, keeps freed memory for reuse (:func:`graphsparse.utils.keep_freed_memory`)
and silences the CSR-beta warning — importing the library does none of these.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from . import datasets, glt, train
from .options import CommandParser

__all__ = ["main", "build_parser"]


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="graphsparse", description="Graph neural networks on sparse graphs, and graph lottery tickets."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    train.add_parser(sub)
    glt.add_parser(sub)
    datasets.add_parser(sub)
    return parser


def _start_up() -> None:
    """Process-wide settings of the command (never made by importing the library)."""
    import warnings

    from ..utils import keep_freed_memory

    os.environ.setdefault("MPLBACKEND", "Agg")  # plots go to files; no display needed
    keep_freed_memory()  # full-batch epochs re-allocate the same large tensors: reuse them, don't re-fault them
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")


def main(argv: Sequence[str] | None = None) -> int:
    from ..graph import GraphError

    parser = build_parser()
    args = parser.parse_args(argv)
    _start_up()
    try:
        summary = args.handler(args)
    except (GraphError, ValueError, FileNotFoundError) as err:
        print(f"graphsparse {args.command}: error: {err}", file=sys.stderr)
        return 2
    if isinstance(summary, dict):
        from ..experiments.report import print_summary

        print_summary(summary, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
