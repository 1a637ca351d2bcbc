"""PyG's own models (torch_geometric.nn.models GCN, GAT, GraphSAGE, GIN) through the PyGModel wrapper:
`graphsparse train`, a 2-level UGS search, a link encoder, and ``model(data)`` == ``model(graph)``."""

import json

import pytest
import torch
from torch import nn

from graphsparse.cli import main
from graphsparse.nn import MODELS, PyGModel, build_model

PYG_MODELS = ["pyg-gcn", "pyg-gat", "pyg-sage", "pyg-gin"]


def test_registered():
    for name in PYG_MODELS:
        assert name in MODELS


@pytest.mark.parametrize("name", PYG_MODELS)
def test_train_cli(name, tmp_path, capsys):
    argv = ["train", "--dataset", "cora", "--model", name, "--epochs", "3", "--seeds", "1"]
    assert main([*argv, "--hidden", "16", "--db", str(tmp_path / "r.db"), "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == name


@pytest.mark.parametrize("name", PYG_MODELS)
def test_ugs_two_levels(name, tmp_path, capsys):
    argv = ["glt", "--dataset", "cora", "--model", name, "--method", "ugs", "--rounds", "2", "--epochs", "3"]
    argv += ["--seeds", "1", "--hidden", "16", "--preset", "none", "--db", str(tmp_path / "r.db")]
    assert main([*argv, "--plot", str(tmp_path / "p.png"), "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["round"] for r in out["levels"]] == [1, 2]
    assert out["levels"][1]["graph_sparsity"] > out["levels"][0]["graph_sparsity"] > 0


@pytest.mark.parametrize("name", PYG_MODELS)
def test_data_equals_graph_and_mask_gradient(name, cora):
    torch.manual_seed(0)
    model = build_model(name, cora.num_features, cora.num_classes, hidden_channels=8).eval()
    from_graph = model(cora)
    torch.testing.assert_close(model(cora.to_pyg()), from_graph, rtol=1e-5, atol=1e-5)
    mask = torch.ones(cora.num_edges, requires_grad=True)
    torch.testing.assert_close(model(cora, edge_values=mask), from_graph, rtol=1e-5, atol=1e-5)
    model(cora, edge_values=mask).square().sum().backward()
    assert mask.grad is not None and bool(mask.grad.abs().sum() > 0)  # a UGS mask learns through every model


def test_edge_weight_mode_matches_pyg(cora):
    from torch_geometric.nn.models import GCN

    torch.manual_seed(0)
    pyg = GCN(cora.num_features, 8, num_layers=2, out_channels=cora.num_classes).eval()
    model = PyGModel(pyg)
    assert model.edge_mode == "edge_weight"
    values = torch.rand(cora.num_edges) + 0.5
    expected = pyg(cora.x, cora.edge_index, values[cora.directed_edge_ids])
    torch.testing.assert_close(model(cora, edge_values=values), expected)


class _NoMessagePassing(nn.Module):
    """A user's model that ignores the graph's edge weights and has no MessagePassing layer."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__()
        self.lin = nn.Linear(a, b)

    def forward(self, x, edge_index):
        return self.lin(x)


def test_refuses_edge_values_clearly(small_graph, tmp_path):
    model = PyGModel(_NoMessagePassing(small_graph.num_features, 2))
    assert model.edge_mode == "none" and not model.supports_edge_values
    assert model(small_graph).shape == (6, 2)
    with pytest.raises(ValueError, match="cannot take per-edge values.*UGS"):
        model(small_graph, edge_values=torch.ones(small_graph.num_edges))
    with pytest.raises(ValueError, match="does not take edge weights"):
        PyGModel(_NoMessagePassing(4, 2), edge_mode="edge_weight")
    from torch_geometric.nn.models import GIN

    assert PyGModel(GIN(4, 8, 2, 2), edge_mode="none").edge_mode == "none"


def test_link_encoder(tmp_path, capsys):
    argv = ["train", "--task", "link", "--dataset", "cora", "--model", "pyg-sage", "--epochs", "2", "--seeds", "1"]
    assert main([*argv, "--db", str(tmp_path / "r.db"), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "pyg-sage"


@pytest.mark.parametrize("name", ["gcn", "mlp", "sage", "twirls", "cluster-gcn"])
def test_own_models_accept_data(name, cora):
    torch.manual_seed(0)
    model = build_model(name, cora.num_features, cora.num_classes, hidden_channels=8).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(cora.to_pyg()), model(cora), rtol=1e-5, atol=1e-5)
