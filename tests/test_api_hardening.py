"""The Python API under hostile inputs: feature dtypes are cast to float32, labels are integers, the
nodes that are scored have known labels, empty evaluation parts are refused instead of scoring NaN, and extreme
``--threads`` values are refused in one line instead of crashing torch."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

from graphsparse import Graph, GraphError
from graphsparse.data.synthetic import synthetic_dcsbm
from graphsparse.graph.checks import check_split_labels
from graphsparse.nn import build_model
from graphsparse.tasks.node import (
    NodeTrainConfig,
    evaluate_node,
    node_metric,
    run_node,
    train_node,
    withholds_test_labels,
)
from graphsparse.threads import (
    MAX_THREADS_PER_CORE,
    ThreadChoice,
    apply_threads,
    check_threads,
    max_threads,
    resolve_threads,
)

EDGES = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
SCRIPT = str(Path(sys.executable).parent / "graphsparse")


@pytest.fixture(scope="module")
def sbm() -> Graph:
    """A 300-node, three-class graph with a random split (train 60%, val 20%, test 20%)."""
    return synthetic_dcsbm(num_nodes=300, num_edges=1500, num_features=8, num_classes=3, seed=0)


def _gcn_accuracy(graph: Graph) -> tuple[float, float]:
    [result] = run_node(
        graph,
        lambda: build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8),
        [0],
        NodeTrainConfig(epochs=30),
        progress=False,
    )
    return result.val_acc, result.test_acc


# ---------------------------------------------------------------------------------------------- features
@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64, np.bool_])
def test_numpy_features_of_any_real_dtype_are_stored_as_float32(dtype) -> None:
    x = (np.arange(12).reshape(6, 2) % 3).astype(dtype)
    graph = Graph(EDGES, x=x)
    assert graph.x.dtype == torch.float32
    assert torch.equal(graph.x, torch.from_numpy(x.astype(np.float32)))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_torch_features_are_cast_on_construction_and_replace(dtype) -> None:
    x = torch.linspace(-2, 2, 12).view(6, 2).to(dtype)
    graph = Graph(EDGES, x=x)
    assert graph.x.dtype == torch.float32 and torch.equal(graph.x, x.float())
    assert graph.replace(x=x.double()).x.dtype == torch.float32


def test_float64_features_train_a_gcn_exactly_as_their_float32_copy(sbm) -> None:
    as_float64 = sbm.replace(x=sbm.x.numpy().astype(np.float64))  # numpy's default dtype
    assert as_float64.x.dtype == torch.float32 and as_float64.fingerprint() == sbm.fingerprint()
    val64, test64 = _gcn_accuracy(as_float64)
    val32, test32 = _gcn_accuracy(sbm)
    assert (val64, test64) == (val32, test32)
    assert test32 > 0.5  # three classes: it learned something (chance is 1/3)


def test_float16_features_train_a_gcn(sbm) -> None:
    half = sbm.replace(x=sbm.x.half())
    val, test = _gcn_accuracy(half)
    assert test > 0.5 and val > 0.5  # three classes: it learned something (chance is 1/3)


def test_float64_features_beyond_float32_range_are_refused_naming_the_dtype() -> None:
    x = np.ones((6, 2))
    x[4, 1] = 1e300
    with pytest.raises(GraphError, match=r"x holds torch.float64 values beyond float32's range \(first at node 4\)"):
        Graph(EDGES, x=x)


@pytest.mark.parametrize(
    ("x", "words"),
    [
        (np.array([["a", "b"]] * 6), "numeric array"),
        (torch.ones(6, 2, dtype=torch.complex64), "real numbers"),
        (torch.tensor([[1.0, float("nan")]] * 6, dtype=torch.float64), "NaN or inf"),
    ],
)
def test_unusable_features_are_refused_naming_the_problem(x, words) -> None:
    with pytest.raises(GraphError, match=words):
        Graph(EDGES, x=x)


# ---------------------------------------------------------------------------------------------- labels
def test_whole_number_float_labels_are_cast_to_int64() -> None:
    for y in (np.array([0.0, 1.0, 2.0, 0.0, 1.0, -1.0]), torch.tensor([0.0, 1, 2, 0, 1, -1], dtype=torch.float16)):
        graph = Graph(EDGES, y=y)
        assert graph.y.dtype == torch.int64 and graph.y.tolist() == [0, 1, 2, 0, 1, -1]


@pytest.mark.parametrize("bad", [1.5, float("nan"), float("inf"), 1e20])
def test_non_integral_float_labels_are_refused_naming_the_field(bad) -> None:
    y = np.array([0.0, 1.0, 2.0, bad, 1.0, 0.0])
    with pytest.raises(GraphError, match=r"y must hold integer class labels, got torch.float64 label .* at node 3"):
        Graph(EDGES, y=y)


def test_from_networkx_refuses_float_labels_instead_of_truncating_them() -> None:
    g = nx.path_graph(4)
    for node, label in enumerate([0, 1.0, np.int64(2), torch.tensor(1)]):
        g.nodes[node]["y"] = label
    assert Graph.from_networkx(g).y.tolist() == [0, 1, 2, 1]
    g.nodes[2]["y"] = 2.7
    with pytest.raises(GraphError, match=r"node 2 has 'y' = 2.7, not an integer class label"):
        Graph.from_networkx(g)
    g.nodes[2]["y"] = np.float32(0.5)
    with pytest.raises(GraphError, match=r"node 2 has 'y' = 0.5"):
        Graph.from_networkx(g)
    g.nodes[2]["y"] = "two"
    with pytest.raises(GraphError, match=r"node 2 has 'y' = 'two'"):
        Graph.from_networkx(g)


# ---------------------------------------------------------------------------------------------- splits
def _with_unknown(graph: Graph, part: str, count: int) -> Graph:
    """``graph`` with ``count`` nodes of the ``part`` part of its first split relabelled -1."""
    name = graph.default_split_name()
    nodes = graph.split(name).index(part)[:count]
    y = graph.y.clone()
    y[nodes] = -1
    return graph.replace(y=y)


@pytest.mark.parametrize(("part", "count"), [("test", 3), ("val", 1)])
def test_unlabelled_evaluation_nodes_are_refused_before_training(sbm, part, count) -> None:
    graph = _with_unknown(sbm, part, count)
    name = graph.default_split_name()
    noun = "node" if count == 1 else "nodes"
    with pytest.raises(GraphError, match=rf"split '{name}': the {part} part holds {count} unlabelled {noun}") as err:
        _gcn_accuracy(graph)
    assert "take them out of the" in str(err.value)
    model = build_model("gcn", graph.num_features, graph.num_classes)
    with pytest.raises(GraphError, match=rf"the {part} part holds {count} unlabelled {noun}"):
        evaluate_node(model, graph, graph.split(name), split_name=name)
    with pytest.raises(GraphError, match=rf"the {part} part holds {count} unlabelled {noun} \(y = -1\)"):
        node_metric(torch.zeros(graph.num_nodes, 3), graph.y, graph.split(name).index(part), part=part)


def test_check_split_labels_names_split_part_count_and_first_node() -> None:
    y = torch.tensor([0, 1, -1, 1, -1, 0])
    train = torch.tensor([1, 1, 0, 0, 0, 0], dtype=torch.bool)
    val = torch.tensor([0, 0, 0, 1, 0, 0], dtype=torch.bool)
    test = torch.tensor([0, 0, 1, 0, 1, 1], dtype=torch.bool)
    graph = Graph(EDGES, y=y, splits={"mine": (train, val, test)})  # accepted: checked where it is scored
    with pytest.raises(
        GraphError, match=r"split 'mine': the test part holds 2 unlabelled nodes \(y = -1, first: node 2\)"
    ):
        check_split_labels(graph.y, graph.split("mine"), "mine")
    check_split_labels(graph.y, graph.split("mine"), "mine", ("train", "val"))  # the other parts are labelled


def test_unlabelled_nodes_outside_validation_and_test_still_train(sbm) -> None:
    """Semi-supervised graphs have many unlabelled nodes: fine wherever they are not scored."""
    split = sbm.split()
    extra = Graph(  # one more node, unlabelled and in no part, linked to node 0
        torch.cat([sbm.edges, torch.tensor([[0], [sbm.num_nodes]])], dim=1),
        x=torch.cat([sbm.x, torch.zeros(1, sbm.num_features)]),
        y=torch.cat([sbm.y, torch.tensor([-1])]),
        splits={"s": tuple(torch.cat([m, torch.tensor([False])]) for m in split)},
    )
    val, test = _gcn_accuracy(extra)
    assert val > 0.5 and test > 0.5  # three classes: it learned something (chance is 1/3)


def test_empty_test_split_is_refused_instead_of_scoring_nan(sbm) -> None:
    split = sbm.split()
    empty = torch.zeros_like(split.test)
    graph = sbm.replace(splits={"no-test": (split.train, split.val, empty)})
    with pytest.raises(GraphError, match=r"split 'no-test': the test split is empty, so there is nothing to test on"):
        _gcn_accuracy(graph)
    model = build_model("gcn", graph.num_features, graph.num_classes)
    with pytest.raises(GraphError, match="the test split is empty"):
        evaluate_node(model, graph, graph.split("no-test"))
    with pytest.raises(GraphError, match=r"the test part has no nodes: there is nothing to score"):
        node_metric(torch.zeros(graph.num_nodes, 3), graph.y, empty.nonzero().view(-1), part="test")


def test_empty_validation_split_is_refused(sbm) -> None:
    split = sbm.split()
    graph = sbm.replace(splits={"no-val": (split.train, torch.zeros_like(split.val), split.test)})
    with pytest.raises(GraphError, match=r"split 'no-val': the validation split is empty"):
        _gcn_accuracy(graph)


def test_a_split_that_withholds_its_test_labels_trains_and_reports_nan_test(sbm) -> None:
    """The tuning graph's shape: no test nodes, every node outside train and val unlabelled."""
    from graphsparse.tuning import tuning_graph

    hidden = tuning_graph(sbm)
    split = hidden.split()
    assert withholds_test_labels(hidden, split) and not withholds_test_labels(sbm, sbm.split())
    from graphsparse.utils import seed_everything

    seed_everything(0)
    model = build_model("gcn", hidden.num_features, hidden.num_classes, hidden_channels=8)
    result = train_node(hidden, model, split, NodeTrainConfig(epochs=40))
    assert math.isnan(result.test_acc)
    assert result.val_acc > 0.8  # three planted classes (chance 1/3): the labels it keeps are the ones it learns


# ---------------------------------------------------------------------------------------------- --threads
def test_thread_counts_are_bounded_by_the_machines_cores() -> None:
    limit = max_threads()
    assert limit == max(os.cpu_count() or 1, len(os.sched_getaffinity(0))) * MAX_THREADS_PER_CORE
    assert check_threads(limit) == limit and check_threads("1") == 1
    for bad in (limit + 1, 10**6, str(2**63), "9" * 100):
        with pytest.raises(ValueError, match=rf"--threads must be at most {limit} \({MAX_THREADS_PER_CORE} x "):
            check_threads(bad)
    with pytest.raises(ValueError, match=r"--threads must be an integer >= 1, got '99999.*\(5002 characters\)"):
        check_threads("9" * 5000)  # more digits than Python converts: still one short line
    with pytest.raises(ValueError, match=r"must be an integer >= 1 \(intra-op threads\), got -1000"):
        check_threads(-(10**30))
    assert check_threads(8, maximum=8) == 8
    with pytest.raises(ValueError, match="at most 4"):
        check_threads(5, maximum=4)


def test_extreme_counts_never_reach_torch(monkeypatch) -> None:
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="threads must be at most"):
        apply_threads(ThreadChoice(10**7, "--threads", "given"))
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="--threads must be at most"):
        resolve_threads(10**7)
    # an extreme OMP_NUM_THREADS is unusable like a malformed one: the policy decides
    choice = resolve_threads(None, str(10**7), 1000, cores=2, busy=0.0)
    assert (choice.threads, choice.source) == (1, "policy")


@pytest.mark.parametrize("value", ["1000000", "99999999999999999999", "-5"])
def test_cli_refuses_extreme_threads_in_one_line_without_crashing(tmp_path, value) -> None:
    argv = ["train", "--dataset", "texas", "--epochs", "1", "--threads", value, "--db", str(tmp_path / "r.db")]
    proc = subprocess.run(
        [SCRIPT, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # a segmentation fault is -11
    assert len(lines) == 1 and lines[0].startswith("graphsparse train: error: --threads must be"), lines
    assert not (tmp_path / "r.db").exists()
