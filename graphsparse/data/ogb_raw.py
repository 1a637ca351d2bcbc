"""Open Graph Benchmark datasets from their raw folders (no processing step, no download by default).

A node-property folder (the ``ogbn-*`` layout) holds ``raw/edge.csv.gz``, ``raw/num-node-list.csv.gz``,
``raw/num-edge-list.csv.gz``, optionally ``raw/node-feat.csv.gz``, ``raw/node-label.csv.gz`` and
``split/<type>/{train,valid,test}.csv.gz`` (node indices). A link-property folder (``ogbl-*``) has the same ``raw/``
files and ``split/<type>/{train,valid,test}.pt``: ``torch.save``'d dicts of arrays (``edge``, ``edge_neg``,
``weight``, ``year``...), which are read with ``torch.load(weights_only=True)`` (numpy arrays allowed, nothing else).

:func:`download_ogb` fetches an official zip (needs internet; never used by the tests).
"""

from __future__ import annotations

import contextlib
import io
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import Graph, GraphError
from ._io import DatasetError, parsing

__all__ = ["load_ogb_raw", "download_ogb", "OGB_DATASETS"]

# registered names (placed under <root>/ogb/<name with underscores>/)
OGB_DATASETS = ("ogbn-arxiv", "ogbn-products", "ogbl-collab", "ogbl-ddi", "ogbl-ppa")
# raw files the layout makes optional but these datasets ship (a deleted one would load as a different graph)
_REQUIRED_FILES = {
    "ogbn-arxiv": ("node-feat.csv.gz", "node-label.csv.gz"),
    "ogbn-products": ("node-feat.csv.gz", "node-label.csv.gz"),
    "ogbl-collab": ("node-feat.csv.gz",),
    "ogbl-ppa": ("node-feat.csv.gz",),
}


def _read_csv(path: Path) -> np.ndarray:
    import pandas as pd

    with parsing(path, "OGB csv file"):
        values = pd.read_csv(path, compression="gzip", header=None).values
        if not np.issubdtype(values.dtype, np.number):
            raise DatasetError(f"OGB csv file {path} holds non-numeric values")
        return values


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


def _read_raw_graph(raw: Path) -> dict[str, Any]:
    from ogb.io.read_graph_raw import read_csv_graph_raw

    for required in ("edge.csv.gz", "num-node-list.csv.gz", "num-edge-list.csv.gz"):
        if not (raw / required).is_file():
            raise DatasetError(f"OGB raw folder {raw} lacks {required}")
    with parsing(raw, "OGB raw folder"):
        for name in ("edge.csv.gz", "num-node-list.csv.gz", "num-edge-list.csv.gz", "node-feat.csv.gz"):
            if (raw / name).is_file():
                _read_csv(raw / name)  # names the damaged file (gzip CRC, truncation, non-numbers) before OGB reads it
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            graphs = read_csv_graph_raw(str(raw))
        if len(graphs) != 1:
            raise DatasetError(
                f"{raw} holds {len(graphs)} graphs; only single-graph (node/link) datasets are supported"
            )
        graph = graphs[0]
        edges, num_nodes = graph["edge_index"], int(graph["num_nodes"])
        if edges.ndim != 2 or edges.shape[0] != 2 or (edges.size and (edges.min() < 0 or edges.max() >= num_nodes)):
            raise DatasetError(f"{raw / 'edge.csv.gz'}: edges must be pairs of node ids in 0..{num_nodes - 1}")
        if graph.get("node_feat") is not None and graph["node_feat"].shape[0] != num_nodes:
            raise DatasetError(f"{raw / 'node-feat.csv.gz'}: {graph['node_feat'].shape[0]} rows for {num_nodes} nodes")
    return graph


def load_ogb_raw(folder: str | os.PathLike[str], name: str | None = None) -> Graph:
    """Read an OGB dataset folder (``raw/`` and ``split/``) without OGB's processing or download step.

    Returns:
        for a node-property folder, a :class:`Graph` with labels and split ``"ogb"`` (``"ogb-<type>"`` when
        ``split/`` holds several split types); for a link-property folder, a :class:`Graph` whose
        :attr:`~Graph.edge_split` is ``{'train': {...}, 'valid': {...}, 'test': {...}}`` of tensors, as OGB's
        ``get_edge_split()`` returns it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"OGB folder not found: {folder}")
    name = name or folder.name.replace("_", "-")
    raw = folder / "raw"
    g = _read_raw_graph(raw)
    num_nodes = int(g["num_nodes"])
    x = None
    if g.get("node_feat") is not None:
        x = torch.from_numpy(np.ascontiguousarray(g["node_feat"], dtype=np.float32))
    edges = torch.from_numpy(np.ascontiguousarray(g["edge_index"], dtype=np.int64))

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

    y = None
    if (raw / "node-label.csv.gz").is_file():
        labels = _read_csv(raw / "node-label.csv.gz")
        if labels.ndim != 2 or labels.shape[1] != 1:
            raise DatasetError(
                f"{raw / 'node-label.csv.gz'}: only single-label node tasks are supported "
                f"(got {labels.shape[1]} label columns)"
            )
        labels = labels[:, 0].astype(np.float64)
        y = torch.from_numpy(np.where(np.isnan(labels), -1, labels).astype(np.int64))
    splits = {}
    for path in split_types:
        masks = []
        for part in ("train", "valid", "test"):
            file = path / f"{part}.csv.gz"
            if not file.is_file():
                raise DatasetError(f"OGB split folder {path} lacks {file.name}")
            values = _read_csv(file).reshape(-1)
            if not np.issubdtype(values.dtype, np.integer):
                raise DatasetError(f"{file}: node indices must be integers, got {values.dtype}")
            index = torch.from_numpy(values.astype(np.int64))
            if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_nodes):
                raise DatasetError(f"{file}: node index out of range for {num_nodes} nodes")
            mask = torch.zeros(num_nodes, dtype=torch.bool)
            mask[index] = True
            masks.append(mask)
        splits["ogb" if len(split_types) == 1 else f"ogb-{path.name}"] = tuple(masks)
    with parsing(folder, "OGB folder"):
        return Graph(edges, num_nodes=num_nodes, x=x, y=y, splits=splits, name=name)


def ogb_folder(name: str, root: Path) -> Path:
    return root / "ogb" / name.replace("-", "_")


def download_ogb(name: str, root: Path, rebase: Callable[[str], str] | None = None) -> Path:
    """Download and unpack the official OGB zip for ``name`` into ``<root>/ogb/`` (needs internet).

    ``rebase`` maps the official URL (from ogb's master.csv) to the one to download, e.g. a mirror's.
    """
    import pandas as pd
    from ogb.utils.url import extract_zip

    from .download import download_file, free_space_cap

    kind = "nodeproppred" if name.startswith("ogbn-") else "linkproppred"
    import importlib

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


def load_ogb(name: str, root: Path, download: bool = False) -> Graph:
    """Registry entry point: ``<root>/ogb/<name>/`` read by :func:`load_ogb_raw` (link splits as ``edge_split``)."""
    folder = ogb_folder(name, root)
    if not folder.is_dir():
        if not download:
            raise GraphError(
                f"{name} is not shipped: no folder {folder}. Download it with `graphsparse datasets fetch {name}` "
                "(needs internet; load_dataset(..., download=True) from Python), or place the unzipped OGB folder there"
            )
        folder = download_ogb(name, root)
    for required in _REQUIRED_FILES.get(name, ()):  # optional in the layout, but these datasets have them
        if not (folder / "raw" / required).is_file():
            raise DatasetError(f"{name}: {folder / 'raw' / required} is missing (damaged folder?); unzip it again")
    return load_ogb_raw(folder, name=name)
