"""GAug: edge predictor, blockwise top-k, GAug-M edits, straight-through sampling, GAug-O dense vs sparse."""

from __future__ import annotations

import json

import pytest
import torch

from graphsparse.augment import (
    EdgePredictor,
    edge_loss_dense,
    edge_loss_sampled,
    gaug_m_graph,
    relaxed_bernoulli_st,
    topk_non_edges,
    train_edge_predictor,
)
from graphsparse.graph import Graph, GraphError
from graphsparse.utils import seed_everything


def _random_graph(n: int = 40, m: int = 80, f: int = 8, c: int = 3, seed: int = 0) -> Graph:
    g = torch.Generator().manual_seed(seed)
    edges = torch.randint(0, n, (2, m), generator=g)
    x = torch.rand(n, f, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    train = torch.zeros(n, dtype=torch.bool)
    train[: n // 3] = True
    val = torch.zeros(n, dtype=torch.bool)
    val[n // 3 : 2 * n // 3] = True
    return Graph(edges, num_nodes=n, x=x, y=y, splits={"public": (train, val, ~(train | val))}, name="toy")


def _dense_topk(graph: Graph, z: torch.Tensor, k: int) -> set[tuple[int, int]]:
    n = graph.num_nodes
    scores = z @ z.T
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    mask[graph.edges[0], graph.edges[1]] = False
    scores = scores.masked_fill(~mask, float("-inf")).view(-1)
    idx = torch.topk(scores, k).indices
    return {(int(i) // n, int(i) % n) for i in idx}


@pytest.mark.parametrize("block", [1, 7, 64])
def test_blockwise_topk_equals_dense(block):
    graph = _random_graph()
    z = torch.randn(graph.num_nodes, 5, generator=torch.Generator().manual_seed(1))
    pairs, scores = topk_non_edges(graph, z, 50, block_size=block)
    assert pairs.shape == (2, 50)
    assert {(int(u), int(v)) for u, v in pairs.T} == _dense_topk(graph, z, 50)
    assert bool((scores[:-1] >= scores[1:]).all())
    assert bool((pairs[0] < pairs[1]).all())


def test_topk_asks_too_many():
    graph = _random_graph(n=6, m=10)
    with pytest.raises(ValueError, match="non-edges"):
        topk_non_edges(graph, torch.randn(6, 2), 100)


def test_gaug_m_counts_and_symmetry():
    graph = _random_graph()
    z = torch.randn(graph.num_nodes, 4, generator=torch.Generator().manual_seed(2))
    m = graph.num_edges
    new = gaug_m_graph(graph, z, rm_pct=10, add_pct=25)
    n_rm, n_add = int(m * 10 / 100), int(m * 25 / 100)
    old = {(int(u), int(v)) for u, v in graph.edges.T}
    got = {(int(u), int(v)) for u, v in new.edges.T}
    assert len(old - got) == n_rm and len(got - old) == n_add
    assert new.num_edges == m - n_rm + n_add  # no duplicates
    assert bool((new.edges[0] != new.edges[1]).all())  # no self-loops
    dense = torch.zeros(graph.num_nodes, graph.num_nodes)
    dense[new.edge_index[0], new.edge_index[1]] = 1
    assert torch.equal(dense, dense.T)
    # the removed edges are the lowest scoring ones
    scores = (z[graph.edges[0]] * z[graph.edges[1]]).sum(-1)
    removed = set(torch.argsort(scores)[:n_rm].tolist())
    assert {(int(graph.edges[0, i]), int(graph.edges[1, i])) for i in removed} == old - got
    assert torch.equal(new.x, graph.x) and "public" in new.splits


@pytest.mark.parametrize(
    "rm, add, match", [(-1, 5, "rm_pct"), (5, -0.5, "add_pct"), (150, 0, "remove"), (0, 1e6, "non-edges")]
)
def test_gaug_m_bad_percentages(rm, add, match):
    graph = _random_graph()
    with pytest.raises(ValueError, match=match):
        gaug_m_graph(graph, torch.randn(graph.num_nodes, 3), rm, add)


def test_gaug_m_rejects_bad_embeddings():
    graph = _random_graph()
    with pytest.raises(GraphError, match="z must have shape"):
        gaug_m_graph(graph, torch.randn(3, 3), 1, 1)


def test_straight_through_is_binary_with_gradients():
    probs = torch.rand(500, generator=torch.Generator().manual_seed(0)).requires_grad_()
    seed_everything(0)
    sample = relaxed_bernoulli_st(probs, 0.5)
    assert set(sample.detach().unique().tolist()) <= {0.0, 1.0}
    (sample * torch.arange(500.0)).sum().backward()
    assert probs.grad is not None and float(probs.grad.abs().sum()) > 0
    # the sample follows the probabilities: E[sample] = p
    seed_everything(1)
    p = torch.full((20000,), 0.3)
    assert abs(float(relaxed_bernoulli_st(p, 1.0).mean()) - 0.3) < 0.02
    with pytest.raises(ValueError, match="temperature"):
        relaxed_bernoulli_st(p, 0.0)


def test_sampled_edge_loss_estimates_dense():
    graph = _random_graph()
    seed_everything(0)
    z = EdgePredictor(graph.num_features, 16, 8)(graph).detach()
    target = torch.eye(graph.num_nodes)
    target[graph.edge_index[0], graph.edge_index[1]] = 1
    exact = float(edge_loss_dense(z @ z.T, target))
    gen = torch.Generator().manual_seed(0)
    estimates = [float(edge_loss_sampled(graph, z, 2000, generator=gen)) for _ in range(20)]
    assert abs(sum(estimates) / len(estimates) - exact) < 0.03 * exact


def test_edge_predictor_learns_edges():
    graph = _random_graph()
    seed_everything(0)
    pred = train_edge_predictor(graph, EdgePredictor(graph.num_features, 32, 16), epochs=100, seed=0)
    z = pred(graph).detach()
    pos = (z[graph.edges[0]] * z[graph.edges[1]]).sum(-1).mean()
    assert float(pos) > float((z @ z.T).mean())


def test_gaug_m_predictor_has_linear_embeddings():
    graph = _random_graph()
    seed_everything(0)
    predictor = EdgePredictor(graph.num_features, 32, 16, hidden_activation="elu", out_activation="none")
    pred = train_edge_predictor(graph, predictor, epochs=100, seed=0)
    z = pred(graph).detach()
    assert bool((z < 0).any())  # no ReLU on the embeddings: no coordinates clipped to a tie at zero
    assert float((z[graph.edges[0]] * z[graph.edges[1]]).sum(-1).mean()) > float((z @ z.T).mean())
    with pytest.raises(ValueError, match="out_activation"):
        EdgePredictor(graph.num_features, out_activation="tanh")


@pytest.mark.parametrize("alpha", [1.0, 0.6])
def test_dense_and_sparse_gaug_o_samples_agree_in_distribution(alpha):
    from graphsparse.augment.gaug_o import candidate_graph, sample_dense_adjacency, sample_sparse_edges
    from graphsparse.augment.predictor import _dense_target

    graph = _random_graph(n=10, m=14, seed=3)
    n = graph.num_nodes
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(1)).abs()  # non-negative logits, as after ReLU
    union, is_original = candidate_graph(graph, z, n * (n - 1) // 2)  # every non-edge is a candidate
    assert union.num_edges == n * (n - 1) // 2
    target, draws = _dense_target(graph), 4000
    torch.manual_seed(0)
    dense = sum(sample_dense_adjacency(z @ z.T, target, alpha, 0.5) for _ in range(draws)) / draws
    sparse = sum(sample_sparse_edges(z, union, is_original, alpha, 0.5) for _ in range(draws)) / draws
    dense_per_pair = dense[union.edges[0], union.edges[1]]
    # each frequency estimates the same P'(u, v) (std <= 0.008 at 4000 draws): they agree pair by pair
    assert float((dense_per_pair - sparse).abs().max()) < 0.045
    assert torch.allclose(dense, dense.T) and float(dense.diagonal().abs().max()) == 0.0
    if alpha < 1.0:  # original edges keep at least (1 - alpha) of their mass in both modes
        assert float(sparse[is_original].min()) > 1.0 - alpha - 0.045


def test_gaug_m_command_trains_one_predictor_per_seed(tmp_path, capsys):
    from graphsparse.cli import main

    argv = [
        "train",
        "--dataset",
        "cora",
        "--model",
        "gcn",
        "--augment",
        "gaug-m",
        "--preset",
        "paper",
        "--gaug",
        "ep_epochs=5,add_pct=10",
        "--epochs",
        "3",
        "--seeds",
        "2",
        "--json",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["augmented_edges"] == first["edges"] - round(0.02 * first["edges"]) + round(0.10 * first["edges"])
    assert [r["seed"] for r in first["runs"]] == [0, 1] and len(first["baseline_runs"]) == 2
    # same seeds, fresh store: identical results (each seed's predictor is seeded before it is built)
    argv[-1] = str(tmp_path / "r2.db")
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert [r["test_acc"] for r in second["runs"]] == [r["test_acc"] for r in first["runs"]]


def test_gaug_m_command_selects_the_predictor_draw_on_validation(tmp_path, capsys):
    from graphsparse.cli import main

    argv = [
        "train",
        "--dataset",
        "cora",
        "--model",
        "gcn",
        "--augment",
        "gaug-m",
        "--preset",
        "paper",
        "--gaug",
        "ep_epochs=5,add_pct=10,ep_draws=2,ep_select_seeds=1",
        "--epochs",
        "3",
        "--seeds",
        "2",
        "--json",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    draws = summary["predictor_draws"]
    assert [d["draw"] for d in draws] == [0, 1]
    assert summary["chosen_draw"] == max(draws, key=lambda d: d["val_acc_mean"])["draw"]
    assert len(summary["runs"]) == 2 and "test_acc" not in draws[0]  # selection never sees test labels


def test_gaug_m_command_rejects_negative_draws(tmp_path, capsys):
    from graphsparse.cli import main

    argv = [
        "train",
        "--dataset",
        "cora",
        "--model",
        "gcn",
        "--augment",
        "gaug-m",
        "--preset",
        "paper",
        "--gaug",
        "ep_draws=-1",
        "--epochs",
        "3",
        "--seeds",
        "1",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 2
    assert "ep_draws must be >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_gaug_o_same_seed_same_result(mode):
    from graphsparse.augment.gaug_o import GAugOConfig, train_gaug_o
    from graphsparse.data import load_dataset
    from graphsparse.nn import build_model

    graph = load_dataset("synthetic", num_nodes=300, num_edges=1200, num_features=16, num_classes=3, seed=1)
    split = graph.split()
    config = GAugOConfig(mode=mode, epochs=6, pretrain_ep=3, pretrain_nc=3, temperature=1.0, alpha=0.5)

    def factory():
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=16)

    first, second = (train_gaug_o(graph, factory, split, config, seed=4) for _ in range(2))
    assert first.mode == mode
    assert (first.val_acc, first.test_acc, first.best_epoch) == (second.val_acc, second.test_acc, second.best_epoch)
    for key, value in first.best_state.items():
        assert torch.equal(value, second.best_state[key]), key


def test_gaug_m_command_chooses_rm_and_add_from_a_grid_on_validation(tmp_path, capsys):
    from graphsparse.cli import main

    argv = [
        "train",
        "--dataset",
        "cora",
        "--model",
        "gcn",
        "--augment",
        "gaug-m",
        "--preset",
        "paper",
        "--gaug",
        "ep_epochs=5,rm_pct=0|5,add_pct=10|20,ep_draws=1,ep_select_seeds=1",
        "--epochs",
        "3",
        "--seeds",
        "1",
        "--json",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    tried = [(d["rm_pct"], d["add_pct"]) for d in summary["predictor_draws"]]
    assert tried == [(0, 10), (0, 20), (5, 10), (5, 20)]
    best = max(summary["predictor_draws"], key=lambda d: d["val_acc_mean"])
    assert (summary["gaug"]["rm_pct"], summary["gaug"]["add_pct"]) == (best["rm_pct"], best["add_pct"])
    m = summary["edges"]
    assert summary["augmented_edges"] == m - int(m * best["rm_pct"] / 100) + int(m * best["add_pct"] / 100)
    assert summary["gaug_grid"] == {"rm_pct": "0|5", "add_pct": "10|20"}


@pytest.mark.parametrize(
    "options, message",
    [
        ("rm_pct=0|5,add_pct=10", "set ep_draws >= 1"),
        ("rm_pct=0|x,ep_draws=1", "rm_pct must be a number"),
        ("add_pct=10|-5,ep_draws=1", "add_pct must be >= 0"),
    ],
)
def test_gaug_m_command_rejects_bad_grids(tmp_path, capsys, options, message):
    from graphsparse.cli import main

    argv = [
        "train",
        "--dataset",
        "cora",
        "--model",
        "gcn",
        "--augment",
        "gaug-m",
        "--preset",
        "paper",
        "--gaug",
        options,
        "--epochs",
        "3",
        "--seeds",
        "1",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
