"""Heterophilous graph benchmarks of Platonov et al. (ICLR 2023), Yandex Research npz files.

Each ``<root>/yandex_heterophilous/<file>/raw/<file>.npz`` holds ``node_features`` (N x F), ``node_labels`` (N),
``edges`` (E x 2) and ``train_masks``/``val_masks``/``test_masks`` (10 x N), loaded as splits ``"0"`` ... ``"9"``.
``minesweeper`` and ``tolokers`` are binary tasks evaluated with ROC-AUC; the rest use accuracy. ``*-directed``
files keep edge direction in the source; like the Geom-GCN graphs they load undirected unless ``directed=True``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..graph import Graph, GraphError
from ._io import DatasetError, dataset_file, load_npz, parsing

__all__ = ["YANDEX_DATASETS", "load_yandex"]

# canonical name -> file stem under yandex_heterophilous/
YANDEX_DATASETS: dict[str, str] = {
    "minesweeper": "minesweeper",
    "tolokers": "tolokers",
    "yandex-actor": "actor",
    "yandex-chameleon": "chameleon",
    "yandex-chameleon-directed": "chameleon_directed",
    "chameleon-filtered": "chameleon_filtered",
    "chameleon-filtered-directed": "chameleon_filtered_directed",
    "yandex-squirrel": "squirrel",
    "yandex-squirrel-directed": "squirrel_directed",
    "squirrel-filtered": "squirrel_filtered",
    "squirrel-filtered-directed": "squirrel_filtered_directed",
    "yandex-texas": "texas",
    "yandex-texas-4-classes": "texas_4_classes",
    "yandex-cornell": "cornell",
    "yandex-wisconsin": "wisconsin",
}

# not shipped (too large for the offline copy); loadable with download=True, which fetches PyG's URL
YANDEX_DOWNLOAD_ONLY: dict[str, str] = {
    "roman-empire": "roman_empire",
    "amazon-ratings": "amazon_ratings",
    "questions": "questions",
}
YANDEX_URL = "https://github.com/yandex-research/heterophilous-graphs/raw/main/data"

ROC_AUC_DATASETS = ("minesweeper", "tolokers", "questions")


def download_yandex(stem: str, root: Path) -> Path:
    """Fetch ``<stem>.npz`` from the Yandex repository into ``<root>/yandex_heterophilous/<stem>/raw/`` (internet)."""
    import urllib.request

    target = root / "yandex_heterophilous" / stem / "raw" / f"{stem}.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    urllib.request.urlretrieve(f"{YANDEX_URL}/{stem}.npz", partial)  # noqa: S310 - fixed https URL
    partial.rename(target)
    return target


def load_yandex(name: str, root: Path, directed: bool = False, verify: bool = True, download: bool = False) -> Graph:
    """Load one Yandex heterophilous npz (see :data:`YANDEX_DATASETS` for the names) with its 10 splits.

    ``download=True`` fetches a missing file from the Yandex repository (only needed for the unshipped
    ``roman-empire``, ``amazon-ratings`` and ``questions``; never used by the tests). A shipped file is checked
    against its known sha256 unless ``verify=False``; any problem with it is a :class:`~graphsparse.data.DatasetError`.
    """
    stems = {**YANDEX_DATASETS, **YANDEX_DOWNLOAD_ONLY}
    if name not in stems:
        raise GraphError(f"unknown Yandex dataset {name!r}; known: {', '.join(stems)}")
    stem = stems[name]
    rel = f"yandex_heterophilous/{stem}/raw/{stem}.npz"
    if not (root / rel).is_file() and name in YANDEX_DOWNLOAD_ONLY:
        if not download:
            raise DatasetError(
                f"{name} is not shipped: no file {root / rel}; download it with `graphsparse datasets fetch {name}` "
                "(needs internet; load_dataset(..., download=True) from Python)"
            )
        download_yandex(stem, root)
    path = dataset_file(root, rel, verify)
    arrays = load_npz(path)
    with parsing(path, "Yandex npz"):
        return _graph_from_arrays(arrays, path, name, directed)


def _graph_from_arrays(arrays: dict, path: Path, name: str, directed: bool) -> Graph:
    for key in ("node_features", "node_labels", "edges", "train_masks", "val_masks", "test_masks"):
        if key not in arrays:
            raise DatasetError(f"{path} has no array {key!r}")
    features, labels, edges = arrays["node_features"], arrays["node_labels"], arrays["edges"]
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.number):
        raise DatasetError(f"{path}: 'node_features' must be a numeric [N, F] array, got {features.dtype}")
    num_nodes = features.shape[0]
    if labels.shape != (num_nodes,) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(
            f"{path}: 'node_labels' must be integers [{num_nodes}], got {labels.dtype}{list(labels.shape)}"
        )
    if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise DatasetError(f"{path}: 'edges' must be integers of shape [E, 2], got {edges.dtype}{list(edges.shape)}")
    masks = []
    for key in ("train_masks", "val_masks", "test_masks"):
        mask = arrays[key]
        if mask.ndim == 1:
            mask = mask[None]
        if mask.ndim != 2 or mask.shape[1] != num_nodes or (masks and mask.shape[0] != masks[0].shape[0]):
            raise DatasetError(f"{path}: {key!r} has shape {list(arrays[key].shape)}, expected [splits, {num_nodes}]")
        if mask.dtype != bool:
            raise DatasetError(f"{path}: {key!r} holds {mask.dtype}, expected bool")
        masks.append(torch.from_numpy(mask))
    splits = {str(i): (masks[0][i], masks[1][i], masks[2][i]) for i in range(masks[0].size(0))}
    return Graph(
        torch.from_numpy(edges.T.astype(np.int64)),
        num_nodes=num_nodes,
        x=torch.from_numpy(features).float(),
        y=torch.from_numpy(labels).long(),
        splits=splits,
        directed=directed,
        name=name,
    )
