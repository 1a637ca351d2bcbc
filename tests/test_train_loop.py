"""The one fit loop: selection, tie rule, patience, non-finite guard, history; every trainer goes through it."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from graphsparse.train import NonFiniteError, RunResult, Validation, fit, make_optimizer, run_seeds


def _scripted(scores, losses=None):
    """A linear model whose weight is set to the epoch number each epoch, and a validate() reading a script."""
    model = nn.Linear(1, 1, bias=False)
    state = {"epoch": 0}

    def train_epoch(epoch: int) -> float:
        state["epoch"] = epoch
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        return 1.0 / epoch

    def validate() -> Validation:
        i = state["epoch"] - 1
        return Validation(scores[i], None if losses is None else losses[i])

    return model, train_epoch, validate


def test_best_epoch_state_is_restored_and_history_kept():
    model, step, validate = _scripted([0.1, 0.5, 0.3, 0.2])
    run = fit(model, step, validate, epochs=4)
    assert run.best_epoch == 2 and float(model.weight) == 2.0
    assert [h["epoch"] for h in run.history] == [1, 2, 3, 4]
    assert run.history[1]["val_score"] == 0.5 and run.best == Validation(0.5)


def test_tie_goes_to_lower_validation_loss_else_earlier_epoch():
    model, step, validate = _scripted([0.5, 0.5, 0.5], [0.9, 0.4, 0.6])
    assert fit(model, step, validate, epochs=3).best_epoch == 2
    model, step, validate = _scripted([0.5, 0.5, 0.5])
    assert fit(model, step, validate, epochs=3).best_epoch == 1


def test_patience_counts_epochs_since_the_best():
    model, step, validate = _scripted([0.9, 0.1, 0.1, 0.1, 0.1, 0.1])
    run = fit(model, step, validate, epochs=6, patience=2)
    assert run.epochs_run == 3 and run.best_epoch == 1
    model, step, validate = _scripted([0.9, 0.1, 0.1, 0.1, 0.1, 0.1])
    run = fit(model, step, validate, epochs=6, patience=2, eval_every=2)
    assert run.epochs_run == 4  # evaluated at 2 and 4; 4 - 1 >= 2


def test_non_finite_loss_or_parameter_stops_with_the_epoch_named():
    model = nn.Linear(1, 1)
    with pytest.raises(NonFiniteError, match="epoch 3"):
        fit(model, lambda e: math.nan if e == 3 else 1.0, lambda: Validation(0.5), epochs=5)

    def poison(epoch: int) -> float:
        if epoch == 2:
            with torch.no_grad():
                model.weight.fill_(math.inf)
        return 1.0

    with pytest.raises(NonFiniteError, match="weight.*epoch 2"):
        fit(model, poison, lambda: Validation(0.5), epochs=5)


def test_without_validation_every_epoch_runs_and_the_last_state_stays():
    model, step, _ = _scripted([0.0] * 3)
    run = fit(model, step, None, epochs=3)
    assert run.epochs_run == 3 and float(model.weight) == 3.0 and run.best_epoch == 3


def test_optimizer_decays_only_the_first_layer_when_asked():
    model = nn.Module()
    model.convs = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    groups = make_optimizer(model, 0.01, 5e-4, decay_first_layer_only=True).param_groups
    assert [g["weight_decay"] for g in groups] == [5e-4, 0.0] and len(groups[0]["params"]) == 2
    assert len(make_optimizer(model, 0.01, 5e-4).param_groups) == 1


def test_optimizer_is_fused_where_torch_has_the_kernel():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    assert make_optimizer(model, lr=0.01).defaults["fused"] is True  # dense CPU floats: one kernel per parameter
    model.register_buffer("count", torch.zeros(1))  # buffers are not stepped: still fused
    assert make_optimizer(model, lr=0.01).defaults["fused"] is True
    complex_model = nn.Module()
    complex_model.weight = nn.Parameter(torch.zeros(3, dtype=torch.cfloat))
    assert not make_optimizer(complex_model, lr=0.01).defaults["fused"]  # no fused kernel: the default Adam


def test_run_result_names_scores_by_metric_and_run_seeds_records_each():
    seen = []

    def run_one(index: int, seed: int) -> RunResult:
        value = float(torch.rand(()))  # seeded by run_seeds
        return RunResult(seed, "s", "roc_auc", {"val_roc_auc": value, "test_roc_auc": value}, 1, 1, 0.0, 0.0)

    first = run_seeds([3, 4], run_one, on_result=seen.append, progress=False)
    second = run_seeds([3, 4], run_one, progress=False)
    assert [r.seed for r in seen] == [3, 4] and seen[0].test_roc_auc == second[0].test == first[0].val
    assert first[0].metrics()["test_roc_auc"] == first[0].test and "best_state" not in first[0].metrics()
    with pytest.raises(AttributeError, match="test_acc"):
        _ = first[0].test_acc


def test_no_other_early_stopping_loop_in_the_package():
    """Every `for epoch in range(...)` training loop lives in graphsparse/train/loop.py."""
    root = Path(__file__).resolve().parents[1] / "graphsparse"
    offenders = []
    for path in root.rglob("*.py"):
        if path.parent.name == "train":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id == "epoch":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, offenders


def test_empty_validation_split_is_a_clear_error_for_node_and_cluster_training(small_graph):
    from graphsparse import GraphError
    from graphsparse.batching import ClusterLoader
    from graphsparse.batching.train import train_cluster_gcn
    from graphsparse.nn import build_model
    from graphsparse.tasks.node import NodeTrainConfig, train_node

    train = torch.tensor([1, 0, 1, 0, 0, 0], dtype=torch.bool)
    no_val = small_graph.replace(splits={"s": (train, torch.zeros(6, dtype=torch.bool), ~train)})
    model = build_model("gcn", 4, 2)
    with pytest.raises(GraphError, match="validation split is empty"):
        train_node(no_val, model, no_val.split("s"), NodeTrainConfig(epochs=2))
    loader = ClusterLoader(no_val, torch.tensor([0, 0, 0, 1, 1, 1]), 1)
    with pytest.raises(GraphError, match="validation split 's' is empty"):
        train_cluster_gcn(no_val, model, loader, no_val.split("s"), "s", NodeTrainConfig(epochs=2))


def test_diverging_run_stops_with_the_epoch_and_stores_nothing(small_graph, tmp_path):
    """A learning rate that blows the weights up ends in NonFiniteError from train_node: no result exists."""
    from graphsparse.nn import build_model
    from graphsparse.tasks.node import NodeTrainConfig, run_node

    stored = []
    with pytest.raises(NonFiniteError, match="epoch"):
        run_node(
            small_graph,
            lambda: build_model("gcn", 4, 2, dropout=0.0),
            [0],
            NodeTrainConfig(epochs=50, lr=1e30, weight_decay=0.0),
            on_result=stored.append,
            progress=False,
        )
    assert stored == []
    with pytest.raises(ValueError, match="lr must be <="):
        NodeTrainConfig(lr=1e38)  # Adam's first step would overflow float32 inside torch


def test_a_cluster_epoch_steps_every_group_of_batches_the_last_shorter_one_too(monkeypatch):
    """``accumulate=2`` over 5 batches: steps after batches 2, 4 and 5, each averaging its own batches' gradients
    (the fifth batch's gradient was dropped when only full groups stepped)."""
    from graphsparse.batching import ClusterConfig, ClusterLoader, cluster_parts
    from graphsparse.batching.train import make_train_epoch
    from graphsparse.data import synthetic_dcsbm
    from graphsparse.nn import build_model

    graph = synthetic_dcsbm(num_nodes=200, num_edges=800, num_features=8, num_classes=3, seed=1)
    split = graph.split("random")
    loader = ClusterLoader(
        graph, cluster_parts(graph, ClusterConfig(num_parts=10, clusters_per_batch=2), split.train), 2, seed=0
    )
    assert len(loader) == 5
    model = build_model("gcn", 8, 3, hidden_channels=4, dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    seen = []
    monkeypatch.setattr(
        optimizer, "step", lambda: seen.append(float(sum(p.grad.abs().sum() for p in model.parameters())))
    )
    make_train_epoch(model, loader, optimizer, "random", accumulate=2)(0)
    assert len(seen) == 3 and seen[-1] > 0
