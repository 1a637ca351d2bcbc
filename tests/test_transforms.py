"""A PyG user prunes without leaving PyG: ``graphsparse.transforms`` in a ``Compose`` on the shipped Cora
trains a PyG GCN; the pruned Data is symmetric with exactly the expected edges removed and every other attribute
carried; ``ApplyTicket`` equals the Graph round trip; ``Ticket.apply`` takes a Data; ``load_compact`` gives back
the compacted model."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data, HeteroData
from torch_geometric.nn import GCNConv
from torch_geometric.transforms import Compose, NormalizeFeatures
from torch_geometric.utils import is_undirected

from graphsparse.graph import Graph, GraphError
from graphsparse.graph.convert import from_pyg, to_pyg
from graphsparse.nn import GCN
from graphsparse.sparsify import Ticket, edge_keep_mask, teddy_edge_scores
from graphsparse.sparsify.compact import CompactGCN, compact_gcn, load_compact, save_compact
from graphsparse.transforms import ApplyTicket, RandomEdgePrune, TeddyPrune


def undirected_keys(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The sorted unique keys ``min * N + max`` of the non-loop columns: the undirected edge set."""
    row, col = edge_index
    keep = row != col
    row, col = row[keep], col[keep]
    return torch.unique(torch.minimum(row, col) * num_nodes + torch.maximum(row, col))


def assert_same_data(a: Data, b: Data) -> None:
    assert sorted(a.keys()) == sorted(b.keys())
    for key in a.keys():
        left, right = a[key], b[key]
        if isinstance(left, torch.Tensor):
            assert left.dtype == right.dtype and torch.equal(left, right), key
        elif isinstance(left, dict):
            assert left.keys() == right.keys(), key
        else:
            assert left == right, key


def _ticket(graph: Graph, sparsity: float = 0.4) -> Ticket:
    return Ticket(
        edge_keep_mask(torch.rand(graph.num_edges, generator=torch.Generator().manual_seed(3)), sparsity), {}, {}
    )


# ------------------------------------------------------------------ a PyG pipeline on the shipped Cora
def test_compose_teddy_prune_on_cora_trains_a_pyg_gcn(cora):
    data = to_pyg(cora, minimal=True)
    original = copy.copy(data)
    pipeline = Compose([NormalizeFeatures(), TeddyPrune(0.3)])
    pruned = pipeline(data)

    # exactly round(0.3 * M) undirected edges gone, the lowest TEDDY scores, both directions of each
    n, m = cora.num_nodes, cora.num_edges
    assert is_undirected(pruned.edge_index, num_nodes=n)
    kept = undirected_keys(pruned.edge_index, n)
    assert kept.numel() == m - round(0.3 * m) and pruned.edge_index.size(1) == 2 * kept.numel()
    expected = cora.keep_edges(edge_keep_mask(teddy_edge_scores(cora), 0.3))
    assert torch.equal(kept, expected.edges[0] * n + expected.edges[1])
    # the masks and labels carried through, the features normalised by the first transform, the input untouched
    assert sorted(pruned.keys()) == sorted(data.keys())
    for key in ("y", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(pruned[key], data[key])
    sums = pruned.x.sum(1)
    assert torch.allclose(sums[sums > 0], torch.ones(int((sums > 0).sum())))
    assert torch.equal(data.edge_index, original.edge_index) and data.edge_index.size(1) == 2 * m

    torch.manual_seed(0)
    conv1, conv2 = GCNConv(pruned.num_features, 16), GCNConv(16, int(pruned.y.max()) + 1)
    params = [*conv1.parameters(), *conv2.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)

    def forward(train: bool) -> torch.Tensor:
        h = F.dropout(pruned.x, 0.5, train)
        h = F.dropout(F.relu(conv1(h, pruned.edge_index)), 0.5, train)
        return conv2(h, pruned.edge_index)

    for _ in range(100):
        optimizer.zero_grad()
        F.cross_entropy(forward(True)[pruned.train_mask], pruned.y[pruned.train_mask]).backward()
        optimizer.step()
    with torch.no_grad():
        predicted = forward(False).argmax(1)
    accuracy = float((predicted[pruned.test_mask] == pruned.y[pruned.test_mask]).float().mean())
    assert accuracy > 0.65, accuracy  # chance is 1/7; GCN on the full graph gets about 0.81


def test_random_prune_is_seeded_symmetric_and_exact(cora):
    data = to_pyg(cora, minimal=True)
    first, again, other = (
        RandomEdgePrune(0.5)(data),
        RandomEdgePrune(0.5, seed=0)(data),
        RandomEdgePrune(0.5, seed=1)(data),
    )
    n, m = cora.num_nodes, cora.num_edges
    for pruned in (first, other):
        assert is_undirected(pruned.edge_index, num_nodes=n)
        assert undirected_keys(pruned.edge_index, n).numel() == m - round(0.5 * m)
    assert torch.equal(first.edge_index, again.edge_index)
    assert not torch.equal(first.edge_index, other.edge_index)
    assert torch.equal(RandomEdgePrune(0.0)(data).edge_index, data.edge_index)
    assert repr(RandomEdgePrune(0.5, seed=2)) == "RandomEdgePrune(fraction=0.5, seed=2)"


def test_edge_attributes_self_loops_and_extras_are_carried():
    # edges (0, 1), (1, 2), (2, 3), (0, 3) both ways, plus a self-loop on node 2
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 3, 2], [1, 0, 2, 1, 3, 2, 3, 0, 2]])
    edge_attr = torch.arange(9 * 2, dtype=torch.float32).view(9, 2)
    edge_weight = torch.tensor([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0])
    data = Data(
        x=torch.randn(4, 3),
        edge_index=edge_index,
        edge_attr=edge_attr,
        edge_weight=edge_weight,
        y=torch.tensor([0, 1, 0, 1]),
        train_mask=torch.tensor([True, True, False, False]),
        note="kept",
        graph_level=torch.tensor([7.0]),
    )
    pruned = RandomEdgePrune(0.5, seed=4)(data)
    assert sorted(pruned.keys()) == sorted(data.keys())
    assert pruned.note == "kept" and torch.equal(pruned.graph_level, data.graph_level)
    assert torch.equal(pruned.x, data.x) and torch.equal(pruned.train_mask, data.train_mask)
    # the columns kept are a subsequence of the input's, each with its own edge_attr and edge_weight
    columns = [edge_index.t().tolist().index(c) for c in pruned.edge_index.t().tolist()]
    assert columns == sorted(columns)
    assert torch.equal(pruned.edge_attr, edge_attr[columns]) and torch.equal(pruned.edge_weight, edge_weight[columns])
    assert 8 in columns  # the self-loop is no undirected edge: kept, not counted
    assert undirected_keys(pruned.edge_index, 4).numel() == 2
    assert data.edge_index.size(1) == 9  # the input is not modified


def test_bad_inputs_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match=r"TeddyPrune fraction must lie in \[0, 1\)"):
        TeddyPrune(1.0)
    with pytest.raises(ValueError, match="RandomEdgePrune fraction"):
        RandomEdgePrune(-0.1)
    with pytest.raises(TypeError, match="homogeneous torch_geometric Data"):
        TeddyPrune(0.1)(HeteroData())
    directed = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3, directed=True)
    with pytest.raises(ValueError, match="undirected graph"):
        TeddyPrune(0.1)(directed)
    with pytest.raises(TypeError, match="Ticket or the path"):
        ApplyTicket(3)


# ------------------------------------------------------------------ tickets on a Data
@pytest.mark.parametrize("minimal", [False, True])
def test_apply_ticket_equals_the_graph_round_trip(cora, minimal):
    data = to_pyg(cora, minimal=minimal)
    ticket = _ticket(cora)
    pruned = ApplyTicket(ticket)(data)
    assert_same_data(pruned, to_pyg(ticket.apply(from_pyg(data)), minimal=minimal))
    assert_same_data(ticket.apply(data), pruned)
    assert_same_data(ticket.apply_to_graph(data), pruned)  # a Data no longer crashes apply_to_graph
    assert is_undirected(pruned.edge_index) and pruned.edge_index.size(1) == 2 * int(ticket.edge_keep_mask.sum())


def test_apply_ticket_on_a_weighted_graph_and_from_a_file(tmp_path):
    edges = torch.tensor([[0, 1, 2, 3, 0, 4], [1, 2, 3, 4, 2, 5]])
    graph = Graph(edges, num_nodes=6, x=torch.randn(6, 2), edge_weight=torch.tensor([0.5, 2.0, 1.25, 3.0, 0.75, 1.0]))
    ticket = _ticket(graph, 0.5)
    ticket.save(tmp_path / "t.pt")
    data = to_pyg(graph, minimal=True)
    pruned = ApplyTicket(tmp_path / "t.pt")(data)
    assert_same_data(pruned, to_pyg(ticket.apply(graph), minimal=True))
    assert torch.equal(pruned.edge_weight, to_pyg(ticket.apply(from_pyg(data)), minimal=True).edge_weight)
    assert isinstance(ticket.apply(graph), Graph) and ticket.apply(graph).num_edges == 3
    assert "kept 3 of 6 edges" in repr(ApplyTicket(ticket))


def test_ticket_of_another_graph_is_refused_for_a_data(cora, small_graph):
    ticket = _ticket(small_graph)
    with pytest.raises(GraphError, match=r"ticket edge mask has 6 entries but the Data has 5278 undirected edges"):
        ticket.apply(to_pyg(cora, minimal=True))
    with pytest.raises(GraphError, match="different graph"):
        ticket.apply_to_graph(to_pyg(cora))
    with pytest.raises(GraphError, match="different graph"):
        ticket.apply(cora)


# ------------------------------------------------------------------ the compact file
def _sparse_gcn(graph: Graph) -> GCN:
    torch.manual_seed(0)
    model = GCN(graph.num_features, 6, graph.num_classes)
    with torch.no_grad():
        model.convs[0].weight[1] = 0.0  # input feature 1 unread
        model.convs[0].weight[:, 2] = 0.0  # hidden unit 2 constant relu(b)
        model.convs[0].bias.copy_(torch.tensor([0.1, -0.3, 0.7, 0.2, -0.1, 0.4]))
        model.convs[1].weight[4] = 0.0  # hidden unit 4 unused downstream
    return model.eval()


def test_load_compact_gives_the_original_outputs(small_graph, tmp_path):
    model = _sparse_gcn(small_graph)
    ticket = _ticket(small_graph, 0.5)
    pruned = ticket.apply(small_graph)
    compact = compact_gcn(model)
    save_compact(compact, tmp_path / "c.pt", edge_keep_mask=ticket.edge_keep_mask, provenance={"dataset": "small"})
    loaded = load_compact(tmp_path / "c.pt")
    assert isinstance(loaded, CompactGCN) and not loaded.training
    assert loaded.widths == compact.widths == [3, 4, 2]
    assert torch.equal(loaded.edge_keep_mask, ticket.edge_keep_mask) and loaded.provenance == {"dataset": "small"}
    with torch.no_grad():
        expected = model(pruned)
    assert torch.allclose(loaded(small_graph.keep_edges(loaded.edge_keep_mask)), expected, atol=1e-6)
    assert torch.allclose(loaded(pruned), compact(pruned))


def test_load_compact_reads_the_file_ticket_compact_writes(small_graph, tmp_path):
    """The payload exactly as ``graphsparse ticket compact`` (cli/ticket.py) builds it."""
    model = _sparse_gcn(small_graph)
    compact = compact_gcn(model)
    mask = torch.ones(small_graph.num_edges, dtype=torch.bool)
    payload = {
        "format": "graphsparse.compact_gcn",
        "version": 1,
        "feature_index": compact.feature_index.clone(),
        "weights": [w.detach().clone() for w in compact.weights],
        "biases": [b.detach().clone() for b in compact.biases],
        "offsets": [torch.empty(0) if o is None else o.detach().clone() for o in compact.offsets],
        "edge_keep_mask": mask,
        "provenance": {"model": "gcn", "seed": 0},
    }
    torch.save(payload, tmp_path / "c.pt")
    loaded = load_compact(tmp_path / "c.pt")
    with torch.no_grad():
        assert torch.allclose(loaded(small_graph), model(small_graph), atol=1e-6)
    # save_compact writes the same layout
    save_compact(loaded, tmp_path / "again.pt")
    again = torch.load(tmp_path / "again.pt", weights_only=True)
    assert sorted(again) == sorted(payload) and torch.equal(again["edge_keep_mask"], mask)


def test_load_compact_refuses_what_is_not_a_compact_file(small_graph, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_compact(tmp_path / "missing.pt")
    Ticket(torch.ones(3, dtype=torch.bool), {}, {}).save(tmp_path / "ticket.pt")
    with pytest.raises(ValueError, match="not a compact GCN file"):
        load_compact(tmp_path / "ticket.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a compact GCN file"):
        load_compact(tmp_path / "text.pt")
    compact = compact_gcn(_sparse_gcn(small_graph))
    save_compact(compact, tmp_path / "c.pt")
    payload = torch.load(tmp_path / "c.pt", weights_only=True)
    payload["biases"][1] = torch.zeros(5)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"layer 1's bias has shape \[5\], expected \[2\]"):
        load_compact(tmp_path / "bad.pt")
    payload["version"] = 9
    torch.save(payload, tmp_path / "v9.pt")
    with pytest.raises(ValueError, match="unsupported compact GCN version 9"):
        load_compact(tmp_path / "v9.pt")
