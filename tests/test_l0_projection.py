"""The l0 projection / magnitude masks keep exactly the weights a full ``kthvalue`` selection keeps (ties too).

``reference_keep_top`` is the selection graphsparse used before the bracketed one (``torch.kthvalue`` over every
score, then the ties at the threshold kept from the latest position on); the fast one must agree with it on every
input, including inputs built so that its sample brackets the threshold wrongly.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphsparse.sparsify import weights
from graphsparse.sparsify.weights import _keep_top, _keep_top_bracketed, global_magnitude_masks, l0_projection


def reference_keep_top(magnitude: torch.Tensor, allowed: torch.Tensor | None, k: int) -> torch.Tensor:
    score = magnitude if allowed is None else torch.where(allowed, magnitude, torch.full_like(magnitude, -1.0))
    n = score.numel()
    if k <= 0:
        return torch.zeros(n, dtype=torch.bool)
    threshold = torch.kthvalue(score, n - k + 1).values
    keep = score > threshold
    ties = torch.nonzero(score == threshold).flatten()
    missing = k - int(keep.sum())
    keep[ties[ties.numel() - missing :]] = True
    return keep


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    n = 100_003
    continuous = torch.rand(n, generator=g)
    tied = torch.randint(0, 7, (n,), generator=g).float()  # seven values, ~14k copies of each
    zeros = continuous.clone()
    zeros[torch.rand(n, generator=g) < 0.9] = 0.0  # 90% exact zeros, as after a projection
    adam_like = zeros + (zeros == 0) * 0.01 * torch.rand(n, generator=g).round()  # many equal small values
    return [continuous, tied, zeros, adam_like, torch.zeros(n), torch.rand(50, generator=g)]


@pytest.mark.parametrize("case", range(6))
def test_keep_top_matches_the_full_selection(case: int) -> None:
    magnitude = _inputs()[case]
    n = magnitude.numel()
    for k in sorted({0, 1, 2, n // 100, n // 10, n // 3, n // 2, n - n // 10, n - 1, n}):
        fast = _keep_top(magnitude.clone(), None, k)
        assert int(fast.sum()) == k
        assert torch.equal(fast, reference_keep_top(magnitude.clone(), None, k)), (case, k)


def test_keep_top_with_allowed_mask_matches() -> None:
    g = torch.Generator().manual_seed(1)
    magnitude = torch.rand(80_000, generator=g).mul(5).round()  # heavy ties
    allowed = torch.rand(80_000, generator=g) < 0.4
    alive = int(allowed.sum())
    for k in (1, alive // 7, alive // 2, alive - 1, alive):
        fast = _keep_top(magnitude, allowed, k)
        assert torch.equal(fast, reference_keep_top(magnitude, allowed, k))
        assert not bool((fast & ~allowed).any())


def test_a_misleading_sample_still_gives_the_exact_threshold() -> None:
    # the strided sample sees only the planted huge values, so its bracket is wrong: the counts must catch it
    n = 200_000
    magnitude = torch.rand(n, generator=torch.Generator().manual_seed(2))
    step = max(1, n // weights._SAMPLE)
    magnitude[::step] = 1e6 + torch.arange(magnitude[::step].numel(), dtype=torch.float32)
    for k in (10, n // 2, n - 5):
        bracketed = _keep_top_bracketed(magnitude, k)
        if k == n // 2:  # the sample sees only the planted values: the counts must refuse its bracket
            assert bracketed is None
        assert torch.equal(_keep_top(magnitude, None, k), reference_keep_top(magnitude, None, k))


def test_random_brackets_agree_over_many_draws() -> None:
    g = torch.Generator().manual_seed(3)
    for _ in range(30):
        n = int(torch.randint(1_000, 60_000, (1,), generator=g))
        magnitude = torch.randn(n, generator=g).abs()
        if bool(torch.rand(1, generator=g) < 0.5):
            magnitude[torch.rand(n, generator=g) < 0.5] = 0.0
        k = int(torch.randint(0, n + 1, (1,), generator=g))
        assert torch.equal(_keep_top(magnitude, None, k), reference_keep_top(magnitude, None, k))


class _TwoLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(300, 200)
        self.b = nn.Linear(200, 7)


def test_l0_projection_keeps_the_reference_weights() -> None:
    torch.manual_seed(0)
    model = _TwoLayer()
    with torch.no_grad():  # ties across layers, and exact zeros as a previous projection leaves them
        model.b.weight[:, :50] = model.a.weight[0, 0]
        model.a.weight[:, :100] = 0.0
    flat = torch.cat([model.a.weight.detach().reshape(-1), model.b.weight.detach().reshape(-1)]).abs()
    for sparsity in (0.2, 0.5, 0.67, 0.9, 0.988):
        k = flat.numel() - round(sparsity * flat.numel())
        expected = reference_keep_top(flat, None, k)
        projected = _TwoLayer()
        projected.load_state_dict(model.state_dict())
        keep = l0_projection(projected, sparsity=sparsity)
        got = torch.cat([keep["a.weight"].reshape(-1), keep["b.weight"].reshape(-1)])
        assert torch.equal(got, expected), sparsity
        kept = torch.cat([projected.a.weight.detach().reshape(-1), projected.b.weight.detach().reshape(-1)])
        assert torch.equal(kept != 0, expected & (flat != 0))
        assert not bool(torch.signbit(kept[~expected]).any())  # pruned weights are +0.0, as masked_fill_ leaves them
        masks = global_magnitude_masks(model, sparsity)
        assert torch.equal(torch.cat([masks["a.weight"].reshape(-1), masks["b.weight"].reshape(-1)]), expected)


def test_apply_weight_masks_equals_masked_fill() -> None:
    torch.manual_seed(1)
    model = _TwoLayer()
    masks = {"a.weight": torch.rand(200, 300) < 0.3, "b.weight": torch.rand(7, 200) < 0.5}
    expected = {name: model.get_parameter(name).detach().masked_fill(~m, 0.0) for name, m in masks.items()}
    weights.apply_weight_masks(model, masks)
    for name, value in expected.items():
        got = model.get_parameter(name).detach()
        assert torch.equal(got, value) and torch.equal(torch.signbit(got), torch.signbit(value))


def test_nan_scores_rank_as_kthvalue_ranks_them() -> None:
    magnitude = torch.rand(50_000, generator=torch.Generator().manual_seed(4))
    magnitude[[7, 20_000, 49_999]] = float("nan")
    for k in (1, 3, 10, 25_000, 49_990):
        assert torch.equal(_keep_top(magnitude, None, k), reference_keep_top(magnitude, None, k)), k
