"""Our layers carry names of their own where their signatures differ from PyG's."""

from __future__ import annotations

import torch

import graphsparse.nn as gnn
from graphsparse import Graph


def test_no_pyg_names_with_other_signatures():
    for name in ("GCNConv", "gcn_norm"):
        assert not hasattr(gnn, name) and name not in gnn.__all__
    assert {"SparseGCNConv", "gcn_normalized_operator"} <= set(gnn.__all__)


def test_sparse_gcn_conv_equals_pyg_gcn_conv():
    from torch_geometric.nn import GCNConv as PyGGCNConv

    torch.manual_seed(0)
    edges = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    graph = Graph(num_nodes=5, edge_index=edges, x=torch.randn(5, 3))
    ours = gnn.SparseGCNConv(3, 2)
    theirs = PyGGCNConv(3, 2)
    with torch.no_grad():
        theirs.lin.weight.copy_(ours.weight.T)
        theirs.bias.copy_(torch.randn(2))
        ours.bias.copy_(theirs.bias)
    expected = theirs(graph.x, torch.cat([edges, edges.flip(0)], 1))
    got = ours(graph.x, gnn.gcn_normalized_operator(graph))
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
