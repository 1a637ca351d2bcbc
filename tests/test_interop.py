"""Faithful conversions: PyG ``Data``, networkx and scipy round trips keep everything — edges, edge
weights, x, y, every split and its order, the name and directedness — whatever the hash seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphsparse.graph import Graph, GraphError
from graphsparse.sparse import normalized_adjacency


def assert_same_graph(a: Graph, b: Graph, name: bool = True) -> None:
    assert (a.num_nodes, a.directed) == (b.num_nodes, b.directed)
    assert torch.equal(a.edges, b.edges)
    for left, right in ((a.edge_weight, b.edge_weight), (a.x, b.x), (a.y, b.y)):
        assert (left is None) == (right is None)
        if left is not None:
            assert left.dtype == right.dtype and torch.equal(left, right)
    assert list(a.splits) == list(b.splits)  # names and order
    for key, split in a.splits.items():
        for mine, theirs in zip(split, b.splits[key]):
            assert torch.equal(mine, theirs)
    if name:
        assert a.name == b.name
    assert (a.edge_split is None) == (b.edge_split is None)
    for part, fields in (a.edge_split or {}).items():
        assert list(fields) == list(b.edge_split[part])
        for key, value in fields.items():
            assert value.dtype == b.edge_split[part][key].dtype and torch.equal(value, b.edge_split[part][key])
    assert a.fingerprint() == b.fingerprint()


def _masks(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    part = torch.randint(0, 4, (n,), generator=torch.Generator().manual_seed(seed))
    return part == 0, part == 1, part == 2


@pytest.fixture
def weighted() -> Graph:
    """Weighted, labelled, with several splits in a deliberately unsorted order and an isolated node."""
    edges = torch.tensor([[0, 1, 2, 3, 0, 4], [1, 2, 3, 4, 2, 5]])
    weight = torch.tensor([0.5, 2.0, 1.25, 3.0, 0.75, 1.0])
    x = torch.arange(7 * 3, dtype=torch.float32).view(7, 3) / 7
    y = torch.tensor([0, 1, 2, 0, 1, 2, -1])
    splits = {name: _masks(7, i) for i, name in enumerate(["zeta", "public", "geom-gcn-2", "alpha", "geom-gcn-10"])}
    return Graph(edges, num_nodes=7, x=x, y=y, splits=splits, name="toy", edge_weight=weight)


# ------------------------------------------------------------------ the Graph's edge weights
def test_edge_weight_is_coalesced_per_undirected_edge(weighted):
    assert weighted.edge_weight.tolist() == [0.5, 0.75, 2.0, 1.25, 3.0, 1.0]  # edges sorted (0,1) (0,2) (1,2)...
    both = Graph(torch.tensor([[0, 1, 1], [1, 0, 2]]), edge_weight=torch.tensor([2.0, 2.0, 5.0]))
    assert both.edges.t().tolist() == [[0, 1], [1, 2]] and both.edge_weight.tolist() == [2.0, 5.0]
    with pytest.raises(GraphError, match="edge_weight differs .* edge \\(0, 1\\)"):
        Graph(torch.tensor([[0, 1], [1, 0]]), edge_weight=torch.tensor([1.0, 2.0]))
    for bad in (torch.tensor([0.0]), torch.tensor([-1.0]), torch.tensor([float("nan")]), torch.tensor([float("inf")])):
        with pytest.raises(GraphError, match="finite and > 0"):
            Graph(torch.tensor([[0], [1]]), edge_weight=bad)
    with pytest.raises(GraphError, match="shape"):
        Graph(torch.tensor([[0], [1]]), edge_weight=torch.ones(2))


def test_edge_weight_carried_by_keep_edges_replace_subgraph(weighted):
    mask = torch.tensor([True, False, True, False, True, True])
    kept = weighted.keep_edges(mask)
    assert torch.equal(kept.edge_weight, weighted.edge_weight[mask])
    assert weighted.replace(name="other").edge_weight is weighted.edge_weight
    moved = weighted.replace(edge_index=torch.tensor([[2, 0, 5], [1, 6, 4]]))  # (1,2) and (4,5) exist, (0,6) is new
    assert moved.edges.t().tolist() == [[0, 6], [1, 2], [4, 5]] and moved.edge_weight.tolist() == [1.0, 2.0, 1.0]
    as_directed = weighted.replace(directed=True, edge_index=torch.tensor([[2, 1, 6], [1, 2, 5]]))
    assert as_directed.edges.t().tolist() == [[1, 2], [2, 1], [6, 5]] and as_directed.edge_weight.tolist() == [
        2.0,
        2.0,
        1.0,
    ]
    directed = Graph(torch.tensor([[0, 2], [1, 1]]), directed=True, edge_weight=torch.tensor([1.5, 2.5]))
    assert directed.replace(directed=False).edge_weight.tolist() == [1.5, 2.5]
    assert directed.replace(edge_index=torch.tensor([[1, 2], [0, 1]])).edge_weight.tolist() == [1.0, 2.5]
    reweighted = weighted.replace(edge_weight=torch.full((6,), 4.0))
    assert reweighted.edge_weight.tolist() == [4.0] * 6 and torch.equal(reweighted.edges, weighted.edges)
    assert weighted.replace(edge_weight=None).edge_weight is None
    sub = weighted.subgraph(torch.tensor([1, 2, 3]))
    assert sub.edges.t().tolist() == [[0, 1], [1, 2]] and sub.edge_weight.tolist() == [2.0, 1.25]
    assert weighted.fingerprint() != weighted.replace(edge_weight=None).fingerprint()


def test_normalisation_uses_the_graph_weights(weighted):
    n = weighted.num_nodes
    dense = torch.zeros(n, n, dtype=torch.float64)
    u, v = weighted.edges
    dense[u, v] = dense[v, u] = weighted.edge_weight.double()
    dense += torch.eye(n, dtype=torch.float64)
    inv = dense.sum(1).pow(-0.5)
    expected = inv[:, None] * dense * inv[None, :]
    op = normalized_adjacency(weighted, dtype=torch.float64)
    torch.testing.assert_close(op.to_dense(), expected)
    # explicit edge values replace the stored weights
    ones = normalized_adjacency(weighted, torch.ones(weighted.num_edges, dtype=torch.float64), dtype=torch.float64)
    torch.testing.assert_close(
        ones.to_dense(), normalized_adjacency(weighted.replace(edge_weight=None)).to_dense().double()
    )


# ------------------------------------------------------------------ PyG
def test_pyg_round_trip_keeps_everything(weighted):
    data = weighted.to_pyg()
    public = weighted.splits["public"]
    assert torch.equal(data.train_mask, public.train) and torch.equal(data.test_mask, public.test)
    assert torch.equal(data["geom-gcn-2__val_mask"], weighted.splits["geom-gcn-2"].val)
    assert data.split_names == ["zeta", "public", "geom-gcn-2", "alpha", "geom-gcn-10"]
    assert data.edge_weight.numel() == data.edge_index.size(1) == 2 * weighted.num_edges
    assert_same_graph(Graph.from_pyg(data), weighted)
    data.x[0, 0] = 99.0  # a copy: the graph is untouched
    assert float(weighted.x[0, 0]) == 0.0


def test_pyg_round_trip_keeps_the_edge_split():
    edge_split = {
        "train": {"edge": torch.tensor([[0, 1], [1, 2]])},
        "valid": {"edge": torch.tensor([[2, 3]]), "edge_neg": torch.tensor([[0, 3]])},
        "test": {"edge": torch.tensor([[0, 2]], dtype=torch.int32), "edge_neg": torch.tensor([[1, 3]])},
    }
    graph = Graph(torch.tensor([[0, 1, 2], [1, 2, 3]]), x=torch.ones(4, 2), edge_split=edge_split, name="ogbl-toy")
    assert_same_graph(Graph.from_pyg(graph.to_pyg()), graph)


def test_cluster_batches_carry_the_weights(weighted):
    from graphsparse.batching.loader import ClusterLoader

    loader = ClusterLoader(weighted, torch.tensor([0, 0, 0, 1, 1, 1, 1]), clusters_per_batch=1, seed=0)
    batch = loader.induced_subgraph(torch.tensor([3, 4, 5]))
    assert batch.edges.t().tolist() == [[0, 1], [1, 2]] and batch.edge_weight.tolist() == [3.0, 1.0]


def test_pyg_default_split_is_the_first_without_public():
    g = Graph(torch.tensor([[0, 1], [1, 2]]), splits={"b": _masks(3, 1), "a": _masks(3, 2)})
    data = g.to_pyg()
    assert torch.equal(data.train_mask, g.splits["b"].train)
    assert_same_graph(Graph.from_pyg(data), g)


def test_pyg_round_trip_of_cora_keeps_public_first():
    from graphsparse.data import load_dataset

    cora = load_dataset("cora")
    back = Graph.from_pyg(cora.to_pyg())
    assert list(back.splits)[0] == "public" and back.name == "cora"
    assert_same_graph(back, cora)


def test_pyg_without_split_names_reads_named_masks_in_attribute_order(weighted):
    data = weighted.to_pyg()
    del data.split_names
    assert list(Graph.from_pyg(data).splits) == list(weighted.splits)


def test_pyg_plain_and_stacked_masks_and_ogb_inputs():
    from torch_geometric.data import Data

    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    tr, va, te = _masks(3, 0)
    plain = Graph.from_pyg(Data(edge_index=edge_index, num_nodes=3, train_mask=tr, val_mask=va, test_mask=te))
    assert list(plain.splits) == ["default"] and torch.equal(plain.split().train, tr)
    stacked = Data(
        edge_index=edge_index,
        num_nodes=3,
        train_mask=torch.stack([tr, va], 1),
        val_mask=torch.stack([va, te], 1),
        test_mask=torch.stack([te, tr], 1),
    )
    assert list(Graph.from_pyg(stacked).splits) == ["0", "1"]
    # OGB: [N, 1] labels and a split_idx dict
    ogb = Data(edge_index=edge_index, num_nodes=3, x=torch.ones(3, 2), y=torch.tensor([[0], [1], [0]]))
    graph = Graph.from_pyg(ogb, split_idx={"train": torch.tensor([0]), "valid": np.array([1]), "test": [2]})
    assert graph.y.tolist() == [0, 1, 0]
    assert [s.nonzero().view(-1).tolist() for s in graph.splits["ogb"]] == [[0], [1], [2]]
    with pytest.raises(GraphError, match="'valid'"):
        Graph.from_pyg(ogb, split_idx={"train": [0], "test": [2]})


def test_pyg_edge_attr_refused_unless_dropped():
    from torch_geometric.data import Data

    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_attr=torch.ones(2, 4), num_nodes=2)
    with pytest.raises(GraphError, match="edge_attr .*drop_edge_attr=True"):
        Graph.from_pyg(data)
    assert Graph.from_pyg(data, drop_edge_attr=True).num_edges == 1
    weighted = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_weight=torch.tensor([[3.0], [3.0]]), num_nodes=2)
    assert Graph.from_pyg(weighted).edge_weight.tolist() == [3.0]


def test_pyg_directed_input_is_converted_explicitly():
    from torch_geometric.data import Data

    data = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.warns(UserWarning, match="not symmetric.*undirected=True.*directed=True"):
        made = Graph.from_pyg(data)
    assert not made.directed and made.edge_index.size(1) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not Graph.from_pyg(data, undirected=True).directed
        assert not Graph.from_pyg(data, directed=False).directed
        kept = Graph.from_pyg(data, directed=True)
        assert kept.directed and kept.edges.t().tolist() == [[0, 1], [1, 2]]
        assert Graph.from_pyg(data, undirected=False).directed
        symmetric = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
        assert not Graph.from_pyg(symmetric).directed  # symmetric: no warning
        directed = Graph(torch.tensor([[0, 1], [1, 2]]), directed=True, edge_weight=torch.tensor([1.5, 2.5]))
        assert_same_graph(Graph.from_pyg(directed.to_pyg()), directed)
    with pytest.raises(GraphError, match="contradicts"):
        Graph.from_pyg(data, directed=True, undirected=True)


# ------------------------------------------------------------------ networkx
def test_networkx_round_trip_keeps_everything(weighted):
    g = weighted.to_networkx()
    assert g.graph["name"] == "toy" and list(g.graph["splits"]) == list(weighted.splits)
    assert g.edges[0, 1]["weight"] == 0.5 and g.nodes[6]["y"] == -1
    assert_same_graph(Graph.from_networkx(g), weighted)
    directed = Graph(torch.tensor([[0, 2], [1, 1]]), directed=True, edge_weight=torch.tensor([1.5, 2.5]))
    assert isinstance(directed.to_networkx(), nx.DiGraph)
    assert_same_graph(Graph.from_networkx(directed.to_networkx()), directed)


def test_networkx_any_hashable_labels_and_attributes():
    g = nx.Graph()
    g.add_node("c", x=[1.0, 0.0], y=2)
    g.add_node("a", x=[0.0, 1.0], y=0)
    g.add_node("b", x=[1.0, 1.0], y=1)
    g.add_edge("a", "c", weight=2.0)
    g.add_edge("b", "c")  # no weight: counts 1, as in networkx
    graph, mapping = Graph.from_networkx(g, return_mapping=True)
    assert mapping == {"a": 0, "b": 1, "c": 2}
    assert graph.x.tolist() == [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]] and graph.y.tolist() == [0, 1, 2]
    assert graph.edges.t().tolist() == [[0, 2], [1, 2]] and graph.edge_weight.tolist() == [2.0, 1.0]
    plain = Graph.from_networkx(g, x_attr=None, y_attr=None, weight_attr=None)
    assert plain.x is None and plain.y is None and plain.edge_weight is None
    labels = Graph.from_networkx(g, x_attr="y", y_attr=None)  # attribute names are configurable
    assert labels.x.tolist() == [[0.0], [1.0], [2.0]]
    # unorderable labels: insertion order
    mixed = nx.Graph([(("t", 1), "s"), ("s", 3)])
    _, order = Graph.from_networkx(mixed, return_mapping=True)
    assert order == {("t", 1): 0, "s": 1, 3: 2}
    g.add_node("d", y=0)
    with pytest.raises(GraphError, match="node 'd' has no 'x'"):
        Graph.from_networkx(g)


def test_networkx_multigraph_refused():
    with pytest.raises(GraphError, match="MultiGraph .*parallel edges.*nx.Graph"):
        Graph.from_networkx(nx.MultiGraph([(0, 1), (0, 1)]))


# ------------------------------------------------------------------ scipy
def test_scipy_round_trip_keeps_weights(weighted):
    mat = weighted.to_scipy()
    assert mat[0, 1] == mat[1, 0] == 0.5 and (mat != mat.T).nnz == 0
    back = Graph.from_scipy(mat)
    assert torch.equal(back.edges, weighted.edges) and torch.equal(back.edge_weight, weighted.edge_weight)
    assert Graph.from_scipy(mat, weighted=False).edge_weight is None
    ones = Graph(torch.tensor([[0, 1], [1, 2]]))
    assert Graph.from_scipy(ones.to_scipy()).edge_weight is None  # all ones: unweighted
    assert Graph.from_scipy(ones.to_scipy(), weighted=True).edge_weight.tolist() == [1.0, 1.0]
    explicit_zero = sp.coo_matrix((np.array([1.0, 0.0]), (np.array([0, 1]), np.array([1, 2]))), shape=(3, 3))
    assert Graph.from_scipy(explicit_zero).num_edges == 1
    with pytest.raises(GraphError, match="edge_weight differs"):
        Graph.from_scipy(sp.csr_matrix(np.array([[0, 1.0], [2.0, 0]])))


# ------------------------------------------------------------------ determinism across hash seeds
_SCRIPT = """
import json, torch
from graphsparse.graph import Graph
names = ["geom-gcn-%d" % i for i in (3, 0, 7, 1)] + ["public", "z", "a"]
masks = lambda i: tuple(torch.arange(12) % 4 == (i + k) % 4 for k in range(3))
g = Graph(torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=12, splits={n: masks(i) for i, n in enumerate(names)})
via_pyg = Graph.from_pyg(g.to_pyg())
via_nx = Graph.from_networkx(g.to_networkx())
print(json.dumps({"pyg": list(via_pyg.splits), "nx": list(via_nx.splits), "fp": via_pyg.fingerprint(),
                  "keys": [k for k in g.to_pyg().to_dict() if k.endswith("_mask")]}))
"""


def test_split_order_does_not_depend_on_the_hash_seed():
    outputs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, OMP_NUM_THREADS="1")
        run = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outputs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]
    expected = ["geom-gcn-3", "geom-gcn-0", "geom-gcn-7", "geom-gcn-1", "public", "z", "a"]
    assert outputs[0]["pyg"] == outputs[0]["nx"] == expected
