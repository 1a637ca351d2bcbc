"""Loader fuzzing: truncation, byte flips and deletion applied to every shipped file format.

The only outcome allowed is :class:`~graphsparse.data.DatasetError` naming the file (or its folder): never another
exception, never a silently different graph. With verification on (the default) every mutation is caught by the
sha256 check; with ``verify=False`` the parsers themselves must reject truncations, deletions and damaged text, and
a flipped byte in a binary container (zip CRC, zlib/gzip checksums) is either an error or lands in bytes that do not
change the graph (a zip timestamp, a MATLAB header comment). The cache of checksum verdicts and ``--verify`` are
tested at the end.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.data import DatasetError, _io, load_dataset, load_ogb_raw, shipped_files, verify_datasets
from graphsparse.data.checksums import KNOWN_FILES

ROOT = Path(__file__).resolve().parents[1] / "datasets"

# format -> (dataset, folder under the root, file to damage); the smallest dataset of each format
FORMATS = {
    "planetoid-pickle": ("cora", "planetoid/cora/raw", "ind.cora.graph"),
    "planetoid-label-pickle": ("cora", "planetoid/cora/raw", "ind.cora.ally"),
    "planetoid-test-index": ("cora", "planetoid/cora/raw", "ind.cora.test.index"),
    "planetoid-split-npz": ("cora", "planetoid/cora/raw", "cora_split_0.6_0.2_7.npz"),
    "geom-gcn-edge-list": ("texas", "webkb/texas/raw", "out1_graph_edges.txt"),
    "geom-gcn-node-file": ("texas", "webkb/texas/raw", "out1_node_feature_label.txt"),
    "geom-gcn-split-npz": ("texas", "webkb/texas/raw", "texas_split_0.6_0.2_7.npz"),
    "gnn-benchmark-npz": ("amazon-photo", "amazon/Photo/raw", "amazon_electronics_photo.npz"),
    "yandex-npz": ("yandex-texas", "yandex_heterophilous/texas/raw", "texas.npz"),
    "seal-mat": ("usair", "seal_link_prediction/mat", "USAir.mat"),
}
TEXT = {"planetoid-test-index", "geom-gcn-edge-list", "geom-gcn-node-file"}
PICKLE = {"planetoid-pickle", "planetoid-label-pickle"}


def mutations(data: bytes, seed: str) -> list[tuple[str, bytes | None]]:
    """10 deterministic mutations: 4 truncations, 5 high-bit flips (first byte, last byte, 3 random), deletion."""
    n = len(data)
    rng = random.Random(seed)
    out: list[tuple[str, bytes | None]] = [(f"truncate to {k}", data[:k]) for k in (0, 1, n // 2, n - 1)]
    for pos in [0, n - 1, *sorted(rng.sample(range(1, n - 1), 3))]:
        flipped = bytearray(data)
        flipped[pos] ^= 0x80  # high bit: in a text file a non-ASCII byte, in a binary one any damaged byte
        out.append((f"flip byte {pos}", bytes(flipped)))
    out.append(("delete", None))
    return out


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """One copy of each dataset folder and the fingerprint of the graph it loads."""
    out = {}
    for name, folder, _ in FORMATS.values():
        if name in out:
            continue
        root = tmp_path_factory.mktemp(name)
        shutil.copytree(ROOT / folder, root / folder)
        out[name] = (root, load_dataset(name, root=root).fingerprint())
    return out


def _outcome(name: str, root: Path, **options) -> str | DatasetError:
    try:
        return load_dataset(name, root=root, **options).fingerprint()
    except DatasetError as err:
        return err


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "parsers"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_damaged_file_gives_only_dataset_error(
    fmt: str, verify: bool, copies: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, folder, file = FORMATS[fmt]
    root, reference = copies[name]
    path = root / folder / file
    rel = f"{folder}/{file}"
    original = path.read_bytes()
    known = KNOWN_FILES[rel]
    try:
        for label, data in mutations(original, fmt):
            if data is None:
                path.unlink()
            else:
                path.write_bytes(data)
            if fmt in PICKLE and not verify:
                # pickles are always checked: to reach the unpickler, make the table know the damaged bytes
                monkeypatch.setitem(KNOWN_FILES, rel, (len(data or b""), hashlib.sha256(data or b"").hexdigest()))
            outcome = _outcome(name, root, verify=verify)  # any other exception fails the test here
            where = f"{fmt}, {label}, verify={verify}"
            must_fail = verify or data is None or label.startswith("truncate") or fmt in TEXT
            if isinstance(outcome, DatasetError):
                message = str(outcome)
                assert file in message or str(root / folder) in message, f"{where}: {message}"
                if data is None:
                    assert "not found" in message and file in message, where
            elif fmt in PICKLE:
                pass  # unpickled bytes the table was told to trust: any valid Graph (never loaded so in practice)
            else:
                assert not must_fail, f"{where}: loaded a graph"
                assert outcome == reference, f"{where}: loaded a different graph"
            monkeypatch.setitem(KNOWN_FILES, rel, known)
            path.write_bytes(original)
    finally:
        path.write_bytes(original)
    assert _outcome(name, root) == reference


# ------------------------------------------------------------------------------------------- edited text files
@pytest.mark.parametrize("verify", [True, False])
def test_edited_edge_list_is_not_a_different_graph(tmp_path: Path, verify: bool) -> None:
    folder = tmp_path / "webkb" / "texas" / "raw"
    shutil.copytree(ROOT / "webkb" / "texas" / "raw", folder)
    edges = folder / "out1_graph_edges.txt"
    lines = edges.read_text().splitlines(keepends=True)
    edits = {
        "last line dropped": lines[:-1],
        "line duplicated": [*lines, lines[-1]],
        "three columns": [*lines[:5], lines[5].rstrip("\n") + "\t7\n", *lines[6:]],
        "non-integer id": [*lines[:5], "12a\t7\n", *lines[6:]],
        "negative id": [*lines[:5], "-1\t7\n", *lines[6:]],
        "id out of range": [*lines[:5], "183\t7\n", *lines[6:]],
        "cut mid-line": [*lines[:-1], lines[-1][:-2]],
        "no header": lines[1:],
    }
    for label, edited in edits.items():
        edges.write_text("".join(edited))
        with pytest.raises(DatasetError, match="out1_graph_edges.txt|expected 279"):
            load_dataset("texas", root=tmp_path, verify=verify)
        assert label


def test_changed_digit_is_caught_by_the_checksum(tmp_path: Path) -> None:
    folder = tmp_path / "webkb" / "texas" / "raw"
    shutil.copytree(ROOT / "webkb" / "texas" / "raw", folder)
    edges = folder / "out1_graph_edges.txt"
    edges.write_text(edges.read_text().replace("56\t84\n", "56\t85\n", 1))  # a valid, different graph
    with pytest.raises(DatasetError, match=r"checksum mismatch for .*out1_graph_edges\.txt: sha256 [0-9a-f]{64}, "):
        load_dataset("texas", root=tmp_path)


# ------------------------------------------------------------------------------------------- missing split files
@pytest.mark.parametrize(
    ("name", "folder", "split"),
    [
        ("texas", "webkb/texas/raw", "texas_split_0.6_0.2_7.npz"),
        ("cora", "planetoid/cora/raw", "cora_split_0.6_0.2_7.npz"),
    ],
)
@pytest.mark.parametrize("verify", [True, False])
def test_missing_split_file_is_an_error(tmp_path: Path, name: str, folder: str, split: str, verify: bool) -> None:
    shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / folder / split).unlink()
    with pytest.raises(DatasetError, match=f"not found: .*{split}"):
        load_dataset(name, root=tmp_path, verify=verify)
    # the splits are named by their file number, so nothing shifts when all are present
    graph = load_dataset(name, root=ROOT)
    assert [s for s in graph.splits if s.startswith("geom-gcn")] == [f"geom-gcn-{i}" for i in range(10)]


# ------------------------------------------------------------------------------------------- OGB raw folders
def _write_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.asarray(rows).reshape(len(rows), -1)
    with gzip.open(path, "wt") as f:
        f.write("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")


def _ogb_folder(folder: Path, link: bool) -> None:
    rng = np.random.default_rng(0)
    n = 30
    _write_csv(folder / "raw" / "edge.csv.gz", rng.integers(0, n, size=(60, 2)))
    _write_csv(folder / "raw" / "num-node-list.csv.gz", [n])
    _write_csv(folder / "raw" / "num-edge-list.csv.gz", [60])
    _write_csv(folder / "raw" / "node-feat.csv.gz", rng.random((n, 3)).round(3))
    if link:
        (folder / "split" / "time").mkdir(parents=True)
        for part in ("train", "valid", "test"):
            split = {"edge": rng.integers(0, n, size=(10, 2)), "edge_neg": rng.integers(0, n, size=(10, 2))}
            torch.save(split, folder / "split" / "time" / f"{part}.pt")
    else:
        _write_csv(folder / "raw" / "node-label.csv.gz", rng.integers(0, 3, size=n))
        for part, index in (("train", range(20)), ("valid", range(20, 25)), ("test", range(25, 30))):
            _write_csv(folder / "split" / "time" / f"{part}.csv.gz", list(index))


@pytest.mark.parametrize(
    ("link", "file"),
    [
        (False, "raw/edge.csv.gz"),
        (False, "raw/node-feat.csv.gz"),
        (False, "raw/node-label.csv.gz"),
        (False, "split/time/train.csv.gz"),
        (True, "split/time/train.pt"),
    ],
)
def test_damaged_ogb_folder_gives_only_dataset_error(tmp_path: Path, link: bool, file: str) -> None:
    folder = tmp_path / "ogb_tiny"
    _ogb_folder(folder, link)
    reference = load_ogb_raw(folder).fingerprint()
    path = folder / file
    original = path.read_bytes()
    for label, data in mutations(original, file):
        if data is None:
            path.unlink()
        else:
            path.write_bytes(data)
        if data is None and file in ("raw/node-feat.csv.gz", "raw/node-label.csv.gz"):
            # optional in the OGB layout (ogbl-ddi has no features): a generic folder then loads without them
            graph = load_ogb_raw(folder)
            assert (graph.x if "feat" in file else graph.y) is None
            path.write_bytes(original)
            continue
        try:
            outcome = load_ogb_raw(folder).fingerprint()
        except DatasetError as err:
            assert path.name in str(err) or str(path.parent) in str(err), f"{file}, {label}: {err}"
        else:
            # no checksum for OGB folders: a flip may only land in bytes that do not matter (gzip header name/time)
            assert label.startswith("flip") and outcome == reference, f"{file}, {label}: loaded a different graph"
        path.write_bytes(original)


# ------------------------------------------------------------------------------------------- verdict cache
def test_verdicts_are_remembered_in_the_process_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file is hashed once per process; a new process hashes again (no cache file vouches for a file)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(cache))
    monkeypatch.setattr(_io, "_MEMO", {})
    hashed: list[Path] = []
    real = _io.sha256_file
    monkeypatch.setattr(_io, "sha256_file", lambda p: hashed.append(p) or real(p))

    assert load_dataset("texas").num_edges == 279
    assert len(hashed) == 12  # every file of the dataset, once
    load_dataset("texas")
    assert len(hashed) == 12  # the same process: remembered
    assert not (cache / "dataset_checksums.json").exists()  # nothing written to vouch for the files

    monkeypatch.setattr(_io, "_MEMO", {})  # a new process: every file hashed again
    load_dataset("texas")
    assert len(hashed) == 24


@pytest.mark.parametrize("where", ["cache", "working folder"])
def test_a_forged_cache_file_vouches_for_nothing(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An altered file with a cache entry claiming its (path, size, mtime) hashes to the known sha256
    is still refused, by loading and by ``datasets --verify``."""
    from graphsparse.cli import main

    folder = tmp_path / "data" / "webkb" / "texas" / "raw"
    shutil.copytree(ROOT / "webkb" / "texas" / "raw", folder)
    split = folder / "texas_split_0.6_0.2_2.npz"
    data = bytearray(split.read_bytes())
    data[-30] ^= 0x01
    stat = split.stat()
    split.write_bytes(bytes(data))
    os.utime(split, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**10))  # an old mtime, as a forger would set
    st = split.stat()
    rel = "webkb/texas/raw/texas_split_0.6_0.2_2.npz"
    forged = {"version": 1, "files": {str(split.resolve()): [st.st_size, st.st_mtime_ns, KNOWN_FILES[rel][1]]}}
    cache = tmp_path / "cache" if where == "cache" else tmp_path / "runs" / "cache"
    cache.mkdir(parents=True)
    (cache / "dataset_checksums.json").write_text(json.dumps(forged))
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_io, "_MEMO", {})
    with pytest.raises(DatasetError, match=r"texas_split_0\.6_0\.2_2\.npz.*sha256"):
        load_dataset("texas", root=tmp_path / "data")
    with pytest.raises(SystemExit):
        main(["datasets", "--verify", "--dataset", "texas", "--root", str(tmp_path / "data")])


def test_an_edit_that_keeps_size_and_mtime_is_caught_in_the_same_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process memo is keyed by ctime too: restoring the mtime after an edit does not hide it."""
    folder = tmp_path / "data" / "webkb" / "texas" / "raw"
    shutil.copytree(ROOT / "webkb" / "texas" / "raw", folder)
    split = folder / "texas_split_0.6_0.2_2.npz"
    old = split.stat()
    os.utime(split, ns=(old.st_atime_ns, old.st_mtime_ns - 10**10))
    monkeypatch.setattr(_io, "RACY_SECONDS", 0.0)
    monkeypatch.setattr(_io, "_MEMO", {})
    assert load_dataset("texas", root=tmp_path / "data").num_nodes == 183
    before = split.stat()
    data = bytearray(split.read_bytes())
    data[-30] ^= 0x01
    split.write_bytes(bytes(data))
    os.utime(split, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as they were
    with pytest.raises(DatasetError, match="sha256"):
        load_dataset("texas", root=tmp_path / "data")


def test_fresh_edits_are_never_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A same-size edit right after a verification (same mtime tick) is still caught."""
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "data" / "webkb" / "texas" / "raw"
    shutil.copytree(ROOT / "webkb" / "texas" / "raw", folder)
    split = folder / "texas_split_0.6_0.2_2.npz"
    split.write_bytes(split.read_bytes())  # modified now
    assert load_dataset("texas", root=tmp_path / "data").num_nodes == 183
    data = bytearray(split.read_bytes())
    data[-30] ^= 0x01
    split.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"texas_split_0\.6_0\.2_2\.npz.*sha256"):
        load_dataset("texas", root=tmp_path / "data")


def test_unwritable_cache_still_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(_io, "_MEMO", {})
    assert load_dataset("usair").num_edges == 2126


# ------------------------------------------------------------------------------------------- --verify
def test_every_shipped_file_belongs_to_a_dataset() -> None:
    from graphsparse.data import list_datasets

    covered = {rel for name in list_datasets(shipped_only=True) for rel in shipped_files(name)}
    assert covered == set(KNOWN_FILES)


def test_verify_datasets_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from graphsparse.cli import main

    assert all(result.ok for result in verify_datasets())
    assert main(["datasets", "--verify", "--dataset", "texas", "--dataset", "usair"]) == 0
    assert capsys.readouterr().out.splitlines() == ["texas: ok (12 files)", "usair: ok (2 files)"]

    shutil.copytree(ROOT / "webkb" / "texas", tmp_path / "webkb" / "texas")
    shutil.copytree(ROOT / "seal_link_prediction", tmp_path / "seal_link_prediction")
    (tmp_path / "webkb/texas/raw/texas_split_0.6_0.2_4.npz").unlink()
    edges = tmp_path / "seal_link_prediction/txt/USAir.txt"
    edges.write_bytes(edges.read_bytes()[:-10])
    results = verify_datasets(["texas", "usair", "ns"], root=tmp_path)
    assert [r.ok for r in results] == [False, False, True]
    assert "texas_split_0.6_0.2_4.npz" in results[0].problems[0] and "not found" in results[0].problems[0]
    assert "USAir.txt" in results[1].problems[0] and "expected 55276 bytes" in results[1].problems[0]
    with pytest.raises(SystemExit) as exit_:
        main(["datasets", "--verify", "--root", str(tmp_path), "--dataset", "texas", "--dataset", "ns"])
    assert exit_.value.code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("texas: FAILED: dataset file not found: ") and "texas_split_0.6_0.2_4.npz" in lines[0]
    assert lines[1] == "ns: ok (2 files)"


def test_registered_ogb_folder_needs_its_feature_files(tmp_path: Path) -> None:
    folder = tmp_path / "ogb" / "ogbn_arxiv"
    _ogb_folder(folder, link=False)
    assert load_dataset("ogbn-arxiv", root=tmp_path).num_features == 3
    (folder / "raw" / "node-feat.csv.gz").unlink()
    with pytest.raises(DatasetError, match=r"node-feat\.csv\.gz is missing"):
        load_dataset("ogbn-arxiv", root=tmp_path)
