"""The GLT speed-ups change nothing a search computes: the dense fit the search repeats (baseline and teacher)
is taken from memory with the same trained state and random state, and a search gives the same numbers."""

from __future__ import annotations

import torch

from graphsparse import Graph
from graphsparse.nn import build_model
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.sparsify.task import NodeGLTTask
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


def test_a_repeated_plain_fit_equals_training_again() -> None:
    graph = _graph()
    config = NodeTrainConfig(epochs=15)
    remembered, fresh = NodeGLTTask(graph, config), NodeGLTTask(graph, config)
    plain = remembered.graph_for_seed(0, 3)
    first = remembered.fit(plain, _build(graph, 3), seed=3, seed_index=0)
    model = _build(graph, 3)
    again = remembered.fit(plain, model, seed=3, seed_index=0)  # from memory
    rng_memory = torch.get_rng_state()
    reference = _build(graph, 3)
    trained = fresh.fit(fresh.graph_for_seed(0, 3), reference, seed=3, seed_index=0)  # really trained
    assert torch.equal(rng_memory, torch.get_rng_state())
    assert (again["val"], again["test"], again["best_epoch"]) == (first["val"], first["test"], first["best_epoch"])
    assert (trained["val"], trained["test"]) == (again["val"], again["test"])
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert not model.training


def test_a_different_start_trains() -> None:
    graph = _graph()
    task = NodeGLTTask(graph, NodeTrainConfig(epochs=5))
    plain = task.graph_for_seed(0, 0)
    task.fit(plain, _build(graph, 0), seed=0, seed_index=0)
    model = _build(graph, 0)
    torch.manual_seed(123)  # another random state: dropout draws differ, so it must train
    task.fit(plain, model, seed=0, seed_index=0)
    assert len(task._plain_fits) == 2
    other = _build(graph, 1)  # another θ0
    task.fit(plain, other, seed=0, seed_index=0)
    assert len(task._plain_fits) == 3


def test_teddy_search_with_distillation_is_unchanged_by_the_memory(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import graphsparse.sparsify.task as task_module

    trainings = []
    real = task_module.train_node

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        trainings.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(task_module, "train_node", counted)
    graph = _graph()
    config = NodeTrainConfig(epochs=12)

    def factory() -> torch.nn.Module:
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=16)

    def run(task: NodeGLTTask, dense: bool = True) -> list[list[float]]:
        levels = glt_levels(3, 0.1, 0.3)
        results = glt_search(graph, factory, "teddy", levels, seeds=[0, 1], task=task, distill=2.0, dense=dense)
        return [r["test_accs"] for r in results]

    remembered = NodeGLTTask(graph, config)
    forgetful = NodeGLTTask(graph, config)
    forgetful._plain_fits = _NeverRemember()
    with_baseline = run(forgetful)
    assert with_baseline == run(remembered)
    # 2 seeds x (dense baseline, which is the teacher too, + 3 levels), twice: no dense model is trained twice
    assert len(trainings) == 8 + 8
    # without the baseline the teacher is trained on its own (teacher_unit): the same teachers, the same levels
    trainings.clear()
    assert run(NodeGLTTask(graph, config), dense=False) == with_baseline[1:]
    assert len(trainings) == 2 * (1 + 3)


class _NeverRemember(dict):
    def __setitem__(self, key, value) -> None:  # type: ignore[no-untyped-def]
        pass


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
    published = bench._levels(__import__("json").loads(bench.REFERENCE.read_text()))
    assert sorted(published) == list(range(21))  # the dense baseline and 20 levels


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


def test_remembered_fits_do_not_travel_with_the_task() -> None:
    import pickle

    graph = _graph()
    task = NodeGLTTask(graph, NodeTrainConfig(epochs=2))
    task.fit(task.graph_for_seed(0, 0), _build(graph, 0), seed=0, seed_index=0)
    assert len(task._plain_fits) == 1
    copy = pickle.loads(pickle.dumps(task))
    assert copy._plain_fits == {} and len(task._plain_fits) == 1 and copy.describe() == task.describe()
