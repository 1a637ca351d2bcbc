import pytest
import torch

from graphsparse import Graph, GraphError
from graphsparse.sparse import normalized_adjacency, spmm


def random_graph(seed: int, directed: bool = False) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    return Graph(torch.randint(0, 25, (2, 90), generator=gen), num_nodes=25, directed=directed)


def dense_reference(graph: Graph, w: torch.Tensor, normalization: str) -> torch.Tensor:
    """Dense (A_w + I) normalised the textbook way."""
    n = graph.num_nodes
    a = torch.zeros(n, n, dtype=w.dtype)
    row, col = graph.edge_index
    a = a.index_put((row, col), w[graph.directed_edge_ids], accumulate=True) + torch.eye(n, dtype=w.dtype)
    deg = a.sum(1)
    if normalization == "sym":
        d = deg.pow(-0.5)
        return d[:, None] * a * d[None, :]
    return a / deg[:, None]


@pytest.mark.parametrize("normalization", ["sym", "row"])
@pytest.mark.parametrize("directed", [False, True])
def test_operator_matches_dense_reference_and_gradients(normalization, directed):
    g = random_graph(1, directed)
    w = torch.rand(g.num_edges, dtype=torch.float64, requires_grad=True)
    x = torch.randn(g.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    op = normalized_adjacency(g, w, normalization=normalization, dtype=torch.float64)
    assert torch.allclose(op.to_dense(), dense_reference(g, w, normalization))
    ours = spmm(op, x)
    ref = dense_reference(g, w, normalization) @ x
    assert torch.allclose(ours, ref)
    upstream = torch.randn_like(ref)
    gw, gx = torch.autograd.grad((ours * upstream).sum(), (w, x))
    rw, rx = torch.autograd.grad((ref * upstream).sum(), (w, x))
    assert torch.allclose(gw, rw) and torch.allclose(gx, rx)


def test_gradcheck_edge_values_and_features():
    g = random_graph(2)
    w = torch.rand(g.num_edges, dtype=torch.float64, requires_grad=True)
    x = torch.randn(g.num_nodes, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, x: normalized_adjacency(g, w, dtype=torch.float64) @ x, (w, x))


def test_constant_operator_is_cached_per_graph():
    g = random_graph(3)
    assert normalized_adjacency(g) is normalized_adjacency(g)
    other = g.keep_edges(torch.ones(g.num_edges, dtype=torch.bool))
    assert normalized_adjacency(other) is not normalized_adjacency(g)


def test_pruned_edges_shrink_the_operator():
    g = random_graph(4)
    mask = torch.arange(g.num_edges) % 2 == 0
    assert normalized_adjacency(g.keep_edges(mask)).structure.nnz == 2 * int(mask.sum()) + g.num_nodes


def test_matches_pyg_gcn_norm():
    from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm

    g = random_graph(5)
    ei, ew = pyg_gcn_norm(g.edge_index, None, g.num_nodes, add_self_loops=True)
    ref = torch.zeros(g.num_nodes, g.num_nodes).index_put((ei[1], ei[0]), ew, accumulate=True)
    assert torch.allclose(normalized_adjacency(g).to_dense(), ref, atol=1e-6)


def test_bad_edge_values_shape():
    g = random_graph(6)
    with pytest.raises(GraphError, match="one per edge id"):
        normalized_adjacency(g, torch.ones(3))
    with pytest.raises(GraphError, match="normalization"):
        normalized_adjacency(g, normalization="cols")


def test_edge_value_gradient_fallback_matches_sddmm(monkeypatch):
    from graphsparse import sparse

    op = normalized_adjacency(random_graph(3, directed=True))
    gen = torch.Generator().manual_seed(1)
    grad_out = torch.randn(op.structure.num_nodes, 5, generator=gen)
    x = torch.randn(op.structure.num_nodes, 5, generator=gen)
    fast = sparse._edge_value_grad(op.structure, op.values, grad_out, x)

    def unsupported(*args, **kwargs):
        raise NotImplementedError("no SDDMM here")

    monkeypatch.setattr(torch.sparse, "sampled_addmm", unsupported)
    monkeypatch.setattr(sparse, "_GRAD_CHUNK_ELEMENTS", 8)  # several chunks
    slow = sparse._edge_value_grad(op.structure, op.values, grad_out, x)
    expected = (grad_out[op.structure.row] * x[op.structure.col]).sum(-1)
    assert torch.allclose(fast, expected, atol=1e-5) and torch.allclose(slow, expected, atol=1e-5)
