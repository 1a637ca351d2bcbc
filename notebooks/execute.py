"""Execute notebooks in place so the committed files carry their outputs (``make notebooks`` runs this).

Usage: ``OMP_NUM_THREADS=1 python notebooks/execute.py [NOTEBOOK ...]`` (default: every notebook here). Each runs
in a fresh kernel with the notebook's folder as working directory, as ``tests/test_notebooks.py`` runs them; cell
timing metadata is not recorded, so a rerun changes only the outputs themselves, and two notices that carry this
machine's paths and say nothing about the results (tqdm's "IProgress not found", torch's "Sparse CSR tensor support
is in beta") are silenced in the kernels unless ``$PYTHONWARNINGS`` is set. Stops at the first error.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    nbformat.write(notebook, path)
    return seconds


QUIET = "ignore:IProgress not found,ignore:Sparse CSR tensor support is in beta"


def main(argv: list[str]) -> None:
    os.environ.setdefault("PYTHONWARNINGS", QUIET)  # the kernels inherit this environment
    paths = [Path(p) for p in argv] or sorted(Path(__file__).parent.glob("*.ipynb"))
    for path in paths:
        print(f"{path}: executed in {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
