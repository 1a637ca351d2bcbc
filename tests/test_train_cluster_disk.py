"""``graphsparse train --batching cluster --on-disk`` / ``--disk FOLDER`` / ``--train-only``: Cluster-GCN from a
part-ordered disk graph in one process, the same numbers as the library's disk trainer, the disk graph cached,
runs stored apart from in-memory ones, and one-line refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from graphsparse.batching import DiskClusterLoader, metis_partition, train_cluster_gcn_disk
from graphsparse.cli import main
from graphsparse.data.diskgraph import DiskGraph
from graphsparse.data.diskwrite import write_disk_graph
from graphsparse.data.synthetic import synthetic_dcsbm, synthetic_dcsbm_to_disk
from graphsparse.experiments.store import ResultsStore
from graphsparse.nn import build_model
from graphsparse.tasks.node import NodeTrainConfig
from graphsparse.utils import seed_everything


def _status(argv: list[str]) -> int:
    """The command's exit status: main's return value, or argparse's when it refuses the command line."""
    try:
        return main(argv)
    except SystemExit as stop:  # a usage error: an option the chosen mode does not take, a bad choice
        return int(stop.code)


SBM = dict(num_nodes=600, num_edges=3000, num_features=6, num_classes=3, seed=2)
CORA = ["--dataset", "cora", "--batching", "cluster", "--on-disk", "--parts", "8", "--clusters-per-batch", "2"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-part disk graph folder, as a generator writes it."""
    return synthetic_dcsbm_to_disk(tmp_path_factory.mktemp("disk") / "raw", **SBM)


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A disk graph folder written from a Graph, already ordered by 6 METIS parts."""
    graph = synthetic_dcsbm(**SBM)
    parts = metis_partition(graph, 6, cache_dir=tmp_path_factory.mktemp("metis"))
    return write_disk_graph(tmp_path_factory.mktemp("disk") / "parted", graph, parts.numpy())


def _train(argv: list[str], db: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    code = main(["train", *argv, "--seeds", "1", "--json", "--no-progress", "--db", str(db)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_on_disk_equals_the_disk_trainer_and_reuses_its_cached_disk_graph(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "r.db"
    out = _train([*CORA, "--epochs", "40"], db, capsys)
    assert out["on_disk"] is True and out["config"]["on_disk"] is True
    assert out["batching"] == "cluster" and out["parts"] == 8 and out["clusters_per_batch"] == 2
    (folder,) = map(Path, out["disk"])
    assert folder.parent == cache
    disk = DiskGraph.open(folder)
    assert disk.num_parts == 8 and disk.num_nodes == 2708
    assert out["config"]["disk"] == [
        {"num_parts": 8, "key": folder.name.split("-")[-1], "metis_parts": 8, "train_split": None}
    ]
    rows = np.asarray(disk.feature_rows()).sum(1)  # Cora's features are stored as CSR (1.3% non-zero)
    assert np.allclose(rows[rows > 0], 1.0, atol=1e-5)  # the paper preset row-normalises: the disk holds that

    # the library's disk trainer, called directly on the same folder with the same seed and options
    train = NodeTrainConfig(**out["config"]["train"])
    seed_everything(0)
    model = build_model("gcn", disk.num_features, disk.num_classes, **out["config"]["model_options"])
    result = train_cluster_gcn_disk(model, DiskClusterLoader(disk, 2, seed=0), "public", train, seed=0)
    assert out["runs"][0]["test_acc"] == result.test > 0.6  # seven classes: chance is about 0.3
    assert out["runs"][0]["best_epoch"] == result.best_epoch

    # an identical command finds the disk graph in the cache: no METIS, no write, the same number
    stamp = (folder / "meta.json").stat().st_mtime_ns

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached disk graph was rebuilt")

    monkeypatch.setattr("graphsparse.batching.partition.write_disk_graph", refuse)
    monkeypatch.setattr("graphsparse.batching.partition.metis_partition", refuse)
    again = _train([*CORA, "--epochs", "40"], db, capsys)
    assert again["disk"] == out["disk"] and again["runs"] == out["runs"]
    assert (folder / "meta.json").stat().st_mtime_ns == stamp

    # both runs are stored as Cluster-GCN runs marked on disk, with the partition that trained them
    records = ResultsStore(db).runs("node-cluster")
    assert len(records) == 2 and all(r["config"]["on_disk"] is True for r in records)
    assert records[0]["config"]["disk"]["key"] == folder.name.split("-")[-1]
    assert records[0]["metrics"]["test_acc"] == out["runs"][0]["test_acc"]


def test_on_disk_runs_are_stored_apart_from_in_memory_runs(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    common = ["--epochs", "2"]
    _train([*CORA, *common], db, capsys)
    _train([a for a in CORA if a != "--on-disk"] + common, db, capsys)
    disk_run, memory_run = ResultsStore(db).runs("node-cluster")
    assert "on_disk" not in memory_run["config"] and disk_run["config"]["on_disk"] is True
    assert memory_run["config"]["cluster"] == disk_run["config"]["cluster"]  # same batching, still told apart
    assert memory_run["graph_fingerprint"] == disk_run["graph_fingerprint"]  # the same (normalised) data


def test_disk_folders_from_both_writers_train(
    raw: Path, parted: Path, cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    options = ["--batching", "cluster", "--clusters-per-batch", "2", "--epochs", "15"]
    # a one-part folder (synthetic_dcsbm_to_disk) is partitioned into --parts first, into the cache
    out = _train(["--disk", str(raw), "--parts", "6", *options], db, capsys)
    (folder,) = map(Path, out["disk"])
    assert folder.parent == cache and DiskGraph.read_meta(folder)["num_parts"] == 6
    assert DiskGraph.read_meta(raw)["num_parts"] == 1  # the source folder is left as it was
    assert out["dataset"] == "synthetic" and out["on_disk"] is True and out["runs"][0]["split"] == "random"
    assert out["test_acc_mean"] > 0.6  # three classes: chance is about 0.33
    # that partitioned folder given to --disk is used as it is: the same batches, the same number
    again = _train(["--disk", str(folder), *options], db, capsys)
    assert again["disk"] == [str(folder)] and again["parts"] == 6 and again["runs"] == out["runs"]
    # a folder write_disk_graph wrote from a Graph, already in 6 METIS parts
    written = _train(["--disk", str(parted), *options], db, capsys)
    assert written["disk"] == [str(parted)] and written["parts"] == 6 and written["test_acc_mean"] > 0.6
    fingerprints = {r["graph_fingerprint"] for r in ResultsStore(db).runs("node-cluster")}
    assert len(fingerprints) == 3 and all(f.startswith("disk:") for f in fingerprints)
    # --train-only: METIS (in a child process) on the training rows of the one-part folder, another partition
    train_only = _train(["--disk", str(raw), "--parts", "6", "--train-only", *options], db, capsys)
    (other,) = map(Path, train_only["disk"])
    assert other != folder and DiskGraph.read_meta(other)["info"]["train_split"] == "random"
    assert DiskGraph.read_meta(other)["info"]["metis_peak_rss_gb"] > 0  # measured in the child process
    assert not np.array_equal(np.load(other / "perm.npy"), np.load(folder / "perm.npy"))
    assert train_only["test_acc_mean"] > 0.6


def test_train_only_partitions_the_training_graph(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    whole = _train([*CORA, "--epochs", "2"], db, capsys)
    out = _train([*CORA, "--train-only", "--epochs", "40"], db, capsys)
    assert out["config"]["cluster"]["train_only"] is True and out["config"]["disk"][0]["train_split"] == "public"
    a, b = Path(whole["disk"][0]), Path(out["disk"][0])
    assert a != b
    assert not np.array_equal(np.load(a / "perm.npy"), np.load(b / "perm.npy"))  # another partition
    assert sorted(np.load(b / "perm.npy").tolist()) == list(range(2708))  # still every node, once
    assert out["test_acc_mean"] > 0.6
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith(".")) == []  # no staging folder left


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--dataset", "cora", "--on-disk"], ["--on-disk", "--batching cluster"]),
        (["--disk", "RAW"], ["--disk", "--batching cluster"]),
        (["--dataset", "cora", "--batching", "cluster", "--disk", "RAW"], ["--disk", "RAW", "--dataset"]),
        (["--batching", "cluster", "--disk", "EMPTY"], ["--disk", "EMPTY", "not a disk graph"]),
        (["--batching", "cluster", "--disk", "RAW", "--split", "nope"], ["--split nope", "RAW"]),
        (["--batching", "cluster", "--on-disk", "--dataset", "cora", "--split", "nope"], ["--split nope", "cora"]),
        (["--dataset", "cora", "--batching", "cluster", "--train-only"], ["--train-only", "--on-disk or --disk"]),
        (["--dataset", "cora", "--train-only"], ["--train-only", "--batching cluster"]),
        (["--batching", "cluster", "--disk", "PARTED", "--parts", "5"], ["--parts 5", "PARTED", "6 parts"]),
        (["--batching", "cluster", "--disk", "PARTED", "--train-only"], ["--train-only", "PARTED"]),
        (["--batching", "cluster"], ["--dataset", "--disk"]),
        (["--dataset", "cora", "--batching", "cluster", "--on-disk", "--metric", "roc_auc"], ["--metric roc_auc"]),
    ],
)
def test_refusals_are_one_line_naming_the_problem(
    argv: list[str],
    named: list[str],
    raw: Path,
    parted: Path,
    cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    places = {"RAW": str(raw), "PARTED": str(parted), "EMPTY": str(tmp_path)}
    argv = [places.get(a, a) for a in argv]
    code = _status(["train", *argv, "--epochs", "1", "--seeds", "1", "--no-progress", "--db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.match(r"graphsparse train: error: ", lines[0]), err
    for text in named:
        assert places.get(text, text) in lines[0], err
    assert not cache.exists() or not any(p.name.startswith("cluster-disk-") for p in cache.iterdir())


def test_eval_clusters_per_batch_reaches_the_evaluation(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All 8 parts in one evaluation batch: the run equals the disk trainer evaluating that way, and the scores
    differ from the default batched evaluation (which drops the edges between its batches)."""
    db = tmp_path / "r.db"
    whole = _train([*CORA, "--epochs", "15", "--eval-clusters-per-batch", "8"], db, capsys)
    batched = _train([*CORA, "--epochs", "15"], db, capsys)
    assert whole["config"]["eval_clusters_per_batch"] == 8 and batched["config"]["eval_clusters_per_batch"] == 2
    disk = DiskGraph.open(Path(whole["disk"][0]))
    train = NodeTrainConfig(**whole["config"]["train"])
    seed_everything(0)
    model = build_model("gcn", disk.num_features, disk.num_classes, **whole["config"]["model_options"])
    loader = DiskClusterLoader(disk, 2, seed=0)
    result = train_cluster_gcn_disk(model, loader, "public", train, seed=0, eval_clusters_per_batch=8)
    assert whole["runs"][0]["test_acc"] == result.test
    scores = [(r["val_acc"], r["test_acc"], r["best_epoch"]) for r in (whole["runs"][0], batched["runs"][0])]
    assert scores[0] != scores[1]


def test_eval_clusters_per_batch_needs_the_disk_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--dataset", "cora", "--batching", "cluster", "--eval-clusters-per-batch", "4", "--epochs", "1"]
    assert _status([*argv, "--db", str(tmp_path / "r.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--eval-clusters-per-batch" in err[0] and "--on-disk" in err[0]
