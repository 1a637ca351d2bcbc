"""Link prediction as a graph-lottery-ticket task (the trainer protocol of :mod:`graphsparse.tasks.glt`).

Each seed gets its own edge split (:func:`~graphsparse.tasks.link.link_split_for_seed`); the prunable graph is that
split's *training* message-passing graph, so validation and test edges are never pruned into or out of it, and
their negatives never change. Tickets are trained on the pruned training graph with the split's training edges as
supervision (pruning removes messages, not labels) and scored by ROC-AUC — UGS's link-prediction setting
(Chen et al., ICML 2021: GCN encoder, inner-product decoder, Cora/CiteSeer/PubMed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from ..data.link_splits import LinkSplit
from ..graph import Graph
from .link import LinkTrainConfig, _prepare_features, link_split_for_seed, train_link

__all__ = ["LinkGLTTask"]


class LinkGLTTask:
    """GLT task for link prediction; ``metric`` is ``"auc"``. Distillation is not defined for it."""

    name = "link"
    metric = "auc"

    def __init__(
        self,
        graph: Graph,
        config: LinkTrainConfig | None = None,
        val_fraction: float = 0.05,
        test_fraction: float = 0.10,
    ) -> None:
        """Hold the graph (features prepared as the config asks) and the split's fractions.

        Args:
            graph: the (undirected) graph whose edges are split per seed.
            config: training options.
            val_fraction: the fraction of edges held out for validation.
            test_fraction: the fraction of edges held out for test.
        """
        self.config = config or LinkTrainConfig()
        self.graph = _prepare_features(graph, self.config.normalize_features)
        self.graph_name = graph.name
        self.val_fraction, self.test_fraction = float(val_fraction), float(test_fraction)
        self._splits: dict[int, LinkSplit] = {}

    def describe(self) -> dict[str, Any]:
        """JSON-able hyperparameters (task, training options, split fractions), hashed into the store key."""
        return {"task": self.name, "train": asdict(self.config), "val": self.val_fraction, "test": self.test_fraction}

    def split(self, seed: int) -> LinkSplit:
        """The edge split of ``seed`` (made once, then cached).

        Args:
            seed: the run's seed.

        Returns:
            The seed's :class:`~graphsparse.data.link_splits.LinkSplit`.
        """
        if seed not in self._splits:
            self._splits[seed] = link_split_for_seed(self.graph, seed, self.val_fraction, self.test_fraction)
        return self._splits[seed]

    def graph_for_seed(self, seed_index: int, seed: int) -> Graph:
        """The training message-passing graph of ``seed``'s edge split (the graph that is pruned)."""
        return self.split(seed).train_graph

    def predict(self, graph: Graph, model: nn.Module) -> torch.Tensor:
        """Always refused: link prediction has no distillation teacher.

        Raises:
            ValueError: always.
        """
        raise ValueError("link GLT task: no distillation teacher (distillation is node-classification only)")

    def fit(
        self,
        graph: Graph,
        model: nn.Module,
        *,
        seed: int,
        seed_index: int,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        output_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: Any = None,
    ) -> dict[str, Any]:
        """Train ``model`` on ``seed``'s split with ``graph`` as its message-passing graph; keep the best epoch.

        The arguments and result are those of :meth:`graphsparse.tasks.glt.GLTTask.fit`.

        Raises:
            ValueError: a ``teacher`` or an ``output_loss`` (node-classification terms), or UGS with a decoder that
                has weights.
        """
        if teacher is not None:
            raise ValueError("link GLT task: distillation is not supported (it is defined for node classification)")
        if output_loss is not None:
            raise ValueError("link GLT task: a loss on node outputs (e.g. WD-GLT's class separation) needs node labels")
        decoder = getattr(getattr(model, "base", model), "decoder", None)
        if decoder is not None and any(True for _ in decoder.parameters()) and hasattr(model, "base"):
            # UGS runs the wrapped encoder with masked weights; a decoder with weights would escape its masks
            raise ValueError("link GLT with UGS needs a parameter-free decoder (use --decoder dot)")
        result = train_link(
            self.split(seed),
            model,
            self.config,
            seed=seed,
            graph=graph,
            edge_values=edge_values,
            extra_loss=extra_loss,
            after_step=after_step,
        )
        return {
            "val": result.val,
            "test": result.test,
            "best_epoch": result.best_epoch,
            "best_state": result.best_state,
        }
