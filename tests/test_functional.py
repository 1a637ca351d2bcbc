import pytest
import torch

from graphsparse.nn import GCN
from graphsparse.nn.functional import dropout, dropout_keep_mask, dropout_matmul


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keep_mask_rate(p):
    torch.manual_seed(0)
    keep = dropout_keep_mask((400, 500), p)
    assert keep.dtype == torch.bool
    assert abs(keep.float().mean().item() - (1 - p)) < 0.005


def test_keep_mask_columns_unbiased():
    # every 16-bit lane of the random words must be uniform (a plain int64 random_() leaves one lane's sign at 0)
    torch.manual_seed(0)
    keep = dropout_keep_mask((100_000, 4), 0.5)
    assert torch.allclose(keep.float().mean(0), torch.full((4,), 0.5), atol=0.01)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.8, 1 - 2**-20])
def test_keep_mask_is_torchs_comparison_of_the_same_draws(p):
    # on CPU numpy compares the 16-bit draws; the mask must be the one torch.ge gives (the same random stream)
    torch.manual_seed(4)
    keep = dropout_keep_mask((300, 77), p)
    torch.manual_seed(4)
    n = 300 * 77
    words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
    expected = torch.ge(words.view(torch.int16)[:n].view(300, 77), round(p * 65536) - 32768)
    assert torch.equal(keep, expected)


@pytest.mark.parametrize("columns", [3, 7, 16, 32])
def test_narrow_and_wide_products_match_the_plain_product_and_its_gradients(columns):
    # narrow outputs (3, 7) run transposed, multiples of 16 as they are: the same sums either way
    x = torch.randn(2500, 48, dtype=torch.double, requires_grad=True)  # several row chunks at p = 0.5
    w = torch.randn(48, columns, dtype=torch.double, requires_grad=True)
    torch.manual_seed(5)
    fused = dropout_matmul(x, w, 0.5)
    torch.manual_seed(5)
    reference = dropout(x, 0.5) @ w
    assert fused.is_contiguous() and torch.allclose(fused, reference)
    grad = torch.randn_like(fused)
    got = torch.autograd.grad(fused, (x, w), grad)
    want = torch.autograd.grad(reference, (x, w), grad)
    for a, b in zip(got, want):
        assert a.is_contiguous() and torch.allclose(a, b)
    assert torch.allclose(dropout_matmul(x, w, 0.5, training=False), x @ w)


def test_weight_gradient_of_a_transposed_weight_view_keeps_its_layout():
    # twirls and Cluster-GCN pass lin.weight.t(): its gradient comes back column-major, as the view is (no copy)
    from graphsparse.nn.functional import _weight_gradient

    lin_weight = torch.randn(7, 48, dtype=torch.double, requires_grad=True)
    x = torch.randn(500, 48, dtype=torch.double)
    torch.manual_seed(2)
    out = dropout_matmul(x, lin_weight.t(), 0.5)
    torch.manual_seed(2)
    reference = dropout(x, 0.5) @ lin_weight.t()
    grad = torch.randn_like(out)
    assert torch.allclose(
        torch.autograd.grad(out, lin_weight, grad)[0], torch.autograd.grad(reference, lin_weight, grad)[0]
    )
    assert _weight_gradient(x, grad, lin_weight.t()).stride() == lin_weight.t().stride()
    assert _weight_gradient(x, grad, lin_weight.t().contiguous()).is_contiguous()


def test_dropout_matmul_equals_dropout_then_matmul():
    x, w = torch.randn(300, 9), torch.randn(9, 4)
    torch.manual_seed(3)
    fused = dropout_matmul(x, w, 0.4)
    torch.manual_seed(3)
    unfused = dropout(x, 0.4) @ w
    assert torch.allclose(fused, unfused, atol=1e-5)
    dropped = dropout(x, 0.4)
    kept = dropped != 0
    assert torch.allclose(dropped[kept], x[kept] / 0.6)


def test_gradients_match_autograd():
    x = torch.randn(40, 6, dtype=torch.double, requires_grad=True)
    w = torch.randn(6, 3, dtype=torch.double, requires_grad=True)

    def fused(x, w):
        torch.manual_seed(7)
        return dropout_matmul(x, w, 0.3)

    def alone(x):
        torch.manual_seed(7)
        return dropout(x, 0.3)

    assert torch.autograd.gradcheck(fused, (x, w))
    assert torch.autograd.gradcheck(alone, (x,))


def test_eval_and_edge_probabilities():
    x, w = torch.randn(20, 5), torch.randn(5, 2)
    assert torch.equal(dropout(x, 0.5, training=False), x)
    assert torch.allclose(dropout_matmul(x, w, 0.5, training=False), x @ w)
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    assert torch.equal(dropout_matmul(x, w, 1.0), torch.zeros(20, 2))
    with pytest.raises(ValueError, match="dropout probability"):
        dropout(x, 1.5)
    with pytest.raises(ValueError, match="dropout_matmul needs"):
        dropout_matmul(x, torch.randn(4, 2), 0.5)


def test_same_seed_same_epoch(small_graph):
    def one_step(seed):
        torch.manual_seed(seed)
        model = GCN(small_graph.num_features, 8, small_graph.num_classes)
        model.train()
        out = model(small_graph)
        out.sum().backward()
        return out.detach(), model.convs[0].weight.grad.clone()

    a, ga = one_step(0)
    b, gb = one_step(0)
    c, _ = one_step(1)
    assert torch.equal(a, b) and torch.equal(ga, gb)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("density", [0.002, 0.2])  # below / above the density where X^T G goes dense-chunked
def test_sparse_features_weight_gradient_matches_dense(density, monkeypatch):
    from graphsparse.nn import functional

    monkeypatch.setattr(functional, "_CHUNK_ELEMENTS", 64)  # several row chunks even on a small input
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(300, 40, generator=gen) * (torch.rand(300, 40, generator=gen) < density)
    x[7] = 0.0  # an empty row
    weight = torch.randn(40, 9, generator=gen, requires_grad=True)
    upstream = torch.randn(300, 9, generator=gen)
    out = functional.sparse_dropout_matmul(x.to_sparse_csr(), weight, p=0.0)
    (out * upstream).sum().backward()
    assert torch.allclose(out, x @ weight, atol=1e-5)
    assert torch.allclose(weight.grad, x.t() @ upstream, atol=1e-4)


def test_sparse_features_gradient_uses_the_dropped_out_values():
    from graphsparse.nn.functional import sparse_dropout_matmul

    x = torch.rand(500, 30) * (torch.rand(500, 30) < 0.3)
    weight = torch.eye(30, requires_grad=True)  # out = dropout(x): the kept values can be read off the output
    torch.manual_seed(3)
    out = sparse_dropout_matmul(x.to_sparse_csr(), weight, p=0.5)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    kept = out.detach()
    assert 0 < int((kept != 0).sum()) < int((x != 0).sum())
    assert torch.allclose(weight.grad, kept.t() @ upstream, atol=1e-4)


@pytest.mark.parametrize("density", [0.01, 0.2])  # below / above the density where X^T G goes dense-chunked
def test_sparse_dropout_product_over_the_kept_entries_gives_the_same_sums(density):
    # training skips the dropped entries instead of multiplying their zeros: the output and the weight gradient
    # must be those of the product over the whole dropped-out CSR, bit for bit (the same terms, in the same order)
    from graphsparse.nn.functional import _csr_backward_plan, dropout_keep_mask, sparse_dropout_matmul
    from graphsparse.sparse import csr_matmul

    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(400, 300, generator=gen) * (torch.rand(400, 300, generator=gen) < density)).to_sparse_csr()
    weight = torch.randn(300, 64, generator=gen, requires_grad=True)
    upstream = torch.randn(400, 64, generator=gen)
    torch.manual_seed(8)
    out = sparse_dropout_matmul(x, weight, p=0.5)
    (out * upstream).sum().backward()
    torch.manual_seed(8)
    values = x.values() * dropout_keep_mask(x.values().shape, 0.5) / 0.5
    whole = torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), values, x.shape)
    assert torch.equal(out, csr_matmul(whole, weight.detach()))
    plan = _csr_backward_plan(x)
    if "perm" in plan:  # the sparse transpose (the dense-chunked gradient writes the same dense blocks either way)
        whole_t = torch.sparse_csr_tensor(plan["t_crow"], plan["t_col"], values[plan["perm"]], (300, 400))
        assert torch.equal(weight.grad, csr_matmul(whole_t, upstream))
    else:
        assert torch.allclose(weight.grad, whole.to_dense().t() @ upstream, atol=1e-4)
    with torch.no_grad():  # the no-gradient path drops the same entries
        torch.manual_seed(8)
        assert torch.equal(sparse_dropout_matmul(x, weight, p=0.5), out)


def test_csr_matmul_equals_the_dense_product():
    from graphsparse.sparse import csr_matmul

    a = torch.tensor([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 3.0]])
    d = torch.randn(4, 3).t()  # non-contiguous right-hand side
    assert torch.allclose(csr_matmul(a.to_sparse_csr(), d), a @ d)
    assert csr_matmul(a.to_sparse_csr(), torch.zeros(3, 0)).shape == (3, 0)


def test_keep_freed_memory_applies_on_glibc_and_can_be_turned_off(monkeypatch):
    import platform

    from graphsparse.utils import keep_freed_memory

    monkeypatch.setenv("GRAPHSPARSE_SYSTEM_MALLOC", "1")
    assert keep_freed_memory() is False
    monkeypatch.delenv("GRAPHSPARSE_SYSTEM_MALLOC")
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert keep_freed_memory() is True
        assert torch.ones(3000, 3000).sum() == 9e6  # large allocations still work afterwards
