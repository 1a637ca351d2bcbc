"""Property-based tests (hypothesis) of the Graph contract and the normalised operators.

Random edge lists (duplicates, self-loops, both directions, isolated nodes, no edges at all), random masks, edge
values and sparsity levels; every property is checked against an independent plain-Python / dense reference.

The tests run under the ``graphsparse-ci`` profile: derandomized (the examples are a function of the test's code,
so CI never flakes and a failure reproduces), no deadline (the shared CI machines are slow), no example database
written into the checkout. About 1,600 examples run per test session (``MAX_EXAMPLES`` per property).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphsparse import Graph, GraphError
from graphsparse.sparse import normalized_adjacency, spmm
from graphsparse.sparsify import edge_keep_mask, prune_edges, random_edge_scores, teddy_edge_scores

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

settings.register_profile(
    "graphsparse-ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
CI = settings.get_profile("graphsparse-ci")
MAX_EXAMPLES = 200


def profile(max_examples: int = MAX_EXAMPLES) -> settings:
    return settings(CI, max_examples=max_examples)


# ----------------------------------------------------------------------------------------------------- strategies
@st.composite
def edge_lists(draw: st.DrawFn, max_nodes: int = 10, max_edges: int = 30) -> tuple[int, list[tuple[int, int]]]:
    """``(num_nodes, [(u, v), ...])``: any pairs, so duplicates, self-loops, both directions and isolated nodes
    all occur; with no pairs at all too."""
    n = draw(st.integers(1, max_nodes))
    node = st.integers(0, n - 1)
    pairs = draw(st.lists(st.tuples(node, node), max_size=max_edges))
    return n, pairs


def as_edge_index(pairs: list[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)


def reference_edges(pairs: list[tuple[int, int]], directed: bool = False) -> list[tuple[int, int]]:
    """The documented stored edges: self-loops and duplicates dropped, ``u < v`` when undirected, sorted."""
    out = {(u, v) if directed else (min(u, v), max(u, v)) for u, v in pairs if u != v}
    return sorted(out)


def stored(graph: Graph) -> list[tuple[int, int]]:
    return [tuple(e) for e in graph.edges.t().tolist()]


# ----------------------------------------------------------------------------------------------------- structure
@profile()
@given(edge_lists(), st.randoms(use_true_random=False))
def test_undirected_edges_are_coalesced_symmetric_and_stable(case, rnd) -> None:
    n, pairs = case
    graph = Graph(as_edge_index(pairs), num_nodes=n)
    expected = reference_edges(pairs)
    assert stored(graph) == expected  # edge id k = position in sorted (u < v) order
    assert graph.num_edges == len(expected)

    directed = graph.edge_index
    assert directed.shape == (2, 2 * len(expected))
    arcs = [tuple(a) for a in directed.t().tolist()]
    assert all(u != v for u, v in arcs)  # no self-loops
    assert set(arcs) == {(v, u) for u, v in arcs}  # symmetric
    assert len(set(arcs)) == len(arcs)
    ids = graph.directed_edge_ids.tolist()
    assert all(sorted(arcs[i]) == list(expected[k]) for i, k in enumerate(ids))

    dense = np.zeros((n, n))
    for u, v in expected:
        dense[u, v] = dense[v, u] = 1
    assert np.array_equal(graph.degree().numpy(), dense.sum(1))

    # an equivalent input (shuffled, directions flipped, extra duplicates and self-loops) is the same graph:
    # the same edge ids and the same fingerprint
    other = [(v, u) if rnd.random() < 0.5 else (u, v) for u, v in pairs]
    other += [rnd.choice(pairs) for _ in range(len(pairs) // 2)] if pairs else []
    other += [(w, w) for w in range(n) if rnd.random() < 0.3]
    rnd.shuffle(other)
    again = Graph(as_edge_index(other), num_nodes=n, name="another name")
    assert torch.equal(again.edges, graph.edges)
    assert again.fingerprint() == graph.fingerprint()
    assert Graph(graph.edge_index, num_nodes=n).fingerprint() == graph.fingerprint()  # from its own directed view


@profile()
@given(edge_lists())
def test_directed_edges_keep_direction(case) -> None:
    n, pairs = case
    graph = Graph(as_edge_index(pairs), num_nodes=n, directed=True)
    expected = reference_edges(pairs, directed=True)
    assert stored(graph) == expected
    assert torch.equal(graph.edge_index, graph.edges)
    assert graph.directed_edge_ids.tolist() == list(range(len(expected)))


@profile()
@given(edge_lists(), st.data())
def test_keep_edges_keeps_exactly_the_masked_ids_in_order(case, data) -> None:
    n, pairs = case
    graph = Graph(as_edge_index(pairs), num_nodes=n)
    m = graph.num_edges
    mask = torch.tensor(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=torch.bool)
    kept = graph.keep_edges(mask)
    edges = stored(graph)
    assert stored(kept) == [e for e, keep in zip(edges, mask.tolist()) if keep]
    assert kept.num_edges == int(mask.sum())
    arcs = {tuple(a) for a in kept.edge_index.t().tolist()}
    assert arcs == {(v, u) for u, v in arcs}  # still symmetric
    # equal content, equal fingerprint: the pruned graph is the graph built from its kept edges
    assert kept.fingerprint() == Graph(as_edge_index(stored(kept)), num_nodes=n).fingerprint()
    assert (kept.fingerprint() == graph.fingerprint()) == bool(mask.all())  # other content, other fingerprint
    # a second mask over the pruned graph's ids composes with the first
    second = torch.tensor(
        data.draw(st.lists(st.booleans(), min_size=kept.num_edges, max_size=kept.num_edges)), dtype=torch.bool
    )
    combined = mask.clone()
    combined[mask] = second
    assert torch.equal(kept.keep_edges(second).edges, graph.keep_edges(combined).edges)


# ----------------------------------------------------------------------------------------------------- sparsity levels
@profile()
@given(
    edge_lists(max_nodes=12, max_edges=40), st.lists(st.floats(0.0, 0.999), min_size=1, max_size=4), st.integers(0, 3)
)
def test_pruning_levels_remove_round_s_m_lowest_scores_nested(case, levels, seed) -> None:
    n, pairs = case
    graph = Graph(as_edge_index(pairs), num_nodes=n)
    m = graph.num_edges
    for scores in (teddy_edge_scores(graph), random_edge_scores(graph, seed=seed)):
        assert scores.shape == (m,) and bool(torch.isfinite(scores).all())
        previous = torch.ones(m, dtype=torch.bool)
        for sparsity in sorted(levels):
            keep = edge_keep_mask(scores, sparsity)
            assert int((~keep).sum()) == round(sparsity * m)
            if bool(keep.any()) and bool((~keep).any()):
                assert float(scores[keep].min()) >= float(scores[~keep].max())
            assert not bool((keep & ~previous).any())  # nested: a pruned edge stays pruned
            previous = keep
            pruned = prune_edges(graph, scores, sparsity)
            assert torch.equal(pruned.edges, graph.edges[:, keep])


# ----------------------------------------------------------------------------------------------------- operators
def dense_reference(
    n: int, edges: list[tuple[int, int]], values: torch.Tensor, normalization: str, self_loops: bool, directed: bool
) -> torch.Tensor:
    """The operator as a dense float64 matrix, differentiable in ``values`` (one per stored edge)."""
    a = torch.zeros(n, n, dtype=torch.float64)
    for k, (u, v) in enumerate(edges):
        one = torch.zeros(n, n, dtype=torch.float64)
        one[u, v] = 1.0
        if not directed:
            one[v, u] = 1.0
        a = a + values[k] * one
    if self_loops:
        a = a + torch.eye(n, dtype=torch.float64)
    if normalization == "none":
        return a
    deg = a.sum(1)
    positive = deg > 0
    safe = torch.where(positive, deg, torch.ones_like(deg))
    if normalization == "row":
        inv = torch.where(positive, 1.0 / safe, torch.zeros_like(deg))
        return inv[:, None] * a
    inv_sqrt = torch.where(positive, safe.rsqrt(), torch.zeros_like(deg))
    return inv_sqrt[:, None] * a * inv_sqrt[None, :]


@profile(max_examples=400)
@given(
    edge_lists(max_nodes=8, max_edges=20),
    st.sampled_from(["sym", "row", "none"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.data(),
)
def test_normalized_adjacency_matches_dense_reference(case, normalization, self_loops, weighted, directed, data):
    n, pairs = case
    graph = Graph(as_edge_index(pairs), num_nodes=n, directed=directed)
    edges, m = stored(graph), graph.num_edges
    if weighted:  # UGS-like masks: non-negative, some exactly zero
        floats = st.one_of(st.just(0.0), st.floats(0.01, 3.0))
        values = torch.tensor(data.draw(st.lists(floats, min_size=m, max_size=m)), dtype=torch.float64)
    else:
        values = torch.ones(m, dtype=torch.float64)
    leaf = values.clone().requires_grad_(weighted)
    op = normalized_adjacency(graph, leaf if weighted else None, normalization, self_loops, dtype=torch.float64)
    ref_values = values.clone().requires_grad_(weighted)
    ref = dense_reference(n, edges, ref_values, normalization, self_loops, directed)
    torch.testing.assert_close(op.to_dense(), ref.detach())
    assert op.structure.nnz == len(edges) * (1 if directed else 2) + (n if self_loops else 0)

    # the SpMM and its gradients (w.r.t. the features and the edge values) against dense autograd
    gen = torch.Generator().manual_seed(n * 1000 + m)
    x = torch.randn(n, 3, dtype=torch.float64, generator=gen)
    w = torch.randn(n, 3, dtype=torch.float64, generator=gen)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = spmm(op, x1)
    ref_out = ref @ x2
    torch.testing.assert_close(out, ref_out)
    (out * w).sum().backward()
    (ref_out * w).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    if weighted and m:
        assert bool(torch.isfinite(leaf.grad).all())
        torch.testing.assert_close(leaf.grad, ref_values.grad)


# ----------------------------------------------------------------------------------------------------- validation
@profile()
@given(edge_lists(), st.data())
def test_splits_are_accepted_iff_their_parts_are_disjoint(case, data) -> None:
    n, pairs = case
    part = st.lists(st.booleans(), min_size=n, max_size=n)
    train, val, test = (torch.tensor(data.draw(part), dtype=torch.bool) for _ in range(3))
    overlaps = {
        ("train", "val"): int((train & val).sum()),
        ("train", "test"): int((train & test).sum()),
        ("val", "test"): int((val & test).sum()),
    }
    if not any(overlaps.values()):
        graph = Graph(as_edge_index(pairs), num_nodes=n, splits={"s": (train, val, test)})
        assert all(torch.equal(a, b) for a, b in zip(graph.split("s"), (train, val, test)))
        return
    first = next((a, b, count) for (a, b), count in overlaps.items() if count)
    with pytest.raises(GraphError, match=rf"split 's': {first[0]} and {first[1]} masks overlap on {first[2]} nodes"):
        Graph(as_edge_index(pairs), num_nodes=n, splits={"s": (train, val, test)})


@profile()
@given(edge_lists(), st.data())
def test_labels_and_node_ids_are_range_checked(case, data) -> None:
    n, pairs = case
    labels = data.draw(st.lists(st.integers(-3, 70_000), min_size=n, max_size=n))
    y = torch.tensor(labels)
    bound = max(n, 1 << 16)
    if min(labels) < -1 or max(labels) >= bound:
        with pytest.raises(GraphError, match=r"y holds label"):
            Graph(as_edge_index(pairs), num_nodes=n, y=y)
    else:
        graph = Graph(as_edge_index(pairs), num_nodes=n, y=y)
        assert graph.num_classes == (max(labels) + 1 if max(labels) >= 0 else 0)
    bad = data.draw(st.one_of(st.integers(-(2**40), -1), st.integers(n, 2**40)))
    with pytest.raises(GraphError, match=r"edge_index holds"):
        Graph(as_edge_index(pairs + [(0, bad)]), num_nodes=n)
