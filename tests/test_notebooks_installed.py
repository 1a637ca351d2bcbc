"""Every notebook runs from a non-editable install outside the checkout: graphsparse is built and
installed into a folder of its own (no ``datasets/`` beside the package), each notebook is copied to an empty
folder and executed there, and the datasets come through the data search path (``$GRAPHSPARSE_DATA``, as after
``graphsparse datasets fetch``), never from a path relative to the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """graphsparse built from the checkout and installed (not editable) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    source = build / "src"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "datasets", "runs", "*.db", "build"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--target", str(target), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (target / "graphsparse" / "__init__.py").is_file() and not (target / "datasets").exists()
    return target


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_from_an_installed_package(path, installed, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    folder = tmp_path / "work"
    folder.mkdir()
    notebook = nbformat.read(path, as_version=4)
    # the kernel imports the installed copy (PYTHONPATH comes before the checkout's editable finder)
    check = nbformat.v4.new_code_cell(
        "import graphsparse, pathlib\n"
        f"assert pathlib.Path(graphsparse.__file__).resolve().is_relative_to({str(installed.resolve())!r}), "
        "graphsparse.__file__"
    )
    notebook.cells.insert(0, check)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")]).rstrip(":"))
    monkeypatch.setenv("GRAPHSPARSE_DATA", str(ROOT / "datasets"))  # where `datasets fetch` would have put them
    monkeypatch.setenv("GRAPHSPARSE_DB", str(folder / "runs.db"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
