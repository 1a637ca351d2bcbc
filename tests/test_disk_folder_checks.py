"""Disk graph folders a user hands to ``--disk``: their content names their cache and their runs, damage is named.

Found by a hostile probe (2026-12-07): the METIS cache and the results store keyed a folder by its ``meta.json``
alone, so a relabelled copy trained on the cached partition of the original; a neighbour row out of range crashed
METIS's child process (or, negative, indexed from the end); labels above the declared classes were taken as more
classes; ``glt --disk`` refused a folder whose name is no registered dataset.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from graphsparse.batching import partitioned_disk_graph
from graphsparse.cli import main
from graphsparse.data.diskgraph import DiskGraph, folder_fingerprint
from graphsparse.data.synthetic import synthetic_dcsbm_to_disk
from graphsparse.graph import GraphError

OPTIONS = dict(num_nodes=300, num_edges=1200, num_features=5, num_classes=3, seed=2)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_dcsbm_to_disk(tmp_path_factory.mktemp("checks") / "raw", **OPTIONS)


def _copy(raw: Path, tmp_path: Path, name: str = "copy") -> Path:
    folder = tmp_path / name
    shutil.copytree(raw, folder)
    return folder


def _edit(folder: Path, key: str, index: int | tuple, value) -> None:
    array = np.load(folder / f"{key}.npy").copy()
    array[index] = value
    np.save(folder / f"{key}.npy", array)


def _edit_meta(folder: Path, **fields) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(fields)
    (folder / "meta.json").write_text(json.dumps(meta))


def test_a_copy_with_other_labels_gets_its_own_partition(raw: Path, tmp_path: Path) -> None:
    relabelled = _copy(raw, tmp_path)
    y = np.load(raw / "y.npy")
    _edit(relabelled, "y", slice(0, 10), (y[:10] + 1) % 3)
    assert (relabelled / "meta.json").read_bytes() == (raw / "meta.json").read_bytes()
    assert folder_fingerprint(relabelled) != folder_fingerprint(raw)
    cache = tmp_path / "cache"
    original = partitioned_disk_graph(raw, 4, cache_dir=cache)
    copied = partitioned_disk_graph(relabelled, 4, cache_dir=cache)
    assert copied != original
    ys = [np.asarray(DiskGraph.open(f).y)[np.argsort(np.asarray(DiskGraph.open(f).perm))] for f in (original, copied)]
    assert np.array_equal(ys[0], y) and np.array_equal(ys[1][10:], y[10:]) and not np.array_equal(ys[1], y)


@pytest.mark.parametrize("bad_row", [10**6, -3])
def test_a_neighbour_row_out_of_range_is_named_before_metis(raw: Path, tmp_path: Path, bad_row: int) -> None:
    folder = _copy(raw, tmp_path)
    _edit(folder, "indices", 7, bad_row)
    with pytest.raises(GraphError, match=rf"indices\.npy holds a neighbour row {bad_row} outside \[0, 300\)"):
        partitioned_disk_graph(folder, 4, cache_dir=tmp_path / "cache", metis_process=True)
    assert not [p for p in (tmp_path / "cache").glob(".*tmp*")]  # no half-written folder left


def test_labels_above_the_declared_classes_are_named(raw: Path, tmp_path: Path) -> None:
    folder = _copy(raw, tmp_path)
    _edit(folder, "y", 5, 7)
    with pytest.raises(GraphError, match=r"y\.npy holds label 7, but its meta.json says num_classes=3"):
        partitioned_disk_graph(folder, 4, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob(".*"))  # the temporary folder went with the error
    # a partitioned folder damaged the same way is caught when a batch is cut
    parted = partitioned_disk_graph(raw, 4, cache_dir=tmp_path / "cache")
    damaged = _copy(parted, tmp_path, "damaged")
    _edit(damaged, "y", 5, 7)
    with pytest.raises(GraphError, match=r"y\.npy holds label 7, but meta.json says num_classes=3"):
        DiskGraph.open(damaged).cut([0, 1, 2, 3])


def test_split_codes_beyond_the_three_bits_are_named(raw: Path, tmp_path: Path) -> None:
    parted = partitioned_disk_graph(raw, 4, cache_dir=tmp_path / "cache")
    damaged = _copy(parted, tmp_path, "damaged")
    _edit(damaged, "split-random", 3, 9)
    with pytest.raises(GraphError, match=r"split-random\.npy holds code 9"):
        DiskGraph.open(damaged).cut([0, 1, 2, 3])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"features": "sparse"}, r'features must be "dense", "csr" or null'),
        ({"num_edges": -1}, r"num_edges must be an integer >= 0, got -1"),
        ({"num_edges": 1199}, r"num_edges=1199 undirected edges need nnz=2398"),
        ({"num_classes": "3"}, r"num_classes must be an integer >= 0, got '3'"),
        ({"splits": "random"}, r"splits must be a list of names"),
    ],
)
def test_malformed_meta_fields_are_named(raw: Path, tmp_path: Path, fields: dict, message: str) -> None:
    folder = _copy(raw, tmp_path)
    _edit_meta(folder, **fields)
    with pytest.raises(GraphError, match=message):
        DiskGraph.open(folder)


def test_glt_searches_a_folder_named_by_its_user(raw: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "cache"))
    folder = _copy(raw, tmp_path, "mine")
    _edit_meta(folder, name="my graph/v2")
    argv = [
        "glt", "--disk", str(folder), "--model", "gcn", "--hidden", "8", "--method", "teddy", "--rounds", "1",
        "--seeds", "1", "--epochs", "3", "--parts", "4", "--clusters-per-batch", "2", "--db", str(tmp_path / "g.db"),
        "--json", "--no-progress",
    ]  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert doc["dataset"] == "my graph/v2" and len(doc["levels"]) == 1
    assert (tmp_path / "runs" / "glt_my_graph_v2_gcn_node.png").is_file()  # the name made safe for a file name
    _edit_meta(folder, num_classes=1)
    assert main(argv) == 2
    assert "num_classes=1; node classification needs 2 or more" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "index", "value", "message"),
    [
        ("indices", 0, "own-row", r"indices\.npy: row 0 lists itself"),
        (
            "edge_ids",
            4,
            "copy-5",
            r"edge_ids\.npy: edge id \d+ appears 1 times",
        ),
        ("x", (3, 2), np.nan, r"x\.npy: row 3 holds NaN or inf"),
        ("y", 3, -5, r"y\.npy holds label -5"),
        ("split-random", 3, 9, r"split-random\.npy holds code 9"),
    ],
)
def test_damage_in_a_users_folder_names_that_folder(raw: Path, tmp_path: Path, key, index, value, message) -> None:
    folder = _copy(raw, tmp_path)
    if value == "own-row":
        value = 0
    elif value == "copy-5":
        value = np.load(folder / "edge_ids.npy")[5]
    _edit(folder, key, index, value)
    with pytest.raises(GraphError, match=message) as caught:
        partitioned_disk_graph(folder, 4, cache_dir=tmp_path / "cache")
    assert str(folder) in str(caught.value)  # the user's file, not the cache copy
