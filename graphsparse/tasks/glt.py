r"""The trainer protocol the GLT search drives (:class:`GLTTask`), and its full-batch node-classification trainer.

:func:`graphsparse.sparsify.search.glt_search` knows nothing about labels, splits, batches or metrics: it prunes
the undirected edges of the graph a trainer hands it, masks the model's counted weights, and asks the trainer to
train and score. Implementations: :class:`NodeGLTTask` (full batch), :class:`~graphsparse.tasks.link_glt.LinkGLTTask`
(link prediction) and :class:`~graphsparse.batching.glt.ClusterGLTTask` (Cluster-GCN batches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from .node import NodeTrainConfig, row_normalize_features, split_for_seed, train_node, with_sparse_features

__all__ = ["GLTTask", "NodeGLTTask", "Teacher", "distillation_loss", "node_loss", "OutputLoss"]


@dataclass(frozen=True)
class Teacher:
    """A distillation teacher: the dense model's outputs (every node) and the weight λ of the distillation term."""

    logits: torch.Tensor
    weight: float


OutputLoss = Callable[[torch.Tensor], torch.Tensor]


@runtime_checkable
class GLTTask(Protocol):
    """What :func:`~graphsparse.sparsify.search.glt_search` needs from a trainer.

    Attributes:
        name: short task name (``"node"``, ``"link"``); part of the store key.
        metric: what ``fit`` reports as ``val``/``test`` (``"acc"``, ``"auc"``).
        graph_name: the dataset's name.
    """

    name: str
    metric: str
    graph_name: str

    def describe(self) -> dict[str, Any]:
        """JSON-able hyperparameters, hashed into the store key (change them, recompute)."""
        ...

    def graph_for_seed(self, seed_index: int, seed: int) -> Graph:
        """The graph a seed trains on; its undirected edges are the prunable ones (deterministic)."""
        ...

    def fit(
        self,
        graph: Graph,
        model: nn.Module,
        *,
        seed: int,
        seed_index: int,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        output_loss: OutputLoss | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: Teacher | None = None,
    ) -> dict[str, Any]:
        """Train ``model`` (θ0, built by the search) on ``graph`` (a pruned ``graph_for_seed``).

        Pick the epoch by validation and leave the model there.

        Args:
            graph: the (pruned) graph of the seed.
            model: the model at θ0.
            seed: the run's seed.
            seed_index: its position in the search's seeds.
            edge_values: one differentiable value per undirected edge id of ``graph``.
            extra_loss: ``extra_loss(model)``, a penalty on the whole model (UGS's l1 norms), added to each
                full-batch step's loss; a trainer that takes several steps per epoch adds
                ``extra_loss(model) / steps`` at each (an epoch carries one full-batch step's penalty).
            output_loss: ``output_loss(outputs)`` added to the training loss, given the training forward's
                outputs of every node the step sees (WD-GLT's class separation).
            after_step: run after every optimizer step (l0 projection, weight masks, clamps).
            teacher: a dense teacher's outputs and λ (distillation: ``λ·KL`` added to the loss).

        Returns:
            At least ``{"val": float, "test": float, "best_state": state_dict}`` (``best_epoch`` optional).

        Raises:
            ValueError: a term the trainer cannot add (e.g. distillation for link prediction).
        """
        ...

    def predict(self, graph: Graph, model: nn.Module) -> torch.Tensor | Any:
        """The model's outputs used as a distillation teacher (node logits), detached and on the CPU.

        A trainer of a graph beyond memory returns a handle whose ``rows(nodes)`` reads them from disk
        (:class:`graphsparse.data.diskview.DiskArray`).
        """
        ...


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    r"""Mean over nodes of :math:`\mathrm{KL}(p_T \,\|\, p_S) = \sum_c p_T \log(p_T / p_S)` (temperature 1).

    The knowledge-distillation term of TEDDY (Seo et al., ICLR 2024), following Hinton et al. (2015): the
    student's log-softmax is matched to the dense teacher's soft labels over *all* nodes.

    Args:
        student_logits: ``[N, C]``.
        teacher_logits: ``[N, C]`` (detached).

    Returns:
        A scalar tensor.

    Raises:
        ValueError: the shapes differ.
    """
    _check_distillation_shapes(student_logits, teacher_logits)
    return _distillation_to(student_logits, F.softmax(teacher_logits.detach(), -1))


def _check_distillation_shapes(student_logits: torch.Tensor, teacher: torch.Tensor) -> None:
    """Raise ValueError unless the student's logits and the teacher's outputs have one shape."""
    if student_logits.shape != teacher.shape:
        raise ValueError(
            f"distillation: student logits {list(student_logits.shape)} and teacher logits "
            f"{list(teacher.shape)} differ in shape"
        )


def _distillation_to(student_logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
    """:func:`distillation_loss` given the teacher's soft labels (its softmax) rather than its logits."""
    return F.kl_div(F.log_softmax(student_logits, -1), teacher_probs, reduction="batchmean")


def _soft_labels(teacher: Teacher) -> Callable[[torch.device], torch.Tensor]:
    """``device -> softmax(teacher.logits)`` on that device, computed once per device.

    The teacher is fixed for a whole fit; a softmax over a few classes is a slow kernel on CPU (the last dimension
    is too short to vectorise), so it is not worth recomputing at every step.
    """
    cache: dict[torch.device, torch.Tensor] = {}

    def on(device: torch.device) -> torch.Tensor:
        if device not in cache:
            cache[device] = F.softmax(teacher.logits.to(device).detach(), -1)
        return cache[device]

    return on


def node_loss(
    y: torch.Tensor, teacher: Teacher | None, output_loss: OutputLoss | None
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """The training loss of a node trainer with the search's extra terms.

    Cross-entropy on the training nodes, plus ``λ·KL`` to ``teacher`` and ``output_loss(logits)`` when given
    (None: plain cross-entropy).
    """
    if teacher is None and output_loss is None:
        return None
    weight = teacher.weight if teacher is not None else 0.0
    soft_labels = _soft_labels(teacher) if teacher is not None and weight > 0 else None

    def loss_fn(logits: torch.Tensor, train_idx: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(logits[train_idx], y.to(logits.device)[train_idx])
        if soft_labels is not None:
            probs = soft_labels(logits.device)
            _check_distillation_shapes(logits, probs)
            loss = loss + weight * _distillation_to(logits, probs)
        if output_loss is not None:
            loss = loss + output_loss(logits)
        return loss

    return loss_fn


class NodeGLTTask:
    """Full-batch node classification as a GLT trainer: same graph for every seed, split by :func:`split_for_seed`.

    ``config.normalize_features`` row-normalises the features once.

    Args:
        graph: the (undirected) graph.
        config: training options.
        split: split name (default: the graph's default split).

    Raises:
        ValueError: the graph is directed.
    """

    name = "node"

    def __init__(self, graph: Graph, config: NodeTrainConfig | None = None, split: str | None = None) -> None:
        """Check the graph and hold the options (the arguments are described in the class docstring)."""
        if graph.directed:
            raise ValueError(f"GLT search needs an undirected graph; graph {graph.name!r} is directed")
        self.config = config or NodeTrainConfig()
        self.split = split
        self.graph = row_normalize_features(graph) if self.config.normalize_features else graph
        self.graph_name = graph.name
        self.metric = self.config.metric

    def describe(self) -> dict[str, Any]:
        """JSON-able hyperparameters (task, training options, split), hashed into the store key."""
        train = asdict(self.config)
        if not train["sparse_features"]:
            del train["sparse_features"]  # an option that does not change results stays out of the key
        return {"task": self.name, "train": train, "split": self.split}

    def graph_for_seed(self, seed_index: int, seed: int) -> Graph:
        """The same graph for every seed (features row-normalised when the config asks)."""
        return self.graph

    def predict(self, graph: Graph, model: nn.Module) -> torch.Tensor:
        """The model's node logits on the full ``graph`` in evaluation mode (a distillation teacher's outputs)."""
        if self.config.sparse_features:
            graph = with_sparse_features(graph)
        model.eval()
        with torch.no_grad():
            return model(graph).detach().cpu()

    def fit(
        self,
        graph: Graph,
        model: nn.Module,
        *,
        seed: int,
        seed_index: int,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        output_loss: OutputLoss | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: Teacher | None = None,
    ) -> dict[str, Any]:
        """Train ``model`` full-batch on ``graph`` and keep its best validated epoch.

        The arguments and result are those of :meth:`graphsparse.tasks.glt.GLTTask.fit`.
        """
        split_name, split_masks = split_for_seed(graph, seed_index, self.split)
        result = train_node(
            graph,
            model,
            split_masks,
            self.config,
            edge_values=edge_values,
            extra_loss=extra_loss,
            after_step=after_step,
            loss_fn=node_loss(graph.y, teacher, output_loss),
            seed=seed,
            split_name=split_name,
        )
        return {
            "val": result.val,
            "test": result.test,
            "best_epoch": result.best_epoch,
            "best_state": result.best_state,
        }
