"""Geom-GCN heterophily graphs: WebKB (Texas, Cornell, Wisconsin) and Actor ("film").

Files (Pei et al., "Geom-GCN: Geometric Graph Convolutional Networks", ICLR 2020), as PyG's ``WebKB``/``Actor`` read
them: ``out1_node_feature_label.txt`` (header, then ``node_id<TAB>features<TAB>label``; features are a dense
comma-separated 0/1 vector for WebKB and a comma-separated list of active feature indices for Actor),
``out1_graph_edges.txt`` (header, then ``src<TAB>dst``) and ten ``<prefix>_split_0.6_0.2_<i>.npz`` split files,
loaded as splits ``"geom-gcn-0"`` ... ``"geom-gcn-9"``.

The edge lists are directed in the source. They load undirected by default (each hyperlink becomes an undirected
edge, as in most heterophily papers); ``directed=True`` keeps the arcs. Either way self-loops and duplicates are
dropped by :class:`~graphsparse.graph.Graph`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..graph import Graph, GraphError
from ._io import load_mask_npz, require_file, verify_file

__all__ = ["GEOM_GCN_DATASETS", "load_geom_gcn"]

# name -> (folder under the root, split-file prefix, features stored as index lists)
GEOM_GCN_DATASETS: dict[str, tuple[str, str, bool]] = {
    "texas": ("webkb/texas/raw", "texas", False),
    "cornell": ("webkb/cornell/raw", "cornell", False),
    "wisconsin": ("webkb/wisconsin/raw", "wisconsin", False),
    "actor": ("actor/raw", "film", True),
}


def _read_nodes(path: Path, index_features: bool) -> tuple[np.ndarray, np.ndarray]:
    lines = path.read_text().split("\n")[1:]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise GraphError(f"{path} holds no node lines")
    try:
        parts = [line.split("\t") for line in lines]
        ids = np.array([int(p[0]) for p in parts], dtype=np.int64)
        labels = np.array([int(p[2]) for p in parts], dtype=np.int64)
        num_nodes = len(parts)
        if ids.min() < 0 or ids.max() >= num_nodes or np.unique(ids).size != num_nodes:
            raise GraphError(f"{path}: node ids are not a permutation of 0..{num_nodes - 1}")
        if index_features:
            feats = [np.array(p[1].split(","), dtype=np.int64) for p in parts]
            lengths = np.array([f.size for f in feats])
            rows = np.repeat(ids, lengths)
            cols = np.concatenate(feats)
            x = np.zeros((num_nodes, int(cols.max()) + 1), dtype=np.float32)
            x[rows, cols] = 1.0
        else:
            dense = np.array([p[1].split(",") for p in parts], dtype=np.float32)
            x = np.zeros_like(dense)
            x[ids] = dense
    except (IndexError, ValueError) as err:
        raise GraphError(f"cannot parse node file {path}: {err}") from err
    y = np.zeros(num_nodes, dtype=np.int64)
    y[ids] = labels
    return x, y


def _read_edges(path: Path) -> np.ndarray:
    tokens = path.read_text().split()[2:]  # skip the two-column header
    try:
        edges = np.array(tokens, dtype=np.int64)
    except ValueError as err:
        raise GraphError(f"cannot parse edge file {path}: {err}") from err
    if edges.size % 2:
        raise GraphError(f"edge file {path} has an odd number of node ids")
    return edges.reshape(-1, 2).T


def load_geom_gcn(name: str, root: Path, directed: bool = False, verify: bool = False) -> Graph:
    """Load a Geom-GCN graph (``texas``, ``cornell``, ``wisconsin``, ``actor``) with its 10 fixed splits."""
    if name not in GEOM_GCN_DATASETS:
        raise GraphError(f"unknown Geom-GCN dataset {name!r}; known: {', '.join(GEOM_GCN_DATASETS)}")
    base, prefix, index_features = GEOM_GCN_DATASETS[name]

    def get(rel: str) -> Path:
        return verify_file(root, f"{base}/{rel}") if verify else require_file(root / base / rel)

    x, y = _read_nodes(get("out1_node_feature_label.txt"), index_features)
    edges = _read_edges(get("out1_graph_edges.txt"))
    splits = {}
    for i in range(10):
        path = root / base / f"{prefix}_split_0.6_0.2_{i}.npz"
        if path.is_file():
            splits[f"geom-gcn-{i}"] = load_mask_npz(get(path.name), x.shape[0])
    if not splits:
        raise GraphError(f"no split files {prefix}_split_0.6_0.2_<i>.npz found in {root / base}")
    return Graph(
        torch.from_numpy(edges),
        num_nodes=x.shape[0],
        x=torch.from_numpy(x),
        y=torch.from_numpy(y),
        splits=splits,
        directed=directed,
        name=name,
    )
