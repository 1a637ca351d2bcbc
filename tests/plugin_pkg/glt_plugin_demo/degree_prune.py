"""Prune the edges between the highest-degree nodes first and the smallest weights of θ0: a GLT method written
outside graphsparse, as a researcher would, against the public plug-in interface only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from graphsparse.graph import Graph
from graphsparse.sparsify.methods import MethodOption, OneShotMethod, SeedJob, WeightRule
from graphsparse.sparsify.weights import global_magnitude_masks


@dataclass(frozen=True)
class HubPrune(OneShotMethod):
    """Edges scored by -(d_u + d_v)**power (hub-to-hub edges go first); weights by |θ0| (global magnitude)."""

    power: float = 1.0

    name: ClassVar[str] = "hub-prune"
    options: ClassVar[tuple[MethodOption, ...]] = (
        MethodOption("power", "hub-prune: exponent of the degree sum (default 1)"),
    )

    def edge_scores(self, ctx, graph: Graph, job: SeedJob) -> torch.Tensor:
        degree = torch.bincount(graph.edges.reshape(-1), minlength=graph.num_nodes).double()
        return -((degree[graph.edges[0]] + degree[graph.edges[1]]) ** self.power)

    def weight_rule(self, model: nn.Module, job: SeedJob) -> WeightRule:
        masks = global_magnitude_masks(model, job.level.weight_sparsity)
        return WeightRule("masks", masks=masks)
