"""Open Graph Benchmark datasets from their raw folders (no processing step, no download by default).

A node-property folder (the ``ogbn-*`` layout that ``ogb.nodeproppred.NodePropPredDataset`` downloads and unzips)
holds ``raw/edge.csv.gz``, ``raw/num-node-list.csv.gz``, ``raw/num-edge-list.csv.gz``, optionally
``raw/node-feat.csv.gz``, ``raw/node-label.csv.gz`` (one column) and ``split/<type>/{train,valid,test}.csv.gz``
(node indices; ``<type>`` is ``time`` for ogbn-arxiv, ``sales_ranking`` for ogbn-products). Every csv file is
gzip-compressed, without a header row. ``mapping/`` (node ids to paper ids / ASINs, label names), ``RELEASE_v1.txt``
and the extra ``raw/node_year.csv.gz`` are not read; neither is ``processed/`` (ogb's own ``torch.save`` pickles,
which are never unpickled here). A link-property folder (``ogbl-*``) has the same ``raw/`` files and
``split/<type>/{train,valid,test}.pt``: ``torch.save``'d dicts of arrays (``edge``, ``edge_neg``, ``weight``,
``year``...), which are read with ``torch.load(weights_only=True)`` (numpy arrays allowed, nothing else).

Files are read with pandas (not with ``ogb``'s ``Pyg*``/``NodePropPredDataset`` classes, whose processing step
unpickles with ``torch.load`` and breaks on current torch), each once, and every count is checked against
``num-node-list``/``num-edge-list``: a missing, truncated or short file raises :class:`DatasetError` naming it.

The graph is undirected: ``edge.csv.gz`` lists ogbn-arxiv's citations as directed pairs (ogb's ``add_inverse_edge``
is False for it), and they are symmetrised (each undirected edge stored once, self-loops and duplicates dropped), as
the TEDDY and UGS reference code does (``adj_t.to_symmetric()``); ogbn-products lists each undirected edge once.

Where a registered OGB dataset is looked for, under each dataset root (``<data home>/datasets``, the
``$GRAPHSPARSE_DATA`` entries): ``ogb/ogbn_arxiv/`` (ogb's folder name, the canonical place), then ``ogbn_arxiv/``
(a root that is ogb's own ``root=`` folder), then ``ogb/arxiv/`` (the official zip unpacked as it is).

:func:`download_ogb` fetches an official zip (needs internet; never used by the tests).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import Graph, GraphError
from ._io import DatasetError, parsing

__all__ = [
    "load_ogb_raw",
    "download_ogb",
    "OGB_DATASETS",
    "OGB_INFO",
    "ogb_folder",
    "ogb_folder_candidates",
    "find_ogb_folder",
    "ogb_accuracy",
]

# registered names (placed under <root>/ogb/<name with underscores>/)
OGB_DATASETS = ("ogbn-arxiv", "ogbn-products", "ogbl-collab", "ogbl-ddi", "ogbl-ppa")
# from ogb 1.3.6's nodeproppred/master.csv and linkproppred/master.csv: the zip's folder name (download_name) and
# the official split type; node counts, feature width and classes of the node sets (their summary pages)
OGB_INFO: dict[str, dict[str, Any]] = {
    "ogbn-arxiv": {"download_name": "arxiv", "split": "time", "nodes": 169343, "features": 128, "classes": 40},
    "ogbn-products": {
        "download_name": "products",
        "split": "sales_ranking",
        "nodes": 2449029,
        "features": 100,
        "classes": 47,
    },
    "ogbl-collab": {"download_name": "collab", "split": "time"},
    "ogbl-ddi": {"download_name": "ddi", "split": "target"},
    "ogbl-ppa": {"download_name": "ppassoc", "split": "throughput"},
}
# raw files the layout makes optional but these datasets ship (a deleted one would load as a different graph)
_REQUIRED_FILES = {
    "ogbn-arxiv": ("node-feat.csv.gz", "node-label.csv.gz"),
    "ogbn-products": ("node-feat.csv.gz", "node-label.csv.gz"),
    "ogbl-collab": ("node-feat.csv.gz",),
    "ogbl-ppa": ("node-feat.csv.gz",),
}
_GRAPH_FILES = ("edge.csv.gz", "num-node-list.csv.gz", "num-edge-list.csv.gz")
_CSV_CHUNK_ROWS = 1 << 21  # rows per chunk of the streaming readers


def _check_numeric(values: np.ndarray, path: Path) -> np.ndarray:
    if not np.issubdtype(values.dtype, np.number):
        raise DatasetError(f"OGB csv file {path} holds non-numeric values")
    return values


def _read_csv(path: Path, dtype: Any = None) -> np.ndarray:
    """The whole gzip csv file (no header row, as OGB ships them) as a 2-d array; errors name the file."""
    import pandas as pd

    with parsing(path, "OGB csv file"):
        return _check_numeric(pd.read_csv(path, compression="gzip", header=None, dtype=dtype).values, path)


def _iter_csv(path: Path, dtype: Any = None, rows: int = _CSV_CHUNK_ROWS) -> Iterator[np.ndarray]:
    """The gzip csv file ``rows`` rows at a time (2-d arrays); errors name the file."""
    import pandas as pd

    with parsing(path, "OGB csv file"):
        with pd.read_csv(path, compression="gzip", header=None, dtype=dtype, chunksize=rows) as reader:
            for chunk in reader:
                yield _check_numeric(chunk.values, path)


def _check_rows(path: Path, rows: int, expected: int, why: str) -> None:
    if rows != expected:
        raise DatasetError(
            f"{path}: {rows} rows, expected {expected} ({why}): the file is truncated or from another dataset"
        )


def _graph_counts(raw: Path) -> tuple[int, int]:
    """``(num_nodes, num_edges)`` of the single graph of an OGB ``raw/`` folder (its list files, checked)."""
    for required in _GRAPH_FILES:
        if not (raw / required).is_file():
            raise DatasetError(f"OGB raw folder {raw} lacks {required}")
    counts = []
    for file in ("num-node-list.csv.gz", "num-edge-list.csv.gz"):
        values = _read_csv(raw / file, np.int64).reshape(-1)
        if values.size != 1:
            raise DatasetError(
                f"{raw / file}: {raw} holds {values.size} graphs; only single-graph (node/link) datasets are supported"
            )
        if int(values[0]) < 0:
            raise DatasetError(f"{raw / file}: a negative count ({int(values[0])})")
        counts.append(int(values[0]))
    return counts[0], counts[1]


def _edge_pairs(values: np.ndarray, path: Path, num_nodes: int) -> np.ndarray:
    """``values`` checked to be ``[rows, 2]`` node ids in range."""
    if values.ndim != 2 or values.shape[1] != 2:
        raise DatasetError(f"{path}: edges must be pairs of node ids (2 columns), got {values.shape[1]} columns")
    if values.size and (int(values.min()) < 0 or int(values.max()) >= num_nodes):
        raise DatasetError(f"{path}: edges must be pairs of node ids in 0..{num_nodes - 1}")
    return values


def _read_edges(raw: Path, num_nodes: int, num_edges: int) -> np.ndarray:
    """``[2, E]`` int64 edges of ``raw/edge.csv.gz`` as listed (direction and duplicates kept)."""
    path = raw / "edge.csv.gz"
    if num_edges == 0:
        return np.zeros((2, 0), dtype=np.int64)
    values = _edge_pairs(_read_csv(path, np.int64), path, num_nodes)
    _check_rows(path, values.shape[0], num_edges, "num-edge-list.csv.gz")
    return np.ascontiguousarray(values.T)


def _read_features(raw: Path, num_nodes: int) -> np.ndarray | None:
    path = raw / "node-feat.csv.gz"
    if not path.is_file():
        return None
    x = _read_csv(path, np.float32)
    _check_rows(path, x.shape[0], num_nodes, "num-node-list.csv.gz")
    return x


def _read_labels(raw: Path, num_nodes: int) -> np.ndarray | None:
    """int64 labels ``[N]`` of ``raw/node-label.csv.gz`` (missing labels, NaN in OGB, become -1), or None."""
    path = raw / "node-label.csv.gz"
    if not path.is_file():
        return None
    labels = _read_csv(path)
    if labels.ndim != 2 or labels.shape[1] != 1:
        raise DatasetError(f"{path}: only single-label node tasks are supported (got {labels.shape[1]} label columns)")
    _check_rows(path, labels.shape[0], num_nodes, "num-node-list.csv.gz")
    values = labels[:, 0].astype(np.float64)
    if bool((values[~np.isnan(values)] % 1 != 0).any()):
        raise DatasetError(f"{path}: labels must be whole numbers")
    return np.where(np.isnan(values), -1, values).astype(np.int64)


def _node_splits(folder: Path, num_nodes: int, official: str | None) -> dict[str, tuple[np.ndarray, ...]]:
    """The node splits of ``split/<type>/``: ``'ogb'`` for the only (or the official) type, ``'ogb-<type>'`` else.

    Each is (train, val, test) boolean masks ``[N]``.
    """
    root = folder / "split"
    types = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    splits: dict[str, tuple[np.ndarray, ...]] = {}
    for path in types:
        masks = []
        for part in ("train", "valid", "test"):
            file = path / f"{part}.csv.gz"
            if not file.is_file():
                raise DatasetError(f"OGB split folder {path} lacks {file.name}")
            values = _read_csv(file).reshape(-1)
            if not np.issubdtype(values.dtype, np.integer):
                raise DatasetError(f"{file}: node indices must be integers, got {values.dtype}")
            if values.size and (int(values.min()) < 0 or int(values.max()) >= num_nodes):
                raise DatasetError(f"{file}: node index out of range for {num_nodes} nodes")
            mask = np.zeros(num_nodes, dtype=bool)
            mask[values.astype(np.int64)] = True
            masks.append(mask)
        name = "ogb" if len(types) == 1 or path.name == official else f"ogb-{path.name}"
        splits[name] = tuple(masks)
    return splits


def _numpy_safe_globals() -> list[Any]:
    reconstruct = getattr(np, "_core", np).multiarray._reconstruct
    allowed: list[Any] = [np.ndarray, np.dtype, reconstruct, (reconstruct, "numpy.core.multiarray._reconstruct")]
    allowed += [type(np.dtype(t)) for t in ("i8", "i4", "f8", "f4", "u1", "b1")]
    return allowed


def _load_pt(path: Path) -> Any:
    """``torch.load(weights_only=True)``, allowing numpy arrays (what OGB's split files hold)."""
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure becomes a DatasetError naming the file
        raise DatasetError(f"cannot load OGB split file {path} with weights_only=True: {err}") from err


def _to_tensor(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, dict):
        return {k: _to_tensor(v) for k, v in value.items()}
    return value


def load_ogb_raw(folder: str | os.PathLike[str], name: str | None = None) -> Graph:
    """Read an OGB dataset folder (``raw/`` and ``split/``) without OGB's processing or download step.

    Args:
        folder: the dataset's folder (the one holding ``raw/``), e.g. ``<ogb root>/ogbn_arxiv``.
        name: the graph's name (default: the folder's name with ``-`` for ``_``); it also picks the official split
            type of a registered dataset when ``split/`` holds several.

    Returns:
        For a node-property folder, an undirected :class:`Graph` (edges symmetrised) with int64 labels and the
        split ``"ogb"`` (the official one; other split types as ``"ogb-<type>"``); for a link-property folder, a
        :class:`Graph` whose :attr:`~Graph.edge_split` is ``{'train': {...}, 'valid': {...}, 'test': {...}}`` of
        tensors, as OGB's ``get_edge_split()`` returns it.

    Raises:
        DatasetError: the folder or a file is missing, unreadable, truncated or inconsistent with the counts of
            ``num-node-list.csv.gz``/``num-edge-list.csv.gz``; the message names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"OGB folder not found: {folder}")
    name = name or folder.name.replace("_", "-")
    raw = folder / "raw"
    num_nodes, num_edges = _graph_counts(raw)
    edges = torch.from_numpy(_read_edges(raw, num_nodes, num_edges))
    x_np = _read_features(raw, num_nodes)
    x = None if x_np is None else torch.from_numpy(x_np)

    split_root = folder / "split"
    split_types = sorted(p for p in split_root.iterdir() if p.is_dir()) if split_root.is_dir() else []
    link_types = [p for p in split_types if (p / "train.pt").is_file() or (p / "split_dict.pt").is_file()]
    if link_types:
        path = link_types[0]
        if (path / "split_dict.pt").is_file():
            edge_split = _load_pt(path / "split_dict.pt")
        else:
            edge_split = {part: _load_pt(path / f"{part}.pt") for part in ("train", "valid", "test")}
        with parsing(path, "OGB split folder"):
            return Graph(edges, num_nodes=num_nodes, x=x, name=name, edge_split=_to_tensor(edge_split))

    labels = _read_labels(raw, num_nodes)
    y = None if labels is None else torch.from_numpy(labels)
    official = OGB_INFO.get(name, {}).get("split")
    splits = {k: tuple(torch.from_numpy(m) for m in v) for k, v in _node_splits(folder, num_nodes, official).items()}
    with parsing(folder, "OGB folder"):
        return Graph(edges, num_nodes=num_nodes, x=x, y=y, splits=splits, name=name)


def ogb_folder_candidates(name: str, root: Path) -> list[Path]:
    """Where dataset ``name`` may sit under a dataset root, in the order they are tried.

    ``<root>/ogb/ogbn_arxiv`` (canonical: where ``graphsparse datasets fetch`` puts it), ``<root>/ogbn_arxiv`` (a
    root that is ogb's own ``root=`` folder) and ``<root>/ogb/arxiv`` (the official zip unpacked as it is).
    """
    stem = name.replace("-", "_")
    out = [root / "ogb" / stem, root / stem]
    download = OGB_INFO.get(name, {}).get("download_name")
    if download:
        out.append(root / "ogb" / download)
    return out


def ogb_folder(name: str, root: Path) -> Path:
    """The canonical folder of OGB dataset ``name`` under dataset root ``root``: ``<root>/ogb/<name with _>``."""
    return ogb_folder_candidates(name, root)[0]


def find_ogb_folder(name: str, root: Path) -> Path | None:
    """The first of :func:`ogb_folder_candidates` that holds a ``raw/`` folder (a dataset folder), else None."""
    for candidate in ogb_folder_candidates(name, root):
        if (candidate / "raw").is_dir():
            return candidate
    return None


def ogb_accuracy(name: str, y_true: Any, y_pred: Any) -> float:
    """Accuracy of predicted classes, by ``ogb.nodeproppred.Evaluator`` when ogb is installed and knows ``name``.

    For OGB's single-label node sets (ogbn-arxiv, ogbn-products) Evaluator's ``acc`` is the plain fraction of
    correct predictions, the metric graphsparse's node task computes; without ogb that fraction is returned.

    Args:
        name: the OGB dataset name, e.g. ``"ogbn-arxiv"``.
        y_true: true labels ``[n]`` or ``[n, 1]`` (tensor or array).
        y_pred: predicted labels, same shape.

    Returns:
        The accuracy, in [0, 1].
    """
    true = torch.as_tensor(np.asarray(y_true)).reshape(-1, 1)
    pred = torch.as_tensor(np.asarray(y_pred)).reshape(-1, 1)
    try:
        with contextlib.redirect_stdout(None):
            from ogb.nodeproppred.evaluate import Evaluator

            evaluator = Evaluator(name)
    except (ImportError, ValueError):  # ogb not installed, or a name its master.csv does not list
        return float((true == pred).float().mean())
    return float(evaluator.eval({"y_true": true, "y_pred": pred})["acc"])


def download_ogb(name: str, root: Path, rebase: Callable[[str], str] | None = None) -> Path:
    """Download and unpack the official OGB zip for ``name`` into ``<root>/ogb/`` (needs internet).

    ``rebase`` maps the official URL (from ogb's master.csv) to the one to download, e.g. a mirror's.
    """
    import pandas as pd
    from ogb.utils.url import extract_zip

    from .download import download_file, free_space_cap

    kind = "nodeproppred" if name.startswith("ogbn-") else "linkproppred"
    master_path = Path(importlib.import_module(f"ogb.{kind}").__file__).parent / "master.csv"
    master = pd.read_csv(master_path, index_col=0, keep_default_na=False)
    if name not in master:
        raise GraphError(f"{name!r} is not an OGB {kind} dataset; known: {', '.join(master.columns)}")
    url = master[name]["url"]
    if rebase is not None:
        url = rebase(url)
    target = root / "ogb"
    target.mkdir(parents=True, exist_ok=True)
    # our downloader, not ogb's: an overall deadline, a cap (the disk's free space), no partial file left, and no
    # interactive "proceed? (y/N)" prompt for large zips
    archive = target / Path(urllib.parse.urlsplit(url).path).name
    download_file(url, archive, cap=free_space_cap(target))
    try:
        extract_zip(str(archive), str(target))
    except Exception as err:  # noqa: BLE001 - a damaged or foreign zip: one error naming it
        raise DatasetError(f"cannot unpack {archive} downloaded from {url}: {type(err).__name__}: {err}") from err
    finally:
        archive.unlink(missing_ok=True)
    extracted = target / Path(url).stem  # zips unpack to e.g. 'arxiv/'
    folder = ogb_folder(name, root)
    if extracted.is_dir() and not folder.exists():
        extracted.rename(folder)
    return folder


def check_required_files(name: str, folder: Path) -> None:
    """Raise DatasetError when a raw file the layout makes optional but dataset ``name`` ships is missing."""
    for required in _REQUIRED_FILES.get(name, ()):
        if not (folder / "raw" / required).is_file():
            raise DatasetError(f"{name}: {folder / 'raw' / required} is missing (damaged folder?); unzip it again")


def load_ogb(name: str, root: Path, download: bool = False) -> Graph:
    """Registry entry point: the dataset's folder under ``root`` read by :func:`load_ogb_raw`.

    The folder is the first of :func:`ogb_folder_candidates` that exists (link splits load as ``edge_split``).
    """
    folder = find_ogb_folder(name, root)
    if folder is None:
        if not download:
            raise GraphError(
                f"{name} is not shipped: no folder {ogb_folder(name, root)}. Download it with `graphsparse datasets "
                f"fetch {name}` (needs internet; load_dataset(..., download=True) from Python), or place the unzipped "
                "OGB folder there"
            )
        folder = download_ogb(name, root)
    check_required_files(name, folder)
    return load_ogb_raw(folder, name=name)
