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
from ._io import DatasetError, dataset_file, load_mask_npz, parsing

__all__ = ["GEOM_GCN_DATASETS", "load_geom_gcn"]

# name -> (folder under the root, split-file prefix, features stored as index lists)
GEOM_GCN_DATASETS: dict[str, tuple[str, str, bool]] = {
    "texas": ("webkb/texas/raw", "texas", False),
    "cornell": ("webkb/cornell/raw", "cornell", False),
    "wisconsin": ("webkb/wisconsin/raw", "wisconsin", False),
    "actor": ("actor/raw", "film", True),
}


# name -> (node lines, edge lines) of the shipped files (each without its header line): a truncated or shortened
# file is an error, not a smaller graph
EXPECTED_LINES: dict[str, tuple[int, int]] = {
    "texas": (183, 325),
    "cornell": (183, 298),
    "wisconsin": (251, 515),
    "actor": (7600, 33391),
}


def _lines(path: Path, header: str) -> list[str]:
    """The data lines of a Geom-GCN text file: strict ASCII, header first, every line ending in a newline."""
    data = path.read_bytes()
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: byte {err.start} is not ASCII (damaged file)") from err
    if not text.endswith("\n"):
        raise DatasetError(f"{path}: the last line has no newline (truncated file)")
    lines = text[:-1].split("\n")
    if not lines[0].startswith(header):
        raise DatasetError(f"{path}: first line {lines[0][:40]!r} is not the header {header!r}...")
    return lines[1:]


def _int(token: str, path: Path, lineno: int, what: str) -> int:
    if not token.isdigit():  # non-negative decimal integer, nothing else (no sign, space or exponent)
        raise DatasetError(f"{path}, line {lineno}: {what} {token[:20]!r} is not a non-negative integer")
    return int(token)


def _read_nodes(path: Path, index_features: bool, expected: int | None) -> tuple[np.ndarray, np.ndarray]:
    lines = _lines(path, "node_id\t")
    if not lines:
        raise DatasetError(f"{path} holds no node lines")
    if expected is not None and len(lines) != expected:
        raise DatasetError(f"{path}: {len(lines)} node lines, expected {expected} (truncated or altered file)")
    num_nodes = len(lines)
    ids = np.empty(num_nodes, dtype=np.int64)
    labels = np.empty(num_nodes, dtype=np.int64)
    feats: list[list[int]] = []
    for i, line in enumerate(lines):
        lineno = i + 2
        parts = line.split("\t")
        if len(parts) != 3:
            raise DatasetError(f"{path}, line {lineno}: {len(parts)} tab-separated columns, expected 3")
        ids[i] = _int(parts[0], path, lineno, "node id")
        labels[i] = _int(parts[2], path, lineno, "label")
        feats.append([_int(t, path, lineno, "feature") for t in parts[1].split(",")])
    if ids.max() >= num_nodes or np.unique(ids).size != num_nodes:
        raise DatasetError(f"{path}: node ids are not a permutation of 0..{num_nodes - 1}")
    if index_features:
        lengths = np.array([len(f) for f in feats])
        rows = np.repeat(ids, lengths)
        cols = np.fromiter((c for f in feats for c in f), dtype=np.int64, count=int(lengths.sum()))
        x = np.zeros((num_nodes, int(cols.max()) + 1), dtype=np.float32)
        x[rows, cols] = 1.0
    else:
        width = len(feats[0])
        bad = next((i for i, f in enumerate(feats) if len(f) != width), None)
        if bad is not None:
            raise DatasetError(f"{path}, line {bad + 2}: {len(feats[bad])} features, expected {width} (as line 2)")
        dense = np.array(feats, dtype=np.float32)
        if (dense > 1).any():
            raise DatasetError(f"{path}: dense features must be 0/1")
        x = np.zeros_like(dense)
        x[ids] = dense
    y = np.zeros(num_nodes, dtype=np.int64)
    y[ids] = labels
    return x, y


def _read_edges(path: Path, num_nodes: int, expected: int | None) -> np.ndarray:
    lines = _lines(path, "node_id\tnode_id")
    if expected is not None and len(lines) != expected:
        raise DatasetError(f"{path}: {len(lines)} edge lines, expected {expected} (truncated or altered file)")
    edges = np.empty((2, len(lines)), dtype=np.int64)
    for i, line in enumerate(lines):
        parts = line.split("\t")
        if len(parts) != 2:
            raise DatasetError(f"{path}, line {i + 2}: {len(parts)} tab-separated columns, expected 2")
        edges[0, i] = _int(parts[0], path, i + 2, "node id")
        edges[1, i] = _int(parts[1], path, i + 2, "node id")
    if edges.size and int(edges.max()) >= num_nodes:
        raise DatasetError(f"{path}: node id {int(edges.max())} out of range for {num_nodes} nodes")
    return edges


def load_geom_gcn(name: str, root: Path, directed: bool = False, verify: bool = True) -> Graph:
    """Load a Geom-GCN graph (``texas``, ``cornell``, ``wisconsin``, ``actor``) with its 10 fixed splits.

    Every file is checked against its known sha256 unless ``verify=False``; the text files are parsed strictly
    (header, column counts, integers, line counts) and all ten split files must exist. Any problem is a
    :class:`~graphsparse.data.DatasetError` naming the file.
    """
    if name not in GEOM_GCN_DATASETS:
        raise GraphError(f"unknown Geom-GCN dataset {name!r}; known: {', '.join(GEOM_GCN_DATASETS)}")
    base, prefix, index_features = GEOM_GCN_DATASETS[name]

    def get(rel: str) -> Path:
        return dataset_file(root, f"{base}/{rel}", verify)

    node_lines, edge_lines = EXPECTED_LINES[name]
    node_file, edge_file = get("out1_node_feature_label.txt"), get("out1_graph_edges.txt")
    with parsing(node_file, "node file"):
        x, y = _read_nodes(node_file, index_features, node_lines)
    with parsing(edge_file, "edge file"):
        edges = _read_edges(edge_file, x.shape[0], edge_lines)
    splits = {}
    for i in range(10):  # all ten must be there: a missing one would shift which split a seed gets
        split_file = get(f"{prefix}_split_0.6_0.2_{i}.npz")
        splits[f"geom-gcn-{i}"] = load_mask_npz(split_file, x.shape[0])
    with parsing(root / base, "Geom-GCN folder"):
        return Graph(
            torch.from_numpy(edges),
            num_nodes=x.shape[0],
            x=torch.from_numpy(x),
            y=torch.from_numpy(y),
            splits=splits,
            directed=directed,
            name=name,
        )
