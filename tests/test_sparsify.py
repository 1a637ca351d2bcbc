"""Tests for graphsparse.sparsify: edge scorers and pruning, weight masks, l0 projection and tickets."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from graphsparse.graph import Graph, GraphError
from graphsparse.nn import GCN
from graphsparse.sparsify import (
    Ticket,
    apply_weight_masks,
    degree_product_scores,
    edge_keep_mask,
    global_magnitude_masks,
    l0_projection,
    prunable_parameters,
    prune_edges,
    random_edge_scores,
    teddy_edge_scores,
    weight_sparsity,
)
from graphsparse.tasks.node import NodeTrainConfig, train_node
from graphsparse.utils import seed_everything


def small_graph(num_nodes: int = 40, num_edges: int = 120, seed: int = 0) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=gen)
    x = torch.randn(num_nodes, 8, generator=gen)
    y = torch.randint(0, 3, (num_nodes,), generator=gen)
    perm = torch.randperm(num_nodes, generator=gen)
    train, val, test = (torch.zeros(num_nodes, dtype=torch.bool) for _ in range(3))
    train[perm[:20]], val[perm[20:30]], test[perm[30:]] = True, True, True
    return Graph(edge_index, num_nodes=num_nodes, x=x, y=y, splits={"s": (train, val, test)}, name="small")


# ---------------------------------------------------------------- TEDDY by hand
def test_teddy_path_by_hand():
    # path 0-1-2-3: degrees 1, 2, 2, 1
    # g_0 = 2^-1/2 = 0.70711; g_1 = (1^-1/2 + 2^-1/2)/2 = 0.85355; g_2 = g_1; g_3 = g_0
    # g_hat = g/d: 0.70711, 0.42678, 0.42678, 0.70711
    # scores: (0,1) = 0.70711 * 0.42678 = 0.30178; (1,2) = 0.42678^2 = 0.18214; (2,3) = 0.30178
    graph = Graph(torch.tensor([[0, 1, 2], [1, 2, 3]]))
    expected = torch.tensor([0.301777, 0.182138, 0.301777])
    assert torch.allclose(teddy_edge_scores(graph), expected, atol=1e-5)
    # the middle edge goes first; pruning 1 of 3 keeps the two ends
    assert edge_keep_mask(teddy_edge_scores(graph), 1 / 3).tolist() == [True, False, True]


def test_teddy_star_with_tail_by_hand():
    # star centre 0 with leaves 1, 2, 3 and a tail 3-4. degrees: d0=3, d1=d2=1, d3=2, d4=1
    # g0 = (1 + 1 + 2^-1/2)/3 = 0.90237, g_hat0 = 0.30079
    # g1 = g2 = 3^-1/2 = 0.57735 (= g_hat since d=1)
    # g3 = (3^-1/2 + 1)/2 = 0.78868, g_hat3 = 0.39434
    # g4 = 2^-1/2 = 0.70711 (= g_hat)
    # edges sorted by (u, v): (0,1), (0,2), (0,3), (3,4)
    # scores: 0.30079*0.57735 = 0.17366 (twice), 0.30079*0.39434 = 0.11861, 0.39434*0.70711 = 0.27884
    graph = Graph(torch.tensor([[0, 0, 0, 3], [1, 2, 3, 4]]))
    scores = teddy_edge_scores(graph)
    assert torch.allclose(scores, torch.tensor([0.173660, 0.173660, 0.118613, 0.278842]), atol=1e-5)
    # two edges pruned: (0,3) lowest, then the tie (0,1)/(0,2) goes to the lower id (0,1)
    assert edge_keep_mask(scores, 0.5).tolist() == [False, True, False, True]


def test_teddy_matches_dense_reference():
    graph = small_graph()
    adj = torch.zeros(graph.num_nodes, graph.num_nodes, dtype=torch.float64)
    adj[graph.edge_index[0], graph.edge_index[1]] = 1.0
    deg = adj.sum(1)
    g = torch.zeros_like(deg)
    for i in range(graph.num_nodes):
        nbrs = adj[i].nonzero().view(-1)
        if len(nbrs):
            g[i] = sum(deg[k] ** -0.5 for k in nbrs) / len(nbrs)
    g_hat = torch.where(deg > 0, g / deg.clamp(min=1), torch.zeros_like(g))
    u, v = graph.edges
    assert torch.allclose(teddy_edge_scores(graph).double(), g_hat[u] * g_hat[v], atol=1e-6)


# ---------------------------------------------------------------- pruning
@pytest.mark.parametrize("scorer", ["teddy", "random", "degree"])
@pytest.mark.parametrize("sparsity", [0.0, 0.25, 0.5, 0.9])
def test_pruned_graph_symmetric_with_exact_count(scorer, sparsity):
    graph = small_graph()
    scores = {
        "teddy": teddy_edge_scores,
        "random": functools.partial(random_edge_scores, seed=3),
        "degree": degree_product_scores,
    }[scorer](graph)
    assert scores.shape == (graph.num_edges,)
    pruned = prune_edges(graph, scores, sparsity)
    assert pruned.num_edges == graph.num_edges - round(sparsity * graph.num_edges)
    directed = set(map(tuple, pruned.edge_index.t().tolist()))
    assert all((v, u) in directed for u, v in directed)
    assert len(directed) == 2 * pruned.num_edges
    # the kept edges are the highest-scoring ones
    keep = edge_keep_mask(scores, sparsity)
    assert torch.equal(pruned.edges, graph.edges[:, keep])
    if 0 < sparsity:
        assert scores[keep].min() >= scores[~keep].max()
    assert pruned.x is graph.x or torch.equal(pruned.x, graph.x)


def test_masks_nested_for_increasing_sparsity():
    graph = small_graph()
    for scores in (teddy_edge_scores(graph), torch.zeros(graph.num_edges), random_edge_scores(graph, seed=1)):
        previous = torch.ones(graph.num_edges, dtype=torch.bool)
        for sparsity in (0.1, 0.2, 0.35, 0.5, 0.8, 0.95):
            keep = edge_keep_mask(scores, sparsity)
            assert not (keep & ~previous).any(), "a mask at higher sparsity must be inside the lower one"
            previous = keep


def test_ties_broken_by_edge_id():
    keep = edge_keep_mask(torch.ones(6), 0.5)
    assert keep.tolist() == [False, False, False, True, True, True]


def test_random_scores_deterministic():
    graph = small_graph()
    assert torch.equal(random_edge_scores(graph, seed=5), random_edge_scores(graph, seed=5))
    assert not torch.equal(random_edge_scores(graph, seed=5), random_edge_scores(graph, seed=6))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_bad_sparsity_errors(bad):
    graph = small_graph()
    with pytest.raises(ValueError, match="sparsity"):
        edge_keep_mask(teddy_edge_scores(graph), bad)
    with pytest.raises(ValueError, match="sparsity"):
        prune_edges(graph, teddy_edge_scores(graph), bad)
    with pytest.raises(ValueError, match="sparsity"):
        global_magnitude_masks(GCN(8, 4, 3), bad)


def test_wrong_score_length_errors():
    graph = small_graph()
    with pytest.raises(ValueError, match="edges"):
        prune_edges(graph, torch.ones(graph.num_edges + 1), 0.5)
    with pytest.raises(ValueError, match="NaN"):
        edge_keep_mask(torch.tensor([0.0, float("nan")]), 0.5)


def test_directed_graph_rejected_by_teddy():
    with pytest.raises(ValueError, match="undirected"):
        teddy_edge_scores(Graph(torch.tensor([[0, 1], [1, 2]]), directed=True))


# ---------------------------------------------------------------- weights
def test_prunable_parameters_exclude_biases():
    model = GCN(8, 4, 3)
    assert sorted(prunable_parameters(model)) == ["convs.0.weight", "convs.1.weight"]


def test_global_magnitude_masks():
    seed_everything(0)
    model = GCN(8, 4, 3)
    total = 8 * 4 + 4 * 3
    masks = global_magnitude_masks(model, 0.5)
    assert set(masks) == {"convs.0.weight", "convs.1.weight"}
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == total - round(0.5 * total)
    params = prunable_parameters(model)
    kept_mag = torch.cat([params[n].detach().abs()[m] for n, m in masks.items()])
    pruned_mag = torch.cat([params[n].detach().abs()[~m] for n, m in masks.items()])
    assert kept_mag.min() >= pruned_mag.max()
    # iterative: pruned weights stay pruned even if they would grow back
    with torch.no_grad():
        params["convs.0.weight"][~masks["convs.0.weight"]] = 100.0
    masks2 = global_magnitude_masks(model, 0.75, existing_masks=masks)
    for name in masks:
        assert not (masks2[name] & ~masks[name]).any()
    assert sum(int(m.sum()) for m in masks2.values()) == total - round(0.75 * total)
    with pytest.raises(ValueError, match="must not decrease"):
        global_magnitude_masks(model, 0.25, existing_masks=masks2)
    apply_weight_masks(model, masks2)
    assert math.isclose(weight_sparsity(model), round(0.75 * total) / total)
    assert model.convs[0].bias is not None  # biases untouched


def test_mask_name_and_shape_errors():
    model = GCN(8, 4, 3)
    with pytest.raises(ValueError, match="convs.9.weight"):
        apply_weight_masks(model, {"convs.9.weight": torch.ones(8, 4, dtype=torch.bool)})
    with pytest.raises(ValueError, match="shape"):
        apply_weight_masks(model, {"convs.0.weight": torch.ones(4, 8, dtype=torch.bool)})
    with pytest.raises(ValueError, match="convs.0.bias"):
        apply_weight_masks(model, {"convs.0.bias": torch.ones(4, dtype=torch.bool)})


@pytest.mark.parametrize("k", [0, 1, 7, 30, 44])
def test_l0_projection_keeps_exactly_k(k):
    seed_everything(1)
    model = GCN(8, 4, 3)
    before = {n: p.detach().clone() for n, p in prunable_parameters(model).items()}
    keep = l0_projection(model, k)
    nonzero = sum(int((p != 0).sum()) for p in prunable_parameters(model).values())
    assert nonzero == k
    assert sum(int(m.sum()) for m in keep.values()) == k
    # kept weights are unchanged and are the largest in magnitude
    all_before = torch.cat([b.abs().view(-1) for b in before.values()])
    for name, p in prunable_parameters(model).items():
        assert torch.equal(p.detach()[keep[name]], before[name][keep[name]])
    if 0 < k < all_before.numel():
        threshold = all_before.sort(descending=True).values[k - 1]
        kept = torch.cat([before[n].abs()[keep[n]] for n in keep])
        assert kept.min() >= threshold


def test_l0_projection_breaks_ties_by_position_like_a_stable_sort():
    # the O(n) selection must keep the same set as ranking by a stable sort (ties: the later position survives),
    # with and without masks; the weights take 4 distinct magnitudes, so nearly every cut falls inside a tie
    generator = torch.Generator().manual_seed(0)
    for k in (0, 1, 5, 17, 30, 44):
        model = GCN(8, 4, 3)
        with torch.no_grad():
            for param in prunable_parameters(model).values():
                param.copy_(torch.randint(-2, 3, param.shape, generator=generator).float())
        flat = torch.cat([p.detach().abs().reshape(-1) for p in prunable_parameters(model).values()])
        expected = torch.zeros(flat.numel(), dtype=torch.bool)
        expected[torch.sort(flat, stable=True).indices[flat.numel() - k :]] = True
        twin = GCN(8, 4, 3)
        twin.load_state_dict(model.state_dict())
        all_allowed = {n: torch.ones_like(p, dtype=torch.bool) for n, p in prunable_parameters(twin).items()}
        for keep in (l0_projection(model, k), l0_projection(twin, k, masks=all_allowed)):
            assert torch.equal(torch.cat([m.reshape(-1) for m in keep.values()]), expected)


def test_l0_projection_by_sparsity_and_masks():
    seed_everything(2)
    model = GCN(8, 4, 3)
    masks = global_magnitude_masks(model, 0.5)
    keep = l0_projection(model, sparsity=0.75, masks=masks)
    for name in keep:
        assert not (keep[name] & ~masks[name]).any()
    assert math.isclose(weight_sparsity(model), 33 / 44)
    with pytest.raises(ValueError, match="only"):
        l0_projection(model, 40, masks=masks)
    with pytest.raises(ValueError, match="exactly one"):
        l0_projection(model)


def test_l0_projection_as_after_step_in_train_node():
    graph = small_graph()
    seed_everything(0)
    model = GCN(graph.num_features, 8, 3)
    train_node(
        graph,
        model,
        graph.split(),
        NodeTrainConfig(epochs=5),
        after_step=functools.partial(l0_projection, k=20),
    )
    nonzero = sum(int((p != 0).sum()) for p in prunable_parameters(model).values())
    assert nonzero == 20


# ---------------------------------------------------------------- tickets
def _make_ticket(graph: Graph) -> tuple[Ticket, GCN]:
    seed_everything(0)
    model = GCN(graph.num_features, 8, 3)
    theta0 = {k: v.clone() for k, v in model.state_dict().items()}
    train_node(graph, model, graph.split(), NodeTrainConfig(epochs=5))
    keep = edge_keep_mask(teddy_edge_scores(graph), 0.3)
    masks = global_magnitude_masks(model, 0.6)
    ticket = Ticket.from_model(keep, masks, theta0, method="teddy", dataset=graph.name, seed=0)
    return ticket, model


def test_ticket_round_trip_identical_predictions(tmp_path):
    graph = small_graph()
    ticket, _ = _make_ticket(graph)
    assert math.isclose(ticket.provenance["graph_sparsity"], round(0.3 * graph.num_edges) / graph.num_edges)
    assert math.isclose(ticket.provenance["weight_sparsity"], round(0.6 * 88) / 88)

    path = tmp_path / "ticket.pt"
    ticket.save(path)
    raw = torch.load(path, weights_only=True)
    assert raw["provenance"]["method"] == "teddy"
    loaded = Ticket.load(path)
    assert torch.equal(loaded.edge_keep_mask, ticket.edge_keep_mask)
    assert loaded.provenance == ticket.provenance

    outputs = []
    for t, seed in ((ticket, 1), (loaded, 2)):
        seed_everything(seed)  # a different random init: the ticket must override it
        model = t.apply_to_model(GCN(graph.num_features, 8, 3))
        pruned = t.apply_to_graph(graph)
        assert pruned.num_edges == int(ticket.edge_keep_mask.sum())
        assert math.isclose(weight_sparsity(model), ticket.weight_sparsity)  # theta0 has no exact zeros
        model.eval()
        with torch.no_grad():
            outputs.append(model(pruned))
    assert torch.equal(outputs[0], outputs[1])
    # and the masked weights really are zero; the rest equal theta0
    model = loaded.apply_to_model(GCN(graph.num_features, 8, 3))
    for name, mask in loaded.weight_masks.items():
        param = dict(model.named_parameters())[name].detach()
        assert (param[~mask] == 0).all()
        assert torch.equal(param[mask], loaded.init_state[name][mask])


def test_ticket_errors(tmp_path):
    graph = small_graph()
    ticket, _ = _make_ticket(graph)
    with pytest.raises(GraphError, match="edge mask has"):
        ticket.apply_to_graph(small_graph(num_edges=60))
    with pytest.raises(ValueError, match="shape"):
        ticket.apply_to_model(GCN(graph.num_features, 16, 3))
    with pytest.raises(ValueError, match="missing"):
        ticket.apply_to_model(GCN(graph.num_features, 8, 3, num_layers=3))
    with pytest.raises(ValueError, match="provenance"):
        Ticket(ticket.edge_keep_mask, {}, {}, {"bad": [1, 2]})
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a graphsparse ticket"):
        Ticket.load(tmp_path / "other.pt")
