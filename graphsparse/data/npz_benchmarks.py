"""Amazon Computers/Photo and Coauthor CS/Physics (Shchur et al., "Pitfalls of GNN Evaluation", 2018).

The gnn-benchmark npz layout stores the adjacency and the attribute matrix as CSR pieces (``adj_data``,
``adj_indices``, ``adj_indptr``, ``adj_shape``, ``attr_*``) plus ``labels``. As PyG's ``read_npz``: features are
binarised (``x > 0``), self-loops dropped, edges symmetrised (the Graph stores each undirected edge once).

There is no fixed split. ``num_splits`` (default 10) seeded stratified random splits ``"random-0"`` ... are made:
by default 20 training and 30 validation nodes per class and the rest test (the paper's protocol); pass
``train_per_class``/``val_per_class`` or ``train_fraction``/``val_fraction`` to change it, ``split_seed`` to re-draw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from ..graph import Graph, GraphError
from ._io import DatasetError, dataset_file, load_npz, parsing
from .splits import stratified_splits

__all__ = ["NPZ_DATASETS", "load_npz_benchmark"]

NPZ_DATASETS: dict[str, str] = {
    "amazon-computers": "amazon/Computers/raw/amazon_electronics_computers.npz",
    "amazon-photo": "amazon/Photo/raw/amazon_electronics_photo.npz",
    "coauthor-cs": "coauthor/CS/raw/ms_academic_cs.npz",
    "coauthor-physics": "coauthor/Physics/raw/ms_academic_phy.npz",
}


def _csr(arrays: dict[str, np.ndarray], prefix: str, path: Path) -> sp.csr_matrix:
    keys = [f"{prefix}_{k}" for k in ("data", "indices", "indptr", "shape")]
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)} (not a gnn-benchmark npz?)")
    data, indices, indptr, shape = (arrays[k] for k in keys)
    if shape.shape != (2,) or indptr.ndim != 1 or indptr.size != int(shape[0]) + 1:
        raise DatasetError(f"{path}: {prefix}_shape {shape.tolist()} does not fit {prefix}_indptr ({indptr.size})")
    matrix = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape))
    matrix.check_format(full_check=True)  # indices in range, indptr monotone: else a ValueError, wrapped by caller
    return matrix


def load_npz_benchmark(
    name: str,
    root: Path,
    num_splits: int = 10,
    split_seed: int = 0,
    train_per_class: int = 20,
    val_per_class: int = 30,
    train_fraction: float | None = None,
    val_fraction: float | None = None,
    verify: bool = True,
) -> Graph:
    """Load ``amazon-computers``, ``amazon-photo``, ``coauthor-cs`` or ``coauthor-physics``.

    The npz is checked against its known sha256 unless ``verify=False``; any problem with it is a
    :class:`~graphsparse.data.DatasetError` naming the file.
    """
    if name not in NPZ_DATASETS:
        raise GraphError(f"unknown gnn-benchmark dataset {name!r}; known: {', '.join(NPZ_DATASETS)}")
    rel = NPZ_DATASETS[name]
    path = dataset_file(root, rel, verify)
    arrays = load_npz(path)
    with parsing(path, "gnn-benchmark npz"):
        adj = _csr(arrays, "adj", path)
        attr = _csr(arrays, "attr", path)
        if adj.shape[0] != adj.shape[1] or attr.shape[0] != adj.shape[0]:
            raise DatasetError(f"{path}: adjacency {list(adj.shape)} and attributes {list(attr.shape)} do not fit")
        if not np.isfinite(attr.data).all():
            raise DatasetError(f"{path}: non-finite attribute values")
        attr.data = (attr.data > 0).astype(np.float32)  # binarise before densifying: no second dense copy
        x = torch.from_numpy(attr.toarray())
        if "labels" not in arrays:
            raise DatasetError(f"{path} has no 'labels' array")
        labels = arrays["labels"]
        if labels.shape != (adj.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise DatasetError(f"{path}: labels {labels.dtype}{list(labels.shape)}, expected integers [{adj.shape[0]}]")
        y = torch.from_numpy(labels.astype(np.int64))
        row = np.repeat(np.arange(adj.shape[0], dtype=np.int64), np.diff(adj.indptr))
        edges = torch.from_numpy(np.stack([row, adj.indices.astype(np.int64)]))
    splits = stratified_splits(
        y,
        num_splits=num_splits,
        seed=split_seed,
        train_per_class=train_per_class,
        val_per_class=val_per_class,
        train_fraction=train_fraction,
        val_fraction=val_fraction,
    )
    with parsing(path, "gnn-benchmark npz"):
        return Graph(edges, num_nodes=adj.shape[0], x=x, y=y, splits=splits, name=name)
