"""The one graph abstraction every part of graphsparse speaks.

:class:`Graph` (:mod:`.core`: storage, validation, derived caches, pruning and subgraphs) and its conversions to
and from PyG, networkx and scipy (:mod:`.convert`). :mod:`.convert` imports :mod:`.core` and, on import, registers
its functions as the ones the ``Graph.to_pyg`` / ``Graph.from_pyg`` / ... methods call (``core`` never imports
``convert``); importing it here puts them in place before anyone can reach a Graph.
"""

from .convert import keep_pyg_edges, pyg_edge_graph
from .core import MAX_LABEL_FLOOR, MAX_NUM_NODES, SCHEMA_VERSION, Graph, GraphError, Split, csr_select_rows

__all__ = [
    "Graph",
    "GraphError",
    "Split",
    "csr_select_rows",
    "SCHEMA_VERSION",
    "MAX_NUM_NODES",
    "MAX_LABEL_FLOOR",
    "pyg_edge_graph",
    "keep_pyg_edges",
]
