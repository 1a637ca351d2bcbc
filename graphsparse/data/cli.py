"""``graphsparse datasets``: a table of every shipped dataset with its node/edge/feature/class counts."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .registry import dataset_info, list_datasets, load_dataset

__all__ = ["add_arguments", "run", "dataset_rows"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--root", default=None, help="dataset root (default: $GRAPHSPARSE_DATA or datasets/)")
    parser.add_argument(
        "--no-load", action="store_true", help="show the recorded counts without loading (fast; no file check)"
    )
    parser.add_argument("--name", action="append", default=None, help="only these datasets (repeatable)")


def dataset_rows(names: list[str] | None = None, root: str | None = None, load: bool = True) -> list[dict[str, Any]]:
    """One dict per dataset: name, family, task, metric, counts (loaded, or recorded when ``load`` is False)."""
    rows = []
    for name in names or list_datasets(shipped_only=True):
        info = dataset_info(name)
        row: dict[str, Any] = {k: info[k] for k in ("name", "family", "task", "metric")}
        if load:
            start = time.perf_counter()
            graph = load_dataset(info["name"], root=root)
            row.update(
                num_nodes=graph.num_nodes,
                num_edges=graph.num_edges,
                num_features=graph.num_features,
                num_classes=graph.num_classes,
                num_splits=len(graph.splits),
                seconds=f"{time.perf_counter() - start:.2f}",
            )
        else:
            row.update({k: info[k] for k in ("num_nodes", "num_edges", "num_features", "num_classes")})
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> None:
    """Print the dataset table (works with a parser that only defined ``--json``)."""
    rows = dataset_rows(
        names=getattr(args, "name", None),
        root=getattr(args, "root", None),
        load=not getattr(args, "no_load", False),
    )
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=1))
        return
    columns = ["name", "family", "task", "metric", "num_nodes", "num_edges", "num_features", "num_classes"]
    if rows and "num_splits" in rows[0]:
        columns += ["num_splits", "seconds"]
    headers = {
        "num_nodes": "nodes",
        "num_edges": "edges",
        "num_features": "features",
        "num_classes": "classes",
        "num_splits": "splits",
        "seconds": "load s",
    }
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    titles = [headers.get(c, c) for c in columns]
    widths = [max(len(t), *(len(r[i]) for r in cells)) for i, t in enumerate(titles)]
    numeric = {i for i, c in enumerate(columns) if c.startswith("num_") or c == "seconds"}

    def fmt(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))

    out = sys.stdout
    print(fmt(titles), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print(fmt(r), file=out)
    print("edges: undirected, self-loops removed (PyG's edge_index holds twice as many)", file=out)
