r"""Fast dropout for large feature matrices, alone and fused with the dense product that follows it.

``torch.nn.functional.dropout`` draws one float Bernoulli sample per element; on a 200,000 x 128 input that is
most of a GCN epoch on CPU. Here the keep-mask comes from 16-bit integers cut out of 64-bit random words (one
generator call per four elements) compared with a threshold, so an element is dropped with probability
``round(p * 65536) / 65536`` (exactly ``p`` for 0.5, within 1e-5 of it otherwise). On CPU numpy makes the
comparison (vectorised: 0.06 ms on a 2708 x 512 mask, torch's 0.6 ms), with the same result. The mask is kept
as booleans (1 byte per element) for the backward pass.

:func:`dropout_matmul` computes :math:`(\mathrm{dropout}(X) W)` row-chunk by row-chunk so the masked chunk stays
in cache, and applies the :math:`1/(1-p)` rescaling to the small product instead of to :math:`X`. A narrow
product (a classifier layer: 7 or 40 classes) runs transposed, :math:`(W^\top X^\top)^\top`, as does the weight
gradient :math:`X^\top G` (as :math:`(G^\top X)^\top`): MKL's single-precision GEMM is several times slower on an
output a few columns wide than on one a few columns tall (benchmarks/README.md, "glt_speed.py"). The sums are
the same, in another order, so the results move in the last bits against the untransposed product.
Both draw from torch's default generator, so ``torch.manual_seed`` makes them deterministic.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.weak import WeakIdKeyDictionary

from ..graph.csr import quiet_csr
from ..sparse import csr_matmul

__all__ = ["dropout_keep_mask", "dropout", "dropout_matmul", "sparse_dropout_matmul"]

_CHUNK_ELEMENTS = 1 << 19  # ~2 MB of float32 per chunk: the masked chunk and its mask stay in cache


def _check_p(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    return p


_GEMM_COLUMN_QUANTUM = 16  # MKL's SGEMM is fast on outputs whose width is a multiple of this (benchmarks/README.md)


def _fill_keep_mask(out: torch.Tensor, p: float) -> torch.Tensor:
    """Write a keep-mask (True with probability 1 - p) into the contiguous boolean tensor ``out``."""
    n = out.numel()
    # the full int64 range: a plain random_() leaves the sign bit, i.e. the top 16-bit lane's sign, at zero
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=out.device).random_(-(2**63), None)
    draws = words.view(torch.int16)[:n].view(out.shape)  # uniform over [-32768, 32767]
    threshold = round(p * 65536) - 32768
    if out.device.type == "cpu" and -32768 <= threshold <= 32767:
        # the same comparison in numpy, whose int16 kernel is vectorised (torch's is not): 10x faster
        np.greater_equal(draws.numpy(), np.int16(threshold), out=out.numpy())
        return out
    return torch.ge(draws, threshold, out=out)


def _as_factor(keep: torch.Tensor) -> torch.Tensor:
    """The boolean mask as 0/1 bytes for multiplying.

    The same products as the bool itself (x * 1 and x * 0), but torch multiplies float by uint8 several times
    faster than float by bool on CPU.
    """
    return keep.view(torch.uint8)


def _mask_into(x: torch.Tensor, keep: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out = x * keep`` (``keep`` read as 0/1; ``out`` may be ``x``), the same products as ``x * keep``.

    On CPU numpy multiplies float by bool in cache-sized blocks, where torch first copies the whole mask to floats
    (a 2708 x 512 temporary per product of a 512-wide layer).
    """
    if out.device.type == "cpu" and out.dtype in (torch.float32, torch.float64) and x.dtype == out.dtype:
        np.multiply(x.detach().numpy(), keep.numpy(), out=out.detach().numpy())
        return out
    return torch.mul(x, _as_factor(keep), out=out)


def dropout_keep_mask(shape: tuple[int, ...], p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """A boolean mask of ``shape`` whose entries are True (kept) with probability ``1 - p``."""
    p = _check_p(p)
    return _fill_keep_mask(torch.empty(shape, dtype=torch.bool, device=device), p)


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):  # type: ignore[override]
        keep = dropout_keep_mask(x.shape, p, x.device)
        scale = 1.0 / (1.0 - p)
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x * _as_factor(keep) * scale

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        (keep,) = ctx.saved_tensors
        return grad_out * _as_factor(keep) * ctx.scale, None


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Inverted dropout like :func:`torch.nn.functional.dropout`, with the fast integer mask."""
    p = _check_p(p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return _Dropout.apply(x, p)


def _row_chunk(x: torch.Tensor) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, x.size(1)))


def _narrow(weight: torch.Tensor) -> bool:
    """Whether ``x @ weight`` is faster as ``(weight^T x^T)^T``: on CPU, for an output width off MKL's quantum.

    Measured on a 2708-row ``x`` with 512 columns: 7 output columns 2.2 ms as ``x @ weight``, 0.47 ms transposed;
    16 or 32 columns tie (benchmarks/README.md, "glt_speed.py").
    """
    return weight.device.type == "cpu" and weight.size(1) % _GEMM_COLUMN_QUANTUM != 0


def _product(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x @ weight`` for a 2-D ``x`` and ``weight``, in the faster orientation (:func:`_narrow`); contiguous."""
    if _narrow(weight):
        return torch.mm(weight.t(), x.t()).t().contiguous()
    return x @ weight


def _weight_gradient(x: torch.Tensor, grad_out: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x^T grad_out`` (``[F_in, F_out]``) in ``weight``'s memory layout, as ``(grad_out^T x)^T`` on CPU.

    The transposed orientation is as fast or faster for every width measured (2708 x 512 inputs: 7 columns 3.9 ms
    -> 0.49 ms, 128 columns 4.2 -> 4.0 ms). Its result is column-major: kept so for a weight that is itself a
    transposed view (``lin.weight.t()``), else copied to row-major (``F_in x F_out``, small next to the product).
    """
    if x.device.type != "cpu":
        return x.t() @ grad_out
    grad = torch.mm(grad_out.t(), x).t()
    return grad if grad.stride() == weight.stride() else grad.contiguous()


class _DropoutMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, p):  # type: ignore[override]
        x = x.contiguous()
        keep = torch.empty(x.shape, dtype=torch.bool, device=x.device)
        narrow = _narrow(weight)
        dtype = torch.result_type(x, weight)
        # a narrow product is written transposed: each chunk's (W^T chunk^T) is a column block of out_t
        out_t = torch.empty(weight.size(1), x.size(0), dtype=dtype, device=x.device) if narrow else None
        out = torch.empty(x.size(0), weight.size(1), dtype=dtype, device=x.device) if not narrow else None
        # the masked input is kept for the weight gradient (instead of x, so no more memory): the backward used
        # to mask x again, chunk by chunk, every step
        masked = torch.empty_like(x) if ctx.needs_input_grad[1] else None
        rows = _row_chunk(x)
        for start in range(0, x.size(0), rows):
            stop = min(start + rows, x.size(0))
            mask = _fill_keep_mask(keep[start:stop], p)
            if masked is None:
                chunk = x[start:stop] * _as_factor(mask)
            else:
                chunk = _mask_into(x[start:stop], mask, masked[start:stop])
            if out_t is not None:
                torch.mm(weight.t(), chunk.t(), out=out_t[:, start:stop])
            else:
                torch.mm(chunk, weight, out=out[start:stop])
        if out_t is not None:
            out = out_t.t().contiguous()
        scale = 1.0 / (1.0 - p)
        out.mul_(scale)
        ctx.save_for_backward(masked, weight, keep)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        masked, weight, keep = ctx.saved_tensors
        grad_out = grad_out.contiguous() * ctx.scale
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_out @ weight.t()
            grad_x = _mask_into(grad_x, keep, grad_x)
        if ctx.needs_input_grad[1]:
            grad_weight = _weight_gradient(masked, grad_out, weight)
        return grad_x, grad_weight, None


def dropout_matmul(x: torch.Tensor, weight: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """``dropout(x, p, training) @ weight`` without materialising the dropped-out ``x``.

    ``x`` is ``[N, F_in]``, ``weight`` is ``[F_in, F_out]``. Differentiable in both.
    """
    p = _check_p(p)
    if x.dim() != 2 or weight.dim() != 2 or x.size(1) != weight.size(0):
        raise ValueError(
            f"dropout_matmul needs x [N, F] and weight [F, F_out], got {list(x.shape)} and {list(weight.shape)}"
        )
    if not training or p == 0.0:
        return _product(x, weight)
    if p == 1.0:
        return _product(x, weight) * 0.0
    return _DropoutMatmul.apply(x, weight, p)


# CSR features -> what their backward needs (row of each non-zero; transpose structure), built once per tensor
_CSR_BACKWARD_CACHE: WeakIdKeyDictionary = WeakIdKeyDictionary()
# denser than this, X^T G is faster as dense row chunks than as CSR^T (PubMed's 10% yes, Cora's 1.3% no;
# benchmarks/README.md)
_DENSE_BACKWARD_MIN_DENSITY = 0.05


def _csr_backward_plan(x: torch.Tensor) -> dict[str, torch.Tensor]:
    plan = _CSR_BACKWARD_CACHE.get(x)
    if plan is None:
        crow, col = x.crow_indices(), x.col_indices()
        rows = torch.repeat_interleave(torch.arange(x.size(0), device=col.device), crow.diff())
        plan = {"rows": rows}
        if col.numel() < _DENSE_BACKWARD_MIN_DENSITY * x.size(0) * x.size(1):
            perm = torch.sort(col, stable=True).indices  # rows stay sorted within each column
            t_crow = torch.zeros(x.size(1) + 1, dtype=crow.dtype, device=crow.device)
            t_crow[1:] = torch.bincount(col, minlength=x.size(1)).cumsum(0)
            plan.update(t_crow=t_crow, t_col=rows[perm].to(col.dtype), perm=perm)
        _CSR_BACKWARD_CACHE[x] = plan
    return plan


def _kept_entries(
    crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, keep: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The CSR arrays ``(crow, col, values)`` of only the stored entries that ``keep`` marks, in their order.

    Dropout zeroes half of a CSR's stored values at p = 0.5; a product over the kept entries alone skips the
    ``0 * w`` terms instead of adding them, in half the time. The sums are the same: each row's terms are
    accumulated in order and ``s + 0 * w == s`` for finite ``w``, so only the sign of an all-dropped row's zero
    can differ.

    Args:
        crow: the row pointers (``[rows + 1]``).
        col: the column of each stored entry.
        values: the value of each stored entry.
        keep: a boolean per stored entry.

    Returns:
        The kept entries' row pointers, columns and values.
    """
    before = torch.zeros(keep.numel() + 1, dtype=crow.dtype, device=crow.device)
    torch.cumsum(keep, 0, out=before[1:])  # before[i]: kept entries among the first i stored ones
    kept = keep.nonzero().squeeze(1)  # once for both arrays: a boolean index finds the kept entries each time
    return before[crow], col.index_select(0, kept), values.index_select(0, kept)


class _CSRMatmul(torch.autograd.Function):
    """``CSR(values) @ weight``, differentiable in ``weight`` only.

    torch's own backward transposes the CSR on every step (a sort of all non-zeros) and then multiplies by a
    CSR with few, long rows, which runs several times slower than the forward. Here ``X^T G`` is summed over row chunks
    of ``X`` scattered into small dense blocks when ``X`` is dense enough (PubMed's TF-IDF, 10%), or, for sparser
    ``X``, multiplied as a CSR transpose whose structure is built once. With dropout's ``keep`` mask both
    products run over the kept entries only (:func:`_kept_entries`).
    """

    @staticmethod
    @quiet_csr()
    def forward(ctx, values, weight, x, plan, keep):  # type: ignore[override]
        ctx.save_for_backward(values, keep)
        ctx.x, ctx.plan = x, plan
        return csr_matmul(_dropped_out_csr(x, values, keep), weight)

    @staticmethod
    @quiet_csr()
    def backward(ctx, grad_out):  # type: ignore[override]
        values, keep = ctx.saved_tensors
        x, plan = ctx.x, ctx.plan
        grad_out = grad_out.contiguous()
        if "perm" in plan:
            t_crow, t_col, t_values = plan["t_crow"], plan["t_col"], values[plan["perm"]]
            if keep is not None:
                t_crow, t_col, t_values = _kept_entries(t_crow, t_col, t_values, keep[plan["perm"]])
            x_t = torch.sparse_csr_tensor(t_crow, t_col, t_values, x.shape[::-1], check_invariants=False)
            return None, csr_matmul(x_t, grad_out), None, None, None
        n, features = x.shape
        crow, col, rows = x.crow_indices(), x.col_indices(), plan["rows"]
        grad_weight = torch.zeros(features, grad_out.size(1), dtype=grad_out.dtype, device=grad_out.device)
        step = max(1, _CHUNK_ELEMENTS * 8 // max(1, features))  # ~16 MB dense blocks: few Python steps, no N x F copy
        block = torch.zeros(min(step, n), features, dtype=values.dtype, device=values.device)
        for start in range(0, n, step):
            stop = min(start + step, n)
            lo, hi = int(crow[start]), int(crow[stop])
            dense = block[: stop - start]
            dense.zero_()
            dense[rows[lo:hi] - start, col[lo:hi]] = values[lo:hi]
            grad_weight.addmm_(dense.t(), grad_out[start:stop])
        return None, grad_weight, None, None, None


def _dropped_out_csr(x: torch.Tensor, values: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """``x``'s structure with ``values``, without the entries dropout zeroed when ``keep`` is given."""
    crow, col = x.crow_indices(), x.col_indices()
    if keep is not None:
        crow, col, values = _kept_entries(crow, col, values, keep)
    return torch.sparse_csr_tensor(crow, col, values, x.shape, check_invariants=False)


@quiet_csr()
def sparse_dropout_matmul(x: torch.Tensor, weight: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """``dropout(x, p, training) @ weight`` for a CSR ``x``.

    Dropout acts on the stored non-zeros only (zeros stay zero either way), so it matches dense dropout in
    distribution; the product and its weight gradient then run over the kept entries alone (the same sums in
    about ``1 - p`` of the time). Differentiable in ``weight`` (not in ``x``).
    """
    p = _check_p(p)
    if x.layout != torch.sparse_csr or weight.dim() != 2 or x.size(1) != weight.size(0):
        raise ValueError(
            f"sparse_dropout_matmul needs a CSR x [N, F] and weight [F, F_out], got {x.layout} "
            f"{list(x.shape)} and {list(weight.shape)}"
        )
    values, keep = x.values(), None
    if training and 0.0 < p < 1.0:
        keep = dropout_keep_mask(values.shape, p, values.device)
        values = values * keep / (1.0 - p)
    elif training and p == 1.0:
        values = values * 0.0
    if not weight.requires_grad or not torch.is_grad_enabled():
        return csr_matmul(_dropped_out_csr(x, values, keep), weight.detach())
    return _CSRMatmul.apply(values.detach(), weight, x, _csr_backward_plan(x), keep)
