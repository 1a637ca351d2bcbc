"""``graphsparse --version`` and the choices listed in ``--help``."""

from __future__ import annotations

import pytest

import graphsparse
from graphsparse.cli import main
from graphsparse.nn import MODELS
from graphsparse.nn.gae import LINK_MODELS


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"graphsparse {graphsparse.__version__}"


@pytest.mark.parametrize("command", ["train", "glt"])
def test_help_lists_every_registered_model(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    # argparse wraps lines, also after a hyphen ("pyg-" at a line's end, "gcn" on the next)
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")
    for name in set(MODELS) | set(LINK_MODELS):
        assert name in text
    if command == "train":
        assert "--augment {none,gaug-m,gaug-o}" in text


def test_unknown_model_is_a_usage_error_naming_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "cora", "--model", "transformer"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'transformer'" in err and "'sage'" in err


def test_distributed_model_choices_are_the_node_models():
    from graphsparse.cli.distributed import build_parser

    parser = build_parser()
    assert parser.parse_args(["--dataset", "cora", "--model", "Cluster-GCN"]).model == "cluster-gcn"
    assert set(parser._option_string_actions["--model"].choices) == set(MODELS)
