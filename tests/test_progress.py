"""Progress bars on the long loops (tqdm on stderr, hidden by --no-progress): GAug-M/GAug-O seeds and
pre-training, Cluster-GCN seeds and epochs, the distributed run (rank 0 only)."""

from __future__ import annotations

import pytest
import torch

from graphsparse.cli import main
from graphsparse.train import fit


def test_fit_counts_epochs_on_a_bar(capsys):
    model = torch.nn.Linear(1, 1)
    fit(model, lambda epoch: torch.tensor(1.0), None, epochs=3, progress="warm-up")
    assert "warm-up" in capsys.readouterr().err
    fit(model, lambda epoch: torch.tensor(1.0), None, epochs=3)
    assert "warm-up" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "labels"),
    [
        (
            ["--batching", "cluster", "--parts", "4", "--clusters-per-batch", "2"],
            ["Cluster-GCN texas", "Cluster-GCN seed"],
        ),
        (["--augment", "gaug-m", "--gaug", "ep_epochs=2"], ["GAug-M texas", "GAug-M predictor pre-training"]),
        (
            ["--augment", "gaug-o", "--gaug", "pretrain_ep=2,pretrain_nc=2"],
            ["GAug-O texas", "GAug-O predictor pre-training", "GAug-O classifier pre-training", "GAug-O seed 0"],
        ),
    ],
)
def test_train_paths_show_progress(extra, labels, tmp_path, capsys):
    argv = ["train", "--dataset", "texas", "--model", "gcn", "--seeds", "1", "--epochs", "2", *extra]
    assert main([*argv, "--db", str(tmp_path / "a.db")]) == 0
    err = capsys.readouterr().err
    assert all(label in err for label in labels), err
    assert main([*argv, "--db", str(tmp_path / "b.db"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert not any(label in err for label in labels), err


def test_distributed_rank0_shows_progress(capsys):
    from graphsparse.distributed import DistributedConfig, run_rank

    config = DistributedConfig(dataset="texas", parts=4, clusters_per_batch=2, epochs=2, hidden=8)
    run_rank(config, rank=0, world=1)
    assert "Cluster-GCN seed 0" in capsys.readouterr().err
    config.progress = False
    run_rank(config, rank=0, world=1)
    assert "Cluster-GCN seed 0" not in capsys.readouterr().err
