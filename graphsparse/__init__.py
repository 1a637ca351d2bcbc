"""graphsparse: graph neural networks on sparse graphs, and making graphs and GNNs sparser.

The top-level names (``Graph``, ``spmm``, ...) are imported on first use, so ``import graphsparse`` (and the
``graphsparse`` command's start-up, which must catch Ctrl-C from its first moment) does not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Graph": "graph",
    "GraphError": "graph",
    "Split": "graph",
    "SparseOperator": "sparse",
    "normalized_adjacency": "sparse",
    "spmm": "sparse",
}

__all__ = ["Graph", "GraphError", "Split", "SparseOperator", "normalized_adjacency", "spmm", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphsparse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
