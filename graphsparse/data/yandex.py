"""Heterophilous graph benchmarks of Platonov et al. (ICLR 2023), Yandex Research npz files.

Each ``<root>/yandex_heterophilous/<file>/raw/<file>.npz`` holds ``node_features`` (N x F), ``node_labels`` (N),
``edges`` (E x 2) and ``train_masks``/``val_masks``/``test_masks`` (10 x N), loaded as splits ``"0"`` ... ``"9"``.
``minesweeper`` and ``tolokers`` are binary tasks evaluated with ROC-AUC; the rest use accuracy. ``*-directed``
files keep edge direction in the source; like the Geom-GCN graphs they load undirected unless ``directed=True``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..graph import Graph, GraphError
from ._io import load_npz, require_file, verify_file

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


def load_yandex(name: str, root: Path, directed: bool = False, verify: bool = False, download: bool = False) -> Graph:
    """Load one Yandex heterophilous npz (see :data:`YANDEX_DATASETS` for the names) with its 10 splits.

    ``download=True`` fetches a missing file from the Yandex repository (only needed for the unshipped
    ``roman-empire``, ``amazon-ratings`` and ``questions``; never used by the tests).
    """
    stems = {**YANDEX_DATASETS, **YANDEX_DOWNLOAD_ONLY}
    if name not in stems:
        raise GraphError(f"unknown Yandex dataset {name!r}; known: {', '.join(stems)}")
    stem = stems[name]
    rel = f"yandex_heterophilous/{stem}/raw/{stem}.npz"
    if not (root / rel).is_file() and name in YANDEX_DOWNLOAD_ONLY:
        if not download:
            raise GraphError(f"{name} is not shipped: no file {root / rel}; pass download=True (needs internet)")
        download_yandex(stem, root)
    path = verify_file(root, rel) if verify else require_file(root / rel)
    arrays = load_npz(path)
    for key in ("node_features", "node_labels", "edges", "train_masks", "val_masks", "test_masks"):
        if key not in arrays:
            raise GraphError(f"{path} has no array {key!r}")
    x = torch.from_numpy(arrays["node_features"]).float()
    y = torch.from_numpy(arrays["node_labels"]).long()
    edges = arrays["edges"]
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise GraphError(f"{path}: 'edges' must have shape [E, 2], got {list(edges.shape)}")
    masks = [torch.from_numpy(arrays[k]).bool() for k in ("train_masks", "val_masks", "test_masks")]
    if masks[0].dim() == 1:
        masks = [m.unsqueeze(0) for m in masks]
    splits = {str(i): (masks[0][i], masks[1][i], masks[2][i]) for i in range(masks[0].size(0))}
    return Graph(
        torch.from_numpy(edges.T.copy()),
        num_nodes=x.size(0),
        x=x,
        y=y,
        splits=splits,
        directed=directed,
        name=name,
    )
