"""The docs site: it builds with ``--strict``, every public name of graphsparse appears in the API reference, and
the ```python blocks of the guide pages (getting started, concepts, how-to) run as written.

Public modules are graphsparse and every module under it whose dotted path has no part starting with ``_``,
except the command (``graphsparse.cli``, documented by its ``--help``). A name in such a module's ``__all__``
appears in the reference when the built site's inventory (``objects.inv``, one entry per rendered object) holds
it under the module (``graphsparse.data.load_dataset``) or where it is defined (``graphsparse.graph.core.Graph``).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import graphsparse

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")


def _public_modules() -> list[str]:
    names = ["graphsparse"]
    for info in pkgutil.walk_packages(graphsparse.__path__, "graphsparse."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or parts[1] == "cli":
            continue
        names.append(info.name)
    return sorted(names)


def _inventory(site: Path) -> set[str]:
    header_end = 0
    raw = (site / "objects.inv").read_bytes()
    for _ in range(4):  # four comment lines, then the zlib-compressed body
        header_end = raw.index(b"\n", header_end) + 1
    body = zlib.decompress(raw[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line}


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-5000:]}"
    return site


def _candidates(module_name: str, name: str) -> set[str]:
    found = {f"{module_name}.{name}"}
    obj = getattr(importlib.import_module(module_name), name)
    defined_in, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(defined_in, str) and isinstance(qualname, str):
        found.add(f"{defined_in}.{qualname}")
    return found


def test_public_modules_are_found():
    modules = _public_modules()
    assert {"graphsparse.graph", "graphsparse.sparsify.methods", "graphsparse.transforms"} <= set(modules)
    assert not any(m.startswith("graphsparse.cli") for m in modules)


def test_every_public_name_is_in_the_reference(built_site):
    inventory = _inventory(built_site)
    missing = []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            if not _candidates(module_name, name) & inventory:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"not in the API reference (docs/reference/): {missing}"


def test_readme_links_point_at_files():
    """README.md is not part of the site (mkdocs checks the site's links), so its relative links are checked here."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert local, "README.md links to no docs page"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_every_public_module_has_a_reference_entry(built_site):
    inventory = _inventory(built_site)
    assert not set(_public_modules()) - inventory


GUIDE_PAGES = sorted(
    [
        ROOT / "docs" / "getting-started.md",
        *(ROOT / "docs" / "concepts").glob("*.md"),
        *(ROOT / "docs" / "how-to").glob("*.md"),
    ]
)


def _python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in GUIDE_PAGES:
        text = page.read_text()
        for match in re.finditer(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S):
            line = text.count("\n", 0, match.start(1)) + 1
            blocks.append((f"{page.relative_to(ROOT / 'docs')}:{line}", match.group(1)))
    return blocks


PYTHON_BLOCKS = _python_blocks()


def test_guide_pages_have_snippets():
    assert len(PYTHON_BLOCKS) >= 5


@pytest.mark.integration
@pytest.mark.timeout(600)
@pytest.mark.parametrize("code", [code for _, code in PYTHON_BLOCKS], ids=[name for name, _ in PYTHON_BLOCKS])
def test_guide_snippet_runs(code, tmp_path):
    """Each block runs in a fresh interpreter in an empty folder (so whatever it writes under runs/ lands there),
    its training cut to 10 epochs as the notebooks' is (tests/test_notebooks.py)."""
    from test_notebooks import _shrunk

    code = _shrunk(code)
    env = dict(
        os.environ,
        GRAPHSPARSE_DATA=str(ROOT / "datasets"),
        GRAPHSPARSE_DB=str(tmp_path / "graphsparse.db"),
        GRAPHSPARSE_CACHE=str(tmp_path / "cache"),
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
