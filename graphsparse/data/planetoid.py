"""Planetoid citation graphs (Cora, CiteSeer, PubMed) from the original ``ind.<name>.*`` files.

Processing follows PyTorch Geometric's ``read_planetoid_data`` so that features, labels, edges and the public split
are identical to ``torch_geometric.datasets.Planetoid``:

* ``x = [allx; tx]`` with the test rows moved to the node ids listed in ``test.index``;
* CiteSeer has 15 isolated nodes inside the test-index range with no row in ``tx``/``ty``: they get all-zero features
  and label ``0`` (the argmax of an all-zero one-hot row, as in PyG), and are in no mask of the public split;
* split ``"public"``: the first ``len(y)`` nodes train (20 per class), the next 500 validation, the 1000 test-index
  nodes test (Yang et al. 2016, Kipf & Welling 2017);
* splits ``"geom-gcn-0"`` ... ``"geom-gcn-9"``: the fixed Geom-GCN splits (Pei et al. 2020).

The ``ind.*`` files are pickles: each one is checked against its known sha256 before it is unpickled, and unpickled
with a restricted unpickler (numpy arrays, scipy CSR matrices and ``defaultdict(list)`` only). The other files are
checked too unless ``verify=False``; any problem is a :class:`~graphsparse.data.DatasetError` naming the file.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from ..graph import Graph, GraphError
from ._io import DatasetError, dataset_file, load_mask_npz, parsing, safe_unpickle

__all__ = ["PLANETOID_NAMES", "load_planetoid"]

PLANETOID_NAMES = ("cora", "citeseer", "pubmed")


def _edges_from_adjacency_dict(graph: dict) -> np.ndarray:
    keys = np.fromiter(graph.keys(), dtype=np.int64, count=len(graph))
    lengths = np.fromiter((len(v) for v in graph.values()), dtype=np.int64, count=len(graph))
    cols = np.fromiter(itertools.chain.from_iterable(graph.values()), dtype=np.int64, count=int(lengths.sum()))
    return np.stack([np.repeat(keys, lengths), cols])


def _read_test_index(path: Path) -> np.ndarray:
    """One non-negative integer per line, every line ending in a newline (strict: a cut file is an error)."""
    with parsing(path, "test index file"):
        text = path.read_bytes().decode("ascii")
        if not text.endswith("\n"):
            raise DatasetError(f"{path}: the last line has no newline (truncated file)")
        lines = text[:-1].split("\n")
        bad = next((i for i, line in enumerate(lines) if not line.isdigit()), None)
        if bad is not None:
            raise DatasetError(f"{path}, line {bad + 1}: {lines[bad][:20]!r} is not a non-negative integer")
        return np.array([int(line) for line in lines], dtype=np.int64)


def load_planetoid(name: str, root: Path, verify: bool = True, geom_gcn_splits: bool = True) -> Graph:
    """Load ``cora``, ``citeseer`` or ``pubmed`` from ``<root>/planetoid/<name>/raw/``.

    Args:
        name: lower-case Planetoid name.
        root: dataset root.
        verify: check the test index and split files against their known sha256 (default); the pickles are always
            checked, whatever ``verify`` says.
        geom_gcn_splits: add the 10 Geom-GCN splits; all ten files must then exist.

    Raises:
        DatasetError: naming the file, for a missing, altered or unparsable file.
    """
    if name not in PLANETOID_NAMES:
        raise GraphError(f"unknown Planetoid dataset {name!r}; known: {', '.join(PLANETOID_NAMES)}")
    base = f"planetoid/{name}/raw"
    items = {part: safe_unpickle(root, f"{base}/ind.{name}.{part}") for part in ("x", "tx", "allx", "y", "ty", "ally")}
    graph_dict = safe_unpickle(root, f"{base}/ind.{name}.graph")
    test_index = _read_test_index(dataset_file(root, f"{base}/ind.{name}.test.index", verify))
    folder = root / base
    with parsing(folder, "Planetoid files in"):
        x, y, num_nodes, n_train = _features_and_labels(items, test_index, folder)
        if not isinstance(graph_dict, dict):
            raise DatasetError(f"{folder / f'ind.{name}.graph'} holds a {type(graph_dict).__name__}, not a dict")
        edges = _edges_from_adjacency_dict(graph_dict)

    train = torch.zeros(num_nodes, dtype=torch.bool)
    train[:n_train] = True
    val = torch.zeros(num_nodes, dtype=torch.bool)
    val[n_train : n_train + 500] = True
    test = torch.zeros(num_nodes, dtype=torch.bool)
    test[torch.from_numpy(test_index)] = True
    splits: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {"public": (train, val, test)}
    if geom_gcn_splits:
        for i in range(10):  # all ten must be there: a missing one would shift which split a seed gets
            path = dataset_file(root, f"{base}/{name}_split_0.6_0.2_{i}.npz", verify)
            splits[f"geom-gcn-{i}"] = load_mask_npz(path, num_nodes)

    with parsing(folder, "Planetoid files in"):
        return Graph(
            torch.from_numpy(edges),
            num_nodes=num_nodes,
            x=torch.from_numpy(x),
            y=torch.from_numpy(y),
            splits=splits,
            name=name,
        )


def _features_and_labels(items: dict, test_index: np.ndarray, folder: Path) -> tuple[np.ndarray, np.ndarray, int, int]:
    allx, tx = sp.csr_matrix(items["allx"]), sp.csr_matrix(items["tx"])
    ally, ty = np.asarray(items["ally"]), np.asarray(items["ty"])
    y_train = np.asarray(items["y"])
    if tx.shape[0] != test_index.size or ty.shape[0] != test_index.size:
        raise DatasetError(f"{folder}: tx/ty have {tx.shape[0]}/{ty.shape[0]} rows but test.index {test_index.size}")
    if ally.ndim != 2 or ty.ndim != 2 or ally.shape[0] != allx.shape[0] or ty.shape[1] != ally.shape[1]:
        raise DatasetError(f"{folder}: label matrices ally {list(ally.shape)} / ty {list(ty.shape)} do not fit allx")
    for label, matrix in (("ally", ally), ("ty", ty)):  # one-hot rows (all-zero allowed: CiteSeer's isolated nodes)
        if not (np.isin(matrix, (0, 1)).all() and (matrix.sum(1) <= 1).all()):
            raise DatasetError(f"{folder}: ind.*.{label} is not a one-hot label matrix")
    low, high = int(test_index.min()), int(test_index.max())
    if low != allx.shape[0]:
        raise DatasetError(f"{folder}: test.index starts at {low}, expected {allx.shape[0]} (= rows of allx)")
    num_nodes = high + 1  # = rows of allx + size of the test-index range (PyG pads gaps in the range with zeros)

    # Features: allx rows first, then every test node's tx row at its test-index position; gaps stay zero.
    tx = tx.tocoo()
    allx = allx.tocoo()
    rows = np.concatenate([allx.row.astype(np.int64), test_index[tx.row]])
    cols = np.concatenate([allx.col, tx.col]).astype(np.int64)
    vals = np.concatenate([allx.data, tx.data]).astype(np.float32)
    x = np.zeros((num_nodes, allx.shape[1]), dtype=np.float32)
    x[rows, cols] = vals

    # Labels: argmax of the one-hot rows (all-zero rows, including the padded ones, give 0 as in PyG).
    y = np.zeros(num_nodes, dtype=np.int64)
    y[: ally.shape[0]] = ally.argmax(1)
    y[test_index] = ty.argmax(1)
    return x, y, num_nodes, y_train.shape[0]
