"""Empty and extreme graphs through every model, sparsifier and GLT search level; Graph validation of hostile input.

Graphs without edges, with isolated nodes and with a single node must work everywhere: a GCN without edges is a
self-loop-only propagation (``D^-1/2 (A + I) D^-1/2 = I`` for ``A = 0``), so it is its linear layers applied to
``x``; a search whose pruning reaches zero edges must finish. Hostile graph input gets one GraphError naming the
field.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphsparse import Graph, GraphError
from graphsparse.graph import MAX_LABEL_FLOOR, MAX_NUM_NODES
from graphsparse.nn import MODELS, build_model
from graphsparse.nn.cluster_gcn import diag_enhanced_adjacency
from graphsparse.sparse import normalized_adjacency
from graphsparse.sparsify import (
    EDGE_SCORERS,
    Ticket,
    UGSMasked,
    apply_weight_masks,
    global_magnitude_masks,
    l0_projection,
    prune_edges,
    ugs_prune,
    weight_sparsity,
)
from graphsparse.sparsify.compact import compact_gcn
from graphsparse.sparsify.records import LevelResult
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.tasks.node import NodeTrainConfig

F_IN, CLASSES = 4, 3
NONE = torch.empty(2, 0, dtype=torch.long)


def _features(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, F_IN, generator=gen), torch.arange(n) % CLASSES


def no_edges() -> Graph:
    x, y = _features(5)
    return Graph(NONE, num_nodes=5, x=x, y=y, name="no-edges")


def single_node() -> Graph:
    x, y = _features(1)
    return Graph(NONE, num_nodes=1, x=x, y=y, name="single")


def isolated_nodes() -> Graph:
    """A path 0-1-2-3 plus isolated nodes 4, 5, 6."""
    x, y = _features(7)
    return Graph(torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=7, x=x, y=y, name="isolated")


GRAPHS = {"no-edges": no_edges, "single": single_node, "isolated": isolated_nodes}
ISOLATED = [4, 5, 6]


def model(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(name, F_IN, CLASSES, hidden_channels=8)


# ------------------------------------------------------------------------------------------------------ models
@pytest.mark.parametrize("kind", sorted(GRAPHS))
@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("with_values", [False, True], ids=["plain", "edge_values"])
def test_every_model_trains_on_extreme_graphs(name: str, kind: str, with_values: bool) -> None:
    graph = GRAPHS[kind]()
    net = model(name).train()
    values = torch.ones(graph.num_edges, requires_grad=True) if with_values else None
    out = net(graph, edge_values=values)
    assert out.shape == (graph.num_nodes, CLASSES)
    assert bool(torch.isfinite(out).all())
    F.cross_entropy(out, graph.y).backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
    if values is not None and values.grad is not None:
        assert values.grad.shape == (graph.num_edges,) and bool(torch.isfinite(values.grad).all())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_isolated_nodes_see_only_themselves(name: str) -> None:
    """An isolated node's output is what the model gives it on the graph without any edge."""
    graph = isolated_nodes()
    net = model(name).eval()
    with torch.no_grad():
        full = net(graph)
        alone = net(graph.keep_edges(torch.zeros(graph.num_edges, dtype=torch.bool)))
        weighted = net(graph, edge_values=torch.full((graph.num_edges,), 0.5))
    torch.testing.assert_close(full[ISOLATED], alone[ISOLATED])
    torch.testing.assert_close(weighted[ISOLATED], alone[ISOLATED])


def linear_reference(name: str, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model on a graph without edges, written densely without any propagation (for wrapped PyG models: the
    PyG module itself, called on an empty edge_index)."""
    if name.startswith("pyg-"):
        return net.module(x, torch.empty(2, 0, dtype=torch.long))
    if name in ("gcn",):  # propagation is I: a stack of linear layers
        h = x
        for i, conv in enumerate(net.convs):
            h = h @ conv.weight + conv.bias
            h = torch.relu(h) if i < len(net.convs) - 1 else h
        return h
    if name == "mlp":
        h = x
        for i, lin in enumerate(net.lins):
            h = torch.relu(lin(h)) if i < len(net.lins) - 1 else lin(h)
        return h
    if name in ("twirls", "twirls-att"):  # Y0 is the fixed point of the propagation when every node is alone
        return net.lins[0](x)
    if name == "cluster-gcn":  # A' = (1 + λ) I
        h = x
        for i, lin in enumerate(net.lins):
            h = lin(torch.cat([(1.0 + net.diag_lambda) * h, h], dim=1))
            h = torch.relu(net.norms[i](h)) if i < len(net.lins) - 1 else h
        return h
    if name == "sage":  # the mean over no neighbours is 0: only the root weight acts
        h = x
        for i, conv in enumerate(net.convs):
            h = conv.lin_r(h) + (conv.lin_l.bias if conv.lin_l.bias is not None else 0.0)
            h = torch.relu(h) if i < len(net.convs) - 1 else h
        return h
    if name == "gin":  # (1 + eps) x through each MLP
        h = x
        for i, conv in enumerate(net.convs):
            h = conv.nn((1.0 + conv.eps) * h)
            h = torch.relu(h) if i < len(net.convs) - 1 else h
        return h
    if name == "gat":  # attention over the self-loop alone is 1
        h = x
        for i, conv in enumerate(net.convs):
            h = conv.lin(h) if hasattr(conv, "lin") and conv.lin is not None else conv.lin_src(h)
            h = h + conv.bias
            h = F.elu(h) if i < len(net.convs) - 1 else h
        return h
    raise AssertionError(f"no dense reference for {name}")


@pytest.mark.parametrize("kind", ["no-edges", "single"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_without_edges_match_their_dense_reference(name: str, kind: str) -> None:
    graph = GRAPHS[kind]()
    net = model(name).eval()
    with torch.no_grad():
        expected = linear_reference(name, net, graph.x)
        torch.testing.assert_close(net(graph), expected)
        # edge values over zero edges (a fully pruned UGS mask) change nothing
        torch.testing.assert_close(net(graph, edge_values=torch.ones(0)), expected)


@pytest.mark.parametrize("normalization", ["sym", "row", "none"])
def test_operators_without_edges_are_the_identity(normalization: str) -> None:
    graph = no_edges()
    eye = torch.eye(graph.num_nodes)
    torch.testing.assert_close(normalized_adjacency(graph, normalization=normalization).to_dense(), eye)
    values = torch.ones(0, requires_grad=True)
    op = normalized_adjacency(graph, values, normalization=normalization)
    torch.testing.assert_close(op.to_dense(), eye)
    (op @ torch.ones(graph.num_nodes, 2)).sum().backward()
    assert values.grad is not None and values.grad.shape == (0,)
    without_loops = normalized_adjacency(graph, normalization=normalization, self_loops=False)
    assert without_loops.structure.nnz == 0
    assert torch.equal(without_loops @ torch.ones(graph.num_nodes, 2), torch.zeros(graph.num_nodes, 2))
    torch.testing.assert_close(diag_enhanced_adjacency(graph, 1.0).to_dense(), 2.0 * eye)


def test_zero_edge_values_give_finite_gradients_without_self_loops() -> None:
    """A node whose every edge value is 0 has degree 0: it gets 0, and no NaN gradient (pow(0, -1/2))."""
    graph = isolated_nodes()
    values = torch.tensor([0.0, 0.0, 1.0], requires_grad=True)
    for normalization in ("sym", "row"):
        op = normalized_adjacency(graph, values, normalization=normalization, self_loops=False)
        (op @ torch.ones(graph.num_nodes, 2)).sum().backward()
        assert bool(torch.isfinite(values.grad).all())
        values.grad = None


# ------------------------------------------------------------------------------------------------------ sparsifiers
LEVELS = [0.0, 0.25, 0.5, 0.75, 0.9, 0.99]


@pytest.mark.parametrize("kind", sorted(GRAPHS) + ["path"])
@pytest.mark.parametrize("scorer", sorted(EDGE_SCORERS))
def test_edge_sparsifiers_at_every_level_down_to_zero_edges(scorer: str, kind: str) -> None:
    graph = GRAPHS[kind]() if kind in GRAPHS else isolated_nodes().subgraph(torch.arange(4))
    scores = EDGE_SCORERS[scorer](graph)
    assert scores.shape == (graph.num_edges,) and bool(torch.isfinite(scores).all())
    net = model("gcn").eval()
    sizes = []
    for level in LEVELS:
        pruned = prune_edges(graph, scores, level)
        sizes.append(pruned.num_edges)
        assert pruned.num_edges == graph.num_edges - round(level * graph.num_edges)
        with torch.no_grad():
            assert bool(torch.isfinite(net(pruned)).all())
    assert sizes[-1] == 0 and sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("level", [0.0, 0.5, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("name", ["gcn", "gat", "twirls", "cluster-gcn"])
def test_weight_masks_at_every_level(name: str, level: float) -> None:
    graph = no_edges()
    net = model(name)
    masks = global_magnitude_masks(net, level)
    apply_weight_masks(net, masks)
    total = sum(m.numel() for m in masks.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(level * total)
    l0_projection(net, sparsity=level, masks=masks)
    l0_projection(net, k=0)  # every counted weight pruned
    assert weight_sparsity(net) == 1.0
    with torch.no_grad():
        assert bool(torch.isfinite(net.eval()(graph)).all())


@pytest.mark.parametrize("kind", sorted(GRAPHS) + ["path"])
def test_ugs_masks_on_graphs_without_edges(kind: str) -> None:
    graph = GRAPHS[kind]() if kind in GRAPHS else isolated_nodes().subgraph(torch.arange(4))
    m = graph.num_edges
    base = model("gcn")
    keep = {n: torch.ones_like(p, dtype=torch.bool) for n, p in base.named_parameters() if p.dim() >= 2}
    edge_keep = torch.ones(m, dtype=torch.bool)
    for level in (0.5, 0.9, 0.99):
        masked = UGSMasked(model("gcn"), int(edge_keep.sum()), keep)
        current = graph.keep_edges(edge_keep)
        loss = F.cross_entropy(masked(current), current.y) + masked.l1_penalty()
        loss.backward()
        assert bool(torch.isfinite(loss)) and masked.edge_mask.grad.shape == (current.num_edges,)
        scores = torch.zeros(m, dtype=torch.float64)
        scores[edge_keep] = masked.edge_mask.detach().double()
        weight_scores = {n: mask.detach() for n, mask in zip(masked.weight_names, masked.weight_masks)}
        edge_keep, keep = ugs_prune(scores, edge_keep, level, weight_scores, keep, level)
        assert int((~edge_keep).sum()) == round(level * m)
    assert int(edge_keep.sum()) == 0
    # the ticket of the last level: no edges, finite logits, saved and loaded
    ticket = Ticket.from_model(edge_keep, keep, model("gcn").state_dict())
    pruned = ticket.apply_to_graph(graph)
    net = ticket.apply_to_model(model("gcn")).eval()
    with torch.no_grad():
        logits = net(pruned)
        assert pruned.num_edges == 0 and bool(torch.isfinite(logits).all())
        torch.testing.assert_close(compact_gcn(net)(pruned), logits)


# ------------------------------------------------------------------------------------------------------ GLT search
def tiny_labelled_graph(edges: torch.Tensor) -> Graph:
    x, y = _features(9, seed=1)
    parts = [torch.arange(9) % 3 == r for r in range(3)]
    return Graph(edges, num_nodes=9, x=x, y=y, splits={"s": tuple(parts)}, name="tiny")


SEARCH = NodeTrainConfig(epochs=3)
# 4 edges: round 3 (sparsity 0.875) removes round(3.5) = 4 of them
PATH = torch.tensor([[0, 1, 2, 5], [1, 2, 3, 6]])


def _search(graph: Graph, name: str, methods: list[str], rounds: int = 4, store=None) -> list[LevelResult]:
    def factory() -> torch.nn.Module:
        return build_model(name, F_IN, CLASSES, hidden_channels=4)

    levels = glt_levels(rounds, 0.5, 0.5)
    return list(
        glt_search(
            graph, factory, methods=methods, levels=levels, seeds=[0], config=SEARCH, store=store, key_prefix="x"
        )
    )


def test_glt_search_reaches_zero_edges_and_finishes(tmp_path) -> None:
    from graphsparse.experiments import ResultsStore

    graph = tiny_labelled_graph(PATH)
    store = ResultsStore(tmp_path / "r.db")
    results = _search(graph, "gcn", ["teddy", "ugs", "random"], store=store)
    assert [(r.method, r.round) for r in results] == [("dense", 0)] + [
        (m, k) for m in ("teddy", "ugs", "random") for k in (1, 2, 3, 4)
    ]
    for r in results[1:]:
        assert r.graph_sparsity == round(r.target_graph_sparsity * 4) / 4
        assert r.graph_sparsity == 1.0 or r.round < 3  # rounds 3 and 4 run on no edges at all
        assert math.isfinite(r.test_mean) and math.isfinite(r.val_mean)
    again = _search(graph, "gcn", ["teddy", "ugs", "random"], store=store)  # resumes from the stored levels
    assert all(r.cached for r in again)
    assert [(r.test_scores, r.states) for r in again] == [(r.test_scores, r.states) for r in results]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_ugs_search_to_zero_edges_with_every_model(name: str) -> None:
    results = _search(tiny_labelled_graph(PATH), name, ["ugs"], rounds=3)
    assert results[-1].graph_sparsity == 1.0
    assert all(math.isfinite(r.test_mean) for r in results)


def test_glt_search_on_a_graph_without_edges() -> None:
    results = _search(tiny_labelled_graph(NONE), "gcn", ["teddy", "ugs", "random"], rounds=2)
    assert len(results) == 1 + 3 * 2
    assert all(r.graph_sparsity == 0.0 and math.isfinite(r.test_mean) for r in results)


# ------------------------------------------------------------------------------------------------------ validation
def test_num_nodes_whose_edge_keys_overflow_int64_is_refused() -> None:
    big = 2**32 + 5  # (2^32 + 4) * (2^32 + 5) > 2^63: keys row * N + col would wrap and change edges
    with pytest.raises(GraphError, match=r"num_nodes=4294967301 exceeds .*overflow int64"):
        Graph(torch.tensor([[big - 1], [big - 2]]), num_nodes=big)
    with pytest.raises(GraphError, match=r"num_nodes=.* exceeds"):  # inferred from the largest node id
        Graph(torch.tensor([[0], [2**40]]))
    # the largest allowed graph keeps its edges exactly
    n = MAX_NUM_NODES
    graph = Graph(torch.tensor([[n - 1, 0], [n - 2, n - 1]]), num_nodes=n)
    assert graph.edges.tolist() == [[0, n - 2], [n - 1, n - 1]]


def test_huge_label_is_refused_naming_it() -> None:
    y = torch.tensor([0, 1, 10**9])
    with pytest.raises(GraphError, match=r"y holds label 1000000000 \(max label\).*1000000001 classes.*3 nodes"):
        Graph(NONE, num_nodes=3, y=y)
    with pytest.raises(GraphError, match=r"y holds label"):
        Graph(NONE, num_nodes=3, y=torch.tensor([0, 1, MAX_LABEL_FLOOR]))
    # labels up to the floor stay valid on small graphs: a subgraph or Cluster-GCN batch keeps its parent's labels
    graph = Graph(NONE, num_nodes=3, y=torch.tensor([0, 6, MAX_LABEL_FLOOR - 1]))
    assert graph.num_classes == MAX_LABEL_FLOOR
    big = Graph(NONE, num_nodes=MAX_LABEL_FLOOR + 10, y=torch.full((MAX_LABEL_FLOOR + 10,), MAX_LABEL_FLOOR + 9))
    assert big.num_classes == MAX_LABEL_FLOOR + 10
    assert isolated_nodes().subgraph(torch.tensor([2])).y.tolist() == [2]  # label 2 on a one-node graph


@pytest.mark.parametrize("a, b", [("train", "val"), ("train", "test"), ("val", "test")])
def test_overlapping_split_parts_are_refused(a: str, b: str) -> None:
    masks = {part: torch.zeros(6, dtype=torch.bool) for part in ("train", "val", "test")}
    masks["train"][:2] = masks["val"][2:4] = masks["test"][4:] = True
    masks[b][masks[a]] = True  # a's two nodes are in b too
    with pytest.raises(GraphError, match=rf"split 'public': {a} and {b} masks overlap on 2 nodes"):
        Graph(NONE, num_nodes=6, splits={"public": (masks["train"], masks["val"], masks["test"])})
    graph = Graph(NONE, num_nodes=6)
    with pytest.raises(GraphError, match=r"overlap"):
        graph.replace(splits={"public": (masks["train"], masks["val"], masks["test"])})


@pytest.mark.parametrize(
    "edge_index",
    [
        torch.tensor([[0.0, 1.0], [1.0, 2.0]]),
        torch.tensor([[0.0, 1.5], [1.0, 2.0]], dtype=torch.float64),
        np.array([[0.0, 1.0], [1.0, 2.0]]),
        [[0.0, 1.5], [1.0, 2.0]],
        torch.tensor([[True, False], [False, True]]),
    ],
    ids=["float32", "float64", "numpy-float", "list-float", "bool"],
)
def test_non_integer_node_ids_are_refused_naming_the_dtype(edge_index) -> None:
    with pytest.raises(GraphError, match=r"edge_index must have an integer dtype \(node ids\), got torch\.\w+"):
        Graph(edge_index, num_nodes=3)


def test_node_ids_out_of_range_are_refused() -> None:
    with pytest.raises(GraphError, match=r"edge_index holds a negative node index \(-1\)"):
        Graph(torch.tensor([[0, -1], [1, 2]]), num_nodes=3)
    with pytest.raises(GraphError, match=r"edge_index holds node index 3, out of range for num_nodes=3"):
        Graph(torch.tensor([[0, 3], [1, 2]]), num_nodes=3)
    with pytest.raises(GraphError, match=r"edge_split\['train'\]\['edge'\] must hold integer node ids"):
        Graph(NONE, num_nodes=3, edge_split={"train": {"edge": torch.tensor([[0.0, 1.0]])}})


def test_empty_edge_lists_in_any_form_are_graphs_without_edges() -> None:
    for empty in ([[], []], [], np.zeros((2, 0)), torch.empty(2, 0), NONE):
        graph = Graph(empty, num_nodes=3)
        assert graph.num_edges == 0 and graph.edge_index.shape == (2, 0)
    assert Graph([[], []], num_nodes=3).fingerprint() == Graph(NONE, num_nodes=3).fingerprint()
