"""graphsparse: graph neural networks on sparse graphs, and making graphs and GNNs sparser."""

__version__ = "0.1.0"

from .graph import Graph, GraphError, Split  # noqa: E402
from .sparse import SparseOperator, normalized_adjacency, spmm  # noqa: E402

__all__ = ["Graph", "GraphError", "Split", "SparseOperator", "normalized_adjacency", "spmm", "__version__"]
