"""METIS graph partitioning through pymetis, cached on disk and checked when read back.

:func:`metis_partition` hands METIS the symmetric CSR of the undirected graph (int32/int64 numpy arrays built
directly from the stored edges, no Python adjacency lists) and returns one part id per node. ``recursive=True``
uses recursive bisection (faster than k-way on our graphs), ``recursive=False`` k-way. A boolean ``node_mask``
partitions the subgraph it induces (Cluster-GCN's option of clustering the training graph); other nodes get part
``-1``. :func:`metis_partition_csr` partitions a CSR given as arrays.

Partitions are cached as ``<cache_dir>/metis-<key>.npz``, the key hashing the graph's edges and size and the
options. The file stores the parts and their sha256; a file that cannot be read, has the wrong length, holds part
ids out of range or fails its checksum is reported with a warning and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..config import cache_dir as config_cache_dir
from ..graph import Graph, GraphError

__all__ = ["metis_partition", "metis_partition_csr", "partition_key", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$GRAPHSPARSE_CACHE`` or ``runs/partitions`` (see :mod:`graphsparse.config`)."""
    return config_cache_dir(Path("runs") / "partitions")


def partition_key(graph: Graph, num_parts: int, recursive: bool, node_mask: torch.Tensor | None) -> str:
    """sha256 over the graph's size and edges and the partition options."""
    h = hashlib.sha256()
    h.update(f"n={graph.num_nodes};m={graph.num_edges};parts={num_parts};recursive={recursive}".encode())
    h.update(np.ascontiguousarray(graph.edges.numpy()).tobytes())
    if node_mask is not None:
        h.update(np.packbits(node_mask.numpy()).tobytes())
    return h.hexdigest()[:24]


def _csr(graph: Graph, nodes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Symmetric CSR (xadj, adjncy) of the undirected graph (or of the subgraph induced by ``nodes``)."""
    u, v = graph.edges.numpy()
    n = graph.num_nodes
    if nodes is not None:
        new_id = np.full(n, -1, dtype=np.int64)
        new_id[nodes] = np.arange(nodes.size)
        u, v = new_id[u], new_id[v]
        keep = (u >= 0) & (v >= 0)
        u, v, n = u[keep], v[keep], nodes.size
    index_type = np.int32 if 2 * u.size < 2**31 else np.int64
    src = np.concatenate([u, v]).astype(index_type)
    dst = np.concatenate([v, u]).astype(index_type)
    order = np.argsort(src, kind="stable")
    adjncy = dst[order]
    xadj = np.zeros(n + 1, dtype=index_type)
    np.cumsum(np.bincount(src, minlength=n), out=xadj[1:])
    return xadj, adjncy, n


def _run_metis(xadj: np.ndarray, adjncy: np.ndarray, n: int, num_parts: int, recursive: bool) -> np.ndarray:
    if num_parts == 1:
        return np.zeros(n, dtype=np.int64)
    import pymetis

    adjacency = pymetis.CSRAdjacency(adj_starts=xadj, adjacent=adjncy)  # pymetis >= 2025.2 (xadj=/adjncy= go in 2027)
    _, membership = pymetis.part_graph(num_parts, adjacency=adjacency, recursive=recursive)
    return np.asarray(membership, dtype=np.int64)


def metis_partition_csr(xadj: np.ndarray, adjncy: np.ndarray, num_parts: int, recursive: bool = True) -> np.ndarray:
    """Part id per row of a symmetric CSR (``xadj`` ``[N+1]``, ``adjncy``), from METIS."""
    n = int(len(xadj)) - 1
    if int(num_parts) != num_parts or num_parts < 1:
        raise ValueError(f"number of parts must be an integer >= 1, got {num_parts}")
    if num_parts > n:
        raise GraphError(f"cannot partition {n} nodes into {num_parts} parts: more parts than nodes")
    return _run_metis(xadj, adjncy, n, int(num_parts), recursive)


def _digest(parts: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(parts, dtype=np.int64).tobytes()).hexdigest()


def _load_cached(path: Path, num_nodes: int, num_parts: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            parts, digest = data["parts"].astype(np.int64), str(data["sha256"])
    except Exception as err:  # noqa: BLE001 - any unreadable cache file is rebuilt
        warnings.warn(f"partition cache {path} is unreadable ({err}); rebuilding it", stacklevel=3)
        return None
    problem = None
    if parts.shape != (num_nodes,):
        problem = f"has {parts.shape} entries for {num_nodes} nodes"
    elif parts.size and (parts.max() >= num_parts or parts.min() < -1):
        problem = f"holds part ids outside [-1, {num_parts})"
    elif _digest(parts) != digest:
        problem = "fails its sha256 check"
    if problem:
        warnings.warn(f"partition cache {path} {problem}; rebuilding it", stacklevel=3)
        return None
    return parts


def metis_partition(
    graph: Graph,
    num_parts: int,
    *,
    recursive: bool = True,
    node_mask: torch.Tensor | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Part id per node (``[N]`` int64, ``-1`` for nodes outside ``node_mask``), from METIS via pymetis."""
    if graph.directed:
        raise GraphError(f"METIS partitioning needs an undirected graph; {graph.name!r} is directed")
    if int(num_parts) != num_parts or num_parts < 1:
        raise ValueError(f"number of parts must be an integer >= 1, got {num_parts}")
    nodes = None
    if node_mask is not None:
        node_mask = torch.as_tensor(node_mask, dtype=torch.bool).cpu()
        if node_mask.shape != (graph.num_nodes,):
            raise GraphError(f"node_mask has shape {list(node_mask.shape)}, expected [{graph.num_nodes}]")
        nodes = node_mask.nonzero().view(-1).numpy()
    size = graph.num_nodes if nodes is None else nodes.size
    if num_parts > size:
        raise GraphError(
            f"cannot partition {size} nodes of {graph.name!r} into {num_parts} parts: more parts than nodes"
        )
    path = None
    if use_cache:
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        path = folder / f"metis-{partition_key(graph, num_parts, recursive, node_mask)}.npz"
        if path.is_file():
            cached = _load_cached(path, graph.num_nodes, num_parts)
            if cached is not None:
                return torch.from_numpy(cached)
    xadj, adjncy, n = _csr(graph, nodes)
    membership = _run_metis(xadj, adjncy, n, int(num_parts), recursive)
    parts = membership if nodes is None else np.full(graph.num_nodes, -1, dtype=np.int64)
    if nodes is not None:
        parts[nodes] = membership
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f"{path.stem}.{os.getpid()}.tmp.npz"  # per process: DDP ranks may write at once
        np.savez(tmp, parts=parts, sha256=np.array(_digest(parts)))
        os.replace(tmp, path)
    return torch.from_numpy(parts)
