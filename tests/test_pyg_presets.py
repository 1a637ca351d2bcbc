"""PyG backbones under the papers' presets: ``pyg-gcn`` gets Kipf & Welling's setting like ``gcn`` (first-layer
weight decay through PyGModel.first_layer), ``train`` options for feature normalisation and decay placement, and
model grids that warn (one stderr line) when their rows run under different presets."""

import json

import pytest
import torch

from graphsparse.cli import build_parser, main
from graphsparse.nn import build_model
from graphsparse.train import first_layer, make_optimizer


def _status(argv: list[str]) -> int:
    """The command's exit status: main's return value, or argparse's when it refuses the command line."""
    try:
        return main(argv)
    except SystemExit as stop:  # a usage error: an option the chosen mode does not take, a bad choice
        return int(stop.code)


def _setup(argv: list[str]) -> dict:
    from graphsparse.cli import train, train_node

    args = build_parser().parse_args(["train", *argv])
    train.check(args)
    return train_node.resolved_node_setup(args, args.dataset)


def test_pyg_gcn_gets_the_gcn_paper_preset():
    gcn, pyg = _setup(["--dataset", "cora", "--model", "gcn"]), _setup(["--dataset", "cora", "--model", "pyg-gcn"])
    assert pyg["preset"] == gcn["preset"] == "paper"
    assert vars(pyg["config"]) == vars(gcn["config"])
    assert pyg["config"].normalize_features and pyg["config"].decay_first_layer_only
    assert pyg["model_options"] == gcn["model_options"] == {"hidden_channels": 16, "dropout": 0.5}
    texas = _setup(["--dataset", "texas", "--model", "pyg-gcn"])  # the wildcard: no row-normalisation
    assert texas["preset"] == "paper" and not texas["config"].normalize_features


def test_pyg_model_decays_its_first_layer_only():
    model = build_model("pyg-gcn", 8, 3, hidden_channels=4)
    assert first_layer(model) is model.module.convs[0]
    decayed, rest = make_optimizer(model, 0.01, 5e-4, decay_first_layer_only=True).param_groups
    assert decayed["weight_decay"] == 5e-4 and rest["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(p) for p in model.module.convs[0].parameters()}
    assert len(decayed["params"]) + len(rest["params"]) == len(list(model.parameters()))


def test_feature_and_decay_options_override_the_preset():
    setup = _setup(["--dataset", "cora", "--model", "pyg-gcn", "--no-normalize-features", "--decay", "all"])
    assert not setup["config"].normalize_features and not setup["config"].decay_first_layer_only
    setup = _setup(["--dataset", "cora", "--model", "gat", "--normalize-features", "--decay", "first-layer"])
    assert setup["preset"] is None
    assert setup["config"].normalize_features and setup["config"].decay_first_layer_only


def test_feature_and_decay_options_are_refused_where_they_do_not_apply(tmp_path, capsys):
    db = str(tmp_path / "r.db")
    assert _status(["train", "--dataset", "cora", "--task", "link", "--decay", "all", "--db", db]) == 2
    assert "--decay applies to full-batch node training, Cluster-GCN" in capsys.readouterr().err
    assert _status(["train", "--dataset", "cora", "--task", "link", "--no-normalize-features", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "--no-normalize-features applies to full-batch node training" in err and "not to link prediction" in err
    # a model whose first layer cannot be found is refused rather than decayed everywhere
    from graphsparse.cli.train_node import check_decay
    from graphsparse.tasks.node import NodeTrainConfig

    config = NodeTrainConfig(weight_decay=5e-4, decay_first_layer_only=True)
    with pytest.raises(ValueError, match="has no first layer.*--decay all"):
        check_decay("mine", torch.nn.Sequential(torch.nn.Linear(2, 2)), config)
    check_decay("mine", torch.nn.Sequential(torch.nn.Linear(2, 2)), NodeTrainConfig(weight_decay=5e-4))


def test_grid_of_different_presets_warns_in_one_line(tmp_path, capsys):
    argv = ["train", "--dataset", "cora", "--model", "gcn,mlp", "--epochs", "2", "--seeds", "1", "--json"]
    assert main([*argv, "--db", str(tmp_path / "r.db"), "--no-progress"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(err) == 1 and "different presets" in err[0]
    assert "gcn preset=paper" in err[0] and "mlp preset=none" in err[0] and "normalize_features" in err[0]
    # the same protocol for every row: no warning
    argv = ["train", "--dataset", "cora", "--model", "gcn,pyg-gcn", "--epochs", "2", "--seeds", "1", "--json"]
    assert main([*argv, "--db", str(tmp_path / "r.db"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    documents = [json.loads(line) for line in captured.out.splitlines()]
    assert [d["config"]["preset"] for d in documents] == ["paper", "paper"]
    assert documents[0]["config"]["train"] == documents[1]["config"]["train"]


def test_grid_refuses_a_preset_one_row_lacks_before_training(tmp_path, capsys):
    db = tmp_path / "r.db"
    argv = ["train", "--dataset", "cora", "--model", "gcn,mlp", "--preset", "paper", "--seeds", "1"]
    assert main([*argv, "--db", str(db), "--no-progress"]) == 2
    assert "no preset 'paper' for model 'mlp'" in capsys.readouterr().err
    if db.exists():  # nothing trained: no run stored
        from graphsparse.experiments.store import ResultsStore

        assert ResultsStore(db, read_only=True).runs() == []


def test_protocol_warning_names_only_what_differs():
    from graphsparse.cli.grid import protocol_warning

    same = {"preset": "paper", "lr": 0.01}
    assert protocol_warning([("cora", "gcn", same), ("cora", "pyg-gcn", dict(same))]) is None
    # different datasets are not compared with each other
    assert protocol_warning([("cora", "gcn", same), ("texas", "gcn", {"preset": None, "lr": 0.01})]) is None
    line = protocol_warning([("cora", "gcn", same), ("cora", "gat", {"preset": None, "lr": 0.01})])
    assert line is not None and "\n" not in line and "gcn preset=paper, gat preset=none" in line
    assert "lr=" not in line


@pytest.mark.slow
def test_gcn_and_pyg_gcn_reproduce_kipf_on_cora(tmp_path, capsys):
    """Both implementations under Kipf & Welling's preset: within 0.7 point of 81.5 over 10 seeds."""
    torch.set_num_threads(1)
    argv = ["train", "--dataset", "cora", "--model", "gcn,pyg-gcn", "--seeds", "10", "--json", "--no-progress"]
    assert main([*argv, "--db", str(tmp_path / "r.db")]) == 0
    for line in capsys.readouterr().out.splitlines():
        document = json.loads(line)
        assert abs(100 * document["summary"]["test_acc"]["mean"] - 81.5) <= 0.7, document["model"]


def test_glt_grid_compares_its_rows_protocols():
    from graphsparse.cli import glt
    from graphsparse.cli.grid import combinations, protocol_warning

    def rows(argv: list[str]) -> list[tuple[str, str, dict]]:
        args = build_parser().parse_args(["glt", "--dataset", "cora", "--model", "gcn,pyg-gcn", *argv])
        return [(c.dataset, c.model, glt.grid_protocol(c)) for c in combinations(args)]

    # the GLT default is the TEDDY protocol, registered for graphsparse's GCN only: the grid says so
    line = protocol_warning(rows([]))
    assert line is not None and "gcn preset=teddy" in line and "pyg-gcn preset=none" in line
    assert protocol_warning(rows(["--preset", "paper"])) is None  # Kipf & Welling's setting for both
    assert protocol_warning(rows(["--preset", "none"])) is None
