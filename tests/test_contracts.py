"""Contracts of the data abstraction: a Graph owns its data, its derived operators can never go stale,
primary data are explicit fields, and stored results are keyed by the content of the data they came from."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse import Graph
from graphsparse.data import load_ogb_raw, synthetic_dcsbm
from graphsparse.data.link_splits import split_edges
from graphsparse.experiments import ResultsStore
from graphsparse.graph import SCHEMA_VERSION
from graphsparse.nn import build_model
from graphsparse.sparse import normalized_adjacency
from graphsparse.sparsify.records import LevelResult
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.tasks.link import link_split_for_seed
from graphsparse.tasks.node import NodeTrainConfig, row_normalize_features


def _dense_sym(graph: Graph) -> torch.Tensor:
    """D^-1/2 (A + I) D^-1/2 from the stored edges, built from scratch."""
    n = graph.num_nodes
    a = torch.eye(n)
    u, v = graph.edges
    a[u, v] = 1.0
    a[v, u] = 1.0
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


def _edges_x() -> tuple[torch.Tensor, torch.Tensor]:
    edges = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 4, 4]])
    return edges, torch.arange(10, dtype=torch.float32).view(5, 2)


# ------------------------------------------------------------------------------------------- Graph owns its data
def test_graph_copies_its_inputs() -> None:
    edges, x = _edges_x()
    y = torch.tensor([0, 1, 0, 1, 0])
    train = torch.tensor([True, False, False, False, False])
    graph = Graph(edges, x=x, y=y, splits={"s": (train, ~train, torch.zeros(5, dtype=torch.bool))})
    before = graph.fingerprint()
    x_copy, y_copy = x.clone(), y.clone()
    x.fill_(7.0)
    y.fill_(1)
    train.fill_(True)
    edges.fill_(0)
    assert torch.equal(graph.x, x_copy) and torch.equal(graph.y, y_copy)
    assert graph.split("s").train.tolist() == [True, False, False, False, False]
    assert graph.num_edges == 5
    assert graph.fingerprint() == before
    # numpy inputs are copied too (torch.from_numpy would share their memory)
    features = np.ones((5, 2), dtype=np.float32)
    from_numpy = Graph(torch.tensor([[0], [1]]), num_nodes=5, x=features)
    features[:] = 3.0
    assert float(from_numpy.x.sum()) == 10.0


def test_in_place_write_to_an_input_never_reaches_the_operator() -> None:
    edges, x = _edges_x()
    graph = Graph(edges, x=x)
    reference = _dense_sym(graph)
    assert torch.allclose(normalized_adjacency(graph).to_dense(), reference)
    edges[1, 0] = 3  # the caller's tensor: the graph holds its own copy
    assert torch.allclose(normalized_adjacency(graph).to_dense(), reference)


def test_in_place_write_to_a_graph_tensor_makes_no_stale_operator() -> None:
    edges, x = _edges_x()
    graph = Graph(edges, x=x)
    normalized_adjacency(graph)  # cached
    graph.edges[1, 0] = 3  # edge 0-1 becomes 0-3: a contract violation, but nothing derived may go stale
    assert torch.allclose(normalized_adjacency(graph).to_dense(), _dense_sym(graph))
    assert torch.equal(graph.edge_index, torch.cat([graph.edges, graph.edges.flip(0)], 1))
    # a write into a cached result itself is not served back either
    normalized_adjacency(graph).values.mul_(0.0)
    assert torch.allclose(normalized_adjacency(graph).to_dense(), _dense_sym(graph))
    graph.edge_index.zero_()
    assert torch.equal(graph.edge_index, torch.cat([graph.edges, graph.edges.flip(0)], 1))


def test_x_write_recomputes_fingerprint_and_derived_features(small_graph: Graph) -> None:
    before = small_graph.fingerprint()
    small_graph.x[0, 0] += 1.0
    assert small_graph.fingerprint() != before


def test_derived_cache_is_private(small_graph: Graph) -> None:
    assert not hasattr(small_graph, "cache")
    normalized_adjacency(small_graph)
    assert any(isinstance(k, tuple) and k[0] == "adjacency" for k in small_graph._cached_keys())
    # a new graph from this one starts with an empty cache
    assert small_graph.replace(name="other")._cached_keys() == []


# ------------------------------------------------------------------------------------------- fingerprint
def test_fingerprint_is_of_content(small_graph: Graph) -> None:
    g = small_graph
    fp = g.fingerprint()
    assert len(fp) == 64 and fp == g.fingerprint()
    same = Graph(g.edge_index, num_nodes=g.num_nodes, x=g.x, y=g.y, splits=g.splits, name="another name")
    assert same.fingerprint() == fp
    assert g.replace(name="renamed").fingerprint() == fp
    x = g.x.clone()
    x[2, 1] += 0.5
    y = g.y.clone()
    y[0] = 1 - y[0]
    split = g.split()
    train, test = split.train.clone(), split.test.clone()
    train[5], test[5] = True, False  # node 5 moves from test to train (parts may not overlap)
    others = [
        g.keep_edges(torch.arange(g.num_edges) != 0),
        g.replace(x=x),
        g.replace(y=y),
        g.replace(splits={"public": (train, split.val, test)}),
        g.replace(splits={"other": tuple(split)}),
        g.replace(splits={}),
        g.replace(edge_split={"train": {"edge": torch.tensor([[0, 1]])}}),
        g.replace(x=None),
        Graph(g.edges, num_nodes=g.num_nodes, x=g.x, y=g.y, splits=g.splits, directed=True),
        Graph(g.edges, num_nodes=g.num_nodes + 1, x=torch.cat([g.x, g.x[:1]]), y=torch.cat([g.y, g.y[:1]])),
    ]
    prints = [o.fingerprint() for o in others]
    assert fp not in prints and len(set(prints)) == len(prints)


# ------------------------------------------------------------------------------------------- edge split is a field
def _write_csv(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("\n".join(",".join(str(v) for v in row) for row in rows.reshape(len(rows), -1)) + "\n")


@pytest.fixture
def ogb_link_graph(tmp_path: Path) -> tuple[Graph, object]:
    """A tiny OGB link folder (as in tests/test_link.py) read back by load_ogb_raw, and the split it stores."""
    base = synthetic_dcsbm(num_nodes=60, num_edges=200, num_features=4, num_classes=2, seed=2)
    edges = base.edges.t().numpy()
    folder = tmp_path / "ogbl_tiny"
    _write_csv(folder / "raw" / "edge.csv.gz", edges)
    _write_csv(folder / "raw" / "num-node-list.csv.gz", np.array([base.num_nodes]))
    _write_csv(folder / "raw" / "num-edge-list.csv.gz", np.array([len(edges)]))
    _write_csv(folder / "raw" / "node-feat.csv.gz", base.x.numpy() + 1.0)  # no all-zero rows
    reference = split_edges(base, seed=0)
    parts = {
        "train": {"edge": reference.train_pos.t().numpy()},
        "valid": {"edge": reference.val_pos.t().numpy(), "edge_neg": reference.val_neg.t().numpy()},
        "test": {"edge": reference.test_pos.t().numpy(), "edge_neg": reference.test_neg.t().numpy()},
    }
    (folder / "split" / "time").mkdir(parents=True)
    for part, payload in parts.items():
        torch.save(payload, folder / "split" / "time" / f"{part}.pt")
    return load_ogb_raw(folder), reference


def test_ogb_edge_split_is_a_field_that_survives_feature_normalisation(ogb_link_graph) -> None:
    graph, reference = ogb_link_graph
    assert graph.edge_split is not None
    assert torch.equal(graph.edge_split["test"]["edge_neg"], reference.test_neg.t())
    normalized = row_normalize_features(graph)
    assert normalized.x is not graph.x and torch.allclose(normalized.x.sum(1), torch.ones(graph.num_nodes))
    assert normalized.edge_split is not None
    split = link_split_for_seed(normalized, seed=5)  # the dataset's split, not a seeded random one
    assert torch.equal(split.test_pos, reference.test_pos) and torch.equal(split.val_neg, reference.val_neg)
    # carried by keep_edges (same node ids), dropped by subgraph (node ids change)
    assert graph.keep_edges(torch.arange(graph.num_edges) % 2 == 0).edge_split is not None
    assert graph.subgraph(torch.arange(10)).edge_split is None
    assert graph.replace(edge_split=None).edge_split is None


def test_edge_split_is_validated_and_copied() -> None:
    edge = torch.tensor([[0, 1], [1, 2]])
    graph = Graph(torch.tensor([[0, 1], [1, 2]]), edge_split={"train": {"edge": edge}})
    edge[0, 0] = 2
    assert graph.edge_split["train"]["edge"].tolist() == [[0, 1], [1, 2]]
    graph.edge_split["train"]["edge"] = None  # the returned mapping is a copy
    assert graph.edge_split["train"]["edge"] is not None
    with pytest.raises(ValueError, match="out of range"):
        Graph(torch.tensor([[0, 1], [1, 2]]), edge_split={"train": {"edge": torch.tensor([[0, 9]])}})
    with pytest.raises(ValueError, match="mapping"):
        Graph(torch.tensor([[0, 1], [1, 2]]), edge_split={"train": [0, 1]})


# ------------------------------------------------------------------------------------------- stored results
def test_glt_store_key_follows_the_data(tmp_path: Path) -> None:
    graph = synthetic_dcsbm(num_nodes=60, num_edges=180, num_features=6, num_classes=3, seed=0)

    def factory():
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=4)

    store = ResultsStore(tmp_path / "glt.db")
    config = NodeTrainConfig(epochs=3)
    levels = glt_levels(1, 0.2, 0.2)

    def search(g: Graph) -> list[LevelResult]:
        return list(
            glt_search(
                g, factory, methods="random", levels=levels, seeds=[0], config=config, store=store, key_prefix="c"
            )
        )

    first = search(graph)
    assert not any(r.cached for r in first)
    assert all(f"data={graph.fingerprint()[:24]}|schema={SCHEMA_VERSION}" in r.key for r in first)
    assert all(r.cached for r in search(graph))  # unchanged data: served from the store
    # the same content rebuilt as another object is still served
    rebuilt = Graph(
        graph.edges, num_nodes=graph.num_nodes, x=graph.x.clone(), y=graph.y, splits=graph.splits, name=graph.name
    )
    assert all(r.cached for r in search(rebuilt))
    x = graph.x.clone()
    x[0, 0] += 1.0
    changed = search(graph.replace(x=x))  # same name, one feature value changed: recomputed
    assert not any(r.cached for r in changed)
    assert {r.key for r in changed}.isdisjoint(r.key for r in first)


def test_record_run_keeps_fingerprint_and_schema(tmp_path: Path, small_graph: Graph) -> None:
    store = ResultsStore(tmp_path / "runs.db")
    store.record_run("node", "small", "gcn", 0, {}, {"test_acc": 0.5}, graph_fingerprint=small_graph.fingerprint())
    store.record_run("node", "small", "gcn", 1, {}, {"test_acc": 0.6})
    runs = store.runs()
    assert runs[0]["graph_fingerprint"] == small_graph.fingerprint() and runs[1]["graph_fingerprint"] is None
    assert all(r["schema_version"] == SCHEMA_VERSION for r in runs)


def test_old_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as con:  # the layout before fingerprints
        con.executescript(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, kind TEXT NOT NULL, "
            "dataset TEXT NOT NULL, model TEXT NOT NULL, seed INTEGER, config TEXT NOT NULL, metrics TEXT NOT NULL, "
            "timings TEXT NOT NULL, versions TEXT NOT NULL);"
            "INSERT INTO runs (created, kind, dataset, model, seed, config, metrics, timings, versions) "
            "VALUES (1.0, 'node', 'cora', 'gcn', 0, '{}', '{\"test_acc\": 0.8}', '{}', '{}');"
        )
    con.close()
    store = ResultsStore(path)
    store.record_run("node", "cora", "gcn", 1, {}, {"test_acc": 0.81}, graph_fingerprint="abc")
    old, new = store.runs()
    assert old["metrics"] == {"test_acc": 0.8} and old["graph_fingerprint"] is None and old["schema_version"] is None
    assert new["graph_fingerprint"] == "abc" and new["schema_version"] == SCHEMA_VERSION
    ResultsStore(path)  # opening a migrated database again is a no-op


def test_operator_cached_in_inference_mode_is_not_served_outside_it(small_graph: Graph) -> None:
    with torch.inference_mode():
        assert normalized_adjacency(small_graph).values.is_inference()
    op = normalized_adjacency(small_graph)
    assert not op.values.is_inference()
    w = torch.ones(small_graph.num_features, 2, requires_grad=True)
    (op @ (small_graph.x @ w)).sum().backward()  # autograd can save the cached operator's tensors
    assert w.grad is not None
