"""``python -m graphsparse.cli.distributed``: the per-process entry point that ``torchrun`` launches.

See :mod:`graphsparse.distributed` for what each rank does (``--on-disk``/``--disk``: each rank memory-maps only
its shard of the parts); this module only reads the options.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import options as opt

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The per-process command's argument parser (the fields of :class:`graphsparse.distributed.DistributedConfig`).

    Returns:
        The parser.
    """
    p = argparse.ArgumentParser(
        prog="python -m graphsparse.cli.distributed",
        description="Data-parallel Cluster-GCN training over torch.distributed (launch with torchrun).",
    )
    p.add_argument("--dataset", default=None, help="dataset name (see `graphsparse datasets`); or --disk")
    p.add_argument(
        "--disk",
        default=None,
        metavar="FOLDER",
        help="train on a disk graph folder instead of --dataset (one part: rank 0 partitions it into --parts)",
    )
    p.add_argument(
        "--on-disk",
        action="store_true",
        help="write the dataset once as a disk graph ordered by its METIS parts (cached); each rank maps only its "
        "shard of the parts",
    )
    p.add_argument(
        "--model",
        default="gcn",
        type=opt.lower,
        choices=opt.node_model_choices(),
        metavar="MODEL",
        help="%(choices)s (default: gcn; the paper's setting is gcn or cluster-gcn)",
    )
    p.add_argument("--parts", type=int, default=100, help="METIS parts (default: 100)")
    p.add_argument("--clusters-per-batch", type=int, default=10, help="clusters per batch (default: 10)")
    p.add_argument("--epochs", type=int, default=100, help="training epochs (default: 100)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="L2 weight decay (default: 5e-4)")
    p.add_argument("--hidden", type=int, default=64, help="hidden channels (default: 64)")
    p.add_argument("--dropout", type=float, default=0.5, help="dropout probability (default: 0.5)")
    p.add_argument("--normalize-features", action="store_true", help="row-normalise the features")
    p.add_argument("--split", default=None, help="split name (default: 'public' if present)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank (default: 1)")
    p.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, GPU LOCAL_RANK)")
    p.add_argument("--accumulate", type=int, default=1, help="single process: batches per optimizer step")
    p.add_argument("--out", default=None, help="folder for one JSON result per rank (rank<r>.json)")
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar (shown on stderr by rank 0 only)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run this process's rank as torchrun set it up; rank 0 prints its result as one JSON line.

    Args:
        argv: the command line after the program name (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 2 after a one-line error (a bad option, dataset or output folder).
    """
    from ..distributed import DistributedConfig, launch
    from ..graph import GraphError

    args = build_parser().parse_args(argv)
    try:
        if args.out:  # the result folder is checked before training, not after it
            from .preflight import check_output_folder

            check_output_folder(args.out, "--out")
        result = launch(DistributedConfig(**{k: v for k, v in vars(args).items()}))
    except (GraphError, ValueError, FileNotFoundError) as err:
        print(f"graphsparse distributed: error: {err}", file=sys.stderr)
        return 2
    if result["rank"] == 0:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
