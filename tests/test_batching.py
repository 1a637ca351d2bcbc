"""Cluster-GCN: METIS partitions and their cache, cluster batches, diagonal enhancement, training, CLI."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.batching import ClusterLoader, diag_enhanced_adjacency, metis_partition
from graphsparse.batching.metis import partition_key
from graphsparse.cli import main
from graphsparse.data import load_dataset
from graphsparse.data.synthetic import synthetic_dcsbm
from graphsparse.graph import Graph, GraphError
from graphsparse.nn import build_model
from graphsparse.nn.models import GCN


@pytest.fixture(scope="module")
def sbm() -> Graph:
    return synthetic_dcsbm(num_nodes=600, num_edges=3000, num_features=8, num_classes=3, seed=2)


def test_clusters_cover_every_node_once(sbm: Graph, tmp_path: Path) -> None:
    parts = metis_partition(sbm, 12, cache_dir=tmp_path)
    assert parts.shape == (600,) and int(parts.min()) == 0 and int(parts.max()) == 11
    loader = ClusterLoader(sbm, parts, clusters_per_batch=5, seed=0)
    seen = torch.cat([batch.nodes for batch in loader])
    assert len(loader) == 3 and seen.numel() == 600 and torch.equal(torch.sort(seen).values, torch.arange(600))
    kway = metis_partition(sbm, 12, recursive=False, cache_dir=tmp_path)
    assert torch.equal(torch.unique(kway), torch.arange(12))


def test_metis_uses_pymetis_current_api(sbm: Graph, tmp_path: Path) -> None:
    """No DeprecationWarning (pymetis drops xadj=/adjncy= in 2027), and the parts METIS gives for the same graph
    handed over as plain adjacency lists (checked by hand: also those of the old xadj=/adjncy= call)."""
    import pymetis

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for recursive in (True, False):
            parts = metis_partition(sbm, 6, recursive=recursive, cache_dir=tmp_path / str(recursive))
            neighbours: list[list[int]] = [[] for _ in range(sbm.num_nodes)]
            for a, b in sbm.edges.t().tolist():
                neighbours[a].append(b)
            for a, b in sbm.edges.t().tolist():
                neighbours[b].append(a)
            _, expected = pymetis.part_graph(6, adjacency=neighbours, recursive=recursive)
            assert torch.equal(parts, torch.tensor(expected, dtype=torch.int64))


def test_batch_is_the_induced_subgraph(sbm: Graph, tmp_path: Path) -> None:
    parts = metis_partition(sbm, 10, cache_dir=tmp_path)
    n = sbm.num_nodes
    original = set((sbm.edges[0] * n + sbm.edges[1]).tolist())
    for batch in ClusterLoader(sbm, parts, clusters_per_batch=3, seed=1):
        nodes = batch.nodes
        u, v = nodes[batch.graph.edges[0]], nodes[batch.graph.edges[1]]
        keys = (torch.minimum(u, v) * n + torch.maximum(u, v)).tolist()
        assert set(keys) <= original  # every batch edge is a real edge
        inside = torch.zeros(n, dtype=torch.bool)
        inside[nodes] = True
        induced = int((inside[sbm.edges[0]] & inside[sbm.edges[1]]).sum())
        assert batch.graph.num_edges == induced  # none lost, between-cluster edges included
        assert torch.equal(batch.graph.x, sbm.x[nodes]) and torch.equal(batch.graph.y, sbm.y[nodes])


def test_loader_shuffles_per_epoch_and_repeats_per_seed(sbm: Graph, tmp_path: Path) -> None:
    parts = metis_partition(sbm, 10, cache_dir=tmp_path)
    a = ClusterLoader(sbm, parts, 2, seed=3)
    first, second = [b.clusters.tolist() for b in a], [b.clusters.tolist() for b in a]
    assert first != second
    assert first == [b.clusters.tolist() for b in ClusterLoader(sbm, parts, 2, seed=3)]
    shares = [ClusterLoader(sbm, parts, 3, seed=3, ranks=(r, 2)) for r in range(2)]
    assert len(shares[0]) == len(shares[1]) == 2  # 4 batches of 10 clusters / 3 -> 2 per rank (one dropped)


def test_diagonal_enhancement_matches_dense() -> None:
    graph = Graph(torch.tensor([[0, 0, 1, 2], [1, 2, 2, 3]]), num_nodes=4, name="toy")
    a = torch.zeros(4, 4)
    a[graph.edges[0], graph.edges[1]] = 1
    a = a + a.t() + torch.eye(4)
    normalized = a / a.sum(1, keepdim=True)
    expected = normalized + 0.7 * torch.diag(torch.diag(normalized))
    op = diag_enhanced_adjacency(graph, 0.7)
    assert torch.allclose(op.to_dense(), expected)
    x = torch.randn(4, 3)
    assert torch.allclose(op @ x, expected @ x, atol=1e-6)
    with pytest.raises(ValueError, match="λ"):
        diag_enhanced_adjacency(graph, -1.0)


def test_corrupt_partition_cache_is_rebuilt(sbm: Graph, tmp_path: Path) -> None:
    fresh = metis_partition(sbm, 8, cache_dir=tmp_path)
    path = tmp_path / f"metis-{partition_key(sbm, 8, True, None)}.npz"
    assert path.is_file()
    with np.load(path) as data:
        tampered = data["parts"].copy()
        digest = str(data["sha256"])
    tampered[:5] = (tampered[:5] + 1) % 8
    np.savez(path, parts=tampered, sha256=np.array(digest))  # in range, but fails its checksum
    with pytest.warns(UserWarning, match="sha256"):
        again = metis_partition(sbm, 8, cache_dir=tmp_path)
    assert torch.equal(again, fresh)
    path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match="unreadable"):
        assert torch.equal(metis_partition(sbm, 8, cache_dir=tmp_path), fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file is trusted again
        assert torch.equal(metis_partition(sbm, 8, cache_dir=tmp_path), fresh)


def test_bad_partition_requests(sbm: Graph, tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="more parts than nodes"):
        metis_partition(sbm, 601, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=">= 1"):
        metis_partition(sbm, 0, cache_dir=tmp_path)
    mask = torch.zeros(600, dtype=torch.bool)
    mask[:50] = True
    with pytest.raises(GraphError, match="50 nodes"):
        metis_partition(sbm, 60, node_mask=mask, cache_dir=tmp_path)
    parts = metis_partition(sbm, 5, node_mask=mask, cache_dir=tmp_path)
    assert bool((parts[50:] == -1).all()) and bool((parts[:50] >= 0).all())
    batched = torch.cat([b.nodes for b in ClusterLoader(sbm, parts, 2)])
    assert torch.equal(torch.sort(batched).values, torch.arange(50))


def test_deep_cluster_gcn_model_shapes() -> None:
    graph = load_dataset("cora")
    model = build_model("cluster-gcn", graph.num_features, graph.num_classes, num_layers=5, hidden_channels=32)
    assert len(model.lins) == 5 and model.lins[1].in_features == 64  # [A'H ‖ H] doubles the input width
    assert model(graph).shape == (graph.num_nodes, graph.num_classes)


@pytest.mark.parametrize("model", ["gcn", "cluster-gcn"])
def test_cli_cluster_training(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "parts"))
    argv = [
        "train",
        "--dataset",
        "cora",
        "--model",
        model,
        "--batching",
        "cluster",
        "--parts",
        "30",
        "--clusters-per-batch",
        "6",
        "--seeds",
        "1",
        "--epochs",
        "30",
        "--hidden",
        "32",
        "--json",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["batching"] == "cluster" and out["parts"] == 30
    assert out["test_acc_mean"] > 0.6  # a 7-class problem: chance is about 0.3
    assert main(argv) == 0  # same seed, same result (partition read back from the cache)
    assert json.loads(capsys.readouterr().out)["test_acc_mean"] == out["test_acc_mean"]


def _bag_of_words_graph(num_nodes: int = 300, num_features: int = 400) -> Graph:
    base = synthetic_dcsbm(num_nodes=num_nodes, num_edges=1500, num_features=8, num_classes=3, seed=3)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(num_nodes, num_features, generator=gen) < 0.02).float()  # 2% non-zero, like keyword features
    return base.replace(x=x)


def test_sparse_features_give_the_dense_model_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import graphsparse.graph.core as graph_module  # where Graph.sparse_x reads its threshold

    dense_graph = _bag_of_words_graph()
    assert dense_graph.sparse_x() is None  # small inputs keep the dense product
    monkeypatch.setattr(graph_module, "SPARSE_X_MIN_ELEMENTS", 1)
    graph = _bag_of_words_graph()
    sparse_x = graph.sparse_x()
    assert sparse_x is not None and sparse_x.layout == torch.sparse_csr
    assert torch.equal(sparse_x.to_dense(), graph.x)
    assert graph.replace(x=torch.rand(300, 400) + 0.1).sparse_x() is None  # dense features stay dense

    torch.manual_seed(0)
    model = GCN(400, 16, 3)
    model.eval()
    expected = model(graph, x=graph.x)
    assert torch.allclose(model(graph), expected, atol=1e-5)  # the CSR path
    model.train()
    model.convs[0].weight.grad = None
    torch.nn.functional.cross_entropy(model(graph), graph.y).backward()
    assert model.convs[0].weight.grad is not None and torch.isfinite(model.convs[0].weight.grad).all()

    parts = metis_partition(graph, 6, cache_dir=tmp_path)
    for batch in ClusterLoader(graph, parts, clusters_per_batch=2, seed=0):
        rows = batch.graph.sparse_x()
        assert rows is not None and torch.equal(rows.to_dense(), graph.x[batch.nodes])


def test_sparse_dropout_matmul_keeps_the_expected_scale() -> None:
    from graphsparse.nn.functional import sparse_dropout_matmul

    x = torch.ones(2000, 50).to_sparse_csr()
    weight = torch.ones(50, 1, requires_grad=True)
    out = sparse_dropout_matmul(x, weight, 0.5)
    assert abs(float(out.detach().mean()) - 50.0) < 1.0  # inverted dropout keeps the mean
    assert torch.equal(sparse_dropout_matmul(x, weight, 0.5, training=False), x.to_dense() @ weight)
    out.sum().backward()
    assert weight.grad is not None and weight.grad.shape == (50, 1)
    with pytest.raises(ValueError, match="CSR x"):
        sparse_dropout_matmul(torch.ones(3, 50), weight, 0.5)


@pytest.mark.parametrize("features", ["dense", "csr"])
def test_batch_equals_the_checked_subgraph(features: str, tmp_path: Path) -> None:
    """A batch assembled from the parent's slices (no copies, no checks) is the subgraph Graph's own checked
    constructor builds, field for field; with CSR features its dense rows are gathered only when read, its CSR
    rows are the parent's, and an in-place write to the gathered rows still drops the cached CSR rows."""
    from graphsparse.batching.loader import _parent_edge_ids
    from graphsparse.graph.batch_graph import _DeferredRowsGraph
    from graphsparse.tasks.node import with_sparse_features

    base = synthetic_dcsbm(num_nodes=300, num_edges=1500, num_features=40, num_classes=3, seed=5)
    weights = torch.rand(base.num_edges, generator=torch.Generator().manual_seed(0)) + 0.5
    graph = base.replace(edge_weight=torch.cat([weights, weights]), edge_index=base.edge_index)
    graph = with_sparse_features(graph) if features == "csr" else graph
    parts = metis_partition(graph, 6, cache_dir=tmp_path)
    for batch in ClusterLoader(graph, parts, clusters_per_batch=2, seed=4):
        want = graph.subgraph(batch.nodes)
        got = batch.graph
        assert isinstance(got, _DeferredRowsGraph) == (features == "csr")
        assert got.num_features == 40  # read without gathering the rows
        assert features == "dense" or got.__dict__.get("_x_value") is None
        assert torch.equal(got.edges, want.edges) and torch.equal(got.edge_weight, want.edge_weight)
        assert torch.equal(got.y, want.y) and got.num_nodes == want.num_nodes
        assert all(torch.equal(a, b) for k in want.splits for a, b in zip(got.splits[k], want.splits[k]))
        assert torch.equal(batch.edge_ids, _parent_edge_ids(got, got.edges, batch.edge_ids))
        assert torch.equal(graph.edges[:, batch.edge_ids], batch.nodes[got.edges])
        if features == "csr":
            assert torch.equal(got.sparse_x().to_dense(), want.x)
        if features == "csr":  # pickled (torch.save, a worker) with its rows made: a closure does not pickle
            again = pickle.loads(pickle.dumps(got))
            assert torch.equal(again.x, want.x) and again.fingerprint() == want.fingerprint()
        assert torch.equal(got.x, want.x) and got.fingerprint() == want.fingerprint()
        if features == "csr":
            got.x.mul_(2.0)  # in place: the cached CSR rows are stale now and must be rebuilt
            assert "sparse_x" not in got._cached_keys()
