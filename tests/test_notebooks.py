import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


# Each notebook runs as committed but for its training length: every ``epochs=N`` above this is cut to it, as
# test_readme.py shrinks the README's commands. Every code path still runs; the committed outputs (and the full
# lengths) are `make notebooks`'s.
EPOCHS = 10


def _shrunk(source: str) -> str:
    return re.sub(r"\bepochs\s*=\s*(\d+)", lambda m: f"epochs={min(int(m.group(1)), EPOCHS)}", source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = _shrunk(cell.source)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)


def test_there_are_notebooks():
    assert NOTEBOOKS


def test_shrinking_cuts_only_the_training_length():
    assert _shrunk("NodeTrainConfig(epochs=60, lr=0.01)") == "NodeTrainConfig(epochs=10, lr=0.01)"
    assert _shrunk("config = dict(epochs = 5)") == "config = dict(epochs=5)"
    assert _shrunk("max_epochs=60") == "max_epochs=60"
