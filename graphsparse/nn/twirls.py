r"""TWIRLS: unrolled optimisation of a graph-regularised energy (Yang et al., ICML 2021).

"Graph Neural Networks Inspired by Classical Iterative Algorithms", Yang, Liu, Wang, Lian, Chen, Wipf.

A base model ``f(X; W)`` (an MLP) gives ``Y0``; propagation takes ``steps`` gradient steps on

.. math::
    \ell(Y) = \|Y - Y_0\|_F^2 + \lambda \operatorname{tr}(Y^\top L Y), \qquad L = D - \hat A,

with self-loops, ``Â = A + I`` and ``D`` its degrees (self-loops cancel in ``L``). Half the gradient is
``(I + λL) Y - Y0``. Update rules (``α`` defaults to ``1/(1+λ)``):

* **preconditioned, exact** (``symmetric=False``, ``b_form='jacobi'``): the Jacobi step
  ``Y ← Y - α B^{-1}[(I + λL) Y - Y0]`` with ``B = I + λD``, i.e.

  .. math:: Y \leftarrow (1-\alpha) Y + \alpha B^{-1} (\lambda \hat A Y + Y_0),

  whose fixed point is the exact minimiser ``(I + λL)^{-1} Y0`` and which converges for every α in (0, 1].
* **symmetrised** (``symmetric=True``, the paper's Eq. and the authors' code):
  ``Y ← (1-α) Y + αλ B^{-1/2} Â B^{-1/2} Y + α B^{-1} Y0``. It is not an exact gradient step; its fixed point is
  ``(I - λB^{-1/2}ÂB^{-1/2})^{-1} B^{-1} Y0``, the minimiser only when B is a multiple of I.
* ``b_form='paper'`` uses ``B = λD + (1-λ)I`` (D counting self-loops), as the authors'
  code (FFTYYY/TWIRLS, ``model/submodules.py``: ``D_power_bias_X(graph, ., ., lam, 1 - lam)`` on a graph with
  self-loops) does. ``λD + (1-λ)I`` is the Jacobi diagonal ``I + λD_A`` of ``I + λ(D_A - A)`` written with the
  loop-counting degree ``D = D_A + I``, so it pairs exactly with ``A`` *without* loops; combined with ``Â`` (as
  in the authors' code) the fixed point moves to ``((1-λ)I + λL)^{-1} Y0``. ``b_form='jacobi'`` (``B = I + λD``)
  is the exact preconditioner for ``Â``. The presets use ``b_form='paper', symmetric=True`` to match the
  authors' published numbers; both forms are tested against dense closed forms.
* **unpreconditioned** (``preconditioned=False``) uses the normalised Laplacian ``L = I - D^{-1/2} Â D^{-1/2}``:
  ``Y ← (1 - α(1+λ)) Y + αλ D^{-1/2} Â D^{-1/2} Y + α Y0`` (with the default ``α = 1/(1+λ)`` this is APPNP-like).

IRLS attention (the paper's robust penalty ``ρ(‖y_i - y_j‖)`` with ``ρ(z) = z^p``) reweights every edge of
``Â`` by ``γ_ij = 1 / max(d_ij^{1-p/2}, τ)`` with ``d_ij = ‖η ⊙ (y_i - y_j)‖²``, and ``γ_ij = 0`` where
``d_ij^{1-p/2} > T`` (when ``T > 0``). Self-loops are edges with ``d_ii = 0`` and get ``γ_ii = 1/τ`` for ``p < 2``
(as in the authors' code). Degrees (hence ``B``) are recomputed from the weights, which enter the operator
differentiably through our CSR SpMM (:mod:`graphsparse.sparse`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from ..graph.csr import quiet_csr
from ..sparse import SparseOperator, sparse_structure
from ..validation import check_float
from .functional import dropout as fast_dropout
from .functional import dropout_matmul, sparse_dropout_matmul
from .pyg_model import as_graph

__all__ = ["twirls_propagate", "irls_attention", "irls_weights", "TWIRLS"]

_EPS = 1e-12
_B_FORMS = ("jacobi", "paper")
_SPARSE_INPUT_DENSITY = 0.1  # below this fraction of non-zeros the first layer multiplies a CSR copy of x


def _sparse_features(graph: Graph, x: torch.Tensor, from_graph: bool) -> torch.Tensor | None:
    """A CSR copy of a mostly-zero feature matrix (cached on the graph for ``graph.x``), else None."""
    if x.requires_grad or x.dim() != 2 or x.numel() == 0:
        return None

    @quiet_csr()
    def compute() -> torch.Tensor | None:
        nnz = int(torch.count_nonzero(x))
        return x.to_sparse_csr() if nnz < _SPARSE_INPUT_DENSITY * x.numel() else None

    return graph._cached(("twirls_sparse_x", str(x.device), x.dtype), compute) if from_graph else compute()


def _check(
    lam: float,
    alpha: float | None,
    steps: int,
    p: float = 2.0,
    tau: float = 0.0,
    T: float = 0.0,
    b_form: str = "jacobi",
) -> float:
    """Validate hyperparameters; return α (its default ``1/(1+λ)`` when None)."""
    lam = check_float("TWIRLS lam (λ)", lam, 0.0)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"TWIRLS: steps must be an integer >= 1, got {steps!r}")
    if alpha is None:
        alpha = 1.0 / (1.0 + lam)
    alpha = check_float("TWIRLS alpha (α)", alpha, 0.0, 1.0, include_minimum=False)
    check_float("TWIRLS p", p, 0.0, 2.0)
    check_float("TWIRLS tau (τ)", tau, 0.0)
    check_float("TWIRLS T", T, 0.0)  # 0 disables truncation
    if b_form not in _B_FORMS:
        raise ValueError(f"TWIRLS: b_form must be 'jacobi' (B = I + λD) or 'paper' (B = λD + (1-λ)I), got {b_form!r}")
    return float(alpha)


def _operator(
    graph: Graph,
    lam: float,
    preconditioned: bool,
    symmetric: bool,
    b_form: str,
    edge_values: torch.Tensor | None,
    loop_values: torch.Tensor | None,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[SparseOperator, torch.Tensor | None]:
    """(operator, B as a column or None) for one propagation; cached on the graph when unweighted."""
    weighted = edge_values is not None or loop_values is not None
    if not weighted:
        key = ("twirls_operator", float(lam), preconditioned, symmetric, b_form, str(device), dtype)
        return graph._cached(
            key, lambda: _build_operator(graph, lam, preconditioned, symmetric, b_form, None, None, device, dtype)
        )
    return _build_operator(graph, lam, preconditioned, symmetric, b_form, edge_values, loop_values, device, dtype)


def _build_operator(
    graph: Graph,
    lam: float,
    preconditioned: bool,
    symmetric: bool,
    b_form: str,
    edge_values: torch.Tensor | None,
    loop_values: torch.Tensor | None,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[SparseOperator, torch.Tensor | None]:
    s = sparse_structure(graph, True, device)
    loops = s.edge_id < 0
    if edge_values is None:
        weights = torch.ones(s.nnz, dtype=dtype, device=device)
    else:
        if edge_values.shape != (graph.num_edges,):
            raise ValueError(f"TWIRLS: edge_values must have shape [{graph.num_edges}], got {list(edge_values.shape)}")
        # self-loops (edge_id -1) read the appended 1; indexing edge_values alone fails without edges (M = 0)
        edge_values = edge_values.to(device=device, dtype=dtype)
        weights = torch.cat([edge_values, torch.ones(1, dtype=dtype, device=device)])[s.edge_id]
    if loop_values is not None:  # per node; the loop of node i is the non-zero (i, i)
        weights = torch.where(loops, loop_values.to(device=device, dtype=dtype)[s.row], weights)
    deg = torch.zeros(graph.num_nodes, dtype=dtype, device=device).index_add(0, s.row, weights)
    if not preconditioned:
        inv_sqrt = deg.clamp(min=_EPS).rsqrt()
        result = (SparseOperator(s, inv_sqrt[s.row] * weights * inv_sqrt[s.col], not graph.directed), None)
    else:
        b = 1.0 + lam * deg if b_form == "jacobi" else lam * deg + (1.0 - lam)
        b = b.clamp(min=_EPS)  # B >= 1 without weights; tiny attention weights with λ > 1 could make it <= 0
        values = weights
        if symmetric:
            inv_sqrt = b.rsqrt()
            values = inv_sqrt[s.row] * weights * inv_sqrt[s.col]
        result = (SparseOperator(s, values, not graph.directed), b.unsqueeze(1))
    return result


def twirls_propagate(
    graph: Graph,
    y0: torch.Tensor,
    lam: float,
    alpha: float | None = None,
    steps: int = 2,
    preconditioned: bool = True,
    edge_values: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    symmetric: bool = False,
    b_form: str = "jacobi",
    loop_values: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run ``steps`` (preconditioned) gradient steps on ``‖Y - Y0‖² + λ tr(YᵀLY)`` from ``y`` (default ``y0``).

    ``edge_values`` (one per stored edge id, e.g. IRLS weights) and ``loop_values`` (one per node, the self-loop
    weights; 1 when None) weight ``Â`` and the degrees differentiably. See the module docstring for the rules.
    The unweighted operator (and B) is cached on ``graph``, so a new graph never sees a stale one.
    """
    alpha = _check(lam, alpha, steps, b_form=b_form)
    if y0.dim() != 2 or y0.size(0) != graph.num_nodes:
        raise ValueError(f"TWIRLS: y0 must have shape [{graph.num_nodes}, C], got {list(y0.shape)}")
    adj, b = _operator(graph, lam, preconditioned, symmetric, b_form, edge_values, loop_values, y0.device, y0.dtype)
    y = y0 if y is None else y
    if b is None:
        keep = 1.0 - alpha * (1.0 + lam)
        for _ in range(steps):
            y = keep * y + (alpha * lam) * (adj @ y) + alpha * y0
        return y
    if symmetric:
        y0_term = alpha * y0 / b
        for _ in range(steps):
            y = (1.0 - alpha) * y + (alpha * lam) * (adj @ y) + y0_term
        return y
    for _ in range(steps):
        y = (1.0 - alpha) * y + alpha * (lam * (adj @ y) + y0) / b
    return y


def irls_weights(d: torch.Tensor, p: float = 1.0, tau: float = 0.1, T: float = 0.0) -> torch.Tensor:
    """IRLS weights from squared distances: ``1 / max(d^{1-p/2}, τ)``, 0 where ``d^{1-p/2} > T`` (``T > 0``)."""
    _check(0.0, None, 1, p, tau, T)
    power = 1.0 - p / 2.0
    scaled = d.clamp(min=_EPS).pow(power) if power > 0 else torch.ones_like(d)
    gamma = 1.0 / scaled.clamp(min=max(tau, _EPS))
    if T > 0:
        gamma = torch.where(scaled > T, torch.zeros_like(gamma), gamma)
    return gamma


def irls_attention(
    graph: Graph,
    y: torch.Tensor,
    p: float = 1.0,
    tau: float = 0.1,
    T: float = 0.0,
    eta: torch.Tensor | None = None,
    dropout: float = 0.0,
    training: bool = False,
) -> torch.Tensor:
    """IRLS edge weights ``γ_ij = 1 / max(d_ij^{1-p/2}, τ)`` per edge id, ``d_ij = ‖η ⊙ (y_i - y_j)‖²``.

    Edges with ``d_ij^{1-p/2} > T`` get weight 0 when ``T > 0``. ``p = 2`` gives uniform weights ``1/max(1, τ)``.
    ``dropout`` drops weights (inverted dropout) in training mode.
    """
    if not 0 <= dropout < 1:
        raise ValueError(f"TWIRLS: attention dropout must lie in [0, 1), got {dropout}")
    u, v = graph.edges.to(y.device)
    diff = y[u] - y[v]
    if eta is not None:
        diff = diff * eta
    gamma = irls_weights(diff.pow(2).sum(-1), p, tau, T)
    return F.dropout(gamma, dropout, training)


class TWIRLS(nn.Module):
    r"""TWIRLS (Yang et al., ICML 2021): MLP (K layers) → S propagation steps (+ IRLS attention) → MLP (L layers).

    Input dropout, then ``mlp_before`` (K) linear layers map ``x`` to ``Y0`` (width ``hidden``, or
    ``out_channels`` when ``mlp_after`` is 0; no activation on the last one), ``steps`` (S) propagation steps
    follow (:func:`twirls_propagate`), then, when both K and L are > 0, one activation (norm, ReLU, dropout), and
    ``mlp_after`` (L) linear layers give the logits — the authors' layout. With ``attention=True`` the IRLS weights
    (:func:`irls_attention`, self-loops included) are recomputed once after ``S // 2`` steps and used for the
    remaining steps; ``attention_before=True`` also computes them from ``Y0`` before the first step. ``norm``
    ('none', 'batch', 'layer') precedes each hidden ReLU.

    When the propagation does not depend on parameters (K = 0, no attention, no input dropout in training) its
    result is cached on the graph (its private derived cache), keyed by the propagation settings, so a new graph never
    sees a stale result (the reference implementation keeps one cached tensor per model).
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int,
        out_channels: int,
        lam: float = 1.0,
        steps: int = 16,
        alpha: float | None = None,
        mlp_before: int = 1,
        mlp_after: int = 0,
        dropout: float = 0.5,
        input_dropout: float = 0.0,
        p: float = 1.0,
        tau: float = 0.1,
        T: float = 0.0,
        attention: bool = False,
        attention_before: bool = False,
        attention_dropout: float = 0.0,
        learn_eta: bool = False,
        norm: str = "none",
        preconditioned: bool = True,
        symmetric: bool = False,
        b_form: str = "jacobi",
    ) -> None:
        """Build the MLPs and check the hyperparameters.

        Args:
            in_channels: the node features' width.
            hidden: the hidden width (the width of ``Y0`` when ``mlp_after`` > 0).
            out_channels: the output width (classes).
            lam: λ, the weight of the graph term of the energy (>= 0).
            steps: S, the propagation steps (>= 1).
            alpha: α, the step size in (0, 1]; ``1/(1+λ)`` when None.
            mlp_before: K, the linear layers before propagation.
            mlp_after: L, the linear layers after propagation.
            dropout: the dropout probability after each hidden activation, in [0, 1).
            input_dropout: the dropout probability on ``x``, in [0, 1).
            p: the IRLS penalty's exponent, in [0, 2].
            tau: τ, the IRLS weights' floor (>= 0).
            T: the IRLS truncation threshold (0 disables it).
            attention: recompute IRLS attention weights after ``S // 2`` steps.
            attention_before: also compute them from ``Y0`` before the first step (needs ``attention``).
            attention_dropout: the dropout probability on the attention weights, in [0, 1).
            learn_eta: a learnable per-channel scale η in the attention distances (with ``attention``).
            norm: ``"none"``, ``"batch"`` or ``"layer"``, before each hidden ReLU.
            preconditioned: the preconditioned update (False: the normalised-Laplacian, APPNP-like one).
            symmetric: the symmetrised update (the paper's).
            b_form: ``"jacobi"`` (``B = I + λD``) or ``"paper"`` (``B = λD + (1-λ)I``).

        Raises:
            ValueError: naming the first hyperparameter out of range or the inconsistent combination.
        """
        super().__init__()
        self.alpha = _check(lam, alpha, steps, p, tau, T, b_form)
        if norm not in ("none", "batch", "layer"):
            raise ValueError(f"TWIRLS: norm must be 'none', 'batch' or 'layer', got {norm!r}")
        if mlp_before < 0 or mlp_after < 0:
            raise ValueError(f"TWIRLS: mlp_before and mlp_after must be >= 0, got {mlp_before}, {mlp_after}")
        if mlp_before + mlp_after == 0 and in_channels != out_channels:
            raise ValueError("TWIRLS: with mlp_before = mlp_after = 0 in_channels must equal out_channels")
        for name, value in (
            ("dropout", dropout),
            ("input_dropout", input_dropout),
            ("attention_dropout", attention_dropout),
        ):
            if not 0 <= value < 1:
                raise ValueError(f"TWIRLS: {name} must lie in [0, 1), got {value}")
        if attention_before and not attention:
            raise ValueError("TWIRLS: attention_before=True needs attention=True")
        self.lam, self.steps, self.p, self.tau, self.T = lam, steps, p, tau, T
        self.dropout, self.input_dropout, self.attention_dropout = dropout, input_dropout, attention_dropout
        self.attention, self.attention_before = attention, attention_before
        self.preconditioned, self.symmetric, self.b_form = preconditioned, symmetric, b_form
        total = mlp_before + mlp_after
        dims = [in_channels] + [hidden] * (total - 1) + [out_channels] if total else [in_channels]
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(b) if norm == "batch" else nn.LayerNorm(b) if norm == "layer" else nn.Identity()
            for b in dims[1:-1]
        )
        self.mlp_before = mlp_before
        self.eta = nn.Parameter(torch.ones(dims[mlp_before])) if (attention and learn_eta) else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-normal weights and zero biases, fresh norms, η back to ones."""
        for lin in self.lins:  # Xavier-normal weights, zero bias (as the authors' MLP)
            nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)
        for module in self.norms:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        if self.eta is not None:
            nn.init.ones_(self.eta)

    def _activate(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(F.relu(self.norms[i](x)), self.dropout, self.training)

    def _attention(self, graph: Graph, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(edge weights per edge id, self-loop weights per node)."""
        gamma = irls_attention(graph, y, self.p, self.tau, self.T, self.eta, self.attention_dropout, self.training)
        loops = irls_weights(torch.zeros(graph.num_nodes, dtype=y.dtype, device=y.device), self.p, self.tau, self.T)
        return gamma, F.dropout(loops, self.attention_dropout, self.training)

    def _propagate(self, graph: Graph, y0: torch.Tensor, edge_values: torch.Tensor | None) -> torch.Tensor:
        options = dict(
            lam=self.lam,
            alpha=self.alpha,
            preconditioned=self.preconditioned,
            symmetric=self.symmetric,
            b_form=self.b_form,
        )
        if not self.attention:
            return twirls_propagate(graph, y0, steps=self.steps, edge_values=edge_values, **options)
        first = self.steps // 2
        y, weights, loops = y0, edge_values, None
        if self.attention_before:
            gamma, loops = self._attention(graph, y0)
            weights = gamma if edge_values is None else gamma * edge_values
        if first > 0:
            y = twirls_propagate(graph, y0, steps=first, edge_values=weights, loop_values=loops, **options)
        gamma, loops = self._attention(graph, y)
        weights = gamma if edge_values is None else gamma * edge_values
        return twirls_propagate(
            graph, y0, steps=self.steps - first, edge_values=weights, y=y, loop_values=loops, **options
        )

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the node logits.

        Args:
            graph: the graph (or a PyG ``Data``).
            x: the node features; ``graph.x`` when None.
            edge_values: optional per-edge weights of ``Â`` (differentiable).

        Returns:
            The logits ``[N, out_channels]``.

        Raises:
            ValueError: no features.
        """
        graph = as_graph(graph)  # a PyG Data works too
        given_x = x is not None
        x = graph.x if x is None else x
        if x is None:
            raise ValueError(f"TWIRLS: graph {graph.name!r} has no features and no x was given")
        device = self.lins[0].weight.device if len(self.lins) else x.device
        x = x.to(device)
        if edge_values is not None:
            edge_values = edge_values.to(device=device, dtype=x.dtype)
        cacheable = (
            self.mlp_before == 0
            and not self.attention
            and edge_values is None
            and not given_x
            and (self.input_dropout == 0 or not self.training)
        )
        h = x
        for i in range(self.mlp_before):
            if i == 0:  # input dropout fused with the first product (fast integer mask, no dropped copy of x)
                lin = self.lins[0]
                sparse_x = _sparse_features(graph, h, not given_x)
                if sparse_x is not None:
                    h = sparse_dropout_matmul(sparse_x, lin.weight.t(), self.input_dropout, self.training) + lin.bias
                else:
                    h = dropout_matmul(h, lin.weight.t(), self.input_dropout, self.training) + lin.bias
            else:
                h = self.lins[i](h)
            if i < self.mlp_before - 1:
                h = self._activate(i, h)
        if cacheable:
            key = (
                "twirls_propagation",
                self.lam,
                self.alpha,
                self.steps,
                self.preconditioned,
                self.symmetric,
                self.b_form,
                str(device),
                h.dtype,
            )
            h = graph._cached(key, lambda: self._propagate(graph, h, None).detach())
        else:
            if self.mlp_before == 0:
                h = fast_dropout(h, self.input_dropout, self.training)
            h = self._propagate(graph, h, edge_values)
        for i in range(self.mlp_before, len(self.lins)):
            if i > 0:
                h = self._activate(i - 1, h)
            h = self.lins[i](h)
        return h
