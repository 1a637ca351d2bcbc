r"""Cluster-GCN batches (Chiang et al., "Cluster-GCN", KDD 2019).

:class:`ClusterLoader` shuffles the clusters every epoch (a generator seeded once, so epochs differ and runs
repeat) and groups ``clusters_per_batch`` (q) of them; a batch is the subgraph induced by the union of their nodes,
so the edges *between* the chosen clusters are kept. Each batch graph is normalised on its own by the model (its
operator is built from the batch's degrees). Iterating the loader gives one epoch; ``len(loader)`` batches.

The diagonal-enhanced operator the paper's layer uses, :func:`~graphsparse.nn.cluster_gcn.diag_enhanced_adjacency`,
lives beside the layer in :mod:`graphsparse.nn.cluster_gcn` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..graph import Graph, GraphError, csr_select_rows
from ..graph.batch_graph import induced_batch
from ..nn.cluster_gcn import diag_enhanced_adjacency

__all__ = ["ClusterBatch", "ClusterLoader", "diag_enhanced_adjacency"]


@dataclass(frozen=True)
class ClusterBatch:
    """One batch: the induced subgraph of the chosen clusters, with the ids that map it back to the full graph.

    It holds the original ids of its nodes and, per undirected edge of the batch graph, its id in the loader's
    graph (``edge_ids``: values over the full graph's edges are ``values[batch.edge_ids]``).
    """

    graph: Graph
    nodes: torch.Tensor
    clusters: torch.Tensor
    edge_ids: torch.Tensor | None = None


class ClusterLoader:
    """Iterate Cluster-GCN batches of ``graph`` for the node partition ``parts`` (``[N]``, ``-1`` = never batched)."""

    def __init__(
        self,
        graph: Graph,
        parts: torch.Tensor,
        clusters_per_batch: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        progress: bool = False,
        ranks: tuple[int, int] = (0, 1),
        batch_multiple: int = 1,
    ) -> None:
        """Group the nodes by cluster and index the edges by their lower endpoint.

        Args:
            graph: the graph to batch.
            parts: the cluster of every node (``[N]``, ``-1`` = never batched).
            clusters_per_batch: clusters per batch.
            shuffle: a new order of the clusters every epoch (the same on every rank).
            seed: the seed of that order.
            progress: show the epoch's batches on a transient bar.
            ranks: ``(rank, world size)``: this rank takes every ``world``-th batch.
            batch_multiple: the batches per epoch are cut to a multiple of this (for ``accumulate``).

        Raises:
            GraphError: ``parts`` does not have one entry per node.
            ValueError: a count below 1, or a rank outside the world.
        """
        parts = torch.as_tensor(parts, dtype=torch.long).cpu()
        if parts.shape != (graph.num_nodes,):
            raise GraphError(f"partition has {list(parts.shape)} entries, graph {graph.name!r} has {graph.num_nodes}")
        if clusters_per_batch < 1:
            raise ValueError(f"clusters per batch must be >= 1, got {clusters_per_batch}")
        rank, world = ranks
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside world size {world}")
        self.graph, self.parts, self.q = graph, parts, int(clusters_per_batch)
        if batch_multiple < 1:
            raise ValueError(f"batch_multiple must be >= 1, got {batch_multiple}")
        self.shuffle, self.progress, self.rank, self.world = shuffle, progress, rank, world
        self.multiple = max(world, int(batch_multiple))
        valid = parts >= 0
        order = torch.argsort(parts[valid], stable=True)
        self._members = valid.nonzero().view(-1)[order]  # node ids grouped by cluster
        counts = torch.bincount(parts[valid], minlength=int(parts.max()) + 1 if bool(valid.any()) else 0)
        self.cluster_ids = counts.nonzero().view(-1)  # non-empty clusters
        self._offsets = torch.zeros(counts.numel() + 1, dtype=torch.long)
        torch.cumsum(counts, 0, out=self._offsets[1:])
        self._generator = torch.Generator().manual_seed(int(seed))
        # edges grouped by their lower endpoint (CSR over u of the stored u < v pairs): a batch's induced subgraph
        # then costs the degrees of its nodes instead of a scan over every edge of the graph
        u = graph.edges[0]
        self._edge_order = torch.argsort(u, stable=True)
        self._edge_ptr = torch.zeros(graph.num_nodes + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(u, minlength=graph.num_nodes), 0, out=self._edge_ptr[1:])

    def _num_batches(self) -> int:
        batches = -(-self.cluster_ids.numel() // self.q)
        # with several ranks every rank must run the same number of steps (DDP all-reduces each one), so the
        # last batches_total % world batches of the shuffled order are left out of that epoch (likewise for
        # batch_multiple, used to accumulate gradients over that many batches in one process)
        return batches // self.multiple * self.multiple

    def __len__(self) -> int:
        """This rank's batches per epoch."""
        return len(range(self.rank, self._num_batches(), self.world))

    def nodes_of(self, clusters: torch.Tensor) -> torch.Tensor:
        """Sorted node ids of the given clusters."""
        pieces = [self._members[self._offsets[c] : self._offsets[c + 1]] for c in clusters.tolist()]
        return torch.sort(torch.cat(pieces)).values

    def induced_subgraph(self, nodes: torch.Tensor) -> Graph:
        """``graph.subgraph(nodes)`` for sorted, distinct ``nodes``, reading only the edges of those nodes."""
        return self._induced(nodes)[0]

    def _induced(self, nodes: torch.Tensor) -> tuple[Graph, torch.Tensor]:
        """The induced subgraph and, per undirected edge of it, the edge's id in the loader's graph."""
        graph = self.graph
        starts, ends = self._edge_ptr[nodes], self._edge_ptr[nodes + 1]
        counts = ends - starts
        offsets = torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts)
        eids = self._edge_order[offsets + torch.arange(int(counts.sum()))]
        inside = torch.zeros(graph.num_nodes, dtype=torch.bool)
        inside[nodes] = True
        eids = eids[inside[graph.edges[1, eids]]]
        new_id = torch.full((graph.num_nodes,), -1, dtype=torch.long)
        new_id[nodes] = torch.arange(nodes.numel())
        if not graph.directed:
            # the stored (u < v, sorted) order survives the subset and the monotone relabelling: no checks needed
            return induced_batch(graph, nodes, new_id[graph.edges[:, eids]], eids), eids
        batch = Graph(
            new_id[graph.edges[:, eids]],
            num_nodes=nodes.numel(),
            x=None if graph.x is None else graph.x[nodes],
            y=None if graph.y is None else graph.y[nodes],
            splits={k: tuple(m[nodes] for m in split) for k, split in graph.splits.items()},
            directed=graph.directed,
            name=graph.name,
            edge_weight=None if graph.edge_weight is None else graph.edge_weight[eids],
        )
        sparse_x = graph.sparse_x()
        if sparse_x is not None:  # the batch's rows of the CSR features, not a re-scan of its dense slice
            batch._set_cached("sparse_x", csr_select_rows(sparse_x, nodes))
        return batch, _parent_edge_ids(batch, new_id[graph.edges[:, eids]], eids)

    def __iter__(self) -> Iterator[ClusterBatch]:
        """Yield this rank's batches of one epoch."""
        from tqdm.auto import tqdm

        ids = self.cluster_ids
        if self.shuffle:  # every rank draws the same permutation, then takes its share of the batches
            ids = ids[torch.randperm(ids.numel(), generator=self._generator)]
        groups = list(torch.split(ids, self.q))[: self._num_batches()][self.rank :: self.world]
        for clusters in tqdm(groups, desc="cluster batches", unit="batch", disable=not self.progress, leave=False):
            nodes = self.nodes_of(clusters)
            batch, edge_ids = self._induced(nodes)
            yield ClusterBatch(batch, nodes, clusters, edge_ids)


def _parent_edge_ids(batch: Graph, local_edges: torch.Tensor, eids: torch.Tensor) -> torch.Tensor:
    """Per edge of ``batch``, the parent id among ``eids`` whose relabelled endpoints are ``local_edges``.

    ``batch`` may store its edges in another order.
    """
    n = max(batch.num_nodes, 1)

    def keys(edges: torch.Tensor) -> torch.Tensor:
        lo, hi = torch.minimum(edges[0], edges[1]), torch.maximum(edges[0], edges[1])
        return lo * n + hi

    parent_keys = keys(local_edges)
    order = torch.argsort(parent_keys)
    position = torch.searchsorted(parent_keys[order], keys(batch.edges))
    return eids[order[position]]
