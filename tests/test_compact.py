import pytest
import torch

from graphsparse.nn import GCN
from graphsparse.sparsify.compact import compact_gcn
from graphsparse.sparsify.weights import l0_projection


@pytest.mark.parametrize("layers,sparsity", [(2, 0.9), (3, 0.95), (2, 0.0)])
def test_compact_gcn_matches_masked_model(cora, layers, sparsity):
    torch.manual_seed(0)
    model = GCN(cora.num_features, 32, cora.num_classes, num_layers=layers)
    with torch.no_grad():
        for conv in model.convs:
            conv.bias.uniform_(-0.5, 0.5)  # non-zero biases exercise the folded constant units
    if sparsity:
        l0_projection(model, sparsity=sparsity)
    model.eval()
    compact = compact_gcn(model)
    expected = model(cora)
    assert torch.allclose(compact(cora), expected, atol=1e-5)
    if sparsity:
        assert compact.widths[0] < cora.num_features


def test_compact_gcn_with_constant_hidden_units(small_graph):
    torch.manual_seed(0)
    model = GCN(small_graph.num_features, 4, small_graph.num_classes)
    with torch.no_grad():
        model.convs[0].weight[:, 1] = 0.0  # unit 1 has no inputs: constant relu(b) everywhere
        model.convs[0].bias.copy_(torch.tensor([0.1, 0.7, -0.2, 0.3]))
        model.convs[1].weight[2] = 0.0  # unit 2 unused downstream
    model.eval()
    compact = compact_gcn(model)
    assert compact.widths == [small_graph.num_features, 2, small_graph.num_classes]
    assert torch.allclose(compact(small_graph), model(small_graph), atol=1e-6)


def test_compact_gcn_rejects_other_models():
    with pytest.raises(TypeError, match="GCN"):
        compact_gcn(torch.nn.Linear(3, 2))
