"""Installable datasets: the search path, `graphsparse datasets fetch` from a local HTTP server, checksums.

The server (127.0.0.1, a free port, one thread) serves the shipped ``datasets/`` files at the URL paths of their
public origins (raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>), so ``--base-url http://127.0.0.1:PORT``
exercises the real download code without a network.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from graphsparse.cli import main
from graphsparse.data import (
    DatasetError,
    dataset_roots,
    dataset_sources,
    fetch_dataset,
    load_dataset,
    locate_dataset,
    shipped_files,
)
from graphsparse.data.checksums import KNOWN_FILES
from graphsparse.data.fetch import rebase_url
from graphsparse.data.sources import FILE_SOURCES

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "datasets"


class _Server:
    """A local HTTP server mapping origin URL paths to shipped files; ``corrupt`` paths get altered bytes."""

    def __init__(self) -> None:
        self.files = {urllib.parse.urlsplit(url).path: SHIPPED / rel for rel, url in FILE_SOURCES.items()}
        self.corrupt: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                path = server.files.get(self.path)
                if path is None:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                if self.path in server.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def path_of(self, rel: str) -> str:
        return urllib.parse.urlsplit(FILE_SOURCES[rel]).path


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(timeout=5)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data home; no $GRAPHSPARSE_DATA, no checkout datasets/, cwd elsewhere."""
    monkeypatch.setenv("GRAPHSPARSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GRAPHSPARSE_NO_CHECKOUT_DATA", "1")
    monkeypatch.delenv("GRAPHSPARSE_DATA", raising=False)
    monkeypatch.delenv("GRAPHSPARSE_MIRROR", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return tmp_path / "home"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_fetchable_file_has_a_pinned_public_url() -> None:
    for rel, url in FILE_SOURCES.items():
        assert rel in KNOWN_FILES
        assert url.startswith("https://raw.githubusercontent.com/"), url
        assert len(urllib.parse.urlsplit(url).path.split("/")[3]) == 40, url  # a full commit id
    # everything shipped has a source except the converted Amazon/Coauthor npz files
    assert sorted(set(KNOWN_FILES) - set(FILE_SOURCES)) == sorted(
        rel for rel in KNOWN_FILES if rel.startswith(("amazon/", "coauthor/"))
    )
    cora = dataset_sources("cora")
    assert len(cora) == 18 and {rel for _, rel, _ in cora} == set(shipped_files("cora"))
    assert all(sha == KNOWN_FILES[rel][1] for _, rel, sha in cora)
    with pytest.raises(DatasetError, match="cannot be fetched"):
        dataset_sources("amazon-photo")


def test_rebase_url() -> None:
    url = "https://raw.githubusercontent.com/kimiyoung/planetoid/abc/data/ind.cora.x"
    assert rebase_url(url, None) == url
    assert rebase_url(url, "http://127.0.0.1:8000") == "http://127.0.0.1:8000/kimiyoung/planetoid/abc/data/ind.cora.x"
    assert (
        rebase_url(url, "http://m.example/mirror/") == "http://m.example/mirror/kimiyoung/planetoid/abc/data/ind.cora.x"
    )
    with pytest.raises(DatasetError, match="scheme and a host"):
        rebase_url(url, "127.0.0.1:8000")


def test_search_path_adds_graphsparse_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("GRAPHSPARSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GRAPHSPARSE_DATA", os.pathsep.join([str(a), "", str(b)]))
    monkeypatch.delenv("GRAPHSPARSE_NO_CHECKOUT_DATA", raising=False)
    assert dataset_roots() == [a, b, tmp_path / "home" / "datasets", SHIPPED]
    assert locate_dataset("texas") == SHIPPED  # not in a or b: the checkout still has it
    raw = b / "webkb" / "texas" / "raw"
    raw.mkdir(parents=True)
    for rel in shipped_files("texas"):
        (b / rel).write_bytes((SHIPPED / rel).read_bytes())
    assert locate_dataset("texas") == b
    assert load_dataset("texas").num_nodes == 183
    monkeypatch.setenv("GRAPHSPARSE_NO_CHECKOUT_DATA", "1")
    assert dataset_roots() == [a, b, tmp_path / "home" / "datasets"]


def test_missing_dataset_names_the_fetch_command(home: Path) -> None:
    with pytest.raises(DatasetError, match="graphsparse datasets fetch cora"):
        load_dataset("cora")
    with pytest.raises(DatasetError, match="graphsparse datasets fetch ogbn-arxiv"):
        load_dataset("ogbn-arxiv")
    with pytest.raises(DatasetError, match="shipped only with the source repository"):
        load_dataset("amazon-photo")


def test_fetch_cora_from_local_server_then_load(
    home: Path, server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["datasets", "fetch", "cora", "--base-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "18 files" in out
    rels = shipped_files("cora")
    assert len(server.requests) == len(rels) == 18
    for rel in rels:
        path = home / "datasets" / rel
        assert path.is_file(), rel
        assert _sha256(path) == KNOWN_FILES[rel][1]
    assert not list((home / "datasets").rglob("*.part"))
    assert locate_dataset("cora") == home / "datasets"
    graph = load_dataset("cora")
    assert (graph.num_nodes, graph.num_edges, graph.num_features, graph.num_classes) == (2708, 5278, 1433, 7)
    # a second fetch finds every file present and downloads nothing
    fetch_dataset("cora", base_url=server.url)
    assert len(server.requests) == 18


def test_listing_marks_datasets_not_found(home: Path, server: _Server, capsys: pytest.CaptureFixture[str]) -> None:
    fetch_dataset("texas", base_url=server.url)
    assert main(["datasets", "--name", "texas", "--name", "cora"]) == 0
    out = capsys.readouterr().out
    assert "not found on the search path (counts as recorded): cora;" in out
    (texas,) = [line for line in out.splitlines() if line.startswith("texas ")]
    assert texas.split()[-2] == "10"  # loaded: its 10 Geom-GCN splits


def test_fetch_to_dir_with_mirror_env(
    tmp_path: Path, home: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHSPARSE_MIRROR", server.url)
    paths = fetch_dataset("usair", to=tmp_path / "elsewhere-root")
    assert sorted(p.relative_to(tmp_path / "elsewhere-root").as_posix() for p in paths) == sorted(
        shipped_files("usair")
    )
    assert not (home / "datasets").exists()
    assert load_dataset("usair", root=tmp_path / "elsewhere-root").num_edges == 2126


def test_corrupted_download_is_deleted_and_fails(
    home: Path, server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    server.corrupt.add(server.path_of("planetoid/cora/raw/ind.cora.x"))
    with pytest.raises(DatasetError, match=r"checksum mismatch for planetoid/cora/raw/ind\.cora\.x.*deleted"):
        fetch_dataset("cora", base_url=server.url)
    assert not (home / "datasets" / "planetoid/cora/raw/ind.cora.x").exists()
    # the command: one error line, exit 1
    with pytest.raises(SystemExit) as exit_info:
        main(["datasets", "fetch", "cora", "--base-url", server.url])
    assert exit_info.value.code == 1
    assert "checksum mismatch" in capsys.readouterr().err
    with pytest.raises(DatasetError, match="graphsparse datasets fetch cora"):
        load_dataset("cora")


def test_fetch_unshipped_yandex_set_through_the_mirror(home: Path, server: _Server) -> None:
    """The Yandex sets that were never shipped download from the Yandex repository (here: a stand-in npz)."""
    server.files["/yandex-research/heterophilous-graphs/raw/main/data/roman_empire.npz"] = (
        SHIPPED / "yandex_heterophilous/texas/raw/texas.npz"
    )
    with pytest.raises(DatasetError, match="graphsparse datasets fetch roman-empire"):
        load_dataset("roman-empire")
    (path,) = fetch_dataset("roman-empire", base_url=server.url)
    assert path == home / "datasets" / "yandex_heterophilous/roman_empire/raw/roman_empire.npz"
    assert locate_dataset("roman-empire") == home / "datasets"
    assert load_dataset("roman-empire").num_nodes == 183  # the stand-in's content


def test_unreachable_server_is_a_dataset_error(home: Path) -> None:
    with pytest.raises(DatasetError, match="cannot download"):
        fetch_dataset("texas", base_url="http://127.0.0.1:9")  # discard port: nothing listens


@pytest.mark.slow
def test_wheel_install_fetch_and_train_from_another_directory(tmp_path: Path, server: _Server) -> None:
    """`pip install` of graphsparse's wheel (not editable) into a fresh venv, fetch cora from the local server, then
    `graphsparse train --dataset cora --epochs 5 --seeds 1` from a folder outside the checkout.

    The wheel is built from a copy of the package sources (so the checkout gets no build/ folder) and installed
    with ``--no-deps``; the fresh venv then sees this venv's installed dependencies through a ``.pth`` line (torch
    and friends are not downloaded again; a plain path line does not run this venv's editable-install hook, so
    ``graphsparse`` itself comes only from the wheel, which has no datasets/ beside it).
    """
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "graphsparse", src / "graphsparse", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(wheels)]
    subprocess.run([*build, str(src)], check=True, cwd=tmp_path, timeout=600)
    (wheel,) = wheels.glob("graphsparse-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)], check=True, timeout=600)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = Path(torch.__file__).resolve().parents[1]  # this venv's site-packages
    (Path(site) / "_graphsparse_test_deps.pth").write_text(f"{deps}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GRAPHSPARSE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        GRAPHSPARSE_HOME=str(tmp_path / "home"),
        GRAPHSPARSE_DB=str(tmp_path / "runs.db"),
        GRAPHSPARSE_CACHE=str(tmp_path / "cache"),
        OMP_NUM_THREADS="1",
    )
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import graphsparse, graphsparse.config as c; print(graphsparse.__file__, c.checkout_datasets())",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in where and where.split()[1] == "None", where  # the wheel, which has no datasets/ beside it
    graphsparse = str(venv / "bin" / "graphsparse")
    missing = subprocess.run(
        [graphsparse, "train", "--dataset", "cora", "--epochs", "5", "--seeds", "1"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "graphsparse datasets fetch cora" in missing.stderr, missing.stderr
    fetch = subprocess.run(
        [graphsparse, "datasets", "fetch", "cora", "--base-url", server.url],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert fetch.returncode == 0, fetch.stderr
    train = subprocess.run(
        [graphsparse, "train", "--dataset", "cora", "--epochs", "5", "--seeds", "1", "--json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr
    assert "cora" in train.stdout
