"""TWIRLS: propagation against dense closed forms, IRLS attention, validation, and a short training run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphsparse import Graph
from graphsparse.nn import MODELS, TWIRLS, build_model
from graphsparse.nn.twirls import irls_attention, irls_weights, twirls_propagate
from graphsparse.presets import PRESETS, resolve_preset
from graphsparse.presets.twirls import TWIRLS_PRESETS


def _graph(n: int = 7, features: int = 4, seed: int = 0) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    edges = torch.tensor([[0, 0, 1, 2, 3, 4, 5, 1], [1, 2, 2, 3, 4, 5, 6, 6]])
    x = torch.randn(n, features, generator=gen)
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2])[:n]
    return Graph(edges, num_nodes=n, x=x, y=y)


def _dense(graph: Graph, edge_values: torch.Tensor | None = None) -> torch.Tensor:
    """Â = A + I, densely, with per-edge-id weights on A."""
    n = graph.num_nodes
    u, v = graph.edges
    w = torch.ones(graph.num_edges, dtype=torch.float64) if edge_values is None else edge_values.double()
    a = torch.zeros(n, n, dtype=torch.float64)
    a[u, v] = w
    a[v, u] = w
    return a + torch.eye(n, dtype=torch.float64)


@pytest.mark.parametrize("weighted", [False, True])
def test_preconditioned_step_matches_dense_closed_form(weighted: bool) -> None:
    g = _graph()
    gen = torch.Generator().manual_seed(1)
    y0 = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    ev = torch.rand(g.num_edges, generator=gen, dtype=torch.float64) + 0.1 if weighted else None
    lam, alpha = 0.7, 0.6
    a_hat = _dense(g, ev)
    b = torch.eye(7, dtype=torch.float64) + lam * torch.diag(a_hat.sum(1))
    # One Jacobi-preconditioned gradient step on ||Y - Y0||^2 + lam tr(Y^T (D - Â) Y).
    grad_half = (torch.eye(7, dtype=torch.float64) + lam * (torch.diag(a_hat.sum(1)) - a_hat)) @ y - y0
    expected = y - alpha * torch.linalg.solve(b, grad_half)
    out = twirls_propagate(g, y0, lam, alpha, steps=1, edge_values=ev, y=y)
    torch.testing.assert_close(out, expected)
    # The symmetrised (paper) variant: (1-α)Y + αλ B^-1/2 Â B^-1/2 Y + α B^-1 Y0.
    b_isqrt = torch.diag(b.diagonal().rsqrt())
    sym = (1 - alpha) * y + alpha * lam * b_isqrt @ a_hat @ b_isqrt @ y + alpha * torch.linalg.solve(b, y0)
    torch.testing.assert_close(twirls_propagate(g, y0, lam, alpha, 1, edge_values=ev, y=y, symmetric=True), sym)


def test_unpreconditioned_step_and_fixed_point() -> None:
    g = _graph()
    gen = torch.Generator().manual_seed(2)
    y0 = torch.randn(7, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(7, 2, generator=gen, dtype=torch.float64)
    lam, alpha = 2.0, 0.3
    a_hat = _dense(g)
    d_isqrt = torch.diag(a_hat.sum(1).rsqrt())
    lap = torch.eye(7, dtype=torch.float64) - d_isqrt @ a_hat @ d_isqrt
    expected = y - alpha * ((y - y0) + lam * lap @ y)
    torch.testing.assert_close(twirls_propagate(g, y0, lam, alpha, 1, preconditioned=False, y=y), expected)
    # Many preconditioned steps reach the energy's minimiser (I + λ(D - Â))^-1 Y0.
    lap_un = torch.diag(a_hat.sum(1)) - a_hat
    target = torch.linalg.solve(torch.eye(7, dtype=torch.float64) + lam * lap_un, y0)
    torch.testing.assert_close(twirls_propagate(g, y0, lam, steps=400), target)


def test_edge_values_get_gradients() -> None:
    g = _graph()
    ev = torch.full((g.num_edges,), 0.5, requires_grad=True)
    out = twirls_propagate(g, g.x, 1.0, steps=3, edge_values=ev)
    out.pow(2).sum().backward()
    assert ev.grad is not None and torch.isfinite(ev.grad).all() and ev.grad.abs().sum() > 0


def test_lambda_zero_gives_the_mlp_output() -> None:
    torch.manual_seed(0)
    g = _graph()
    model = TWIRLS(4, 8, 3, lam=0.0, steps=5, mlp_before=2, mlp_after=1, dropout=0.0, attention=True).eval()
    h = F.relu(model.lins[0](g.x))
    h = F.relu(model.lins[1](h))
    expected = model.lins[2](h)
    torch.testing.assert_close(model(g), expected)
    # and λ > 0 really changes it
    model.lam = 1.0
    assert not torch.allclose(model(g), expected)


def test_attention_uniform_at_p2_and_capped_by_tau() -> None:
    g = _graph()
    y = torch.randn(7, 5, generator=torch.Generator().manual_seed(3)) * 10
    gamma = irls_attention(g, y, p=2.0, tau=0.0)
    torch.testing.assert_close(gamma, torch.ones(g.num_edges))
    torch.testing.assert_close(irls_attention(g, y, p=2.0, tau=4.0), torch.full((g.num_edges,), 0.25))
    y_close = y.clone()
    y_close[1] = y_close[0] + 1e-4  # a near-zero distance: the weight would explode without τ
    tau = 0.5
    capped = irls_attention(g, y_close, p=0.5, tau=tau)
    assert capped.max() <= 1 / tau + 1e-6
    assert torch.isclose(capped[0], torch.tensor(1 / tau))  # edge (0, 1) hits the cap
    u, v = g.edges
    d = (y_close[u] - y_close[v]).pow(2).sum(1)
    torch.testing.assert_close(capped, 1 / d.pow(0.75).clamp(min=tau))
    # truncation T: large distances get weight 0
    truncated = irls_attention(g, y_close, p=0.5, tau=tau, T=float(d.pow(0.75).median()))
    assert (truncated == 0).any() and (truncated > 0).any()


@pytest.mark.parametrize(
    "options, match",
    [
        ({"lam": -0.1}, "lam"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"steps": 0}, "steps"),
        ({"p": 2.5}, "p must"),
        ({"p": -1.0}, "p must"),
        ({"tau": -0.1}, "tau"),
        ({"T": -1.0}, "T must"),
        ({"b_form": "other"}, "b_form"),
        ({"dropout": 1.0}, "dropout"),
        ({"attention_before": True}, "attention_before"),
        ({"norm": "group"}, "norm"),
    ],
)
def test_bad_parameters_raise(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TWIRLS(4, 8, 3, **options)


def test_functional_validation() -> None:
    g = _graph()
    with pytest.raises(ValueError, match="lam"):
        twirls_propagate(g, g.x, -1.0)
    with pytest.raises(ValueError, match="steps"):
        twirls_propagate(g, g.x, 1.0, steps=0)
    with pytest.raises(ValueError, match="alpha"):
        twirls_propagate(g, g.x, 1.0, alpha=1.01)
    with pytest.raises(ValueError, match="p must"):
        irls_attention(g, g.x, p=3.0)
    with pytest.raises(ValueError, match="edge_values"):
        twirls_propagate(g, g.x, 1.0, edge_values=torch.ones(3))
    with pytest.raises(ValueError, match="y0"):
        twirls_propagate(g, g.x[:3], 1.0)


@pytest.mark.parametrize("name, norm", [("twirls", "batch"), ("twirls-att", "layer")])
def test_model_trains_without_nan(name: str, norm: str) -> None:
    torch.manual_seed(0)
    g = _graph()
    model = build_model(
        name,
        4,
        3,
        hidden_channels=8,
        lam=1.0,
        steps=4,
        mlp_before=1,
        mlp_after=1,
        norm=norm,
        dropout=0.2,
        input_dropout=0.1,
        learn_eta=name == "twirls-att",
        attention_dropout=0.1,
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(g), g.y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    out = model(g)
    assert torch.isfinite(out).all() and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    model.reset_parameters()
    assert torch.isfinite(model(g, edge_values=torch.rand(g.num_edges))).all()


def test_registry_and_presets() -> None:
    assert {"twirls", "twirls-att"} <= set(MODELS)
    for dataset in ("cora", "citeseer", "pubmed", "texas", "wisconsin", "cornell", "actor"):
        assert ("twirls", dataset) in PRESETS
        preset = resolve_preset("twirls", dataset, "paper")
        build_model("twirls", 10, 3, **preset["model"])  # every preset builds
    for (model, dataset), options in TWIRLS_PRESETS.items():
        for name in options:
            preset = resolve_preset(model, dataset, name)
            build_model(model, 10, 3, **preset["model"])


def test_paper_b_form_with_loop_weights_matches_dense() -> None:
    """The authors' form: B = λD + (1-λ)I with D over Â (loops weighted by ``loop_values``), symmetrised."""
    g = _graph()
    gen = torch.Generator().manual_seed(4)
    y0 = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    ev = torch.rand(g.num_edges, generator=gen, dtype=torch.float64) + 0.1
    loops = torch.rand(7, generator=gen, dtype=torch.float64) + 0.5
    lam, alpha = 0.4, 0.8
    a_hat = _dense(g, ev) - torch.eye(7, dtype=torch.float64) + torch.diag(loops)
    b = lam * a_hat.sum(1) + (1 - lam)
    b_isqrt = torch.diag(b.rsqrt())
    expected = (1 - alpha) * y + alpha * lam * b_isqrt @ a_hat @ b_isqrt @ y + alpha * y0 / b.unsqueeze(1)
    out = twirls_propagate(g, y0, lam, alpha, 1, edge_values=ev, y=y, symmetric=True, b_form="paper", loop_values=loops)
    torch.testing.assert_close(out, expected)
    # the paper form differs from the exact Jacobi form B = I + λD
    assert not torch.allclose(
        out, twirls_propagate(g, y0, lam, alpha, 1, edge_values=ev, y=y, symmetric=True, loop_values=loops)
    )


def test_irls_self_loop_weights() -> None:
    zero = torch.zeros(3)
    torch.testing.assert_close(irls_weights(zero, p=1.0, tau=0.2), torch.full((3,), 5.0))  # d = 0 -> 1/τ
    torch.testing.assert_close(irls_weights(zero, p=2.0, tau=0.5), torch.ones(3))  # p = 2: uniform 1/max(1, τ)
    torch.manual_seed(0)
    g = _graph()
    model = TWIRLS(4, 8, 3, lam=1.0, steps=2, attention=True, p=1.0, tau=0.2, dropout=0.0).eval()
    gamma, loops = model._attention(g, torch.randn(7, 3))
    assert gamma.shape == (g.num_edges,) and torch.allclose(loops, torch.full((7,), 5.0))


def test_propagation_cache_is_keyed_to_the_graph() -> None:
    g1 = _graph()
    g2 = g1.keep_edges(torch.tensor([True, False, True, True, False, True, True, False]))
    model = TWIRLS(4, 8, 3, lam=1.0, steps=4, mlp_before=0, mlp_after=2, dropout=0.0).eval()
    out1 = model(g1)
    assert any(isinstance(k, tuple) and k[0] == "twirls_propagation" for k in g1._cached_keys())
    out2 = model(g2)  # a new graph: must not reuse g1's propagation
    h2 = twirls_propagate(g2, g2.x, 1.0, steps=4)
    expected2 = model.lins[1](F.relu(model.lins[0](h2)))
    torch.testing.assert_close(out2, expected2)
    assert not torch.allclose(out1, out2)
    torch.testing.assert_close(model(g1), out1)  # and g1's cached result is still its own
    # an explicit x or edge values bypass the cache
    x = torch.randn(7, 4)
    expected_x = model.lins[1](F.relu(model.lins[0](twirls_propagate(g1, x, 1.0, steps=4))))
    torch.testing.assert_close(model(g1, x), expected_x)


def test_layout_activation_after_propagation() -> None:
    """K = 1, L = 1: lin -> propagate -> ReLU -> lin (the authors' layout, no ReLU before propagating)."""
    torch.manual_seed(0)
    g = _graph()
    model = TWIRLS(4, 8, 3, lam=0.5, steps=3, mlp_before=1, mlp_after=1, dropout=0.0).eval()
    h = twirls_propagate(g, model.lins[0](g.x), 0.5, steps=3)
    torch.testing.assert_close(model(g), model.lins[1](F.relu(h)))


def test_attention_before_propagation_changes_the_output() -> None:
    torch.manual_seed(0)
    g = _graph()
    options = dict(lam=1.0, steps=4, mlp_before=1, mlp_after=0, dropout=0.0, attention=True, p=0.5, tau=0.1)
    plain = TWIRLS(4, 8, 3, **options).eval()
    before = TWIRLS(4, 8, 3, attention_before=True, **options).eval()
    before.load_state_dict(plain.state_dict())
    assert not torch.allclose(plain(g), before(g))
    # hand-computed: weights from Y0, S//2 steps, weights from Y, the rest
    y0 = before.lins[0](g.x)
    gamma, loops = before._attention(g, y0)
    y = twirls_propagate(g, y0, 1.0, steps=2, edge_values=gamma, loop_values=loops)
    gamma, loops = before._attention(g, y)
    y = twirls_propagate(g, y0, 1.0, steps=2, edge_values=gamma, loop_values=loops, y=y)
    torch.testing.assert_close(before(g), y)


def test_attention_dropout_only_in_training() -> None:
    g = _graph()
    y = torch.randn(7, 3, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(0)
    dropped = irls_attention(g, y, p=1.0, tau=0.1, dropout=0.5, training=True)
    full = irls_attention(g, y, p=1.0, tau=0.1)
    assert (dropped == 0).any()
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], 2 * full[kept])
    torch.testing.assert_close(irls_attention(g, y, p=1.0, tau=0.1, dropout=0.5, training=False), full)


def test_presets_follow_the_authors_commands() -> None:
    """Spot checks against the README commands of FFTYYY/TWIRLS."""
    cora = TWIRLS_PRESETS[("twirls", "cora")]["paper"]
    assert cora["model"]["steps"] == 8 and cora["model"]["input_dropout"] == 0.8 and cora["train"]["lr"] == 0.3
    assert TWIRLS_PRESETS[("twirls", "pubmed")]["paper"]["model"]["steps"] == 40
    texas = TWIRLS_PRESETS[("twirls-att", "texas")]["paper"]
    assert texas["model"]["lam"] == 0.001 and texas["model"]["p"] == 0.0 and texas["model"]["tau"] == 10.0
    assert texas["model"]["attention_before"] and texas["train"]["patience"] == 200
    assert TWIRLS_PRESETS[("twirls-att", "actor")]["paper"]["model"].get("attention_before") is None
    for options in TWIRLS_PRESETS.values():
        for preset in options.values():
            assert preset["model"]["symmetric"] and preset["model"]["b_form"] == "paper"


@pytest.mark.parametrize("form", [dict(), dict(symmetric=True, b_form="paper"), dict(preconditioned=False)])
def test_lambda_to_zero_gives_the_mlp_output_in_every_form(form: dict) -> None:
    torch.manual_seed(0)
    g = _graph()
    model = TWIRLS(4, 8, 3, lam=0.0, steps=6, mlp_before=1, mlp_after=1, dropout=0.0, **form).eval()
    expected = model.lins[1](F.relu(model.lins[0](g.x)))
    torch.testing.assert_close(model(g), expected)
    model.lam, model.alpha = 1e-7, 1.0 / (1.0 + 1e-7)  # λ -> 0: continuous
    torch.testing.assert_close(model(g), expected, atol=1e-5, rtol=1e-5)


def test_same_seed_same_training_run() -> None:
    from graphsparse.tasks.node import NodeTrainConfig, train_node
    from graphsparse.utils import seed_everything

    g = _graph().replace(
        splits={
            "s": (
                torch.tensor([1, 1, 0, 1, 0, 1, 0], dtype=torch.bool),
                torch.tensor([0, 0, 1, 0, 1, 0, 0], dtype=torch.bool),
                torch.tensor([0, 0, 0, 0, 0, 0, 1], dtype=torch.bool),
            )
        }
    )
    outs = []
    for _ in range(2):
        seed_everything(3)
        model = build_model(
            "twirls-att",
            4,
            3,
            hidden_channels=8,
            steps=4,
            input_dropout=0.3,
            dropout=0.3,
            mlp_before=2,
            attention_dropout=0.2,
            attention_before=True,
        )
        train_node(g, model, g.split("s"), NodeTrainConfig(epochs=5, lr=0.05))
        outs.append(model.eval()(g))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_sparse_features_take_the_csr_path_with_the_same_result() -> None:
    torch.manual_seed(0)
    g = _graph()
    x = torch.zeros(7, 50)
    x[torch.arange(7), torch.arange(7) * 3] = 1.0  # 2% non-zeros
    g = g.replace(x=x)
    model = TWIRLS(50, 8, 3, lam=1.0, steps=3, mlp_before=1, input_dropout=0.5).eval()
    expected = twirls_propagate(g, model.lins[0](x), 1.0, steps=3)
    torch.testing.assert_close(model(g), expected)
    assert any(
        isinstance(k, tuple) and k[0] == "twirls_sparse_x" and g._cached(k, lambda: None) is not None
        for k in g._cached_keys()
    )
    model.train()
    out = model(g)
    out.sum().backward()
    assert torch.isfinite(model.lins[0].weight.grad).all() and model.lins[0].weight.grad.abs().sum() > 0
