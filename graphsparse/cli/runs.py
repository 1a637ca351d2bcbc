"""``graphsparse runs``: list, show, compare and export what the results store holds (runs and GLT levels).

Also what every run of the command records about how it ran (:func:`invocation_record`): the command line, the git
commit of the package's checkout (when it is one), the device, torch's thread count and an id shared by every run
of one command invocation (:func:`start_invocation`, called once per :func:`graphsparse.cli.main`).

Runs have integer ids; a GLT level (a key/value unit of the store) has the id ``g<10 hex digits>`` (see
:func:`graphsparse.experiments.runs.unit_id`). Dates are UTC; ``--since`` takes a date (``2026-12-01``), a date
and time (``2026-12-01T08:30``, UTC unless it names its offset) or an age (``90m``, ``12h``, ``7d``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import options as opt

__all__ = ["add_parser", "start_invocation", "invocation_record", "git_commit", "installed_version", "parse_since"]

_INVOCATION: dict[str, Any] | None = None


def start_invocation(argv: Sequence[str] | None = None) -> str:
    """Begin a new invocation (a fresh id) with its command line.

    The command line is ``sys.argv`` when ``argv`` is None, else ``['graphsparse', *argv]`` (``main`` called
    in-process). Returns the id.
    """
    global _INVOCATION
    command = list(sys.argv) if argv is None else ["graphsparse", *(str(a) for a in argv)]
    _INVOCATION = {
        "id": uuid.uuid4().hex,
        "argv": command,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return _INVOCATION["id"]


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout graphsparse is imported from, or None.

    None for an installed package, no git, any failure: the package folder must be the top level's ``graphsparse``
    folder, so a wheel installed in a virtual environment inside some other repository reports nothing rather than
    that repository's commit.
    """
    package = Path(__file__).resolve().parents[1]
    try:
        top = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10
        )
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() / package.name != package:
            return None
        head = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    commit = head.stdout.strip()
    return commit if head.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def installed_version() -> str:
    """The installed distribution's version (``importlib.metadata``: what ``pip`` installed).

    Else the package's ``__version__`` (a checkout imported without installing).
    """
    from importlib import metadata

    from .. import __version__

    try:
        return metadata.version("graphsparse")
    except metadata.PackageNotFoundError:
        return __version__


def _thread_choice() -> dict[str, Any] | None:
    from ..threads import last_choice

    choice = last_choice()
    return None if choice is None else choice.as_record()


def invocation_record(device: Any = None) -> dict[str, Any]:
    """What the store records with each run of this invocation (GLT levels too).

    That is ``id``, ``argv``, ``started``, ``git_commit`` (None outside a checkout), ``package_version`` (the
    installed graphsparse's, :func:`installed_version`: what identifies the code when there is no commit),
    ``versions`` (python, torch, numpy, torch_geometric, graphsparse), ``device``, ``torch_threads``,
    ``thread_choice`` (how the count was chosen, :mod:`graphsparse.threads`), ``hostname``, ``cwd``.
    """
    import torch

    from ..experiments.store import package_versions

    if _INVOCATION is None:
        start_invocation()
    assert _INVOCATION is not None
    return {
        **_INVOCATION,
        "git_commit": git_commit(),
        "package_version": installed_version(),
        "versions": package_versions(),
        "device": None if device is None else str(device),
        "torch_threads": torch.get_num_threads(),
        "thread_choice": _thread_choice(),
        "hostname": platform.node(),
        "cwd": os.getcwd(),
    }


def parse_since(text: str, now: float | None = None) -> float:
    """``--since``: a Unix time from a date, a date and time or an age.

    A date and time is UTC unless it has an offset; an age (``30m``, ``12h``, ``7d``, ``2w``) counts back from
    ``now`` (default: the current time). A ValueError names the forms accepted when ``text`` has none of them.
    """
    text = str(text).strip()
    age = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhdw])", text)
    if age:
        seconds = float(age.group(1)) * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[age.group(2)]
        return (time.time() if now is None else now) - seconds
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since takes a date (2026-12-01), a date and time (2026-12-01T08:30) or an age (12h, 7d), got {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``runs`` subcommand and its actions to the ``graphsparse`` parser.

    Args:
        sub: the ``graphsparse`` parser's subparsers.
    """
    p = sub.add_parser(
        "runs",
        help="list, show, compare and export stored runs and GLT levels",
        description="Query the results database: every run of `graphsparse train` and every GLT level of "
        "`graphsparse glt`. Dates are UTC.",
    )
    actions = p.add_subparsers(dest="action", required=True, parser_class=opt.CommandParser)

    def db(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--db", default=None, help="results database (default: $GRAPHSPARSE_DB or runs/graphsparse.db)"
        )

    def filters(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", default=None, help="only this dataset")
        parser.add_argument("--model", default=None, type=opt.lower, help="only this model")
        parser.add_argument(
            "--kind",
            default=None,
            type=opt.lower,
            help="only this kind: node, link, cluster, gaug-m, gaug-o, glt, ... (default: all)",
        )
        parser.add_argument(
            "--since",
            default=None,
            help="only results stored since: 2026-12-01, 2026-12-01T08:30, or an age such as 12h or 7d",
        )
        parser.add_argument(
            "--method",
            default=None,
            type=opt.lower,
            help="only GLT levels of this method: dense, teddy, ugs, random (implies --kind glt)",
        )
        parser.add_argument("--limit", type=int, default=None, help="only the newest N (after the other filters)")

    def wide(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--wide",
            action="store_true",
            help="print every cell whole (default: the table fits the terminal's width, $COLUMNS or 120; long "
            "cells are cut with an ellipsis)",
        )

    listing = actions.add_parser(
        "list",
        help="a table of the stored runs (oldest first)",
        description="A table of the stored runs and GLT levels, oldest first: id, date, "
        "kind, dataset, model, seed and the test metric (fixed decimals).",
    )
    filters(listing)
    db(listing)
    listing.add_argument("--json", action="store_true", help="print the records as one JSON list")
    wide(listing)
    listing.set_defaults(handler=_list)

    show = actions.add_parser(
        "show",
        help="the full JSON of one run",
        description="The full JSON of one stored "
        "run (an integer id) or GLT level (a g... id), as `runs list` shows them.",
    )
    show.add_argument("id", help="run id (e.g. 12) or GLT level id (e.g. g3fa9c1d20e)")
    db(show)
    show.set_defaults(handler=_show)

    compare = actions.add_parser(
        "compare",
        help="metrics and configuration differences side by side",
        description="Two or more runs side by side: every metric (fixed decimals) and "
        "every configuration value that differs between them.",
    )
    compare.add_argument("ids", nargs="+", help="two or more run ids")
    db(compare)
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    wide(compare)
    compare.set_defaults(handler=_compare)

    export = actions.add_parser(
        "export",
        help="every matching run as CSV or JSON, or to MLflow",
        description="Every matching run and GLT level as CSV (one row each, metrics as "
        "columns) or JSON (the full records), or into an MLflow tracking store (--to mlflow: params, metrics, "
        "per-epoch curves by epoch, a GLT search's levels as steps; runs already exported are skipped).",
    )
    export.add_argument("--format", default=None, type=opt.lower, choices=["csv", "json"], help="%(choices)s")
    export.add_argument(
        "--to",
        default=None,
        type=opt.lower,
        choices=["mlflow"],
        help="export into a tracker instead of a file: mlflow (needs pip install 'graphsparse[mlflow]')",
    )
    export.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="--to mlflow: the tracking store (sqlite:///mlflow.db, http://host:5000, ...; default: MLflow's own, "
        "$MLFLOW_TRACKING_URI)",
    )
    export.add_argument(
        "--experiment",
        default=None,
        help="--to mlflow: the MLflow experiment (default: graphsparse; created when missing)",
    )
    export.add_argument("--out", default=None, help="output file (default: standard output)")
    filters(export)
    db(export)
    export.set_defaults(handler=_export)

    restore = actions.add_parser(
        "import",
        help="store the records a failed command saved in a recovery file",
        description="Store the runs and GLT levels that `graphsparse train`, `glt` or `tune` could not store "
        "(a full disk, a locked or deleted database) and saved in a recovery file (or printed on stdout as JSON "
        "lines, saved to a file). A resumed `glt` then finds its levels.",
    )
    restore.add_argument("file", help="the recovery file the failed command named")
    db(restore)
    restore.set_defaults(handler=_import)


def _open(args: argparse.Namespace) -> Any:
    from ..experiments.store import ResultsStore, default_db_path

    path = Path(args.db) if args.db is not None else default_db_path()
    if not path.is_file() and getattr(args, "action", "") in ("list", "export"):
        print(f"graphsparse runs: no results database at {path} yet: nothing stored", file=sys.stderr)
        return None
    if not path.is_file():
        raise ValueError(
            f"no results database at {path} (graphsparse train and glt store their runs there; --db names another)"
        )
    return ResultsStore(path, read_only=True)


def _records(args: argparse.Namespace, store: Any) -> list[dict[str, Any]]:
    from ..experiments.runs import unit_record

    since = parse_since(args.since) if args.since is not None else None
    if args.limit is not None and args.limit < 0:
        raise ValueError(f"--limit must be >= 0, got {args.limit}")
    records: list[dict[str, Any]] = []
    if store is None:  # no database yet
        return records
    if args.method is not None and args.kind not in (None, "glt"):
        raise ValueError(f"--method filters GLT levels: it does not combine with --kind {args.kind}")
    if args.kind != "glt" and args.method is None:
        records += store.runs(args.kind, args.dataset, args.model, since=since)
    if args.kind in (None, "glt"):
        for unit in store.units("glt|", since=since):
            record = unit_record(unit)
            if record is None:
                continue
            if args.dataset is not None and record["dataset"] != args.dataset:
                continue
            if args.model is not None and record["model"] != args.model:
                continue
            if args.method is not None and record["config"]["method"] != args.method:
                continue
            records.append(record)
    records.sort(key=lambda r: (float(r["created"]), str(r["id"])))
    if args.limit is not None:
        records = records[len(records) - args.limit :] if args.limit else []
    return records


def _find(store: Any, ident: str) -> dict[str, Any]:
    from ..experiments.runs import unit_id, unit_record

    ident = str(ident).strip()
    if ident.isdigit():
        record = store.run(int(ident))
        if record is None:
            raise ValueError(f"no run with id {ident} in {store.path}")
        return record
    if re.fullmatch(r"g[0-9a-f]{1,10}", ident):
        for unit in store.units("glt|"):
            if unit_id(unit["key"]).startswith(ident):
                record = unit_record(unit)
                if record is not None:
                    return record
        raise ValueError(f"no GLT level with id {ident} in {store.path}")
    raise ValueError(f"run ids are integers (runs) or g + hex digits (GLT levels), got {ident!r}")


def _list(args: argparse.Namespace) -> None:
    from ..experiments.runs import print_runs_table, terminal_width

    records = _records(args, _open(args))
    if args.json:
        print(json.dumps(records, sort_keys=True, default=str))
    else:
        print_runs_table(records, width=terminal_width(args.wide))


def _show(args: argparse.Namespace) -> None:
    print(json.dumps(_find(_open(args), args.id), indent=2, sort_keys=True, default=str))


def _compare(args: argparse.Namespace) -> None:
    from ..experiments.runs import compare_records, print_comparison, terminal_width

    if len(args.ids) < 2:
        raise ValueError("compare needs two or more run ids")
    store = _open(args)
    comparison = compare_records([_find(store, ident) for ident in args.ids])
    if args.json:
        print(json.dumps(comparison, sort_keys=True, default=str))
    else:
        print_comparison(comparison, width=terminal_width(args.wide))


def _check_export(args: argparse.Namespace) -> None:
    """Exactly one of --format / --to; the options of the other refused by name."""
    if (args.format is None) == (args.to is None):
        raise ValueError("runs export needs --format csv|json (a file) or --to mlflow (a tracker), one of them")
    if args.to is not None and args.out is not None:
        raise ValueError("--out names a file for --format csv|json; --to mlflow writes to --tracking-uri")
    if args.format is not None:
        for dest in ("tracking_uri", "experiment"):
            if getattr(args, dest) is not None:
                raise ValueError(f"{opt.flag(dest)} applies to --to mlflow only, not to --format {args.format}")


def _export_mlflow(args: argparse.Namespace) -> None:
    from ..experiments.tracking import MLFLOW_EXPERIMENT, check_mlflow, export_mlflow

    uri = args.tracking_uri if args.tracking_uri is not None else ""
    if uri.startswith("sqlite:///") or uri.startswith("file:") or (uri and "://" not in uri):
        from ..experiments.store import default_db_path
        from .preflight import check_distinct

        target = uri.split(":///", 1)[1].split("?", 1)[0] if "://" in uri else uri.removeprefix("file:")
        db = args.db if args.db is not None else default_db_path()
        check_distinct([("--tracking-uri", target)], [("--db", db)])  # MLflow would write its tables into it
    check_mlflow()  # a missing package fails before the database is read
    records = _records(args, _open(args))
    experiment = args.experiment if args.experiment is not None else MLFLOW_EXPERIMENT
    counts = export_mlflow(records, tracking_uri=args.tracking_uri, experiment=experiment)
    where = args.tracking_uri if args.tracking_uri is not None else "MLflow's default tracking store"
    print(
        f"{counts['runs']} run{'s' if counts['runs'] != 1 else ''} and {counts['glt_series']} GLT "
        f"series exported to experiment {experiment!r} in {where}"
        + (f" ({counts['skipped']} already there, skipped)" if counts["skipped"] else ""),
        file=sys.stderr,
    )


def _export(args: argparse.Namespace) -> None:
    from ..experiments.runs import write_runs_csv

    _check_export(args)
    if args.to == "mlflow":
        _export_mlflow(args)
        return
    out = sys.stdout if args.out is None else None
    if args.out is not None:
        from ..experiments.store import default_db_path
        from .preflight import check_distinct, check_output_file

        check_distinct([("--out", args.out)], [("--db", args.db if args.db is not None else default_db_path())])
        check_output_file(args.out, "--out")
    records = _records(args, _open(args))
    if args.out is not None:
        out = open(args.out, "w", encoding="utf-8", newline="")
    try:
        if args.format == "csv":
            write_runs_csv(records, out)
        else:
            json.dump(records, out, indent=2, sort_keys=True, default=str)
            out.write("\n")
    finally:
        if args.out is not None:
            out.close()
    if args.out is not None:
        print(f"{len(records)} record{'s' if len(records) != 1 else ''} written to {args.out}", file=sys.stderr)


def _import(args: argparse.Namespace) -> None:
    from ..experiments.store import default_db_path
    from .preflight import check_database, check_distinct
    from .recovery import import_records, load_recovery

    check_distinct([("--db", args.db if args.db is not None else default_db_path())], [("recovery file", args.file)])
    records = load_recovery(args.file)  # checked whole before the database is touched
    store = check_database(args.db)
    counts = import_records(store, records)
    skipped = counts.pop("skipped")
    stored = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items() if n) or "nothing"
    already = f" ({skipped} run{'s' if skipped != 1 else ''} already there, skipped)" if skipped else ""
    print(f"{stored} from {args.file} stored in {store.path}{already}", file=sys.stderr)
