"""OGB node folders placed in the data home, in the exact layout ogb downloads, load with no network.

The fixture writes a few hundred nodes in ogb's layout: ``ogbn_arxiv/raw/*.csv.gz`` (gzip csv, no header row, as
ogb ships them; ``mapping/`` files with their header rows, ``RELEASE_v1.txt``, the extra ``raw/node_year.csv.gz``)
and ``split/time/{train,valid,test}.csv.gz``, plus a ``processed/`` pickle that must never be read. Edges are
directed as in OGB's arxiv (some listed both ways, a self-loop), and must load symmetrised.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.data import DatasetError, load_dataset, ogb_accuracy, ogb_to_disk_graph
from graphsparse.data.diskgraph import DiskGraph
from graphsparse.data.diskwrite import graph_csr
from graphsparse.data.ogb_raw import load_ogb_raw

N, F, C = 300, 8, 5


def _write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")


def _rows(array: np.ndarray) -> list[str]:
    array = np.asarray(array)
    array = array.reshape(len(array), -1)
    return [",".join(str(v) for v in row) for row in array]


def write_ogb_node_folder(folder: Path, split_type: str = "time", seed: int = 0) -> dict:
    """An ogbn-* folder in ogb's exact layout; returns what it holds (directed pairs, x, y, split indices)."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, N, 900)
    dst = rng.integers(0, N, 900)
    pairs = np.stack([src, dst], 1)
    pairs = np.concatenate([pairs, pairs[:40, ::-1], [[7, 7]]])  # reversed duplicates and a self-loop
    x = rng.standard_normal((N, F)).round(6).astype(np.float32)
    y = rng.integers(0, C, N)
    year = rng.integers(2010, 2021, N)
    order = np.argsort(year, kind="stable")
    train, valid, test = order[:180], order[180:240], order[240:]
    raw = folder / "raw"
    _write_gz(raw / "edge.csv.gz", _rows(pairs))
    _write_gz(raw / "num-node-list.csv.gz", [str(N)])
    _write_gz(raw / "num-edge-list.csv.gz", [str(len(pairs))])
    _write_gz(raw / "node-feat.csv.gz", [",".join(f"{v:f}" for v in row) for row in x])
    _write_gz(raw / "node-label.csv.gz", _rows(y))
    _write_gz(raw / "node_year.csv.gz", _rows(year))
    for part, index in (("train", train), ("valid", valid), ("test", test)):
        _write_gz(folder / "split" / split_type / f"{part}.csv.gz", _rows(np.sort(index)))
    _write_gz(
        folder / "mapping" / "nodeidx2paperid.csv.gz", ["node idx,paper id", *(f"{i},{9000 + i}" for i in range(N))]
    )
    _write_gz(folder / "mapping" / "labelidx2arxivcategeory.csv.gz", ["label idx,arxiv category", "0,cs ai"])
    (folder / "RELEASE_v1.txt").write_text("# Release note for ogbn-arxiv\n")
    (folder / "processed").mkdir()
    (folder / "processed" / "data_processed").write_bytes(b"not a pickle: reading it would fail")
    return {"pairs": pairs, "x": x, "y": y, "train": train, "valid": valid, "test": test}


def undirected_pairs(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(min(u, v), max(u, v)) for u, v in pairs.tolist() if u != v}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data home holding nothing, with no other dataset root searched."""
    monkeypatch.setenv("GRAPHSPARSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRAPHSPARSE_DATA", raising=False)
    monkeypatch.setenv("GRAPHSPARSE_NO_CHECKOUT_DATA", "1")
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "home"


@pytest.fixture
def arxiv(home: Path) -> dict:
    """ogb's ogbn_arxiv folder placed as <data home>/datasets/ogb/ogbn_arxiv."""
    return write_ogb_node_folder(home / "datasets" / "ogb" / "ogbn_arxiv")


def _check_graph(graph, truth: dict, split: str = "ogb") -> None:
    assert graph.num_nodes == N and not graph.directed
    got = {tuple(e) for e in graph.edges.t().tolist()}
    assert got == undirected_pairs(truth["pairs"]) and graph.num_edges == len(got)
    assert graph.x.dtype == torch.float32 and torch.equal(graph.x, torch.from_numpy(truth["x"]))
    assert graph.y.dtype == torch.int64 and graph.y.tolist() == truth["y"].tolist()
    masks = graph.split(split)
    for mask, part in zip(masks, ("train", "valid", "test")):
        assert mask.nonzero().view(-1).tolist() == sorted(truth[part].tolist())
    assert [int(m.sum()) for m in masks] == [180, 60, 60]


def test_arxiv_from_the_data_home(arxiv: dict) -> None:
    graph = load_dataset("ogbn-arxiv")
    assert graph.name == "ogbn-arxiv" and list(graph.splits) == ["ogb"]
    _check_graph(graph, arxiv)


@pytest.mark.parametrize("place", ["ogbn_arxiv", "ogb/arxiv"])
def test_other_placements(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, place: str) -> None:
    """ogb's own root= folder on $GRAPHSPARSE_DATA, or the official zip unpacked into ogb/ as it is."""
    root = tmp_path / "ogb_root"
    truth = write_ogb_node_folder(root / place)
    monkeypatch.setenv("GRAPHSPARSE_DATA", str(root))
    _check_graph(load_dataset("ogbn-arxiv"), truth)


def test_products_layout_and_its_official_split(home: Path) -> None:
    folder = home / "datasets" / "ogb" / "ogbn_products"
    truth = write_ogb_node_folder(folder, split_type="sales_ranking", seed=1)
    graph = load_dataset("ogbn-products")
    _check_graph(graph, truth)
    # a second split type: the official one stays "ogb", the other is named by its type
    write_ogb_node_folder(folder.parent / "scratch", split_type="other", seed=1)
    (folder.parent / "scratch" / "split" / "other").rename(folder / "split" / "other")
    graph = load_dataset("ogbn-products")
    assert sorted(graph.splits) == ["ogb", "ogb-other"]
    _check_graph(graph, truth)


def test_disk_graph_equals_the_in_memory_graph(arxiv: dict, home: Path, tmp_path: Path) -> None:
    graph = load_dataset("ogbn-arxiv")
    out = ogb_to_disk_graph("ogbn-arxiv", None, tmp_path / "disk", chunk_rows=97)  # several chunks per file
    disk = DiskGraph.open(out)
    indptr, indices = graph_csr(graph)
    assert np.array_equal(disk.indptr, indptr) and np.array_equal(disk.indices, indices)
    assert np.array_equal(disk.x, graph.x.numpy()) and np.array_equal(disk.y, graph.y.numpy())
    assert disk.y.dtype == np.int64 and disk.num_classes == C and disk.num_features == F
    if disk.has_edge_ids:  # disk format 2: each CSR entry's undirected edge id is the in-memory graph's
        u, v = graph.edges.numpy()
        rows = np.repeat(np.arange(N), np.diff(indptr))
        ids = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(u, v))}
        expected = [ids[(min(r, c), max(r, c))] for r, c in zip(rows.tolist(), np.asarray(disk.indices).tolist())]
        assert np.asarray(disk.edge_ids).tolist() == expected
    meta = json.loads((out / "meta.json").read_text())
    assert meta["num_edges"] == graph.num_edges and meta["num_parts"] == 1 and meta["splits"] == ["ogb"]
    whole, nodes = disk.subgraph([0])
    assert torch.equal(whole.edges, graph.edges) and torch.equal(nodes, torch.arange(N))
    assert all(torch.equal(a, b) for a, b in zip(whole.split("ogb"), graph.split("ogb")))
    # the OGB folder itself can be named as root
    again = ogb_to_disk_graph("ogbn-arxiv", home / "datasets" / "ogb" / "ogbn_arxiv", tmp_path / "d2")
    assert np.array_equal(np.load(again / "indices.npy"), np.load(out / "indices.npy"))


def _truncate(path: Path, keep: int) -> None:
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    _write_gz(path, lines[:keep])


@pytest.mark.parametrize(
    ("file", "damage"),
    [
        ("raw/node-label.csv.gz", "missing"),
        ("raw/node-feat.csv.gz", "missing"),
        ("raw/edge.csv.gz", "missing"),
        ("split/time/valid.csv.gz", "missing"),
        ("raw/edge.csv.gz", "short"),
        ("raw/node-feat.csv.gz", "short"),
        ("raw/node-label.csv.gz", "short"),
        ("raw/edge.csv.gz", "cut"),
    ],
)
def test_a_missing_or_short_file_is_named(arxiv: dict, home: Path, tmp_path: Path, file: str, damage: str) -> None:
    path = home / "datasets" / "ogb" / "ogbn_arxiv" / file
    if damage == "missing":
        path.unlink()
    elif damage == "short":
        _truncate(path, 100)
    else:  # a download cut off mid-stream: a gzip without its end
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=path.name.replace(".", r"\.")):
        load_dataset("ogbn-arxiv")
    with pytest.raises(DatasetError, match=path.name.replace(".", r"\.")):
        ogb_to_disk_graph("ogbn-arxiv", None, tmp_path / "disk")
    assert not (tmp_path / "disk").exists() and not list(tmp_path.glob(".disk.tmp-*"))


def test_ogb_accuracy_is_the_node_task_accuracy(arxiv: dict) -> None:
    """ogb's Evaluator (when installed) and graphsparse's node metric agree on single-label OGB sets."""
    from graphsparse.tasks.node import node_metric

    graph = load_dataset("ogbn-arxiv")
    logits = torch.randn(N, C, generator=torch.Generator().manual_seed(0))
    for index in (graph.split("ogb").val.nonzero().view(-1), torch.arange(N)):
        ours = node_metric(logits, graph.y, index)
        theirs = ogb_accuracy("ogbn-arxiv", graph.y[index], logits[index].argmax(-1))
        assert theirs == pytest.approx(ours, abs=1e-6)  # ours averages in float32
    pytest.importorskip("ogb")
    from ogb.nodeproppred import Evaluator

    index = graph.split("ogb").test.nonzero().view(-1)
    direct = Evaluator("ogbn-arxiv").eval(
        {"y_true": graph.y[index].view(-1, 1), "y_pred": logits[index].argmax(-1, keepdim=True)}
    )["acc"]
    assert direct == pytest.approx(node_metric(logits, graph.y, index), abs=1e-6)


def test_load_ogb_raw_never_reads_processed_or_mapping(tmp_path: Path) -> None:
    truth = write_ogb_node_folder(tmp_path / "ogbn_arxiv")
    _check_graph(load_ogb_raw(tmp_path / "ogbn_arxiv"), truth)


# ------------------------------------------------------------------------------------------- the teddy-ogb preset
# Source: hyunjin72/TEDDY, main_teddy_ogb.py at commit 126a08e4e3696dcc6ce42bc0c1180cd34930f428, argparse defaults
# (its README has no arxiv command): --net GCN, --embedding_dim 512, --n_layers 2, --dropout 0.5, --lr 0.01,
# --weight_decay 5e-4 (torch.optim.Adam over model.parameters()), --total_epoch 200, --pruning_percent_adj 0.1,
# --pruning_percent_wei 0.1, n_simulations = 20, --lamb 0.1 (with --distill_reg, which every README TEDDY command
# passes); PygNodePropPredDataset('ogbn-arxiv') with T.ToSparseTensor() only (no feature normalisation),
# adj_t.to_symmetric().
TEDDY_OGB_FILE = {
    "hidden_channels": 512,
    "num_layers": 2,
    "dropout": 0.5,
    "lr": 0.01,
    "weight_decay": 5e-4,
    "epochs": 200,
    "pg": 0.1,
    "pw": 0.1,
    "rounds": 20,
    "distill": 0.1,
}


def test_teddy_ogb_preset_is_what_the_file_says() -> None:
    from graphsparse.presets import PRESETS, TEDDY_OGB_SOURCE, default_preset, resolve_preset

    assert "main_teddy_ogb.py" in TEDDY_OGB_SOURCE and "126a08e" in TEDDY_OGB_SOURCE
    assert "teddy-ogb" in PRESETS[("gcn", "ogbn-arxiv")]
    preset = resolve_preset("gcn", "ogbn-arxiv", "teddy-ogb")
    f = TEDDY_OGB_FILE
    assert preset["model"] == {k: f[k] for k in ("hidden_channels", "num_layers", "dropout")}
    assert preset["train"] == {
        "epochs": f["epochs"],
        "lr": f["lr"],
        "weight_decay": f["weight_decay"],
        "decay_first_layer_only": False,
        "normalize_features": False,
    }
    assert preset["glt"] == {
        "rounds": f["rounds"],
        "pg": f["pg"],
        "pw": f["pw"],
        "method_options": {"distill": f["distill"]},
    }
    assert default_preset("gcn", "ogbn-arxiv", "glt") == "teddy-ogb"
    assert default_preset("gcn", "cora", "glt") == "teddy"  # the Planetoid protocol is unchanged
    assert resolve_preset("gcn", "cora", "teddy")["glt"] == {}


def test_glt_teddy_ogb_on_the_small_folder(arxiv: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from graphsparse.cli import main

    argv = ["glt", "--dataset", "ogbn-arxiv", "--preset", "teddy-ogb", "--method", "teddy", "--levels", "1"]
    argv += ["--epochs", "2", "--seeds", "1", "--json", "--no-progress"]
    argv += ["--db", str(tmp_path / "r.db"), "--plot", str(tmp_path / "glt.png")]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    config = data["config"]
    assert data["dataset"] == "ogbn-arxiv" and data["preset"] == "teddy-ogb" and config["preset"] == "teddy-ogb"
    assert config["model_options"]["hidden_channels"] == 512 and config["model_options"]["num_layers"] == 2
    assert config["model_options"]["dropout"] == 0.5
    assert config["train"]["epochs"] == 2 and config["train"]["lr"] == 0.01 and config["train"]["weight_decay"] == 5e-4
    assert config["train"]["normalize_features"] is False and config["train"]["decay_first_layer_only"] is False
    assert (config["rounds"], config["pg"], config["pw"]) == (20, 0.1, 0.1)
    assert data["method_options"] == {"teddy": {"distill": 0.1}}
    (level,) = data["levels"]
    assert level["method"] == "teddy" and level["round"] == 1
    assert level["graph_sparsity"] == pytest.approx(0.1, abs=0.01) and level["weight_sparsity"] == pytest.approx(
        0.1, abs=0.01
    )
    assert 0.0 <= level["test_acc_mean"] <= 1.0
    # explicit options win over the preset's
    argv += ["--pg", "0.2", "--distill", "0"]
    assert main([*argv, "--db", str(tmp_path / "r2.db")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["pg"] == 0.2 and data["method_options"] == {"teddy": {"distill": 0.0}}


def test_glt_help_lists_teddy_ogb(capsys: pytest.CaptureFixture) -> None:
    from graphsparse.cli import main

    with pytest.raises(SystemExit):
        main(["glt", "--help"])
    assert "teddy-ogb" in capsys.readouterr().out


def test_the_disk_folder_trains_with_cluster_gcn(arxiv: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """What the how-to promises: `train --batching cluster --disk FOLDER` partitions and trains the written folder."""
    from graphsparse.cli import main

    folder = ogb_to_disk_graph("ogbn-arxiv", None, tmp_path / "disk")
    argv = ["train", "--model", "gcn", "--batching", "cluster", "--disk", str(folder), "--parts", "4"]
    argv += ["--clusters-per-batch", "2", "--epochs", "2", "--seeds", "1", "--json", "--no-progress"]
    assert main([*argv, "--db", str(tmp_path / "r.db")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"] == "ogbn-arxiv"
