"""Layers and models. Every model maps ``(graph, x=None, edge_values=None)`` to logits ``[N, C]``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..validation import check_int, check_probability
from .cluster_gcn import ClusterGCN
from .gcn_conv import SparseGCNConv, gcn_normalized_operator
from .models import GCN, MLP, PyGBackbone
from .pyg_model import PyGModel, pyg_basic_gnn
from .twirls import TWIRLS

__all__ = [
    "ClusterGCN",
    "SparseGCNConv",
    "gcn_normalized_operator",
    "GCN",
    "MLP",
    "PyGBackbone",
    "PyGModel",
    "TWIRLS",
    "MODELS",
    "build_model",
]


def _pyg(kind: str) -> Callable[..., nn.Module]:
    def factory(in_channels: int, out_channels: int, hidden_channels: int = 64, **options: Any) -> nn.Module:
        return PyGBackbone(kind, in_channels, hidden_channels, out_channels, **options)

    return factory


def _pyg_model(kind: str) -> Callable[..., nn.Module]:
    def factory(in_channels: int, out_channels: int, hidden_channels: int = 64, **options: Any) -> nn.Module:
        return pyg_basic_gnn(kind, in_channels, hidden_channels, out_channels, **options)

    return factory


def _gcn(in_channels: int, out_channels: int, hidden_channels: int = 16, **options: Any) -> nn.Module:
    return GCN(in_channels, hidden_channels, out_channels, **options)


def _mlp(in_channels: int, out_channels: int, hidden_channels: int = 64, **options: Any) -> nn.Module:
    return MLP(in_channels, hidden_channels, out_channels, **options)


def _cluster_gcn(in_channels: int, out_channels: int, hidden_channels: int = 128, **options: Any) -> nn.Module:
    return ClusterGCN(in_channels, hidden_channels, out_channels, **options)


def _twirls(in_channels: int, out_channels: int, hidden_channels: int = 64, **options: Any) -> nn.Module:
    return TWIRLS(in_channels, hidden_channels, out_channels, **options)


def _twirls_att(in_channels: int, out_channels: int, hidden_channels: int = 64, **options: Any) -> nn.Module:
    return TWIRLS(in_channels, hidden_channels, out_channels, **{"attention": True, **options})


# name -> factory(in_channels, out_channels, **options)
MODELS: dict[str, Callable[..., nn.Module]] = {
    "gcn": _gcn,
    "mlp": _mlp,
    "gat": _pyg("gat"),
    "gin": _pyg("gin"),
    "sage": _pyg("sage"),
    "twirls": _twirls,
    "cluster-gcn": _cluster_gcn,
    "twirls-att": _twirls_att,
    # PyG's own models (torch_geometric.nn.models) through the PyGModel wrapper
    "pyg-gcn": _pyg_model("gcn"),
    "pyg-gat": _pyg_model("gat"),
    "pyg-sage": _pyg_model("sage"),
    "pyg-gin": _pyg_model("gin"),
}


def build_model(name: str, in_channels: int, out_channels: int, **options: Any) -> nn.Module:
    """Build a registered model by name; options that are None are left at the model's defaults."""
    key = name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    options = {k: v for k, v in options.items() if v is not None}
    for size in ("hidden_channels", "num_layers", "heads"):  # sizes: integers >= 1 (not 0, 1.5, nan)
        if size in options:
            options[size] = check_int(size, options[size], 1)
    if "dropout" in options:
        options["dropout"] = check_probability("dropout", options["dropout"])
    return MODELS[key](in_channels, out_channels, **options)
