"""One row per dataset (name, family, task, metric and counts) for listings such as ``graphsparse datasets``."""

from __future__ import annotations

import time
from typing import Any

from .registry import dataset_info, list_datasets, load_dataset, locate_dataset

__all__ = ["dataset_rows"]


def dataset_rows(names: list[str] | None = None, root: str | None = None, load: bool = True) -> list[dict[str, Any]]:
    """One dict per dataset: name, family, task, metric, counts (loaded, or recorded when ``load`` is False).

    Without ``root``, a dataset found nowhere on the search path is not loaded: its row has the recorded counts,
    ``num_splits`` and ``seconds`` ``"-"`` and ``found`` False (``graphsparse datasets fetch NAME`` gets it).
    """
    rows = []
    for name in names or list_datasets(shipped_only=True):
        info = dataset_info(name)
        row: dict[str, Any] = {k: info[k] for k in ("name", "family", "task", "metric")}
        if load and root is None and locate_dataset(info["name"]) is None:
            row.update({k: info[k] for k in ("num_nodes", "num_edges", "num_features", "num_classes")})
            row.update(num_splits="-", seconds="-", found=False)
        elif load:
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
