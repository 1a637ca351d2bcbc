r"""The task protocol the GLT search drives, and its node-classification implementation.

:func:`graphsparse.sparsify.search.glt_search` knows nothing about labels, splits or metrics: it prunes the
undirected edges of the graph a task hands it, masks the model's counted weights, and asks the task to train
and score. Any object with these members is a task (:class:`GLTTask`):

- ``name: str`` — short task name (``"node"``, ``"link"``); part of the results-store key.
- ``metric: str`` — what ``fit`` reports as ``val``/``test`` (``"acc"`` for node classification, ``"auc"`` for
  link prediction); shown in tables.
- ``graph_name: str`` — the dataset's name, for keys and tables.
- ``describe() -> dict`` — JSON-able hyperparameters; hashed into the store key (change them, recompute).
- ``graph_for_seed(seed_index: int, seed: int) -> Graph`` — the graph a seed trains on. **Its undirected edges
  are the prunable ones**: the search scores/prunes them and passes a ``graph.keep_edges(mask)`` subgraph (or
  ``edge_values`` over its edge ids) to ``fit``. A link task returns the training graph of the seed's split
  (validation/test edges already removed), so pruning never touches held-out edges. Must be deterministic.
- ``fit(graph, model, *, seed, seed_index, edge_values=None, extra_loss=None, after_step=None, teacher=None)
  -> dict`` — train ``model`` (already built and seeded by the search, weights θ0) on ``graph`` (a pruned
  version of ``graph_for_seed(seed_index, seed)``); pick the epoch by validation; return at least
  ``{"val": float, "test": float, "best_state": state_dict at that epoch}`` (``best_epoch`` optional) with the
  model left in that state. ``edge_values`` (one per undirected edge id of ``graph``, differentiable) go to
  ``model(graph, edge_values=...)``; ``extra_loss(model) -> Tensor`` is added to the training loss (UGS's l1
  penalties); ``after_step(model)`` runs after every optimizer step (l0 projection, weight masks);
  ``teacher`` is what :meth:`predict` returned for a dense teacher of the same seed (distillation: add
  ``λ·KL`` to the loss); a task that cannot distill raises ``ValueError`` when ``teacher`` is given.
- ``predict(graph, model) -> Tensor`` — the model's outputs used as a distillation teacher (node logits).
- ``distill: float`` — the λ of the distillation term (0 = off); set by the search's ``distill`` argument.

:class:`NodeGLTTask` is the default (full-batch node classification via :func:`graphsparse.tasks.node.train_node`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from ..tasks.node import NodeTrainConfig, row_normalize_features, split_for_seed, train_node, with_sparse_features

__all__ = ["GLTTask", "NodeGLTTask", "distillation_loss"]


@runtime_checkable
class GLTTask(Protocol):
    """What :func:`~graphsparse.sparsify.search.glt_search` needs from a task (see the module docstring)."""

    name: str
    metric: str
    graph_name: str
    distill: float

    def describe(self) -> dict[str, Any]: ...

    def graph_for_seed(self, seed_index: int, seed: int) -> Graph: ...

    def fit(
        self,
        graph: Graph,
        model: nn.Module,
        *,
        seed: int,
        seed_index: int,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: torch.Tensor | None = None,
    ) -> dict[str, Any]: ...

    def predict(self, graph: Graph, model: nn.Module) -> torch.Tensor: ...


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    r"""Mean over nodes of :math:`\mathrm{KL}(p_T \,\|\, p_S) = \sum_c p_T \log(p_T / p_S)` (temperature 1).

    The knowledge-distillation term of TEDDY (Seo et al., ICLR 2024), following Hinton et al. (2015): the
    student's log-softmax is matched to the dense teacher's soft labels over *all* nodes.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"distillation: student logits {list(student_logits.shape)} and teacher logits "
            f"{list(teacher_logits.shape)} differ in shape"
        )
    return F.kl_div(F.log_softmax(student_logits, -1), F.softmax(teacher_logits.detach(), -1), reduction="batchmean")


class NodeGLTTask:
    """Full-batch node classification as a GLT task: same graph for every seed, split by :func:`split_for_seed`.

    ``config.normalize_features`` row-normalises the features once. With ``distill = λ > 0`` and a ``teacher``
    the loss is cross-entropy on the training nodes plus ``λ ·`` :func:`distillation_loss` over all nodes.

    A plain fit (no edge values, extra loss, step hook or teacher) on CPU is remembered by what determines it
    completely: the graph object, seed, initial weights and torch's random state. The search trains exactly that
    twice per seed (the dense baseline and, with distillation, the dense teacher); the second time the model is
    put into the remembered trained state and the random state where the first fit left it, so what follows
    runs as if it had trained again.
    """

    name = "node"

    def __init__(
        self, graph: Graph, config: NodeTrainConfig | None = None, split: str | None = None, distill: float = 0.0
    ) -> None:
        if graph.directed:
            raise ValueError(f"GLT search needs an undirected graph; graph {graph.name!r} is directed")
        self.config = config or NodeTrainConfig()
        self.split = split
        self.distill = float(distill)
        self.graph = row_normalize_features(graph) if self.config.normalize_features else graph
        self.graph_name = graph.name
        self.metric = self.config.metric
        self._plain_fits: dict[tuple[Any, ...], tuple[Graph, dict[str, Any], torch.Tensor]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # remembered fits stay in the process that made them (a Ray worker gets the task without them)
        return {**self.__dict__, "_plain_fits": {}}

    def describe(self) -> dict[str, Any]:
        train = asdict(self.config)
        if not train["sparse_features"]:
            del train["sparse_features"]  # added later: searches stored before it keep their keys
        return {"task": self.name, "train": train, "split": self.split}

    def graph_for_seed(self, seed_index: int, seed: int) -> Graph:
        return self.graph

    def predict(self, graph: Graph, model: nn.Module) -> torch.Tensor:
        if self.config.sparse_features:
            graph = with_sparse_features(graph)
        model.eval()
        with torch.no_grad():
            return model(graph).detach()

    def fit(
        self,
        graph: Graph,
        model: nn.Module,
        *,
        seed: int,
        seed_index: int,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: torch.Tensor | None = None,
    ) -> dict[str, Any]:
        plain = edge_values is None and extra_loss is None and after_step is None and teacher is None
        key = _plain_fit_key(graph, model, seed, seed_index) if plain else None
        if key is not None and key in self._plain_fits:
            _, result, rng_after = self._plain_fits[key]
            model.load_state_dict(result["best_state"])
            model.eval()  # as evaluate_node leaves it
            torch.set_rng_state(rng_after)
            return dict(result)
        split_name, split_masks = split_for_seed(graph, seed_index, self.split)
        loss_fn = None
        if teacher is not None and self.distill > 0:
            y, lam, target = graph.y, self.distill, teacher

            def loss_fn(logits: torch.Tensor, train_idx: torch.Tensor) -> torch.Tensor:
                ce = F.cross_entropy(logits[train_idx], y.to(logits.device)[train_idx])
                return ce + lam * distillation_loss(logits, target.to(logits.device))

        result = train_node(
            graph,
            model,
            split_masks,
            self.config,
            edge_values=edge_values,
            extra_loss=extra_loss,
            after_step=after_step,
            loss_fn=loss_fn,
            seed=seed,
            split_name=split_name,
        )
        out = {
            "val": result.val,
            "test": result.test,
            "best_epoch": result.best_epoch,
            "best_state": result.best_state,
        }
        if key is not None:
            if len(self._plain_fits) >= _PLAIN_FITS_KEPT:  # one dense model per seed is what repeats
                self._plain_fits.pop(next(iter(self._plain_fits)))
            # the graph is held so that its id in the key cannot be reused by another graph
            self._plain_fits[key] = (graph, dict(out), torch.get_rng_state())
        return out


_PLAIN_FITS_KEPT = 8


def _plain_fit_key(graph: Graph, model: nn.Module, seed: int, seed_index: int) -> tuple[Any, ...] | None:
    """What fixes a plain CPU fit's outcome (with the task's config): the graph, the seeds, the model's class and
    initial state, torch's random state. None off CPU (other devices' random streams are not in the key)."""
    state = model.state_dict()
    if any(t.device.type != "cpu" for t in state.values()):
        return None
    digest = hashlib.sha256(repr(model).encode())
    for name, tensor in state.items():
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode() + repr(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    digest.update(torch.get_rng_state().numpy().tobytes())
    return (id(graph), int(seed), int(seed_index), type(model).__qualname__, digest.hexdigest())
