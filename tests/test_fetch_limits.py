"""Downloads under a hostile server: an overall deadline however the server paces its bytes, a size cap
from the manifest (announced or sent), a body cut short, and no partial file left behind whatever ends the download.
A local server only: the tests never touch the network."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphsparse.data import DatasetError, fetch_dataset
from graphsparse.data import download as download_module
from graphsparse.data.checksums import KNOWN_FILES


class _Hostile:
    """A local server answering every path in one hostile ``mode``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stop = threading.Event()
        hostile = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _answer(self) -> None:
                mode = hostile.mode
                self.send_response(200)
                if mode == "announces too much":
                    self.send_header("Content-Length", str(1 << 40))
                elif mode == "cut short":
                    self.send_header("Content-Length", "1500")
                self.end_headers()
                if mode == "announces too much":
                    return
                if mode == "cut short":
                    self.wfile.write(b"x" * 1000)
                    return
                if mode == "slow drip":  # one byte every 50 ms: every read succeeds, the whole never ends
                    while not hostile.stop.is_set():
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
                    return
                # "endless": no length, bytes until the client hangs up
                block = b"x" * 65536
                while not hostile.stop.is_set():
                    self.wfile.write(block)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[_Hostile]:
    server = _Hostile(request.param)
    server.thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.httpd.shutdown()
        server.httpd.server_close()


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    "hostile, problem",
    [
        ("endless", "more than the"),
        ("announces too much", "announces"),
        ("cut short", "ended after 1000 of the 1500 bytes"),
        ("slow drip", "not finished after"),
    ],
    indirect=["hostile"],
)
def test_a_hostile_server_is_cut_off_and_leaves_nothing(hostile, problem, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(download_module, "DEADLINE_SECONDS", 1.0)
    monkeypatch.setattr(download_module, "TIMEOUT_SECONDS", 5)
    start = time.monotonic()
    with pytest.raises(DatasetError, match=problem):
        fetch_dataset("texas", to=tmp_path / "data", base_url=hostile.url)
    assert time.monotonic() - start < 10
    assert _leftovers(tmp_path / "data") == []  # no partial file, no target


@pytest.mark.parametrize("hostile", ["endless"], indirect=True)
def test_the_cap_is_the_size_the_manifest_records(hostile, tmp_path) -> None:
    target = tmp_path / "f.bin"
    with pytest.raises(DatasetError, match="more than the 1234 bytes the manifest records"):
        download_module.download_file(hostile.url + "/x", target, 1234)
    assert _leftovers(tmp_path) == []
    assert all(size > 0 for size, _ in KNOWN_FILES.values())


@pytest.mark.parametrize("hostile", ["endless"], indirect=True)
def test_a_file_without_a_recorded_size_is_capped_too(hostile, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(download_module, "UNKNOWN_MAX_BYTES", 200_000)
    with pytest.raises(DatasetError, match="200000-byte cap"):
        download_module.download_file(hostile.url + "/x", tmp_path / "f.npz")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("hostile", ["slow drip"], indirect=True)
def test_ctrl_c_during_a_download_leaves_no_partial_file(hostile, tmp_path, monkeypatch) -> None:
    import http.client

    real = http.client.HTTPResponse.read1
    calls = {"n": 0}

    def interrupted(self: http.client.HTTPResponse, n: int = -1) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, n)

    monkeypatch.setattr(http.client.HTTPResponse, "read1", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download_module.download_file(hostile.url + "/x", tmp_path / "f.bin", 100000)
    assert _leftovers(tmp_path) == []


def test_a_full_disk_during_a_download_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    """The body is written to a file that cannot grow: one DatasetError, nothing left."""
    import io

    class Response(io.BytesIO):
        headers: dict[str, str] = {}

        def read1(self, n: int = -1) -> bytes:  # type: ignore[override]
            return super().read1(n)

    monkeypatch.setattr(download_module.urllib.request, "urlopen", lambda *a, **k: Response(b"x" * 5000))
    real_open = open

    class Full:
        def __init__(self, path: object, mode: str) -> None:
            self.handle = real_open(path, mode)  # noqa: SIM115

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(download_module, "open", Full, raising=False)
    with pytest.raises(DatasetError, match="No space left"):
        download_module.download_file("http://mirror.invalid/f", tmp_path / "f.bin", 5000)
    assert _leftovers(tmp_path) == []


class _Zip(http.server.BaseHTTPRequestHandler):
    """Serves one small OGB-like zip (``arxiv/raw/x.csv``) at any path."""

    body = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_ogb_zip_comes_through_the_same_downloader(tmp_path) -> None:
    """OGB's zip is fetched with the deadline and the cap (no interactive prompt of ogb's helper), unpacked, and
    the archive removed."""
    pytest.importorskip("ogb")
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("arxiv/raw/x.csv", "1,2\n")
    _Zip.body = buffer.getvalue()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Zip)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        paths = fetch_dataset("ogbn-arxiv", to=tmp_path / "d", base_url=url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (paths[0] / "raw" / "x.csv").read_text() == "1,2\n"
    assert not list((tmp_path / "d" / "ogb").glob("*.zip")) and not list((tmp_path / "d").rglob("*.part"))


@pytest.mark.parametrize("hostile", ["endless", "cut short"], indirect=True)
def test_a_hostile_ogb_server_leaves_nothing(hostile, tmp_path, monkeypatch) -> None:
    pytest.importorskip("ogb")
    monkeypatch.setattr(download_module, "DEADLINE_SECONDS", 1.0)
    monkeypatch.setattr(download_module, "free_space_cap", lambda folder, margin=0: 300_000)
    with pytest.raises(DatasetError, match="cannot download"):
        fetch_dataset("ogbn-arxiv", to=tmp_path / "d", base_url=hostile.url)
    assert _leftovers(tmp_path / "d") == []
