"""Normalised adjacency operators and a CSR SpMM with gradients w.r.t. the edge values.

The structure of an operator (CSR row pointers, columns, the transpose permutation, which stored edge each
non-zero comes from) depends only on the graph, so it is built once per :class:`~graphsparse.graph.Graph` and
cached on it. The values are either constant (cached too) or computed differentiably from learnable per-edge
values (UGS masks, GAug-O samples, IRLS weights), in which case :func:`spmm` returns their gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .graph import Graph, GraphError
from .graph.csr import quiet_csr

__all__ = ["SparseStructure", "SparseOperator", "sparse_structure", "normalized_adjacency", "spmm", "csr_matmul"]

# Fallback edge-value gradient (grad_out[row] * x[col]).sum(-1) in chunks small enough to stay in cache
_GRAD_CHUNK_ELEMENTS = 1 << 19


@dataclass(frozen=True)
class SparseStructure:
    """CSR pattern of the directed view of a graph, optionally with one self-loop per node.

    ``edge_id[k]`` is the stored edge id of non-zero ``k`` (``-1`` for a self-loop); ``transpose_perm``
    orders the non-zeros for the CSR of the transpose, whose pattern is ``(t_crow, t_col)``.
    """

    num_nodes: int
    crow: torch.Tensor
    col: torch.Tensor
    row: torch.Tensor
    edge_id: torch.Tensor
    transpose_perm: torch.Tensor
    t_crow: torch.Tensor
    t_col: torch.Tensor

    @property
    def nnz(self) -> int:
        """The number of non-zeros (self-loops included)."""
        return self.col.numel()

    def to(self, device: torch.device | str) -> SparseStructure:
        """Return a copy with every tensor moved to ``device``.

        Args:
            device: the target device.

        Returns:
            The structure on ``device``.
        """
        return SparseStructure(
            self.num_nodes,
            *(
                getattr(self, f).to(device)
                for f in ("crow", "col", "row", "edge_id", "transpose_perm", "t_crow", "t_col")
            ),
        )


def _csr_pattern(row: torch.Tensor, col: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort (row, col) pairs into CSR order; returns (permutation, crow)."""
    perm = torch.argsort(row * num_nodes + col)
    counts = torch.bincount(row, minlength=num_nodes)
    crow = torch.zeros(num_nodes + 1, dtype=torch.long)
    torch.cumsum(counts, 0, out=crow[1:])
    return perm, crow


def sparse_structure(graph: Graph, self_loops: bool = True, device: torch.device | str = "cpu") -> SparseStructure:
    """The cached CSR structure of ``graph``'s directed view (plus self-loops when asked)."""
    return graph._cached(("structure", self_loops, str(device)), lambda: _build_structure(graph, self_loops, device))


def _build_structure(graph: Graph, self_loops: bool, device: torch.device | str) -> SparseStructure:
    n = graph.num_nodes
    row, col = graph.edge_index
    edge_id = graph.directed_edge_ids
    if self_loops:
        loop = torch.arange(n)
        row, col = torch.cat([row, loop]), torch.cat([col, loop])
        edge_id = torch.cat([edge_id, torch.full((n,), -1, dtype=torch.long)])
    perm, crow = _csr_pattern(row, col, n)
    row, col, edge_id = row[perm], col[perm], edge_id[perm]
    t_perm, t_crow = _csr_pattern(col, row, n)
    structure = SparseStructure(n, crow, col, row, edge_id, t_perm, t_crow, row[t_perm])
    if str(device) != "cpu":
        structure = structure.to(device)
    return structure


@dataclass(frozen=True)
class SparseOperator:
    """A sparse N x N matrix (structure + values) that multiplies dense matrices: ``op @ x``."""

    structure: SparseStructure
    values: torch.Tensor
    symmetric: bool = False

    def __matmul__(self, x: torch.Tensor) -> torch.Tensor:
        """Multiply by a dense matrix: ``op @ x`` is :func:`spmm`."""
        return spmm(self, x)

    def to_dense(self) -> torch.Tensor:
        """Return the operator as a dense N x N tensor (duplicate entries summed)."""
        s = self.structure
        dense = torch.zeros(s.num_nodes, s.num_nodes, dtype=self.values.dtype, device=self.values.device)
        return dense.index_put((s.row, s.col), self.values, accumulate=True)

    @quiet_csr()
    def to_torch_csr(self) -> torch.Tensor:
        """Return the operator as a ``torch.sparse_csr_tensor`` (values detached from autograd)."""
        s = self.structure
        return torch.sparse_csr_tensor(s.crow, s.col, self.values.detach(), (s.num_nodes,) * 2, check_invariants=False)


def _edge_weights(structure: SparseStructure, edge_values: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """Per-non-zero weights: ``edge_values[edge_id]`` for edges, 1 for self-loops."""
    if edge_values is None:
        return torch.ones(structure.nnz, dtype=dtype, device=structure.col.device)
    # Self-loops (edge_id -1) read the 1 appended after the M edge values. Indexing ``edge_values`` itself (with
    # -1 clamped to 0) would fail on a graph without edges (M = 0: a fully pruned UGS round, an empty graph).
    padded = torch.cat([edge_values, torch.ones(1, dtype=edge_values.dtype, device=edge_values.device)])
    return padded[structure.edge_id]


def normalized_adjacency(
    graph: Graph,
    edge_values: torch.Tensor | None = None,
    normalization: str = "sym",
    self_loops: bool = True,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> SparseOperator:
    """Normalised adjacency of ``graph`` as a :class:`SparseOperator`.

    ``normalization='sym'`` gives ``D^-1/2 (A + I) D^-1/2`` (Kipf & Welling), ``'row'`` gives ``D^-1 (A + I)``
    and ``'none'`` gives ``A + I``; ``self_loops=False`` drops the ``I``. ``edge_values`` (one per stored edge
    id, e.g. a UGS mask) weight ``A`` and enter the degrees, differentiably. Without them the graph's own
    :attr:`~graphsparse.graph.Graph.edge_weight` weight ``A`` (all ones for an unweighted graph), and the result
    is cached on the graph. Explicit ``edge_values`` replace the graph's weights: a caller that wants both passes
    their product.
    """
    if normalization not in ("sym", "row", "none"):
        raise GraphError(f"normalization must be 'sym', 'row' or 'none', got {normalization!r}")
    if edge_values is not None:
        if edge_values.shape != (graph.num_edges,):
            raise GraphError(
                f"edge_values must have shape [{graph.num_edges}] (one per edge id), got {list(edge_values.shape)}"
            )
        edge_values = edge_values.to(device=device, dtype=dtype)
    if edge_values is None:
        key = ("adjacency", normalization, self_loops, str(device), dtype)
        weight = graph.edge_weight
        if weight is not None:
            weight = weight.to(device=device, dtype=dtype)
        return graph._cached(key, lambda: _normalized(graph, weight, normalization, self_loops, device, dtype))
    return _normalized(graph, edge_values, normalization, self_loops, device, dtype)


def _normalized(
    graph: Graph,
    edge_values: torch.Tensor | None,
    normalization: str,
    self_loops: bool,
    device: torch.device | str,
    dtype: torch.dtype,
) -> SparseOperator:
    structure = sparse_structure(graph, self_loops, device)
    weights = _edge_weights(structure, edge_values, dtype)
    if normalization == "none":
        values = weights
    else:
        deg = torch.zeros(graph.num_nodes, dtype=dtype, device=weights.device).index_add(0, structure.row, weights)
        # a node of degree 0 (no self-loop, all its edge values 0) gets 0; its degree is replaced by 1 before the
        # power, since 0 * inf in the backward of pow(0, -1/2) would turn its edges' gradients into NaN
        empty = deg <= 0
        safe_deg = torch.where(empty, torch.ones((), dtype=dtype, device=deg.device), deg)
        if normalization == "sym":
            inv_sqrt = safe_deg.pow(-0.5).masked_fill(empty, 0.0)
            values = inv_sqrt[structure.row] * weights * inv_sqrt[structure.col]
        else:
            inv = safe_deg.reciprocal().masked_fill(empty, 0.0)
            values = inv[structure.row] * weights
    symmetric = not graph.directed and normalization != "row"
    return SparseOperator(structure, values, symmetric)


def csr_matmul(matrix: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``matrix @ dense`` for a CSR ``matrix``, not differentiable (used inside autograd functions).

    On CPU torch's own product zero-fills its output and then copies a temporary into it; asking for the product
    straight into an uninitialised output (``beta=0`` ignores its contents) skips both, ~15-20% of a 512-column
    product's time. The in-place form: ``addmm(out, ..., out=out)`` still copies its input into its output.
    """
    if matrix.device.type != "cpu" or dense.dtype != matrix.dtype or dense.numel() == 0 or matrix.size(0) == 0:
        return torch.sparse.mm(matrix, dense)
    out = torch.empty(matrix.size(0), dense.size(1), dtype=dense.dtype)
    return out.addmm_(matrix, dense, beta=0)


class _SpMM(torch.autograd.Function):
    @staticmethod
    @quiet_csr()
    def forward(ctx, values, x, structure, symmetric):  # type: ignore[override]
        n = structure.num_nodes
        matrix = torch.sparse_csr_tensor(structure.crow, structure.col, values, (n, n), check_invariants=False)
        ctx.save_for_backward(values, x)
        ctx.structure, ctx.symmetric = structure, symmetric
        return csr_matmul(matrix, x)

    @staticmethod
    @quiet_csr()
    def backward(ctx, grad_out):  # type: ignore[override]
        values, x = ctx.saved_tensors
        s = ctx.structure
        grad_values = grad_x = None
        if ctx.needs_input_grad[1]:
            if ctx.symmetric:
                t_matrix = torch.sparse_csr_tensor(s.crow, s.col, values, (s.num_nodes,) * 2, check_invariants=False)
            else:
                t_matrix = torch.sparse_csr_tensor(
                    s.t_crow, s.t_col, values[s.transpose_perm], (s.num_nodes,) * 2, check_invariants=False
                )
            grad_x = csr_matmul(t_matrix, grad_out.contiguous())
        if ctx.needs_input_grad[0]:
            grad_values = _edge_value_grad(s, values, grad_out.contiguous(), x)
        return grad_values, grad_x, None, None


@quiet_csr()
def _edge_value_grad(s: SparseStructure, values: torch.Tensor, grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``d(loss)/d(values)[e] = <grad_out[row_e], x[col_e]>``: ``grad_out @ x^T`` sampled at the non-zeros.

    torch's CSR SDDMM (``sampled_addmm``) is far faster than gathering both rows of every edge (measured in
    benchmarks/README.md); the gather, in chunks, remains for dtypes or devices it does not cover.
    """
    pattern = torch.sparse_csr_tensor(s.crow, s.col, values.detach(), (s.num_nodes,) * 2, check_invariants=False)
    try:
        return torch.sparse.sampled_addmm(pattern, grad_out, x.t(), beta=0.0).values()
    except (RuntimeError, NotImplementedError):
        pass
    step = max(1, _GRAD_CHUNK_ELEMENTS // max(1, x.size(1)))
    grad_values = torch.empty_like(values)
    for start in range(0, s.nnz, step):
        stop = min(start + step, s.nnz)
        grad_values[start:stop] = (grad_out[s.row[start:stop]] * x[s.col[start:stop]]).sum(-1)
    return grad_values


def spmm(op: SparseOperator, x: torch.Tensor) -> torch.Tensor:
    """``op @ x`` on torch CSR; differentiable w.r.t. ``x`` and w.r.t. ``op.values`` when they require grad."""
    squeeze = x.dim() == 1
    if squeeze:
        x = x.unsqueeze(1)
    values = op.values if op.values.dtype == x.dtype else op.values.to(x.dtype)
    out = _SpMM.apply(values, x, op.structure, op.symmetric)
    return out.squeeze(1) if squeeze else out
