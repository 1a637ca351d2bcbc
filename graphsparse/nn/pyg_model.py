r"""Any PyTorch Geometric model behind graphsparse's model interface: :class:`PyGModel`.

graphsparse's trainers, GLT searches and link tasks call ``model(graph, x=None, edge_values=None)``:
``edge_values`` holds one value per **undirected** edge id of ``graph`` (a UGS edge mask, GAug-O samples...).
A PyG model's forward takes ``(x, edge_index[, edge_weight])`` over the *directed* view. :class:`PyGModel`
translates: ``x`` defaults to ``graph.x``, ``edge_index`` is ``graph.edge_index`` (both directions of every
edge) and each directed column ``j`` carries ``edge_values[graph.directed_edge_ids[j]]`` (times the graph's own
edge weight when it is weighted), so both directions of an edge share one mask value and get one gradient.

How the per-edge values reach the model (``edge_mode``):

- ``"edge_weight"``: passed as the model's ``edge_weight`` argument. Needs a forward with an ``edge_weight``
  parameter that is really used: PyG's ``GCN`` (``supports_edge_weight = True``), ``GCNConv``, ``GraphConv``...
- ``"messages"``: every ``MessagePassing`` layer inside the model has its messages multiplied by the edge's
  value (a message forward hook; self-loops a layer appends, as ``GATConv`` does, are left unscaled), and edges
  whose value is exactly 0 are dropped (a pruned edge takes no attention). This is how models that ignore
  ``edge_weight`` (PyG's ``GAT``, ``GraphSAGE``, ``GIN``: their BasicGNN has ``supports_edge_weight = False``)
  still give a UGS edge mask its gradient: for GAT the mask scales the attention-weighted messages, for
  GraphSAGE the neighbours in the mean, for GIN the terms of the sum.
- ``"none"``: edge values are refused with a ``ValueError`` (so ``graphsparse glt --method ugs`` stops with a
  clear message); pruned graphs (TEDDY, random) still work, they only remove edges.
- ``"auto"`` (default): ``"edge_weight"`` when the forward takes ``edge_weight`` and the model does not declare
  ``supports_edge_weight = False``, else ``"messages"`` when it has ``MessagePassing`` layers, else ``"none"``.

``model(data)`` with a ``torch_geometric.data.Data`` reads ``data.x``, ``data.edge_index`` and
``data.edge_weight`` (when present) directly; ``edge_values`` are over a Graph's edge ids, so they need a Graph.

Kipf & Welling's first-layer-only weight decay (``decay_first_layer_only``, ``--decay first-layer``) finds the
wrapped model's first layer through :meth:`PyGModel.first_layer` (``convs[0]`` of PyG's ``BasicGNN`` models).

Weight pruning (GLT, UGS) counts every parameter whose name ends in ``weight`` with two or more dimensions, so
a wrapped model's linear layers are pruned like graphsparse's own.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

from ..graph import Graph

__all__ = ["PyGModel", "EDGE_MODES", "pyg_basic_gnn", "as_graph"]

EDGE_MODES = ("auto", "edge_weight", "messages", "none")


def as_graph(graph: Any) -> Graph:
    """``graph`` itself when it is a :class:`Graph`; a PyG ``Data`` converted with :meth:`Graph.from_pyg`.

    This is what lets graphsparse's own models take ``model(data)``: a convenience that converts on every call; for
    training, convert once and pass the Graph, whose normalised adjacency is cached.
    """
    if isinstance(graph, Graph):
        return graph
    if getattr(graph, "edge_index", None) is not None:
        return Graph.from_pyg(graph)
    raise TypeError(f"a model takes a graphsparse Graph or a torch_geometric Data, got {type(graph).__name__}")


def _takes_edge_weight(module: nn.Module) -> bool:
    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False
    return "edge_weight" in params and getattr(module, "supports_edge_weight", True) is not False


def _message_layers(module: nn.Module) -> list[nn.Module]:
    from torch_geometric.nn.conv import MessagePassing

    return [m for m in module.modules() if isinstance(m, MessagePassing)]


def _scale(module: nn.Module, inputs: tuple, out: torch.Tensor, *, scale: torch.Tensor, num_nodes: int):
    """Message hook: message ``e`` times ``scale[e]``; appended self-loop messages are left as they are."""
    extra = out.size(0) - scale.numel()
    if extra not in (0, num_nodes):
        raise ValueError(
            f"{type(module).__name__} computed {out.size(0)} messages for {scale.numel()} edges: PyGModel "
            "(edge_mode='messages') can scale messages only when a layer keeps the edges in order (and appends at "
            "most one self-loop per node); use edge_mode='none' for this model"
        )
    weight = torch.cat([scale, scale.new_ones(extra)]) if extra else scale
    return out * weight.view(-1, *([1] * (out.dim() - 1)))


class PyGModel(nn.Module):
    """Wrap a PyG model with forward ``(x, edge_index[, edge_weight])`` as ``model(graph, x=None, edge_values=None)``.

    ``module`` is any ``torch.nn.Module`` of that signature (``torch_geometric.nn.models.GCN``, ``GAT``,
    ``GraphSAGE``, ``GIN``, or your own); ``edge_mode`` says how per-edge values reach it (see the module
    docstring: ``"auto"``, ``"edge_weight"``, ``"messages"``, ``"none"``). The wrapped model is
    ``self.module``; its parameters are the wrapper's. ``forward`` also accepts a PyG ``Data`` in place of the
    Graph. Example::

        from torch_geometric.nn.models import GraphSAGE
        model = PyGModel(GraphSAGE(graph.num_features, 64, num_layers=2, out_channels=graph.num_classes))
        logits = model(graph)              # or model(graph.to_pyg())
    """

    def __init__(self, module: nn.Module, edge_mode: str = "auto") -> None:
        """Wrap ``module``, resolving ``edge_mode="auto"`` to the mode the model supports.

        Args:
            module: the PyG model.
            edge_mode: ``"auto"``, ``"edge_weight"``, ``"messages"`` or ``"none"``.

        Raises:
            TypeError: ``module`` is not a ``torch.nn.Module``.
            ValueError: an unknown ``edge_mode``, or one the model cannot support.
        """
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"PyGModel wraps a torch.nn.Module, got {type(module).__name__}")
        if edge_mode not in EDGE_MODES:
            raise ValueError(f"unknown edge_mode {edge_mode!r}; use one of {', '.join(EDGE_MODES)}")
        takes_weight = _takes_edge_weight(module)
        if edge_mode == "auto":
            edge_mode = "edge_weight" if takes_weight else ("messages" if _message_layers(module) else "none")
        elif edge_mode == "edge_weight" and not takes_weight:
            raise ValueError(
                f"{type(module).__name__} does not take edge weights (no edge_weight argument, or "
                "supports_edge_weight = False): use edge_mode='messages' or 'none'"
            )
        elif edge_mode == "messages" and not _message_layers(module):
            raise ValueError(f"{type(module).__name__} has no MessagePassing layers to scale: use edge_mode='none'")
        self.module = module
        self.edge_mode = edge_mode

    @property
    def supports_edge_values(self) -> bool:
        """Whether ``edge_values`` (UGS masks, soft edges) reach the model; ``False`` means they are refused."""
        return self.edge_mode != "none"

    def first_layer(self) -> nn.Module | None:
        """The wrapped model's first layer, which Kipf & Welling's first-layer-only weight decay regularises.

        That is ``module.first_layer()``, else ``convs[0]`` or ``lins[0]`` (PyG's ``BasicGNN`` models keep their
        layers in ``convs``); None when it has none of these.
        """
        hook = getattr(self.module, "first_layer", None)
        if callable(hook):
            return hook()
        layers = getattr(self.module, "convs", None) or getattr(self.module, "lins", None)
        return layers[0] if layers else None

    def reset_parameters(self) -> None:
        """Re-initialise the wrapped model (when it has ``reset_parameters``)."""
        reset = getattr(self.module, "reset_parameters", None)
        if callable(reset):
            reset()

    def extra_repr(self) -> str:
        """The edge mode, for ``repr``."""
        return f"edge_mode={self.edge_mode!r}"

    def forward(self, graph: Any, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None):
        """Run the wrapped model on ``graph`` and return what it returns.

        Args:
            graph: a :class:`Graph` or a PyG ``Data``.
            x: the node features; the graph's when None.
            edge_values: one value per undirected edge id (a Graph only), multiplied into the edge weights.

        Raises:
            ValueError: ``edge_values`` with ``edge_mode="none"``, of the wrong shape, or with a ``Data``; no node
                features.
            TypeError: ``graph`` is neither a Graph nor has an ``edge_index``.
        """
        device = next(self.parameters()).device
        if isinstance(graph, Graph):
            x = graph.x if x is None else x
            edge_index = graph.edge_index
            weight = graph.edge_weight
            if edge_values is not None:
                if not self.supports_edge_values:
                    raise ValueError(
                        f"{type(self.module).__name__} (PyGModel edge_mode='none') cannot take per-edge values, so "
                        "it cannot learn an edge mask (UGS) or soft edges; prune with teddy/random instead, or wrap "
                        "a model that takes edge_weight (e.g. torch_geometric.nn.models.GCN)"
                    )
                if edge_values.shape != (graph.num_edges,):
                    raise ValueError(
                        f"edge_values must hold one value per edge id: shape [{graph.num_edges}], "
                        f"got {list(edge_values.shape)}"
                    )
                weight = edge_values if weight is None else edge_values * weight.to(edge_values.device)
            directed_weight = None if weight is None else weight.to(device)[graph.directed_edge_ids.to(device)]
        else:  # a torch_geometric Data (or anything with x / edge_index attributes)
            if getattr(graph, "edge_index", None) is None:
                raise TypeError(f"PyGModel takes a graphsparse Graph or a PyG Data, got {type(graph).__name__}")
            if edge_values is not None:
                raise ValueError("edge_values are over a Graph's undirected edge ids: pass a Graph, not a Data")
            x = graph.x if x is None else x
            edge_index = graph.edge_index
            directed_weight = getattr(graph, "edge_weight", None)
            if directed_weight is not None:
                directed_weight = directed_weight.to(device).view(-1)
        if x is None:
            raise ValueError("PyGModel needs node features: the graph has no x (pass x=...)")
        x, edge_index = x.to(device), edge_index.to(device)
        if directed_weight is None or self.edge_mode == "none":
            return self.module(x, edge_index)
        if self.edge_mode == "edge_weight":
            return self.module(x, edge_index, edge_weight=directed_weight)
        keep = directed_weight != 0
        if not bool(keep.all()):
            edge_index, directed_weight = edge_index[:, keep], directed_weight[keep]
        hook = functools.partial(_scale, scale=directed_weight, num_nodes=x.size(0))
        handles = [layer.register_message_forward_hook(hook) for layer in _message_layers(self.module)]
        try:
            return self.module(x, edge_index)
        finally:
            for handle in handles:
                handle.remove()


def pyg_basic_gnn(
    kind: str,
    in_channels: int,
    hidden_channels: int,
    out_channels: int,
    num_layers: int = 2,
    dropout: float = 0.5,
    **options: Any,
) -> PyGModel:
    """PyG's own ``torch_geometric.nn.models`` GCN / GAT / GraphSAGE / GIN, wrapped in a :class:`PyGModel`.

    ``kind``: gcn, gat, sage, gin; ``options`` go to the PyG constructor (e.g. ``heads`` for GAT).
    """
    from torch_geometric.nn import models

    classes = {"gcn": models.GCN, "gat": models.GAT, "sage": models.GraphSAGE, "gin": models.GIN}
    if kind not in classes:
        raise ValueError(f"unknown PyG model {kind!r}: use one of {', '.join(classes)}")
    module = classes[kind](
        in_channels, hidden_channels, num_layers=num_layers, out_channels=out_channels, dropout=dropout, **options
    )
    return PyGModel(module)
