import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphsparse import Graph, GraphError


def directed_pairs(graph: Graph) -> set[tuple[int, int]]:
    return set(map(tuple, graph.edge_index.t().tolist()))


def assert_symmetric(graph: Graph) -> None:
    pairs = directed_pairs(graph)
    assert all((v, u) in pairs for u, v in pairs)
    assert len(pairs) == 2 * graph.num_edges


def test_undirected_edges_stored_once_without_loops_or_duplicates(small_graph):
    g = small_graph
    # (0,1) given twice, (0,2) twice, the loop 5-5 dropped
    assert g.edges.t().tolist() == [[0, 1], [0, 2], [1, 2], [2, 3], [3, 4], [4, 5]]
    assert bool((g.edges[0] < g.edges[1]).all())
    assert_symmetric(g)
    assert g.degree().tolist() == [2.0, 2.0, 3.0, 2.0, 2.0, 1.0]


def test_coalescing_exact_edges():
    g = Graph(torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 2]]), num_nodes=3)
    assert g.edges.t().tolist() == [[0, 1], [1, 2]]
    assert g.degree().tolist() == [1.0, 2.0, 1.0]
    assert g.edge_index.t().tolist() == [[0, 1], [1, 2], [1, 0], [2, 1]]
    assert g.directed_edge_ids.tolist() == [0, 1, 0, 1]


def test_directed_graph_keeps_direction():
    g = Graph(torch.tensor([[0, 1, 0], [1, 2, 1]]), num_nodes=3, directed=True)
    assert g.num_edges == 2
    assert g.edge_index.t().tolist() == [[0, 1], [1, 2]]
    assert g.degree("in").tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keep_edges_stays_symmetric_and_removes_edges(seed):
    gen = torch.Generator().manual_seed(seed)
    g = Graph(torch.randint(0, 50, (2, 400), generator=gen), num_nodes=50)
    mask = torch.rand(g.num_edges, generator=gen) < 0.6
    pruned = g.keep_edges(mask)
    assert pruned.num_edges == int(mask.sum())
    assert_symmetric(pruned)
    kept = set(map(tuple, g.edges[:, mask].t().tolist()))
    assert set(map(tuple, pruned.edges.t().tolist())) == kept


def test_keep_edges_rejects_wrong_mask(small_graph):
    with pytest.raises(GraphError, match="boolean mask of shape"):
        small_graph.keep_edges(torch.ones(3, dtype=torch.bool))


def test_subgraph_relabels_and_keeps_induced_edges(small_graph):
    sub = small_graph.subgraph(torch.tensor([2, 3, 4]))
    assert sub.num_nodes == 3
    assert sub.edges.t().tolist() == [[0, 1], [1, 2]]
    assert torch.equal(sub.x, small_graph.x[[2, 3, 4]])
    assert sub.split().train.tolist() == [True, False, False]


def test_round_trip_pyg(small_graph):
    back = Graph.from_pyg(small_graph.to_pyg())
    assert torch.equal(back.edges, small_graph.edges)
    assert torch.equal(back.x, small_graph.x) and torch.equal(back.y, small_graph.y)
    assert list(back.splits) == ["public"]
    assert torch.equal(back.split().test, small_graph.split().test)


def test_round_trip_networkx_and_scipy(small_graph):
    nxg = small_graph.to_networkx()
    assert isinstance(nxg, nx.Graph) and nxg.number_of_edges() == small_graph.num_edges
    assert torch.equal(Graph.from_networkx(nxg).edges, small_graph.edges)
    mat = small_graph.to_scipy()
    assert (mat != mat.T).nnz == 0
    assert torch.equal(Graph.from_scipy(mat).edges, small_graph.edges)
    assert torch.equal(Graph.from_scipy(sp.coo_matrix(mat.toarray())).edges, small_graph.edges)


def test_isolated_nodes_survive_conversions():
    g = Graph(torch.tensor([[0], [1]]), num_nodes=4)
    assert Graph.from_networkx(g.to_networkx()).num_nodes == 4
    assert Graph.from_scipy(g.to_scipy()).num_nodes == 4
    assert Graph.from_pyg(g.to_pyg()).num_nodes == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"edge_index": torch.tensor([[0, 5], [1, 2]]), "num_nodes": 3}, "out of range"),
        ({"edge_index": torch.tensor([[0, -1], [1, 2]]), "num_nodes": 3}, "negative"),
        ({"edge_index": torch.tensor([[0.0, 1.0], [1.0, 2.0]]), "num_nodes": 3}, "integer dtype"),
        ({"edge_index": torch.tensor([[0, 1, 2]]), "num_nodes": 3}, r"shape \[2, E\]"),
        ({"edge_index": torch.tensor([[0], [1]]), "num_nodes": 0}, "empty"),
        ({"edge_index": torch.empty(2, 0, dtype=torch.long)}, "empty"),
        ({"edge_index": torch.tensor([[0], [1]]), "x": torch.tensor([[1.0], [float("nan")]])}, "NaN or inf"),
        ({"edge_index": torch.tensor([[0], [1]]), "x": torch.tensor([[1.0], [float("inf")]])}, "NaN or inf"),
        ({"edge_index": torch.tensor([[0], [1]]), "x": torch.ones(2)}, r"shape \[N, F\]"),
        ({"edge_index": torch.tensor([[0], [1]]), "num_nodes": 2, "y": torch.tensor([0, 1, 1])}, "3 labels"),
        ({"edge_index": torch.tensor([[0], [1]]), "num_nodes": 2, "x": torch.ones(3, 2)}, "3 rows"),
        ({"edge_index": torch.tensor([[0], [1]]), "y": torch.tensor([0.5, 1.0])}, "integer class labels"),
        (
            {"edge_index": torch.tensor([[0], [1]]), "num_nodes": 2, "splits": {"a": (torch.ones(3, dtype=bool),) * 3}},
            "split 'a': train mask has shape",
        ),
        (
            {"edge_index": torch.tensor([[0], [1]]), "num_nodes": 2, "splits": {"a": (torch.ones(2),) * 3}},
            "must be boolean",
        ),
    ],
)
def test_bad_input_gets_one_clear_error(kwargs, message):
    with pytest.raises(GraphError, match=message):
        Graph(**kwargs)


def test_numpy_inputs_accepted():
    g = Graph(np.array([[0, 1], [1, 2]]), x=np.ones((3, 2), dtype=np.float32))
    assert g.num_nodes == 3 and g.num_edges == 2


def test_unknown_split_lists_known(small_graph):
    with pytest.raises(GraphError, match="known: public"):
        small_graph.split("nope")
