"""Tests for UGS (graphsparse.sparsify.methods.ugs), its rounds inside glt_search, distillation and the trainer
protocol (graphsparse.tasks.glt)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from graphsparse.data import synthetic_dcsbm
from graphsparse.experiments import ResultsStore
from graphsparse.nn import build_model
from graphsparse.sparsify import Teddy
from graphsparse.sparsify.masks import pack_mask, unpack_mask
from graphsparse.sparsify.methods.ugs import UGSMasked, ugs_prune
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.sparsify.weights import prunable_parameters
from graphsparse.tasks.glt import GLTTask, NodeGLTTask, Teacher, distillation_loss
from graphsparse.tasks.node import NodeTrainConfig
from graphsparse.utils import seed_everything

CONFIG = NodeTrainConfig(epochs=8)

torch.set_num_threads(1)  # the machine is shared; one thread is faster than two contended ones


@pytest.fixture(scope="module")
def graph():
    return synthetic_dcsbm(num_nodes=100, num_edges=300, num_features=8, num_classes=3, seed=1)


def factory_for(graph, name="gcn"):
    def factory():
        return build_model(name, graph.num_features, graph.num_classes, hidden_channels=8)

    return factory


def comparable(results):
    """The results without what legitimately differs between a run and a rerun (timings, cached)."""
    return [replace(r, seconds=0.0, cached=False) for r in results]


class RecordingTask(NodeGLTTask):
    """Node task that records, at each fit, the graph's edges and the model's weights before training."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def fit(self, graph, model, **kwargs):
        base = model.base if isinstance(model, UGSMasked) else model
        entry = {
            "ugs": isinstance(model, UGSMasked),
            "state": {k: v.detach().clone() for k, v in base.state_dict().items()},
            "graph": graph,
            "seed": kwargs["seed"],
            "teacher": kwargs.get("teacher"),
        }
        if isinstance(model, UGSMasked):
            entry["edge_mask_shape"] = tuple(model.edge_mask.shape)
        result = super().fit(graph, model, **kwargs)
        if isinstance(model, UGSMasked):
            entry["edge_mask_after"] = model.edge_mask.detach().clone()
        entry["trained"] = {k: v.detach().clone() for k, v in base.state_dict().items()}
        self.calls.append(entry)
        return result


def test_ugs_prune_keeps_largest_and_stays_nested():
    scores = torch.tensor([0.5, -0.9, 0.1, 0.8, 0.0, 0.3])
    keep = torch.tensor([True, True, True, True, False, True])
    wscores = {"a": torch.tensor([[0.2, -0.7], [0.1, 0.05]]), "b": torch.tensor([[0.9, 0.3]])}
    wkeep = {"a": torch.tensor([[True, True], [True, False]]), "b": torch.tensor([[True, True]])}
    edges, weights = ugs_prune(scores, keep, 0.5, wscores, wkeep, 0.5)
    # 3 of 6 edges removed in total: id 4 (already pruned) plus the two smallest |m| among survivors: 2 and 5
    assert edges.tolist() == [True, True, False, True, False, False]
    # 3 of 6 weights removed in total: a[1,1] (pruned) plus a[1,0] (0.1) and a[0,0] (0.2)
    assert weights["a"].tolist() == [[False, True], [False, False]]
    assert weights["b"].tolist() == [[True, True]]
    with pytest.raises(ValueError, match="must not decrease"):
        ugs_prune(scores, edges, 0.2, wscores, weights, 0.5)
    with pytest.raises(ValueError, match="weight sparsity"):
        ugs_prune(scores, keep, 0.5, wscores, wkeep, 1.5)


def test_pack_mask_roundtrip():
    mask = torch.rand(7, 13, generator=torch.Generator().manual_seed(0)) > 0.4
    back = unpack_mask(json.loads(json.dumps(pack_mask(mask))))
    assert back.dtype == torch.bool and torch.equal(back, mask)


@pytest.mark.parametrize("name", ["gcn", "gat", "gin"])
def test_ugs_masked_gradients_per_edge(graph, name):
    seed_everything(0)
    base = factory_for(graph, name)()
    masked = UGSMasked(base, graph.num_edges, s1=0.1, s2=0.2, init_noise=0.0)
    assert masked.edge_mask.shape == (graph.num_edges,)  # one mask per undirected edge id, never N x N
    masked.eval()
    base.eval()
    assert torch.allclose(masked(graph), base(graph), atol=1e-5)  # all-one masks change nothing
    loss = masked(graph).logsumexp(-1).sum() + masked.l1_penalty()
    loss.backward()
    assert masked.edge_mask.grad is not None and masked.edge_mask.grad.abs().sum() > 0
    assert all(m.grad is not None and m.grad.abs().sum() > 0 for m in masked.weight_masks)
    penalty = masked.l1_penalty()
    n_weights = sum(p.numel() for p in prunable_parameters(base).values())
    assert float(penalty) == pytest.approx(0.1 * graph.num_edges + 0.2 * n_weights, rel=1e-5)
    # a pruned weight stays exactly zero in the masked forward
    name0 = masked.weight_names[0]
    keep = {n: torch.ones_like(p, dtype=torch.bool) for n, p in prunable_parameters(base).items()}
    keep[name0].view(-1)[0] = False
    masked2 = UGSMasked(base, graph.num_edges, keep)
    assert float(masked2.masked_weights()[name0].view(-1)[0]) == 0.0


def test_ugs_masks_start_near_one_without_ties(graph):
    # Masks whose gradient is only the l1 term all move by the same Adam step: without the reference's ±1e-5
    # start noise they would tie exactly and pruning would follow position (whole input features, first nodes).
    torch.manual_seed(0)
    masked = UGSMasked(factory_for(graph)(), graph.num_edges)
    for mask in [masked.edge_mask, *masked.weight_masks]:
        assert float((mask - 1).abs().max()) <= 1.1e-5 and torch.unique(mask.detach()).numel() > mask.numel() // 3
    torch.manual_seed(0)
    again = UGSMasked(factory_for(graph)(), graph.num_edges)
    assert torch.equal(again.edge_mask, masked.edge_mask)  # seeded: the same start for the same seed
    with pytest.raises(ValueError, match="init_noise"):
        UGSMasked(factory_for(graph)(), graph.num_edges, init_noise=-1.0)


def test_ugs_rewinds_to_theta0_and_masks_are_per_edge_and_symmetric(graph, tmp_path):
    levels = glt_levels(3, 0.2, 0.3)
    task = RecordingTask(graph, CONFIG)
    results = list(
        glt_search(graph, factory_for(graph), methods="ugs", levels=levels, seeds=[3], task=task, dense=False)
    )
    seed_everything(3)
    theta0 = {k: v.clone() for k, v in factory_for(graph)().state_dict().items()}
    assert len(task.calls) == 2 * len(levels)  # per round: mask training, then the ticket's retraining
    previous_edges = None
    for r, (_k, gs, ws), (train_call, ticket_call) in zip(results, levels, zip(task.calls[::2], task.calls[1::2])):
        assert train_call["ugs"] and not ticket_call["ugs"]
        assert train_call["teacher"] is None and ticket_call["teacher"] is None  # UGS never distils
        # both trainings of every round start from θ0 (the ticket: θ0 with its pruned weights zeroed)
        for name, value in theta0.items():
            assert torch.equal(train_call["state"][name], value)
            kept = ticket_call["state"][name] != 0
            assert torch.equal(ticket_call["state"][name][kept], value[kept])
        assert r.weight_sparsity == pytest.approx(ws, abs=0.02)
        # the soft edge mask is one value per surviving undirected edge of the current graph
        assert train_call["edge_mask_shape"] == (train_call["graph"].num_edges,)
        ticket_graph = ticket_call["graph"]
        assert ticket_graph.num_edges == graph.num_edges - round(gs * graph.num_edges)
        assert r.graph_sparsity == pytest.approx(1 - ticket_graph.num_edges / graph.num_edges)
        directed = set(map(tuple, ticket_graph.edge_index.t().tolist()))
        assert all((v, u) in directed for u, v in directed)  # symmetric
        edges = set(map(tuple, ticket_graph.edges.t().tolist()))
        if previous_edges is not None:
            assert edges <= previous_edges  # iterative: pruned edges stay pruned
            assert train_call["graph"].num_edges == len(previous_edges)  # round k trains under round k-1's mask
        previous_edges = edges
    # the pruned edges are those with the smallest |mask| at the selected epoch (round 1)
    first = task.calls[0]
    order = first["edge_mask_after"].abs().argsort(stable=True)
    removed = round(levels[0][1] * graph.num_edges)
    pruned_ids = set(order[:removed].tolist())
    kept_edges = set(map(tuple, task.calls[1]["graph"].edges.t().tolist()))
    all_edges = [tuple(e) for e in graph.edges.t().tolist()]
    assert {i for i, e in enumerate(all_edges) if e not in kept_edges} == pruned_ids


def test_ugs_search_killed_mid_way_resumes_identically(graph, tmp_path):
    levels = glt_levels(3, 0.1, 0.2)
    options = dict(methods=["ugs"], levels=levels, seeds=[0, 1], config=CONFIG, key_prefix="u")
    full = list(glt_search(graph, factory_for(graph), store=ResultsStore(tmp_path / "full.db"), **options))
    assert [r.round for r in full] == [0, 1, 2, 3]
    # every UGS round holds each seed's binary masks (the state the next round starts from); summaries do not
    assert full[0].states is None and all(len(r.states) == 2 for r in full[1:])
    assert all("method_state" not in r.summary() for r in full)

    store = ResultsStore(tmp_path / "killed.db")
    search = glt_search(graph, factory_for(graph), store=store, **options)
    consumed = [next(search), next(search)]  # dense + UGS round 1, then stop consuming (the process is "killed")
    search.close()
    assert [r.round for r in consumed] == [0, 1]
    assert len(store.keys("u|")) == 2
    stored = store.get(consumed[1].key)
    assert stored["method_state"] == consumed[1].states  # the masks needed to continue are committed
    assert "ugs_state" not in stored
    resumed = list(glt_search(graph, factory_for(graph), store=store, **options))
    assert [r.cached for r in resumed] == [True, True, False, False]
    assert comparable(resumed) == comparable(full)
    again = list(glt_search(graph, factory_for(graph), store=store, **options))
    assert all(r.cached for r in again) and comparable(again) == comparable(full)


def test_distillation_loss_and_search(graph):
    logits = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    assert float(distillation_loss(logits, logits)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(logits, logits.flip(0))) > 0.01
    with pytest.raises(ValueError, match="differ in shape"):
        distillation_loss(logits, logits[:, :2])
    levels = glt_levels(1, 0.2, 0.5)
    plain = list(glt_search(graph, factory_for(graph), methods="teddy", levels=levels, config=CONFIG))
    task = RecordingTask(graph, CONFIG)
    distilled = list(glt_search(graph, factory_for(graph), methods=[Teddy(distill=2.0)], levels=levels, task=task))
    # the dense baseline (dense graph, θ0), whose outputs are the teacher, then the student
    assert len(task.calls) == 2
    assert task.calls[0]["graph"].num_edges == graph.num_edges and task.calls[0]["teacher"] is None
    assert task.calls[1]["graph"].num_edges == graph.num_edges - round(0.2 * graph.num_edges)
    teacher = task.calls[1]["teacher"]
    assert isinstance(teacher, Teacher) and teacher.weight == 2.0
    assert teacher.logits.shape == (graph.num_nodes, graph.num_classes)
    # the teacher's outputs are those of the dense baseline: the model trained from θ0 on the whole graph
    dense_model = factory_for(graph)()
    dense_model.load_state_dict(task.calls[0]["trained"])
    assert torch.equal(teacher.logits, task.predict(task.graph, dense_model))
    assert "distill=2" in distilled[1].key and "distill" not in plain[1].key
    assert distilled[1].label == "teddy + KD (λ = 2)" and plain[1].label == "teddy"
    assert distilled[1].test_scores != plain[1].test_scores or distilled[1].val_mean != plain[1].val_mean


def test_custom_task_through_protocol(graph):
    class PerSeedGraphTask(NodeGLTTask):
        """Each seed gets its own prunable graph (as a link task does): here, seed 1 drops the first 30 edges."""

        name = "custom"

        def graph_for_seed(self, seed_index, seed):
            if seed_index == 0:
                return self.graph
            keep = torch.ones(self.graph.num_edges, dtype=torch.bool)
            keep[:30] = False
            return self.graph.keep_edges(keep)

    task = PerSeedGraphTask(graph, CONFIG)
    assert isinstance(task, GLTTask)
    levels = glt_levels(2, 0.1, 0.2)
    results = list(
        glt_search(graph, factory_for(graph), methods="teddy,ugs,random", levels=levels, seeds=[0, 1], task=task)
    )
    assert [(r.method, r.round) for r in results][:3] == [("dense", 0), ("teddy", 1), ("teddy", 2)]
    assert all(r.task == "custom" for r in results)
    for r in results[1:]:
        assert r.graph_sparsity == pytest.approx(r.target_graph_sparsity, abs=0.01)
        assert len(r.test_scores) == 2
