"""UGS on batches: edge masks are ranked only against masks trained as often (exposure strata)."""

from __future__ import annotations

import pytest
import torch

from graphsparse.batching.glt import ClusterGLTTask
from graphsparse.batching.train import ClusterConfig
from graphsparse.data import synthetic_dcsbm
from graphsparse.nn import build_model
from graphsparse.sparsify import UGS, UGSMasked, ugs_prune
from graphsparse.sparsify.methods.ugs import stratified_keep, unpack_ugs_state
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.tasks.node import NodeTrainConfig


def test_stratified_keep_keeps_the_same_fraction_of_every_stratum():
    """Each stratum keeps its largest-remainder share of k, and within it exactly its largest magnitudes."""
    generator = torch.Generator().manual_seed(0)
    strata = torch.cat([torch.full((1000,), 7), torch.full((300,), 0), torch.full((7,), 2), torch.full((93,), 31)])
    strata = strata[torch.randperm(strata.numel(), generator=generator)].int()
    magnitude = torch.rand(strata.numel(), generator=generator)
    keep = torch.rand(strata.numel(), generator=generator) > 0.2
    k = 777
    out = stratified_keep(magnitude, keep, k, strata)
    assert int(out.sum()) == k and not bool((out & ~keep).any())
    alive = {int(s): int((keep & (strata == s)).sum()) for s in strata.unique()}
    total = sum(alive.values())
    for s, n in alive.items():
        members = keep & (strata == s)
        kept = int((out & members).sum())
        assert abs(kept - n * k / total) < 1.0  # its proportional share, rounded one way or the other
        dropped = magnitude[members & ~out]
        if kept and dropped.numel():  # the stratum's own top magnitudes, nothing else
            assert float(magnitude[out & members].min()) > float(dropped.max())
    with pytest.raises(ValueError, match="strata must be >= 0"):
        stratified_keep(magnitude, keep, k, strata - 1)


def test_ugs_prune_with_one_stratum_is_the_plain_ranking():
    generator = torch.Generator().manual_seed(1)
    scores = torch.rand(500, generator=generator)
    keep = torch.rand(500, generator=generator) > 0.1
    weights = {"w": torch.rand(20, 10, generator=generator)}
    weight_keep = {"w": torch.ones(20, 10, dtype=torch.bool)}
    plain = ugs_prune(scores, keep, 0.3, weights, weight_keep, 0.5)
    one = ugs_prune(scores, keep, 0.3, weights, weight_keep, 0.5, edge_strata=torch.full((500,), 4))
    assert torch.equal(plain[0], one[0]) and torch.equal(plain[1]["w"], one[1]["w"])
    with pytest.raises(ValueError, match="strata"):
        ugs_prune(scores, keep, 0.3, weights, weight_keep, 0.5, edge_strata=torch.zeros(499, dtype=torch.int32))


def test_sparse_masks_count_the_training_forwards_each_edge_took_part_in():
    graph = synthetic_dcsbm(num_nodes=60, num_edges=200, num_features=4, num_classes=2, seed=0)
    model = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=4)
    masked = UGSMasked(model, graph.num_edges, sparse_edge_grad=True)
    ids = torch.arange(0, graph.num_edges, 3)
    batch = graph.keep_edges(torch.isin(torch.arange(graph.num_edges), ids))
    masked(batch, edge_ids=ids)
    masked(batch, edge_ids=ids)
    with torch.no_grad():  # evaluation passes do not count
        masked(batch, edge_ids=ids)
    exposure = masked.edge_exposures()
    assert torch.equal(exposure[ids], torch.full((ids.numel(),), 2, dtype=torch.int32))
    assert int(exposure.sum()) == 2 * ids.numel()
    assert "edge_exposure" in masked.state_dict()  # the best epoch's snapshot restores that epoch's counts
    assert UGSMasked(model, graph.num_edges).edge_exposures() is None  # full batch: every mask trained alike


def test_cluster_ugs_prunes_edges_between_parts_and_inside_them_alike():
    """Cluster-GCN batches hold an edge between two parts only when both parts are batched together, so its mask
    barely moves while l1 pulls the batches' own masks down. Ranked together, UGS pruned the edges inside parts
    first (PubMed: 70% of them and none of the edges between parts at round 10); ranked within equal exposure,
    both kinds lose the round's fraction."""
    graph = synthetic_dcsbm(num_nodes=300, num_edges=1500, num_features=16, num_classes=3, seed=0)
    task = ClusterGLTTask(graph, NodeTrainConfig(epochs=6), ClusterConfig(num_parts=10, clusters_per_batch=2))

    def factory():
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)

    levels = glt_levels(2, 0.2, 0.2)
    results = list(glt_search(graph, factory, methods=[UGS(s1=1e-2, s2=1e-2)], levels=levels, task=task))
    parts = task.parts(0)
    cut = parts[graph.edges[0]] != parts[graph.edges[1]]
    assert 0.2 < float(cut.float().mean()) < 0.9
    for result, (_, graph_sparsity, _) in zip(results[1:], levels, strict=True):
        pruned = ~unpack_ugs_state(result.states[0])[0].bool()
        for kind in (cut, ~cut):
            assert abs(float(pruned[kind].float().mean()) - graph_sparsity) < 0.03


def test_disk_ugs_prunes_edges_between_parts_and_inside_them_alike(tmp_path):
    """The disk trainer's batches index the mask by the level's kept-edge ranks; the counts follow them."""
    import numpy as np

    from graphsparse.batching.disk_glt import DiskClusterGLTTask
    from graphsparse.data.diskwrite import write_disk_graph

    graph = synthetic_dcsbm(num_nodes=300, num_edges=1500, num_features=16, num_classes=3, seed=1)
    parts = np.arange(graph.num_nodes) % 10
    folder = write_disk_graph(tmp_path / "g", graph, parts)
    task = DiskClusterGLTTask(folder, NodeTrainConfig(epochs=6), ClusterConfig(num_parts=10, clusters_per_batch=2))

    def factory():
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)

    levels = glt_levels(2, 0.2, 0.2)
    view = task.graph_for_seed(0, 0)
    results = list(glt_search(view, factory, methods=[UGS(s1=1e-2, s2=1e-2)], levels=levels, task=task))
    between = torch.from_numpy(parts[graph.edges[0].numpy()] != parts[graph.edges[1].numpy()])
    for result, (_, graph_sparsity, _) in zip(results[1:], levels, strict=True):
        pruned = ~unpack_ugs_state(result.states[0])[0].bool()
        for kind in (between, ~between):
            assert abs(float(pruned[kind].float().mean()) - graph_sparsity) < 0.03
