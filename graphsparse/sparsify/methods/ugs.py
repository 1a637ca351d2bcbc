r"""UGS: the unified GNN sparsification of Chen et al.

From "A Unified Lottery Ticket Hypothesis for Graph Neural Networks" (ICML 2021).

A learnable soft mask :math:`m_g \in \mathbb{R}^{M}` over the *undirected edge ids* of the graph (fed to the
model as ``edge_values``, so the CSR SpMM gives its gradient: no :math:`N \times N` matrix anywhere) and one
:math:`m_\theta` per counted weight (same shape; the model runs with :math:`\theta \odot m_\theta`) are trained
jointly with the weights from θ0 on

.. math::
    \mathcal{L} = \mathrm{CE} + s_1 \lVert m_g \rVert_1 + s_2 \lVert m_\theta \rVert_1 .

One round: train that objective (masks start at 1 on the surviving edges/weights, 0 elsewhere and frozen there),
take the mask values at the best-validation epoch, prune the lowest-|m| edges and weights among the survivors
down to the round's targets (:math:`p_g` of the remaining edges, :math:`p_\theta` of the remaining weights,
weights ranked globally across layers), binarise, and rewind the weights to θ0. The ticket (edges really
removed with :meth:`Graph.keep_edges`, fixed binary weight masks) is then retrained from θ0 to score it.

Differences to the reference code (VITA-Group/Unified-LTH-GNN), stated plainly: masks live on undirected edge
ids, so both directions of an edge share one mask value and pruned graphs stay symmetric; our GCN renormalises
the degrees with the mask values (:func:`graphsparse.sparse.normalized_adjacency`) instead of masking an already
normalised dense adjacency. Masks start at 1 plus uniform ±1e-5 noise, as in the reference: under Adam every
mask whose cross-entropy gradient is below the l1 term moves by the same step, so without the noise thousands of
masks tie exactly and the tie-break (by position) would prune whole blocks — the first input features' weights,
the first nodes' edges. Defaults ``s1 = s2 = 1e-2`` follow the reference's Cora command.

Sparse edge-mask gradients (batch trainers). A trainer that sets ``sparse_edge_masks = True`` (the Cluster-GCN
trainers :class:`~graphsparse.batching.glt.ClusterGLTTask` and
:class:`~graphsparse.batching.disk_glt.DiskClusterGLTTask`) gets a :class:`UGSMasked` with ``sparse_edge_grad``:
each batch gathers its mask entries with ``torch.gather(..., sparse_grad=True)``, so the mask's gradient is a sparse
COO tensor over the batch's edges, and the edge term is the batch's estimate of the whole mask's norm, :math:`s_1
\tfrac{M}{|b|} \sum_{e \in b} |m_e|`. A batch trainer adds ``extra_loss / steps`` at each of an epoch's steps (the
trainer protocol, :class:`~graphsparse.tasks.glt.GLTTask`), so an epoch carries the penalty of one full-batch step,
for the weight masks as for the edges, and each edge mask entry gets about :math:`s_1` of l1 gradient at the one
step of the epoch its cross-entropy gradient arrives, as in full-batch UGS. Penalising every step with the whole
penalty instead (each step a full-batch step) gives the masks the l1 of ``steps`` full-batch epochs per epoch: on
PubMed's Cluster-GCN batches (about 20 per epoch) UGS then falls from round 3 and predicts one class by round 5
(``docs/glt/fidelity.md``); summing the dense term over every edge would also move every mask every step. For the
same reason a batch trainer steps the weight masks at ``lr / steps`` (:meth:`UGSMasked.per_epoch_parameters`): Adam
moves a parameter by about the learning rate each step, so at the full rate the masks would drift ``steps`` times as
far per epoch as in full batch. The trainer steps the mask with ``torch.optim.SparseAdam`` (lazy Adam: an entry's
moments and value change only at the steps its edge is in the batch; SparseAdam has no weight decay, so the mask is
not decayed there) and everything else with the usual Adam.
Exposure. Batches do not train every edge's mask equally often: on Cluster-GCN batches an edge between two parts is
in a batch only in the epochs that put both parts together, so its mask stays near its start at 1 while the l1 term
pulls the masks of the batches' own edges towards 0. :class:`UGSMasked` counts, per edge, the training forwards its
entry took part in (``edge_exposure``, a buffer, so the best epoch's snapshot keeps that epoch's counts), and the
binarisation ranks a mask only against masks with the same count, each count keeping the same fraction of its
survivors (:func:`stratified_keep`). Ranked together, PubMed's round-10 ticket had pruned 70% of the edges inside
its 394 parts and none of the 43% between them (full-batch UGS: 35% and 47%): the edges the batches train on first.
Memory: a step reads and writes only the batch's rows of the mask (4 bytes per kept edge) and of SparseAdam's two
moments (8 bytes). The disk trainer names a ``mask_folder`` (the graph's work folder), so the three live in
unlinked memory-mapped files there (:func:`~graphsparse.data.diskview.mapped_zeros`; 360 MB at 30M edges), pages the
kernel can write back and drop rather than anonymous memory; the in-memory Cluster-GCN trainer keeps them in RAM.
What stays in RAM is the best epoch's copy of the mask (the fit loop's snapshot, 4 bytes per kept edge) and the
binarisation's selection over the mask. Full-batch trainers leave the mode off: their numbers are those of dense
gradients.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call

from ...data.diskview import mapped_zeros
from ...graph import Graph
from ...validation import check_float
from ..masks import pack_mask, unpack_mask
from ..records import Level, SeedOutcome, TicketMaterial
from ..weights import apply_weight_masks, check_masks, prunable_parameters
from .base import GLTMethod, MethodOption, MethodSetup, SeedJob, WeightRule, seed_run, state_copy
from .binarize import stratified_keep, ugs_prune

if TYPE_CHECKING:
    from ..units import SearchContext

__all__ = [
    "UGSMasked",
    "ugs_prune",
    "UGS",
    "UGSState",
    "pack_ugs_state",
    "unpack_ugs_state",
    "ugs_l1_coefficients",
    "UGS_S1",
    "UGS_S2",
    "UGS_INIT_NOISE",
    "sparse_edge_masks",
    "stratified_keep",
]

UGS_S1 = 1e-2
UGS_S2 = 1e-2
UGS_INIT_NOISE = 1e-5
_MASK_CHUNK = 1 << 22  # entries of a file-backed mask drawn at a time (16 MB of float32)
# the reference's node-classification GCN commands (VITA-Group/Unified-LTH-GNN, NodeClassification/README.md):
# s1 = s2 = 1e-2 on Cora and CiteSeer, but s1 = 1e-6, s2 = 1e-3 on PubMed
_UGS_REFERENCE_L1 = {"pubmed": (1e-6, 1e-3)}
# the TEDDY authors' UGS baseline (hyunjin72/TEDDY, main_baseline.py) defaults to lamb_a = lamb_w = 1e-4
UGS_TEDDY_L1 = (1e-4, 1e-4)


def ugs_l1_coefficients(dataset: str, protocol: str = "ugs") -> tuple[float, float]:
    """``(s1, s2)`` of a published UGS protocol for ``dataset``.

    ``protocol="ugs"``: the UGS reference's GCN command for ``dataset`` (``(1e-2, 1e-2)`` where it gives none);
    ``protocol="teddy"``: the TEDDY paper's UGS baseline, ``(1e-4, 1e-4)`` on every dataset.
    """
    if protocol == "teddy":
        return UGS_TEDDY_L1
    if protocol != "ugs":
        raise ValueError(f"unknown UGS protocol {protocol!r}: use 'ugs' or 'teddy'")
    return _UGS_REFERENCE_L1.get(dataset.lower(), (UGS_S1, UGS_S2))


class UGSMasked(nn.Module):
    r"""``model`` with a trainable edge mask and one trainable weight mask per counted weight.

    The edge mask ``edge_mask`` is ``[M]`` (over ``graph``'s edge ids); the weight masks are frozen at 0 where
    ``weight_keep`` is False.

    ``forward(graph, x, edge_values)`` runs ``model`` with weights :math:`\theta \odot m_\theta \odot keep` and
    ``edge_values = edge_mask`` (times ``edge_values`` when given). :meth:`l1_penalty` is
    :math:`s_1 \lVert m_g \rVert_1 + s_2 \lVert m_\theta \rVert_1`.

    With ``sparse_edge_grad`` the batch's entries are gathered with a sparse gradient (a COO tensor over the
    batch's edges; step ``edge_mask`` with :class:`torch.optim.SparseAdam`, see :meth:`sparse_parameters`), and
    the edge term of :meth:`l1_penalty` covers the entries the last training forward gathered (see the module
    docstring for the scaling).
    """

    def __init__(
        self,
        model: nn.Module,
        num_edges: int,
        weight_keep: Mapping[str, torch.Tensor] | None = None,
        s1: float = UGS_S1,
        s2: float = UGS_S2,
        init_noise: float = UGS_INIT_NOISE,
        *,
        sparse_edge_grad: bool = False,
        mask_folder: str | os.PathLike[str] | None = None,
    ) -> None:
        """Wrap ``model`` with masks at 1 ± ``init_noise`` (0 and frozen where ``weight_keep`` is False).

        Args:
            model: the model to mask.
            num_edges: ``M``, the edges of the graph the edge mask covers.
            weight_keep: per counted weight, its boolean mask of surviving entries (all kept when None).
            s1: l1 coefficient of the edge mask.
            s2: l1 coefficient of the weight masks.
            init_noise: the masks' uniform initial noise, in [0, 0.5).
            sparse_edge_grad: gather the edge mask with a sparse gradient and penalise only the gathered entries
                (a batch trainer that steps the mask with ``SparseAdam``).
            mask_folder: with ``sparse_edge_grad``, keep the edge mask in a memory-mapped file there
                (:func:`~graphsparse.data.diskview.mapped_zeros`; the same values as in memory), and
                :func:`~graphsparse.batching.glt.batch_optimizers` keeps SparseAdam's moments there too.

        Raises:
            ValueError: ``num_edges`` below 0, a coefficient or ``init_noise`` out of range, ``weight_keep``
                not covering every counted weight, or ``mask_folder`` without ``sparse_edge_grad``.
        """
        super().__init__()
        if num_edges < 0:
            raise ValueError(f"num_edges must be >= 0, got {num_edges}")
        check_float("UGS s1 (l1 coefficient of the edge mask)", s1, 0.0)
        check_float("UGS s2 (l1 coefficient of the weight masks)", s2, 0.0)
        self.base = model
        self.s1, self.s2 = float(s1), float(s2)
        self.sparse_edge_grad = bool(sparse_edge_grad)
        self._gathered: torch.Tensor | None = None  # the last training forward's mask entries (sparse mode)
        params = prunable_parameters(model) if weight_keep is None else check_masks(model, weight_keep)
        if weight_keep is not None and set(weight_keep) != set(prunable_parameters(model)):
            raise ValueError("UGS weight_keep must hold a mask for every counted weight of the model")
        self.weight_names = list(params)
        device = next(model.parameters()).device
        if not 0 <= init_noise < 0.5:
            raise ValueError(f"UGS init_noise must be in [0, 0.5), got {init_noise}")

        def noisy_ones(shape: torch.Size) -> torch.Tensor:  # seeded by the caller's torch RNG state
            return 1.0 + (torch.rand(shape) * 2.0 - 1.0).to(device) * init_noise

        if mask_folder is not None and not sparse_edge_grad:
            raise ValueError("UGS mask_folder needs sparse_edge_grad (only a batch trainer steps a mapped mask)")
        self.mask_folder = None if mask_folder is None else Path(mask_folder)
        if self.mask_folder is None:
            self.edge_mask = nn.Parameter(noisy_ones(torch.Size([num_edges])))
        else:  # drawn in chunks: the same stream of random numbers as one draw, without an M-sized temporary
            mapped = mapped_zeros(num_edges, self.mask_folder)
            for start in range(0, num_edges, _MASK_CHUNK):
                stop = min(start + _MASK_CHUNK, num_edges)
                mapped[start:stop] = noisy_ones(torch.Size([stop - start])).cpu()
            self.edge_mask = nn.Parameter(mapped.to(device))
        if self.sparse_edge_grad:
            # how many training batches each edge's mask entry was in: batches leave some edges out most of the time
            # (Cluster-GCN: the edges between parts), and the binarisation ranks a mask only against masks that
            # were trained as often (:func:`ugs_prune`'s ``edge_strata``); a buffer, so the best epoch's snapshot
            # holds the counts of that epoch
            self.register_buffer("edge_exposure", torch.zeros(num_edges, dtype=torch.int32, device=device))
        keeps = [
            (weight_keep[n].to(device) if weight_keep is not None else torch.ones_like(p, dtype=torch.bool))
            for n, p in params.items()
        ]
        self.weight_masks = nn.ParameterList(nn.Parameter(k.float() * noisy_ones(k.shape)) for k in keeps)
        for i, k in enumerate(keeps):
            self.register_buffer(f"weight_keep_{i}", k.clone())
            # the same mask as 0/1 floats for the products: torch multiplies float by bool ~3x slower (it converts
            # the bool each time, forward and backward); derived, so not in the state dict
            self.register_buffer(f"weight_keep_factor_{i}", k.to(torch.float32), persistent=False)

    @property
    def convs(self) -> Any:  # lets train_node's first-layer weight decay see the wrapped model's layers
        """The wrapped model's ``convs`` (None when it has none)."""
        return getattr(self.base, "convs", None)

    def keeps(self) -> list[torch.Tensor]:
        """The frozen keep-masks, in the order of ``weight_names``."""
        return [getattr(self, f"weight_keep_{i}") for i in range(len(self.weight_names))]

    def masked_weights(self) -> dict[str, torch.Tensor]:
        """The counted weights times their masks and keep-masks (``θ ⊙ m_θ ⊙ keep``), by name."""
        params = dict(self.base.named_parameters())
        factors = [getattr(self, f"weight_keep_factor_{i}") for i in range(len(self.weight_names))]
        return {
            n: params[n] * m * k.to(params[n].dtype)
            for n, m, k in zip(self.weight_names, self.weight_masks, factors, strict=True)
        }

    selects_edges = True  # a batch trainer passes the batch's edge ids (the mask is over the full graph's edges)

    def forward(
        self,
        graph: Graph,
        x: torch.Tensor | None = None,
        edge_values: torch.Tensor | None = None,
        edge_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run the model with masked weights and the edge mask as ``edge_values``.

        Args:
            graph: the graph (its edges are the mask's, or those picked by ``edge_ids``).
            x: the node features; the graph's when None.
            edge_values: optional per-edge values, multiplied by the edge mask.
            edge_ids: the mask entries of ``graph``'s edges (a batch of the full graph), or None for all.

        Returns:
            The wrapped model's output.

        Raises:
            ValueError: the (selected) mask and ``graph`` differ in their number of edges.
        """
        if self.sparse_edge_grad:
            ids = (
                torch.arange(self.edge_mask.numel(), device=self.edge_mask.device)
                if edge_ids is None
                else edge_ids.to(self.edge_mask.device)
            )
            mask = torch.gather(self.edge_mask, 0, ids, sparse_grad=True)  # a COO gradient over the batch's rows
            if torch.is_grad_enabled():
                self._gathered = mask
                ones = torch.ones(ids.numel(), dtype=torch.int32, device=self.edge_exposure.device)
                self.edge_exposure.index_add_(0, ids.to(self.edge_exposure.device), ones)
        else:
            mask = self.edge_mask if edge_ids is None else self.edge_mask[edge_ids.to(self.edge_mask.device)]
        if graph.num_edges != mask.numel():
            raise ValueError(f"UGS edge mask has {mask.numel()} entries, graph has {graph.num_edges} edges")
        values = mask if edge_values is None else mask * edge_values
        return functional_call(self.base, self.masked_weights(), (graph, x), {"edge_values": values})

    def edge_exposures(self) -> torch.Tensor | None:
        """Per edge, the training forwards its mask entry took part in (sparse mode), else None (all alike)."""
        return self.edge_exposure if self.sparse_edge_grad else None

    def per_epoch_parameters(self) -> list[nn.Parameter]:
        """The weight masks: a batch trainer steps them at ``lr / steps`` (one full-batch step's pace per epoch)."""
        return list(self.weight_masks)

    def sparse_parameters(self) -> list[nn.Parameter]:
        """The parameters whose gradients are sparse: ``[edge_mask]`` with ``sparse_edge_grad``, else none."""
        return [self.edge_mask] if self.sparse_edge_grad else []

    def l1_penalty(self, _model: nn.Module | None = None) -> torch.Tensor:
        """``s1·|m_g|_1 + s2·|m_θ|_1`` (the argument is ignored, so it can be a ``train_node`` ``extra_loss``).

        With ``sparse_edge_grad``, the edge term is the batch's estimate of the whole mask's norm,
        ``M / |b|`` times the sum of ``|m_e|`` over the entries ``b`` the last training forward gathered (the
        trainer spreads the penalty over an epoch's steps).

        Args:
            _model: ignored.

        Returns:
            The penalty, a scalar tensor.

        Raises:
            RuntimeError: ``sparse_edge_grad`` and no training forward has run yet.
        """
        weight_l1 = sum(m.abs().sum() for m in self.weight_masks)
        if not self.sparse_edge_grad:
            return self.s1 * self.edge_mask.abs().sum() + self.s2 * weight_l1
        if self._gathered is None:
            raise RuntimeError("UGS l1_penalty with sparse edge gradients needs a training forward first")
        batch = self._gathered
        # the batch's estimate of the whole mask's norm: the trainer spreads the penalty over an epoch's steps
        edge_l1 = batch.abs().sum() * (self.edge_mask.numel() / batch.numel()) if batch.numel() else batch.sum()
        return self.s1 * edge_l1 + self.s2 * weight_l1


UGSState = tuple[torch.Tensor, dict[str, torch.Tensor]]


def sparse_edge_masks(ctx: SearchContext) -> bool:
    """Whether the search's trainer steps a learnable edge mask sparsely (its ``sparse_edge_masks`` attribute)."""
    return bool(getattr(ctx.task, "sparse_edge_masks", False))


def edge_mask_folder(ctx: SearchContext) -> Path | None:
    """Where the search's trainer keeps a learnable edge mask on disk (its ``mask_folder``), or None (memory)."""
    folder = getattr(ctx.task, "mask_folder", None) if sparse_edge_masks(ctx) else None
    return None if folder is None else Path(folder)


def pack_ugs_state(state: UGSState) -> dict[str, Any]:
    """One seed's binary masks as JSON-able bit-packed masks: the state a masked-training method stores per round.

    The masks: edges over the seed graph's edge ids, and one per counted weight.
    """
    edges, weights = state
    return {"edges": pack_mask(edges), "weights": {n: pack_mask(m) for n, m in weights.items()}}


def unpack_ugs_state(packed: Mapping[str, Any]) -> UGSState:
    """Inverse of :func:`pack_ugs_state`."""
    return unpack_mask(packed["edges"]), {n: unpack_mask(m) for n, m in packed["weights"].items()}


class MaskedTrainingMethod(GLTMethod):
    """An iterative method in UGS's shape.

    Each round trains soft edge and weight masks from θ0 under the binary masks the round before left
    (:meth:`train_masks`), binarises them at the best-validation epoch down to the level's targets (lowest |m|
    pruned), rewinds to θ0 and retrains the ticket with fixed masks to score it. Subclasses implement
    :meth:`train_masks` (the mask-learning objective).
    """

    iterative: ClassVar[bool] = True
    learns_edge_values: ClassVar[bool] = True

    def train_masks(self, ctx: SearchContext, graph: Graph, masked: UGSMasked, job: SeedJob) -> None:
        """Train ``masked`` (soft masks over ``graph``'s edges and the counted weights) from θ0.

        Leave it at the epoch whose mask values are binarised.
        """
        raise NotImplementedError

    def masked_model(
        self, ctx: SearchContext, graph: Graph, weight_keep: dict[str, torch.Tensor], seed: int
    ) -> UGSMasked:
        """θ0 of ``seed`` wrapped with soft masks (start at 1 ± noise on the survivors).

        The edge mask's gradient is sparse when the trainer asks for it (``ctx.task.sparse_edge_masks``).
        """
        return UGSMasked(
            ctx.build(seed),
            graph.num_edges,
            weight_keep,
            0.0,
            0.0,
            sparse_edge_grad=sparse_edge_masks(ctx),
            mask_folder=edge_mask_folder(ctx),
        )

    def _initial_state(self, ctx: SearchContext, job: SeedJob) -> UGSState:
        graph = ctx.task.graph_for_seed(job.seed_index, job.seed)
        params = prunable_parameters(ctx.build(job.seed))
        weights = {n: torch.ones_like(p, dtype=torch.bool, device="cpu") for n, p in params.items()}
        return torch.ones(graph.num_edges, dtype=torch.bool), weights

    def train_seed(self, ctx: SearchContext, job: SeedJob) -> SeedOutcome:
        """Train masks, binarise them at the level's targets, rewind to θ0 and retrain the ticket.

        See :meth:`GLTMethod.train_seed`; the outcome's state holds the binary masks the next round starts from.
        """
        start = time.perf_counter()
        k, gs, ws = job.level
        i, seed = job.seed_index, job.seed
        edge_keep, weight_keep = self._initial_state(ctx, job) if job.state is None else unpack_ugs_state(job.state)
        graph = ctx.task.graph_for_seed(i, seed)
        current = graph.keep_edges(edge_keep)
        masked = self.masked_model(ctx, current, weight_keep, seed)
        self.train_masks(ctx, current, masked, job)
        # the model is at the best-validation epoch: those mask values are binarised
        edge_scores = torch.zeros(graph.num_edges, dtype=masked.edge_mask.dtype)
        edge_scores[edge_keep] = masked.edge_mask.detach().cpu()
        weight_scores = {n: m.detach().cpu() for n, m in zip(masked.weight_names, masked.weight_masks, strict=True)}
        exposures, edge_strata = masked.edge_exposures(), None
        if exposures is not None:  # batches trained some masks more often than others: rank like with like
            edge_strata = torch.zeros(graph.num_edges, dtype=exposures.dtype)
            edge_strata[edge_keep] = exposures.cpu()
        edge_keep, weight_keep = ugs_prune(
            edge_scores, edge_keep, gs, weight_scores, weight_keep, ws, edge_strata=edge_strata
        )
        ticket_graph = graph.keep_edges(edge_keep)
        model = ctx.build(seed)  # rewind to θ0
        theta0 = state_copy(model) if job.want_material else None
        after_step = WeightRule("masks", masks=weight_keep).start(model)
        if after_step is None:
            apply_weight_masks(model, weight_keep)
        result = ctx.task.fit(ticket_graph, model, seed=seed, seed_index=i, after_step=after_step)
        run = seed_run(result, graph, ticket_graph, model, start)
        material = None
        if theta0 is not None:
            material = TicketMaterial(
                seed,
                i,
                edge_keep.detach().cpu().bool(),
                {n: m.bool() for n, m in weight_keep.items()},
                theta0,
                "masks",
                trained_state=state_copy(model),
                run=run,
                test=run.test,
            )
        return SeedOutcome(run=run, material=material, state=pack_ugs_state((edge_keep, weight_keep)))

    def rederive(self, ctx: SearchContext, job: SeedJob) -> TicketMaterial:
        """The ticket from the level's stored masks (``job.state``) and θ0, without training.

        Raises:
            ValueError: no stored masks.
        """
        if job.state is None:
            raise ValueError(f"{self.name} round {job.level[0]}: no stored masks to re-derive the ticket from")
        keep, masks = unpack_ugs_state(job.state)
        theta0 = state_copy(ctx.build(job.seed))
        return TicketMaterial(job.seed, job.seed_index, keep, masks, theta0, "masks")


@dataclass(frozen=True)
class UGS(MaskedTrainingMethod):
    r"""UGS: learnable edge and weight masks with l1 penalties (``s1``, ``s2``), one round per level.

    Args:
        s1: l1 coefficient of the edge mask.
        s2: l1 coefficient of the weight masks.
    """

    s1: float = UGS_S1
    s2: float = UGS_S2

    name: ClassVar[str] = "ugs"
    options: ClassVar[tuple[MethodOption, ...]] = (
        MethodOption(
            "s1",
            "UGS l1 coefficient of the edge mask (default: 1e-4 on the 'teddy' backbone, else the UGS reference's: "
            "1e-2, 1e-6 on PubMed)",
        ),
        MethodOption(
            "s2",
            "UGS l1 coefficient of the weight masks (default: 1e-4 on the 'teddy' backbone, else the UGS "
            "reference's: 1e-2, 1e-3 on PubMed)",
        ),
    )
    search_space: ClassVar[dict[str, dict[str, Any]]] = {
        "s1": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True, "target": "method"},
        "s2": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True, "target": "method"},
    }

    def __post_init__(self) -> None:
        """Check ``s1`` and ``s2`` (finite numbers >= 0).

        Raises:
            ValueError: a coefficient out of range.
        """
        object.__setattr__(self, "s1", check_float("UGS s1 (l1 coefficient of the edge mask)", self.s1, 0.0))
        object.__setattr__(self, "s2", check_float("UGS s2 (l1 coefficient of the weight masks)", self.s2, 0.0))

    @classmethod
    def configure(cls, setup: MethodSetup, **values: Any) -> UGS:
        """UGS with the given ``s1``/``s2``, else the dataset's and backbone's (:func:`ugs_l1_coefficients`).

        Args:
            setup: dataset, preset and task of the search.
            **values: option values by name (``s1``, ``s2``); None leaves the default.

        Returns:
            The configured method.
        """
        s1, s2 = ugs_l1_coefficients(setup.dataset, "teddy" if setup.preset == "teddy" else "ugs")
        given_s1, given_s2 = values.get("s1"), values.get("s2")
        return cls(s1=s1 if given_s1 is None else given_s1, s2=s2 if given_s2 is None else given_s2)

    def key_tag(self, schedule: Sequence[Level], level: Level) -> str:
        """The coefficients, the initial noise, the penalty's scale and every level of the schedule so far."""
        # a round depends on every earlier round: the key names the whole schedule so far. `pace=epoch`: a batch
        # trainer gives an epoch one full-batch step's penalty and weight-mask movement (results of batch
        # trainers that penalised and stepped the masks at the full rate every step are not these)
        done = ",".join(f"{g:.6f}/{w:.6f}" for r, g, w in schedule if r <= level[0])
        return f"|s1={self.s1:g}|s2={self.s2:g}|noise={UGS_INIT_NOISE:g}|pace=epoch|after={done}"

    def masked_model(
        self, ctx: SearchContext, graph: Graph, weight_keep: dict[str, torch.Tensor], seed: int
    ) -> UGSMasked:
        """θ0 of ``seed`` wrapped with soft masks and UGS's l1 coefficients.

        The edge mask's gradient (and its l1 term) is the batch's when the trainer asks for it
        (``ctx.task.sparse_edge_masks``).
        """
        return UGSMasked(
            ctx.build(seed),
            graph.num_edges,
            weight_keep,
            self.s1,
            self.s2,
            sparse_edge_grad=sparse_edge_masks(ctx),
            mask_folder=edge_mask_folder(ctx),
        )

    def train_masks(self, ctx: SearchContext, graph: Graph, masked: UGSMasked, job: SeedJob) -> None:
        """Train the masks and weights on CE plus the masks' l1 penalty (:meth:`UGSMasked.l1_penalty`)."""
        ctx.task.fit(graph, masked, seed=job.seed, seed_index=job.seed_index, extra_loss=masked.l1_penalty)
