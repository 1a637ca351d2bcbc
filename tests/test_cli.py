"""The ``graphsparse`` command's one configuration layer: checked values, refused options, the papers' defaults,
metric-named reports, and a library without import-time side effects."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from graphsparse.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _status(argv: list[str]) -> int:
    """The command's exit status: main's return value, or argparse's when it refuses the command line."""
    try:
        return main(argv)
    except SystemExit as stop:  # a usage error: an option the chosen mode does not take, a bad choice
        return int(stop.code)


def _refused(argv: list[str], option: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    code = _status([*argv, "--no-progress", "--db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.match(r"graphsparse (train|glt): error: ", lines[0]), err
    assert option in lines[0], err
    return lines[0]


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--task", "link", "--batching", "cluster"], "--batching"),
        (["--task", "link", "--augment", "gaug-m"], "--augment"),
        (["--task", "link", "--layers", "3"], "--layers"),
        (["--task", "link", "--preset", "paper"], "--preset"),
        (["--task", "link", "--split", "public"], "--split"),
        (["--task", "link", "--sparse-features"], "--sparse-features"),
        (["--task", "link", "--metric", "acc"], "--metric"),
        (["--parts", "10"], "--parts"),
        (["--clusters-per-batch", "4"], "--clusters-per-batch"),
        (["--augment", "gaug-m", "--parts", "10"], "--parts"),
        (["--hits", "20"], "--hits"),
        (["--decoder", "dot"], "--decoder"),
        (["--eval-negatives", "2"], "--eval-negatives"),
        (["--gaug", "alpha=1"], "--gaug"),
        (["--gaug-mode", "dense"], "--gaug-mode"),
        (["--augment", "gaug-m", "--gaug-mode", "dense"], "--gaug-mode"),
        (["--augment", "gaug-o", "--sparse-features"], "--sparse-features"),
        (["--batching", "cluster", "--sparse-features"], "--sparse-features"),
        (["--batching", "cluster", "--augment", "gaug-o"], "--augment"),
    ],
)
def test_train_refuses_options_that_do_not_apply(extra, option, capsys, tmp_path):
    _refused(["train", "--dataset", "cora", *extra], option, capsys, tmp_path)


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--s1", "1e-3"], "--s1"),
        (["--method", "teddy", "--s2", "1e-3"], "--s2"),
        (["--task", "link", "--distill", "1"], "--distill"),
        (["--task", "link", "--preset", "teddy"], "--preset"),
        (["--task", "link", "--split", "public"], "--split"),
        (["--method", "ugs,random", "--distill", "1"], "--distill"),
        (["--rounds", "0"], "--rounds"),
        (["--pg", "1.5"], "--pg"),
        (["--pw", "nan"], "--pw"),
        (["--seeds", "0"], "--seeds"),
        (["--epochs", "0"], "--epochs"),
        (["--distill", "-1"], "--distill"),
        (["--method", "ugs", "--s1", "-1"], "--s1"),
        (["--method", "teddy", "--wd-lambda", "1"], "--wd-lambda"),
        (["--method", "wd-glt", "--wd-iters", "0"], "--wd-iters"),
        (["--method", "wd-glt", "--wd-eps", "0"], "--wd-eps"),
        (["--method", "wd-glt", "--distill", "1"], "--distill"),
    ],
)
def test_glt_refuses_bad_or_inapplicable_options(extra, option, capsys, tmp_path):
    _refused(["glt", "--dataset", "cora", *extra], option, capsys, tmp_path)


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--lr", "0"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--lr", "inf"], "--lr"),
        (["--weight-decay", "nan"], "--weight-decay"),
        (["--weight-decay", "-1"], "--weight-decay"),
        (["--hidden", "0"], "--hidden"),
        (["--layers", "0"], "--layers"),
        (["--dropout", "1"], "--dropout"),
        (["--epochs", "0"], "--epochs"),
        (["--seeds", "0"], "--seeds"),
        (["--seed-offset", "-1"], "--seed-offset"),
        (["--batching", "cluster", "--parts", "0"], "--parts"),
        (["--batching", "cluster", "--clusters-per-batch", "0"], "--clusters-per-batch"),
        (["--task", "link", "--eval-negatives", "0"], "--eval-negatives"),
        (["--task", "link", "--hits", "0,20"], "--hits"),
        (["--task", "link", "--lr", "0"], "--lr"),
    ],
)
def test_train_refuses_bad_values(extra, option, capsys, tmp_path):
    _refused(["train", "--dataset", "cora", *extra], option, capsys, tmp_path)


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "cora", "--metric", "f1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("graphsparse train: error: ") and "--metric" in err[0]


def _library_sources() -> list[Path]:
    return sorted(p for p in (ROOT / "graphsparse").rglob("*.py") if "cli" not in p.relative_to(ROOT).parts[1:2])


@pytest.mark.parametrize("path", _library_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_cli_imports_argparse_or_the_cli(path):
    text = path.read_text()
    assert not re.search(r"^\s*(import argparse|from argparse import)", text, re.M), path
    assert not re.search(r"^\s*(from graphsparse\.cli|import graphsparse\.cli|from \.+cli\b)", text, re.M), path


def test_importing_the_library_has_no_side_effects():
    code = r"""
import ctypes, importlib, pkgutil, sys
calls = []
original = ctypes.CDLL.__getattr__
def spy(self, name):
    if name == "mallopt":
        calls.append(name)
    return original(self, name)
ctypes.CDLL.__getattr__ = spy
import graphsparse
names = [m.name for m in pkgutil.walk_packages(graphsparse.__path__, "graphsparse.")
         if not m.name.startswith("graphsparse.cli") and not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
assert len(names) > 20, names
print("matplotlib" in sys.modules, calls)
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "[]"], out.stdout


def test_citeseer_gcn_defaults_to_the_paper_preset():
    from graphsparse.cli import train, train_node
    from graphsparse.presets import PRESETS, resolve_preset
    from graphsparse.tasks.node import NodeTrainConfig

    args = build_parser().parse_args(["train", "--dataset", "citeseer", "--model", "gcn"])
    assert train.check(args) == "full"
    setup = train_node.resolved_node_setup(args, "citeseer")
    paper = PRESETS[("gcn", "citeseer")]["paper"]
    assert setup["preset"] == "paper"
    assert vars(setup["config"]) == vars(NodeTrainConfig(**paper["train"]))
    assert setup["model_options"] == paper["model"] == {"hidden_channels": 16, "dropout": 0.5}
    assert setup["config"].normalize_features and setup["config"].decay_first_layer_only
    # an explicit option overrides the preset; --preset none gives the bare library defaults
    args = build_parser().parse_args(["train", "--dataset", "citeseer", "--lr", "0.05"])
    train.check(args)
    assert train_node.resolved_node_setup(args, "citeseer")["config"].lr == 0.05
    args = build_parser().parse_args(["train", "--dataset", "citeseer", "--preset", "none"])
    train.check(args)
    bare = train_node.resolved_node_setup(args, "citeseer")
    assert vars(bare["config"]) == vars(NodeTrainConfig()) and bare["model_options"] == {}
    # GCN on a dataset without its own preset: Kipf's model and optimiser, features as they are
    generic = resolve_preset("gcn", "texas", "paper")
    assert generic["model"] == {"hidden_channels": 16, "dropout": 0.5}
    assert generic["train"]["decay_first_layer_only"] and not generic["train"]["normalize_features"]


def test_glt_defaults_are_the_teddy_protocol():
    from graphsparse.cli import glt

    args = build_parser().parse_args(["glt", "--dataset", "citeseer", "--method", "teddy,ugs,random"])
    _, methods = glt.check(args)
    setup = glt.resolve_glt(args, "citeseer", methods)
    assert set(setup) == {"preset", "config", "model_options", "methods"}
    assert setup["preset"] == "teddy" and setup["model_options"]["hidden_channels"] == 512
    teddy, ugs, random = setup["methods"]
    assert [m.name for m in setup["methods"]] == ["teddy", "ugs", "random"]
    assert teddy.distill == 10.0 and (ugs.s1, ugs.s2) == (1e-4, 1e-4) and random.describe() == {}
    assert not setup["config"].decay_first_layer_only and setup["config"].epochs == 200
    args = build_parser().parse_args(
        ["glt", "--dataset", "citeseer", "--method", "teddy,ugs", "--distill", "0", "--preset", "paper", "--s2", "3e-3"]
    )
    _, methods = glt.check(args)
    setup = glt.resolve_glt(args, "citeseer", methods)
    teddy, ugs = setup["methods"]
    assert teddy.distill == 0.0 and setup["model_options"]["hidden_channels"] == 16
    assert (ugs.s1, ugs.s2) == (1e-2, 3e-3)  # the UGS reference's s1, the given s2
    args = build_parser().parse_args(["glt", "--dataset", "citeseer"])  # default methods: teddy and random
    _, methods = glt.check(args)
    assert methods == ["teddy", "random"]
    assert [m.label for m in glt.resolve_glt(args, "citeseer", methods)["methods"]] == ["teddy + KD (λ = 10)", "random"]


def test_roc_auc_dataset_reports_roc_auc(tmp_path, capsys):
    argv = [
        "train",
        "--dataset",
        "tolokers",
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--seeds",
        "1",
        "--json",
        "--no-progress",
        "--db",
        str(tmp_path / "r.db"),
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metric"] == "roc_auc" and out["test_roc_auc_mean"] == pytest.approx(0.5239731691, abs=1e-8)  # seed 0
    assert "test_acc_mean" not in out and "test_roc_auc" in out["runs"][0]
    assert main([*argv[:-1], str(tmp_path / "a.db"), "--metric", "acc"]) == 0
    assert "test_acc_mean" in json.loads(capsys.readouterr().out)


def test_table_prints_fixed_decimals(capsys):
    from graphsparse.experiments.tables import print_summary

    print_summary(
        {
            "dataset": "d",
            "test_acc_mean": 0.8,
            "test_acc_std": 0.01,
            "epoch_seconds_mean": 0.5,
            "epoch_seconds_std": 0.0,
        },
        as_json=False,
    )
    out = capsys.readouterr().out
    assert "80.00" in out and "1.00" in out and "0.5000" in out


_SELECT = {
    "full": [],
    "cluster": ["--batching", "cluster"],
    "cluster-disk": ["--batching", "cluster", "--on-disk"],
    "gaug-m": ["--augment", "gaug-m"],
    "gaug-o": ["--augment", "gaug-o"],
    "link": ["--task", "link"],
}


@pytest.mark.parametrize("mode", list(_SELECT))
def test_each_mode_parser_refuses_every_option_the_table_gives_other_modes(mode, capsys):
    from graphsparse.cli import options, train

    args = build_parser().parse_args(["train", "--dataset", "cora", *_SELECT[mode]])
    assert train.check(args) == mode
    # the selectors of other modes choose those modes (--on-disk) or are refused in tests above (--task link --augment)
    parser = train.mode_parser(mode)
    refused = [a for a in parser._actions if isinstance(a, options.Refuse) and a.dest not in train.SELECTORS]
    assert len(refused) >= 5  # full-batch training takes the most options, yet not --parts or --hits
    for action in refused:
        flag = action.option_strings[0]
        value = [] if action.nargs == 0 else ["1"]
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args(["train", "--dataset", "cora", *_SELECT[mode], flag, *value])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"graphsparse train: error: {flag} applies to "), err
        assert err.endswith(f"not to {train.where([mode])}"), err
    taken = {a.dest for a in parser._actions if not isinstance(a, options.Refuse)}
    assert taken >= {o.dest for o in train.OPTIONS if mode in o.modes and o.flags}
