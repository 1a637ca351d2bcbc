"""Tests for graphsparse.data: every shipped loader against the counts in datasets/*/SOURCE.md and against PyG."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.data import (
    DatasetError,
    _io,
    canonical_name,
    dataset_info,
    default_root,
    list_datasets,
    load_dataset,
    load_ogb_raw,
    stratified_split,
    synthetic_dcsbm,
)
from graphsparse.graph import Graph, GraphError

ROOT = Path(__file__).resolve().parents[1] / "datasets"


@functools.cache
def loaded(name: str, directed: bool = False) -> Graph:
    """Each dataset is loaded once per test session."""
    return load_dataset(name, directed=True) if directed else load_dataset(name)


# nodes, undirected edges, features, classes: the tables of datasets/README.md and the SOURCE.md files.
# Those edge counts are undirected with self-loops removed, which is exactly what Graph stores (it coalesces each
# {u, v} pair once and drops self-loops), so they must match to the edge. PyG's edge_index holds twice as many.
EXPECTED = {
    "cora": (2708, 5278, 1433, 7),
    "citeseer": (3327, 4552, 3703, 6),
    "pubmed": (19717, 44324, 500, 3),
    "texas": (183, 279, 1703, 5),
    "cornell": (183, 277, 1703, 5),
    "wisconsin": (251, 450, 1703, 5),
    "actor": (7600, 26659, 932, 5),
    "yandex-actor": (7600, 26659, 932, 5),
    "yandex-chameleon": (2277, 31371, 2325, 5),
    "yandex-chameleon-directed": (2277, 31371, 2325, 5),
    "chameleon-filtered": (890, 8854, 2325, 5),
    "chameleon-filtered-directed": (890, 8854, 2325, 5),
    "yandex-cornell": (183, 277, 1703, 5),
    "minesweeper": (10000, 39402, 7, 2),
    "yandex-squirrel": (5201, 198353, 2089, 5),
    "yandex-squirrel-directed": (5201, 198353, 2089, 5),
    "squirrel-filtered": (2223, 46998, 2089, 5),
    "squirrel-filtered-directed": (2223, 46998, 2089, 5),
    "yandex-texas": (183, 279, 1703, 5),
    "yandex-texas-4-classes": (183, 279, 1703, 5),
    "tolokers": (11758, 519000, 10, 2),
    "yandex-wisconsin": (251, 450, 1703, 5),
    "amazon-computers": (13752, 245861, 767, 10),
    "amazon-photo": (7650, 119081, 745, 8),
    "coauthor-cs": (18333, 81894, 6805, 15),
    "coauthor-physics": (34493, 247962, 8415, 5),
    "usair": (332, 2126, 0, 0),
    "ns": (1589, 2742, 0, 0),
    "pb": (1222, 16714, 0, 0),
    "yeast": (2375, 11693, 0, 0),
    "celegans": (297, 2148, 0, 0),
    "power": (4941, 6594, 0, 0),
    "router": (5022, 6258, 0, 0),
    "ecoli": (1805, 14660, 0, 0),
}

# train / val / test sizes of the first split (SOURCE.md "split 0" rows; public Planetoid split 20 per class/500/1000)
FIRST_SPLIT = {
    ("cora", "public"): (140, 500, 1000),
    ("citeseer", "public"): (120, 500, 1000),
    ("pubmed", "public"): (60, 500, 1000),
    ("cora", "geom-gcn-0"): (1192, 796, 497),
    ("citeseer", "geom-gcn-0"): (1596, 1065, 666),
    ("pubmed", "geom-gcn-0"): (9463, 6310, 3944),
    ("texas", "geom-gcn-0"): (87, 59, 37),
    ("cornell", "geom-gcn-0"): (87, 59, 37),
    ("wisconsin", "geom-gcn-0"): (120, 80, 51),
    ("actor", "geom-gcn-0"): (3648, 2432, 1520),
    ("yandex-chameleon", "0"): (1092, 729, 456),
    ("minesweeper", "0"): (5000, 2500, 2500),
    ("yandex-texas-4-classes", "0"): (87, 58, 37),  # node 25 (the only class-1 node) is left out
    ("amazon-computers", "random-0"): (200, 300, 13752 - 500),
    ("coauthor-cs", "random-0"): (300, 450, 18333 - 750),
}


def edge_keys(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    return torch.unique(edge_index[0] * num_nodes + edge_index[1])


def without_self_loops(edge_index: torch.Tensor) -> torch.Tensor:
    return edge_index[:, edge_index[0] != edge_index[1]]


# ------------------------------------------------------------------------------------------- counts and splits
def test_registry_lists_every_shipped_dataset() -> None:
    assert sorted(list_datasets(shipped_only=True)) == sorted(EXPECTED)
    assert "synthetic" in list_datasets() and "synthetic" not in list_datasets(shipped_only=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_match_source(name: str) -> None:
    graph = loaded(name)
    nodes, edges, features, classes = EXPECTED[name]
    assert graph.name == name
    assert (graph.num_nodes, graph.num_edges, graph.num_features, graph.num_classes) == EXPECTED[name]
    info = dataset_info(name)
    assert (info["num_nodes"], info["num_edges"], info["num_features"], info["num_classes"]) == EXPECTED[name]
    assert not graph.directed
    assert bool((graph.edges[0] < graph.edges[1]).all())
    if features:
        assert graph.x.dtype == torch.float32 and graph.x.shape == (nodes, features)
        assert graph.y.shape == (nodes,) and int(graph.y.min()) >= 0
    else:  # SEAL graphs: featureless, unlabelled, no splits
        assert graph.x is None and graph.y is None and graph.splits == {}
    for split in graph.splits.values():
        assert not bool(
            (split.train & split.val).any() | (split.train & split.test).any() | (split.val & split.test).any()
        )


@pytest.mark.parametrize(("name", "split"), sorted(FIRST_SPLIT))
def test_split_sizes(name: str, split: str) -> None:
    s = loaded(name).split(split)
    assert (int(s.train.sum()), int(s.val.sum()), int(s.test.sum())) == FIRST_SPLIT[(name, split)]


def test_split_names() -> None:
    assert list(loaded("cora").splits) == ["public"] + [f"geom-gcn-{i}" for i in range(10)]
    assert list(loaded("texas").splits) == [f"geom-gcn-{i}" for i in range(10)]
    assert list(loaded("minesweeper").splits) == [str(i) for i in range(10)]
    assert list(loaded("amazon-photo").splits) == [f"random-{i}" for i in range(10)]
    assert loaded("cora").split() is loaded("cora").splits["public"] or torch.equal(
        loaded("cora").split().train, loaded("cora").split("public").train
    )


# Directed loading: Graph drops self-loops, so the arc count is the source's distinct arcs minus its self-loops:
# Texas 325 lines - 16 self-loops = 309, Cornell 298 - 3 = 295, Wisconsin 515 - 16 = 499, Actor 30019 distinct
# - 93 distinct self-loops = 29926 (SOURCE.md's 122 self-loops count duplicate lines); the Yandex *_directed files
# hold 36101 / 13584 / 217073 / 65718 arcs with 50 / 50 / 140 / 140 self-loops.
DIRECTED = {
    "texas": 309,
    "cornell": 295,
    "wisconsin": 499,
    "actor": 29926,
    "yandex-chameleon-directed": 36101 - 50,
    "chameleon-filtered-directed": 13584 - 50,
    "squirrel-filtered-directed": 65718 - 140,
}


@pytest.mark.parametrize("name", sorted(DIRECTED))
def test_directed_option(name: str) -> None:
    graph = load_dataset(name, directed=True)
    assert graph.directed and graph.num_edges == DIRECTED[name]
    undirected = loaded(name)
    assert undirected.num_edges == EXPECTED[name][1] < graph.num_edges


# ------------------------------------------------------------------------------------------- equality with PyG
@pytest.fixture(scope="module")
def pyg_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pyg")


def _quiet_pyg(factory, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return factory(*args, **kwargs)[0]


@pytest.mark.parametrize("name", ["cora", "citeseer", "pubmed"])
def test_planetoid_equals_pyg(name: str, pyg_root: Path) -> None:
    from torch_geometric.datasets import Planetoid

    shutil.copytree(ROOT / "planetoid" / name / "raw", pyg_root / "planetoid" / name / "raw")
    data = _quiet_pyg(Planetoid, str(pyg_root / "planetoid"), name)
    graph = loaded(name)
    assert torch.equal(data.x, graph.x)
    assert torch.equal(data.y, graph.y)  # CiteSeer's 15 padded nodes: zero features and label 0, as in PyG
    public = graph.split("public")
    assert torch.equal(data.train_mask, public.train)
    assert torch.equal(data.val_mask, public.val)
    assert torch.equal(data.test_mask, public.test)
    assert data.edge_index.size(1) == graph.edge_index.size(1) == 2 * EXPECTED[name][1]
    assert torch.equal(edge_keys(data.edge_index, graph.num_nodes), edge_keys(graph.edge_index, graph.num_nodes))


def test_geom_gcn_equals_pyg(pyg_root: Path) -> None:
    from torch_geometric.datasets import Actor, WebKB

    shutil.copytree(ROOT / "webkb" / "texas" / "raw", pyg_root / "webkb" / "texas" / "raw")
    shutil.copytree(ROOT / "actor" / "raw", pyg_root / "actor" / "raw")
    for data, name in (
        (_quiet_pyg(WebKB, str(pyg_root / "webkb"), "texas"), "texas"),
        (_quiet_pyg(Actor, str(pyg_root / "actor")), "actor"),
    ):
        graph = load_dataset(name, directed=True)
        assert torch.equal(data.x, graph.x) and torch.equal(data.y, graph.y)
        n = graph.num_nodes
        assert torch.equal(edge_keys(without_self_loops(data.edge_index), n), edge_keys(graph.edge_index, n))
        for i in range(10):
            split = graph.split(f"geom-gcn-{i}")
            assert torch.equal(data.train_mask[:, i], split.train) and torch.equal(data.test_mask[:, i], split.test)


def test_npz_and_yandex_equal_pyg(pyg_root: Path) -> None:
    from torch_geometric.datasets import Amazon, HeterophilousGraphDataset

    shutil.copytree(ROOT / "amazon" / "Photo" / "raw", pyg_root / "amazon" / "Photo" / "raw")
    data = _quiet_pyg(Amazon, str(pyg_root / "amazon"), "photo")
    graph = loaded("amazon-photo")
    assert torch.equal(data.x, graph.x) and torch.equal(data.y, graph.y)
    assert torch.equal(edge_keys(data.edge_index, graph.num_nodes), edge_keys(graph.edge_index, graph.num_nodes))

    shutil.copytree(ROOT / "yandex_heterophilous" / "minesweeper", pyg_root / "yandex" / "minesweeper")
    data = _quiet_pyg(HeterophilousGraphDataset, str(pyg_root / "yandex"), "minesweeper")
    graph = loaded("minesweeper")
    assert torch.equal(data.x, graph.x) and torch.equal(data.y, graph.y)
    assert torch.equal(edge_keys(data.edge_index, graph.num_nodes), edge_keys(graph.edge_index, graph.num_nodes))
    assert torch.equal(data.val_mask[:, 3], graph.split("3").val)


# ------------------------------------------------------------------------------------------- safety and errors
def _copy_cora(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "planetoid" / "cora" / "raw", tmp_path / "planetoid" / "cora" / "raw")
    return tmp_path / "planetoid" / "cora" / "raw"


def test_truncated_pickle_is_rejected_before_unpickling(tmp_path: Path) -> None:
    raw = _copy_cora(tmp_path)
    data = (raw / "ind.cora.graph").read_bytes()
    (raw / "ind.cora.graph").write_bytes(data[: len(data) // 2])
    with pytest.raises(GraphError, match=r"ind\.cora\.graph"):
        load_dataset("cora", root=tmp_path)


def test_altered_pickle_is_rejected(tmp_path: Path) -> None:
    raw = _copy_cora(tmp_path)
    data = bytearray((raw / "ind.cora.x").read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, one bit flipped
    (raw / "ind.cora.x").write_bytes(bytes(data))
    with pytest.raises(GraphError, match=r"checksum mismatch.*ind\.cora\.x.*sha256"):
        load_dataset("cora", root=tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_refuses_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = "planetoid/cora/raw/ind.cora.x"
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(_Evil(), protocol=2))
    # unknown bytes: refused by the checksum
    with pytest.raises(GraphError, match="checksum mismatch"):
        _io.safe_unpickle(tmp_path, rel)
    # even if the table knew these bytes, the unpickler resolves no os.system
    payload = path.read_bytes()
    monkeypatch.setitem(_io.KNOWN_FILES, rel, (len(payload), hashlib.sha256(payload).hexdigest()))
    with pytest.raises(GraphError, match=r"not allowed"):
        _io.safe_unpickle(tmp_path, rel)
    # and a file with no known checksum is never unpickled
    (path.parent / "ind.cora.other").write_bytes(payload)
    with pytest.raises(GraphError, match="no known sha256"):
        _io.safe_unpickle(tmp_path, "planetoid/cora/raw/ind.cora.other")


def test_checksum_table_matches_source_md_and_files() -> None:
    """The shipped checksums.json is the SOURCE.md tables, and every shipped file matches it."""
    import re

    from graphsparse.data import checksums
    from graphsparse.data.checksums import KNOWN_FILES

    table = {}
    for source in ROOT.rglob("SOURCE.md"):
        base = source.parent.relative_to(ROOT)
        for line in source.read_text().splitlines():
            m = re.match(r"\|\s*`([^`]+)`\s*\|\s*(\d+)\s*\|\s*`([0-9a-f]{64})`", line)
            if m:
                table[(base / m.group(1)).as_posix()] = (int(m.group(2)), m.group(3))
    shipped = json.loads((Path(checksums.__file__).parent / "checksums.json").read_text())
    assert {rel: (entry["bytes"], entry["sha256"]) for rel, entry in shipped.items()} == table
    assert len(table) > 100 and table == KNOWN_FILES
    for rel in KNOWN_FILES:
        _io.verify_file(ROOT, rel)


def test_every_file_is_verified_by_default(tmp_path: Path) -> None:
    raw = _copy_cora(tmp_path)
    split = raw / "cora_split_0.6_0.2_3.npz"
    split.write_bytes(split.read_bytes() + b"\0")  # still a readable npz: only the checksum notices
    with pytest.raises(DatasetError, match=r"cora_split_0\.6_0\.2_3\.npz.*expected 1956 bytes.*restore"):
        load_dataset("cora", root=tmp_path)
    assert load_dataset("cora", root=tmp_path, verify=False).num_nodes == 2708  # opt-out (the pickles stay checked)
    assert load_dataset("texas", verify=True).num_edges == 279


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(GraphError, match="unknown dataset 'coraa'") as err:
        load_dataset("coraa")
    for known in ("cora", "tolokers", "coauthor-physics", "usair", "synthetic"):
        assert known in str(err.value)


def test_missing_files_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match=str(tmp_path / "webkb" / "texas" / "raw")):
        load_dataset("texas", root=tmp_path)
    with pytest.raises(GraphError, match="ind.pubmed"):
        load_dataset("pubmed", root=tmp_path)
    with pytest.raises(GraphError, match="not shipped"):
        load_dataset("ogbn-arxiv", root=tmp_path)
    with pytest.raises(GraphError, match="not shipped.*download=True"):
        load_dataset("Roman", root=tmp_path)


def test_bad_option_is_a_graph_error() -> None:
    with pytest.raises(GraphError, match="directed"):
        load_dataset("usair", directed=True)


def test_names_are_case_insensitive_with_aliases(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_dataset("CoRa").name == "cora"
    assert canonical_name("Film") == "actor"
    assert canonical_name("Amazon_Computers") == canonical_name("computers") == "amazon-computers"
    assert canonical_name("chameleon") == "yandex-chameleon"
    assert canonical_name("texas_4_classes") == "yandex-texas-4-classes"
    assert canonical_name("Minesweeper") == "minesweeper"
    assert load_dataset("USAir").name == "usair"
    # GRAPHSPARSE_DATA adds a root in front of the search path (the checkout's datasets/ is still searched)
    monkeypatch.setenv("GRAPHSPARSE_DATA", str(tmp_path))
    assert default_root() == tmp_path
    assert load_dataset("cora").num_edges == 5278  # from the checkout
    monkeypatch.setenv("GRAPHSPARSE_NO_CHECKOUT_DATA", "1")
    monkeypatch.setenv("GRAPHSPARSE_HOME", str(tmp_path / "home"))
    with pytest.raises(GraphError, match="graphsparse datasets fetch cora"):
        load_dataset("cora")
    _copy_cora(tmp_path)
    assert load_dataset("cora").num_edges == 5278


def test_dataset_info() -> None:
    info = dataset_info("Tolokers")
    assert info["name"] == "tolokers" and info["metric"] == "roc_auc" and info["family"] == "yandex"
    assert dataset_info("minesweeper")["metric"] == "roc_auc"
    assert dataset_info("cora")["metric"] == "accuracy" and dataset_info("cora")["task"] == "node-classification"
    assert dataset_info("yeast")["task"] == "link-prediction"
    assert dataset_info("synthetic")["num_nodes"] is None


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    from graphsparse.cli import main

    assert main(["datasets", "--no-load"]) == 0
    out = capsys.readouterr().out
    assert "coauthor-physics" in out and "247962" in out and "usair" in out
    assert main(["datasets", "--json", "--name", "texas", "--name", "yeast"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["num_edges"], r["num_splits"]) for r in rows] == [("texas", 279, 10), ("yeast", 11693, 0)]


# ------------------------------------------------------------------------------------------- random splits
def test_random_splits_are_stratified_and_deterministic() -> None:
    graph = loaded("amazon-photo")
    again = load_dataset("amazon-photo")
    for i in range(10):
        assert torch.equal(graph.split(i).train, again.split(i).train)
    first, second = graph.split("random-0"), graph.split("random-1")
    assert not torch.equal(first.train, second.train)
    assert torch.equal(torch.bincount(graph.y[first.train], minlength=8), torch.full((8,), 20))
    assert torch.equal(torch.bincount(graph.y[first.val], minlength=8), torch.full((8,), 30))
    assert bool((first.train | first.val | first.test).all())
    other = load_dataset("amazon-photo", split_seed=5, num_splits=2, train_fraction=0.1, val_fraction=0.1)
    assert list(other.splits) == ["random-0", "random-1"]
    counts = torch.bincount(other.y, minlength=8)
    assert torch.equal(torch.bincount(other.y[other.split(0).train], minlength=8), torch.round(counts * 0.1).long())


def test_stratified_split_small_classes_and_unlabelled() -> None:
    y = torch.tensor([0, 0, 0, 1, -1, 2, 2, 2, 2, 2])
    split = stratified_split(y, seed=0, train_per_class=2, val_per_class=1)
    assert torch.equal(torch.bincount(y[split.train]), torch.tensor([2, 1, 2]))
    assert not bool(split.train[4] | split.val[4] | split.test[4])
    assert int(split.test.sum()) == 2


# ------------------------------------------------------------------------------------------- OGB raw folders
def _write_csv(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = rows.reshape(len(rows), -1)
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    with gzip.open(path, "wt") as f:
        f.write(text)


def _write_raw(folder: Path, edges: np.ndarray, num_nodes: int, x: np.ndarray | None) -> None:
    _write_csv(folder / "raw" / "edge.csv.gz", edges)
    _write_csv(folder / "raw" / "num-node-list.csv.gz", np.array([num_nodes]))
    _write_csv(folder / "raw" / "num-edge-list.csv.gz", np.array([len(edges)]))
    if x is not None:
        _write_csv(folder / "raw" / "node-feat.csv.gz", x)


def test_ogb_node_folder_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "ogbn_tiny"
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [0, 5], [2, 0]])
    x = np.arange(18, dtype=np.float64).reshape(6, 3) / 4
    _write_raw(folder, edges, 6, x)
    _write_csv(folder / "raw" / "node-label.csv.gz", np.array([0, 1, 2, 0, 1, 2]))
    for part, idx in (("train", [0, 1, 2]), ("valid", [3]), ("test", [4, 5])):
        _write_csv(folder / "split" / "time" / f"{part}.csv.gz", np.array(idx))
    graph = load_ogb_raw(folder)
    assert isinstance(graph, Graph) and graph.name == "ogbn-tiny"
    assert graph.num_nodes == 6 and graph.num_edges == 7
    assert torch.allclose(graph.x, torch.from_numpy(x).float())
    assert graph.y.tolist() == [0, 1, 2, 0, 1, 2]
    split = graph.split("ogb")
    assert split.train.nonzero().view(-1).tolist() == [0, 1, 2]
    assert split.val.nonzero().view(-1).tolist() == [3] and split.test.nonzero().view(-1).tolist() == [4, 5]


def test_ogb_link_folder_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "ogbl_tiny"
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 1]])  # duplicate edge (ogbl-collab has repeated collaborations)
    _write_raw(folder, edges, 5, None)
    split = {
        "train": {"edge": np.array([[0, 1], [1, 2]]), "weight": np.array([1, 2]), "year": np.array([2010, 2011])},
        "valid": {"edge": np.array([[2, 3]]), "edge_neg": np.array([[0, 4]])},
        "test": {"edge": np.array([[3, 4]]), "edge_neg": np.array([[1, 4]])},
    }
    (folder / "split" / "time").mkdir(parents=True)
    for part, payload in split.items():
        torch.save(payload, folder / "split" / "time" / f"{part}.pt")  # OGB stores dicts of numpy arrays
    graph = load_ogb_raw(folder)
    edge_split = graph.edge_split
    assert graph.num_nodes == 5 and graph.num_edges == 3 and graph.x is None
    assert torch.equal(edge_split["train"]["edge"], torch.tensor([[0, 1], [1, 2]]))
    assert torch.equal(edge_split["test"]["edge_neg"], torch.tensor([[1, 4]]))
    assert edge_split["train"]["year"].tolist() == [2010, 2011]


def test_ogb_link_split_with_code_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ogbl_evil"
    _write_raw(folder, np.array([[0, 1]]), 2, None)
    (folder / "split" / "time").mkdir(parents=True)
    for part in ("train", "valid", "test"):
        torch.save({"edge": _Evil()}, folder / "split" / "time" / f"{part}.pt")
    with pytest.raises(GraphError, match="weights_only"):
        load_ogb_raw(folder)


# ------------------------------------------------------------------------------------------- synthetic DC-SBM
def test_synthetic_counts_and_determinism() -> None:
    a = synthetic_dcsbm(num_nodes=2000, num_edges=12000, num_features=16, num_classes=4, seed=3)
    b = load_dataset("synthetic", num_nodes=2000, num_edges=12000, num_features=16, num_classes=4, seed=3)
    c = synthetic_dcsbm(num_nodes=2000, num_edges=12000, num_features=16, num_classes=4, seed=4)
    assert (a.num_nodes, a.num_edges, a.num_features, a.num_classes) == (2000, 12000, 16, 4)
    assert b.name == "synthetic"
    assert torch.equal(a.edges, b.edges) and torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert torch.equal(a.split("random").train, b.split("random").train)
    assert not torch.equal(a.y, c.y) and not torch.equal(a.x, c.x)
    sizes = [int(m.sum()) for m in a.split("random")]
    assert sizes == [1200, 400, 400]
    assert torch.bincount(a.y).tolist() == [500] * 4  # balanced classes


@pytest.mark.parametrize("homophily", [0.1, 0.5, 0.9])
def test_synthetic_homophily(homophily: float) -> None:
    g = synthetic_dcsbm(num_nodes=3000, num_edges=20000, num_features=8, num_classes=5, homophily=homophily, seed=0)
    same = (g.y[g.edges[0]] == g.y[g.edges[1]]).float().mean().item()
    assert abs(same - homophily) < 0.04


def test_synthetic_features_follow_classes_and_degrees_are_skewed() -> None:
    g = synthetic_dcsbm(num_nodes=4000, num_edges=20000, num_features=32, num_classes=4, degree_exponent=2.2, seed=1)
    means = torch.stack([g.x[g.y == k].mean(0) for k in range(4)])
    nearest = torch.cdist(g.x, means).argmin(1)
    assert (nearest == g.y).float().mean().item() > 0.6  # features carry the class (chance is 0.25)
    deg = g.degree()
    assert deg.max().item() > 8 * deg.mean().item()  # heavy-tailed degrees


def test_synthetic_options_and_errors() -> None:
    g = synthetic_dcsbm(num_nodes=500, num_edges=1000, num_features=0, num_classes=3, split="per-class", seed=0)
    assert g.x is None and list(g.splits) == ["per-class"]
    assert torch.bincount(g.y[g.split("per-class").train]).tolist() == [20, 20, 20]
    assert synthetic_dcsbm(num_nodes=10, num_edges=45, num_classes=2, split="none").num_edges == 45  # complete
    with pytest.raises(GraphError, match="exceeds"):
        synthetic_dcsbm(num_nodes=10, num_edges=46)
    with pytest.raises(GraphError, match="homophily"):
        synthetic_dcsbm(homophily=1.5)
    with pytest.raises(GraphError, match="split"):
        synthetic_dcsbm(split="weird")


def test_synthetic_mid_size_runs() -> None:
    g = synthetic_dcsbm(num_nodes=100_000, num_edges=1_000_000, num_features=16, num_classes=8, seed=0)
    assert g.num_edges == 1_000_000 and g.edges.dtype == torch.long
