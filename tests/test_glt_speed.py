"""The GLT speed-ups change nothing a search computes: a distilled search trains each seed's dense model once (the
dense baseline's outputs are the teachers; without the baseline a teacher unit trains it), and every path gives
the same numbers."""

from __future__ import annotations

import functools
import pickle

import pytest
import torch

import graphsparse.tasks.glt as glt_task_module
from graphsparse import Graph
from graphsparse.experiments import ResultsStore
from graphsparse.nn import build_model
from graphsparse.sparsify import Teddy
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.sparsify.units import SearchContext, teacher_unit
from graphsparse.tasks.glt import NodeGLTTask
from graphsparse.tasks.node import NodeTrainConfig
from graphsparse.utils import seed_everything


def _graph() -> Graph:
    g = torch.Generator().manual_seed(0)
    n = 60
    edges = torch.randint(0, n, (2, 240), generator=g)
    edges = edges[:, edges[0] != edges[1]]
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 8, generator=g) + torch.nn.functional.one_hot(y, 8).float()
    train, val = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)
    train[:20], val[20:40] = True, True
    return Graph(edges, num_nodes=n, x=x, y=y, splits={"public": (train, val, ~(train | val))}, name="toy")


def _build(graph: Graph, seed: int) -> torch.nn.Module:
    seed_everything(seed)
    return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=16)


def _factory(graph: Graph):  # type: ignore[no-untyped-def]
    def factory() -> torch.nn.Module:
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=16)

    return factory


def test_a_plain_fit_is_reproducible() -> None:
    """What lets the dense baseline serve as the teacher: the same θ0 on the same graph trains to the same model
    and numbers, in any task instance."""
    graph = _graph()
    config = NodeTrainConfig(epochs=15)
    one, other = NodeGLTTask(graph, config), NodeGLTTask(graph, config)
    model = _build(graph, 3)
    first = one.fit(one.graph_for_seed(0, 3), model, seed=3, seed_index=0)
    reference = _build(graph, 3)
    again = other.fit(other.graph_for_seed(0, 3), reference, seed=3, seed_index=0)
    assert (again["val"], again["test"], again["best_epoch"]) == (first["val"], first["test"], first["best_epoch"])
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert not model.training
    assert not hasattr(one, "_plain_fits")  # no memory of fits: the search passes the teacher explicitly
    # another start (θ0 of another seed) trains to another model
    different = _build(graph, 4)
    one.fit(one.graph_for_seed(0, 3), different, seed=3, seed_index=0)
    assert any(not torch.equal(a, b) for a, b in zip(different.state_dict().values(), model.state_dict().values()))


class _TeacherRecorder(NodeGLTTask):
    """Records the teacher of every fit."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.teachers: list = []

    def fit(self, graph, model, **kwargs):  # type: ignore[no-untyped-def]
        self.teachers.append(kwargs.get("teacher"))
        return super().fit(graph, model, **kwargs)


def test_teddy_search_with_distillation_trains_each_dense_model_once(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    trainings = []
    real = glt_task_module.train_node

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        trainings.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(glt_task_module, "train_node", counted)
    graph = _graph()
    config = NodeTrainConfig(epochs=12)
    levels = glt_levels(3, 0.1, 0.3)

    def run(task: NodeGLTTask, dense: bool = True, store: ResultsStore | None = None, methods=None):  # type: ignore[no-untyped-def]
        methods = methods if methods is not None else [Teddy(distill=2.0)]
        results = glt_search(
            graph, _factory(graph), methods=methods, levels=levels, seeds=[0, 1], task=task, dense=dense, store=store
        )
        return [r.test_scores for r in results]

    recorder = _TeacherRecorder(graph, config)
    with_baseline = run(recorder)
    # 2 seeds x (dense baseline, which is the teacher too, + 3 levels): no dense model is trained twice
    assert len(trainings) == 2 * (1 + 3)
    dense_fits, level_fits = recorder.teachers[:2], recorder.teachers[2:]
    assert dense_fits == [None, None] and all(t is not None and t.weight == 2.0 for t in level_fits)
    # the teachers are the seeds' dense models' outputs, exactly those a teacher unit computes on its own
    ctx = SearchContext(NodeGLTTask(graph, config), _factory(graph), "cpu")
    own = [teacher_unit(ctx, i, seed).teacher_logits for i, seed in enumerate([0, 1])]
    trainings.clear()
    assert not torch.equal(own[0], own[1])
    for k in range(3):  # level by level, seed 0 then seed 1
        assert torch.equal(level_fits[2 * k].logits, own[0]) and torch.equal(level_fits[2 * k + 1].logits, own[1])
    # without the baseline the teacher is trained on its own (teacher_unit): the same teachers, the same levels
    assert run(NodeGLTTask(graph, config), dense=False) == with_baseline[1:]
    assert len(trainings) == 2 * (1 + 3)
    # a dense baseline loaded from the store cannot be the teacher: teacher units train it, the levels are the same
    store = ResultsStore(tmp_path / "r.db")
    run(NodeGLTTask(graph, config), store=store, methods=["random"])
    trainings.clear()
    assert run(NodeGLTTask(graph, config), store=store) == with_baseline
    assert len(trainings) == 2 * (1 + 3)
    # without distillation no teacher is trained at all
    trainings.clear()
    run(NodeGLTTask(graph, config), dense=False, methods=[Teddy(distill=0.0)])
    assert len(trainings) == 2 * 3


def _benchmark_module():  # type: ignore[no-untyped-def]
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "glt_speed.py"
    spec = importlib.util.spec_from_file_location("glt_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_glt_speed_compares_levels_exactly() -> None:
    bench = _benchmark_module()
    document = {
        "dense": {"round": 0, "test_acc_mean": 0.82, "test_acc_std": 0.006},
        "levels": [{"round": 1, "test_acc_mean": 0.8273333311080933, "test_acc_std": 0.0077}],
    }
    levels = bench._levels(document)
    assert bench.compare(levels, levels)["identical"]
    moved = {**levels, 1: {"mean": levels[1]["mean"] + 1e-3, "std": levels[1]["std"]}}
    result = bench.compare(moved, levels)
    assert not result["identical"] and [r["identical"] for r in result["levels"]] == [True, False]
    assert not bench.compare(levels, {0: levels[0]})["identical"]  # a level the reference lacks is not identical
    published_document = __import__("json").loads(bench.REFERENCE.read_text())
    published = bench._levels(published_document)
    assert sorted(published) == list(range(21))  # the dense baseline and 20 levels
    # TEDDY's λ: from method_options (plug-in methods) or the top-level key of older documents
    assert bench._distill(published_document) == bench.PROTOCOL_DISTILL == 10.0
    assert bench._distill({"method_options": {"teddy": {"distill": 2.0}, "random": {}}}) == 2.0
    assert bench._distill({"method_options": {"random": {}}}) is None and bench._distill({}) is None


def test_non_finite_guard_fast_path_is_exact() -> None:
    from graphsparse.train.loop import _first_non_finite

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    assert _first_non_finite(model) is None
    with torch.no_grad():
        model[0].weight.fill_(3e38)  # finite, but the sum overflows: the exact check must clear it
    assert _first_non_finite(model) is None
    with torch.no_grad():
        model[1].bias[1] = float("nan")
    assert _first_non_finite(model) == "1.bias"
    with torch.no_grad():
        model[1].bias[1] = 0.0
        model[0].bias[0], model[0].bias[1] = float("inf"), float("-inf")  # inf - inf: the sum is NaN, still caught
    assert _first_non_finite(model) == "0.bias"


def test_what_a_process_computed_does_not_travel_with_the_search_context() -> None:
    graph = _graph()
    task = NodeGLTTask(graph, NodeTrainConfig(epochs=2))
    factory = functools.partial(build_model, "gcn", graph.num_features, graph.num_classes, hidden_channels=16)
    ctx = SearchContext(task, factory, "cpu")  # a picklable factory, as Ray workers need
    calls = []
    assert ctx.memo(("scores", 0), lambda: calls.append(1) or torch.arange(3)).tolist() == [0, 1, 2]
    assert ctx.memo(("scores", 0), lambda: calls.append(1) or torch.zeros(3)).tolist() == [0, 1, 2]
    assert len(calls) == 1  # computed once per key in this process
    copy = pickle.loads(pickle.dumps(ctx))
    assert copy._memo == {} and len(ctx._memo) == 1  # a worker computes what it needs
    assert copy.task.describe() == task.describe() and copy.device == "cpu"
    for (name, a), (_, b) in zip(copy.build(5).state_dict().items(), ctx.build(5).state_dict().items(), strict=True):
        assert torch.equal(a, b), name  # θ0 of a seed is the same in every process
    with pytest.raises(TypeError):
        NodeGLTTask(graph, NodeTrainConfig(epochs=2), None, distill=1.0)  # type: ignore[call-arg]
