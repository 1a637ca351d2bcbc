import json
import sqlite3
import subprocess
import sys
from multiprocessing import get_context

import pytest
import torch

from graphsparse.cli import main
from graphsparse.experiments import ResultsStore
from graphsparse.nn import build_model
from graphsparse.tasks.node import NodeTrainConfig, run_node, train_node


def _status(argv: list[str]) -> int:
    """The command's exit status: main's return value, or argparse's when it refuses the command line."""
    try:
        return main(argv)
    except SystemExit as stop:  # a usage error: an option the chosen mode does not take, a bad choice
        return int(stop.code)


def test_gcn_on_cora_reaches_published_range(cora):
    config = NodeTrainConfig(epochs=200, decay_first_layer_only=True, normalize_features=True)
    [result] = run_node(
        cora, lambda: build_model("gcn", cora.num_features, cora.num_classes), [0], config, progress=False
    )
    assert result.test_acc >= 0.79
    assert 1 <= result.best_epoch <= 200


def test_same_seed_same_result(small_graph):
    def once():
        return run_node(small_graph, lambda: build_model("gcn", 4, 2), [3], NodeTrainConfig(epochs=20), progress=False)[
            0
        ]

    a, b = once(), once()
    assert a.val_acc == b.val_acc and a.test_acc == b.test_acc
    assert all(torch.equal(a.best_state[k], b.best_state[k]) for k in a.best_state)


@pytest.fixture(scope="module")
def planted():
    """Three planted classes (chance: 1/3), 90% of edges inside a class; 90/30/30 nodes train/val/test."""
    from graphsparse.data import synthetic_dcsbm

    return synthetic_dcsbm(num_nodes=150, num_edges=600, num_features=16, num_classes=3, homophily=0.9, seed=0)


@pytest.mark.parametrize("model", ["mlp", "gat", "gin", "sage"])
def test_every_model_trains_on_graph(planted, model):
    from graphsparse.utils import seed_everything

    seed_everything(0)
    net = build_model(model, 16, 3, hidden_channels=8)
    result = train_node(planted, net, planted.split(), NodeTrainConfig(epochs=20))
    assert result.test_acc >= 0.6  # well above chance (GIN, the slowest learner here, gets 0.7)


def test_zero_edge_values_remove_edges_for_gat(small_graph):
    net = build_model("gat", 4, 2, hidden_channels=4, heads=2).eval()
    keep = torch.ones(small_graph.num_edges)
    keep[0] = 0
    pruned = small_graph.keep_edges(keep.bool())
    assert torch.allclose(net(small_graph, edge_values=keep), net(pruned))


def test_bad_config_and_model():
    with pytest.raises(ValueError, match="epochs"):
        NodeTrainConfig(epochs=0)
    with pytest.raises(ValueError, match="known models"):
        build_model("transformer9000", 3, 2)


def test_store_concurrent_writers(tmp_path):
    from _store_writer import write_run

    path = tmp_path / "runs.db"
    # fresh processes, not forks: a fork of a pytest worker that ran Ray or torch threads before can hang
    with get_context("spawn").Pool(4) as pool:
        pool.map(write_run, [(str(path), i) for i in range(40)])
    runs = ResultsStore(path).runs(kind="node")
    assert sorted(r["seed"] for r in runs) == list(range(40))
    assert "torch" in runs[0]["versions"]


def test_store_key_value_and_bad_file(tmp_path):
    store = ResultsStore(tmp_path / "x.db")
    store.put("glt/level/1", {"acc": 0.5})
    assert store.get("glt/level/1") == {"acc": 0.5} and store.get("missing") is None
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match="not a graphsparse results database"):
        ResultsStore(bad)


def test_cli_train_json(tmp_path, capsys):
    db = tmp_path / "r.db"
    code = main(
        [
            "train",
            "--dataset",
            "texas",
            "--model",
            "mlp",
            "--seeds",
            "2",
            "--epochs",
            "30",
            "--json",
            "--no-progress",
            "--db",
            str(db),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "texas" and out["model"] == "mlp" and out["seeds"] == [0, 1]
    assert [r["test_acc"] for r in out["runs"]] == pytest.approx([29 / 37, 28 / 37])  # seeds 0 and 1, 37 test nodes
    assert out["test_acc_mean"] == pytest.approx(57 / 74) and out["test_acc_std"] == pytest.approx(2**-0.5 / 37)
    assert [r["split"] for r in out["runs"]] == ["geom-gcn-0", "geom-gcn-1"]
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["train", "--dataset", "nosuchset", "--db", str(tmp_path / "r.db")]) == 2
    assert "cora" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # --model has argparse choices (the registered models)
        main(["train", "--dataset", "texas", "--model", "nosuchmodel", "--db", str(tmp_path / "r.db")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nosuchmodel'" in err and "'gcn'" in err


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "graphsparse.cli", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--seeds" in out.stdout


def test_sparse_features_give_the_dense_model_outputs_and_stay_deterministic():
    import torch

    from graphsparse.data import synthetic_dcsbm
    from graphsparse.nn import build_model
    from graphsparse.tasks.node import NodeTrainConfig, train_node, with_sparse_features
    from graphsparse.utils import seed_everything

    graph = synthetic_dcsbm(num_nodes=150, num_edges=500, num_features=40, num_classes=3, seed=1)
    graph = graph.replace(x=(graph.x > graph.x.median()).float())  # bag-of-words-like 0/1 features
    assert graph.sparse_x() is None  # too small for the automatic rule
    sparse = with_sparse_features(graph)
    assert sparse.sparse_x().layout == torch.sparse_csr and graph.sparse_x() is None
    seed_everything(0)
    model = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=32).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(sparse), model(graph), rtol=1e-5, atol=1e-6)

    def run():
        seed_everything(3)
        net = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=32)
        split = graph.split(next(iter(graph.splits)))
        return train_node(graph, net, split, NodeTrainConfig(epochs=15, sparse_features=True))

    first, second = run(), run()
    assert first.val_acc == second.val_acc and first.best_epoch == second.best_epoch
    for key, value in first.best_state.items():
        assert torch.equal(value, second.best_state[key])


def test_train_command_sparse_features_flag(tmp_path, capsys):
    import json

    from graphsparse.cli import main
    from graphsparse.experiments import ResultsStore

    def run(extra: list[str], db: str) -> dict:
        argv = [
            "train",
            "--dataset",
            "cora",
            "--seeds",
            "1",
            "--epochs",
            "20",
            "--json",
            "--no-progress",
            "--db",
            str(tmp_path / db),
            *extra,
        ]
        assert main(argv) == 0
        return json.loads(capsys.readouterr().out)

    # no dropout: feature dropout draws its mask over the CSR values, not the dense matrix; without it the two runs
    # differ only in the summation order of X W
    dense, sparse = run(["--dropout", "0"], "d.db"), run(["--dropout", "0", "--sparse-features"], "s.db")
    assert abs(dense["val_acc_mean"] - sparse["val_acc_mean"]) <= 0.01
    configs = [r["config"]["train"]["sparse_features"] for r in ResultsStore(tmp_path / "s.db").runs()]
    assert configs == [True]


def test_train_command_sparse_features_refused_where_unsupported(tmp_path, capsys):

    argv = [
        "train",
        "--dataset",
        "cora",
        "--augment",
        "gaug-o",
        "--sparse-features",
        "--seeds",
        "1",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert _status(argv) == 2
    err = capsys.readouterr().err
    assert "--sparse-features applies to full-batch node training and GAug-M (--augment gaug-m) only" in err
    assert "not to GAug-O (--augment gaug-o)" in err
