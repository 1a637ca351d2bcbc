"""Synthetic graphs: a degree-corrected stochastic block model (DC-SBM) with class-correlated features.

Model (Karrer & Newman, "Stochastic blockmodels and community structure in networks", Phys. Rev. E 2011): every
node ``i`` has a class ``c_i`` (balanced) and a degree propensity ``theta_i`` drawn from a power law
``P(theta) ~ theta^(-degree_exponent)`` (capped at ``sqrt(N)``). Each candidate edge picks its first endpoint ``u``
with probability proportional to ``theta``; with probability ``homophily`` the second endpoint comes from ``u``'s
class, otherwise from a uniformly chosen other class, again proportional to ``theta`` inside that class. Candidates
are drawn in chunks until exactly ``num_edges`` distinct undirected edges (no self-loops) exist, so the expected
edge homophily is about ``homophily`` and degrees follow ``theta``.

Features are ``x_i = mu_{c_i} + feature_noise * eps_i`` with class means ``mu_c ~ N(0, class_separation^2 I)`` and
``eps_i ~ N(0, I)``. Everything is vectorised (numpy, chunked so that 30M-edge graphs stay within a few GB) and
determined by ``seed``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..graph import Graph, GraphError
from .splits import fraction_split, stratified_split

__all__ = ["synthetic_dcsbm"]

_CHUNK = 1 << 22  # candidate edges drawn per vectorised step (bounds temporary memory)


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` via an in-place sort (numpy's own ``unique`` is many times slower on large int64 arrays)."""
    keys.sort()
    if keys.size < 2:
        return keys
    keep = np.empty(keys.size, dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _sample_in_classes(
    classes: np.ndarray,
    cum: np.ndarray,
    class_lo: np.ndarray,
    class_mass: np.ndarray,
    class_end: np.ndarray,
    order: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One node per entry of ``classes``, drawn proportionally to theta inside that class."""
    r = class_lo[classes] + rng.random(classes.size) * class_mass[classes]
    pos = np.searchsorted(cum, r, side="right")
    pos = np.minimum(pos, class_end[classes] - 1)  # guard against r hitting the class's upper float edge
    return order[pos]


def synthetic_dcsbm(
    num_nodes: int = 1000,
    num_edges: int = 5000,
    num_features: int = 32,
    num_classes: int = 4,
    homophily: float = 0.8,
    degree_exponent: float = 2.5,
    feature_noise: float = 1.0,
    class_separation: float = 1.0,
    split: str = "random",
    train_fraction: float = 0.6,
    val_fraction: float = 0.2,
    train_per_class: int = 20,
    val_per_class: int = 30,
    seed: int = 0,
) -> Graph:
    """A degree-corrected SBM graph with ``num_edges`` distinct undirected edges, features, labels and one split.

    Args:
        num_nodes, num_edges, num_features, num_classes: sizes (``num_features = 0`` gives ``x = None``).
        homophily: probability that a candidate edge stays inside its first endpoint's class.
        degree_exponent: power-law exponent (> 1) of the degree propensities; larger is more uniform.
        feature_noise, class_separation: noise scale and class-mean scale of the Gaussian features.
        split: ``"random"`` (``train_fraction``/``val_fraction`` of all nodes, rest test, split name ``"random"``),
            ``"per-class"`` (``train_per_class``/``val_per_class`` per class, rest test, name ``"per-class"``)
            or ``"none"``.
        seed: everything (classes, degrees, edges, features, split) is a function of it.
    """
    n, m, c, f = int(num_nodes), int(num_edges), int(num_classes), int(num_features)
    if n < 2 or c < 1 or m < 0 or f < 0:
        raise GraphError(
            f"synthetic_dcsbm needs num_nodes >= 2, num_classes >= 1, num_edges/num_features >= 0 "
            f"(got {n}, {c}, {m}, {f})"
        )
    if c > n:
        raise GraphError(f"num_classes={c} exceeds num_nodes={n}")
    if m > n * (n - 1) // 2:
        raise GraphError(f"num_edges={m} exceeds the {n * (n - 1) // 2} possible edges on {n} nodes")
    if not 0.0 <= homophily <= 1.0:
        raise GraphError(f"homophily must be in [0, 1], got {homophily}")
    if degree_exponent <= 1.0:
        raise GraphError(f"degree_exponent must be > 1, got {degree_exponent}")
    if split not in ("random", "per-class", "none"):
        raise GraphError(f"split must be 'random', 'per-class' or 'none', got {split!r}")
    rng = np.random.default_rng(seed)

    y = rng.permutation(np.arange(n, dtype=np.int64) % c)
    theta = (1.0 - rng.random(n)) ** (-1.0 / (degree_exponent - 1.0))
    np.minimum(theta, max(np.sqrt(n), 1.0), out=theta)

    order = np.argsort(y, kind="stable")  # nodes grouped by class
    cum = np.cumsum(theta[order])
    counts = np.bincount(y, minlength=c)
    class_end = np.cumsum(counts)
    class_start = class_end - counts
    class_lo = np.where(class_start > 0, cum[np.maximum(class_start - 1, 0)], 0.0)
    class_mass = cum[class_end - 1] - class_lo
    total = cum[-1]

    def draw(k: int) -> np.ndarray:
        """Keys ``u * n + v`` (u < v) of ``k`` candidate edges, self-loops dropped."""
        keys = []
        for start in range(0, k, _CHUNK):
            size = min(_CHUNK, k - start)
            r = rng.random(size) * total
            r.sort()  # sorted queries make searchsorted cache-friendly; the order of candidates does not matter
            u = order[np.minimum(np.searchsorted(cum, r, side="right"), n - 1)]
            cu = y[u]
            if c > 1:
                other = (cu + rng.integers(1, c, size=size)) % c
                cv = np.where(rng.random(size) < homophily, cu, other)
            else:
                cv = cu
            v = _sample_in_classes(cv, cum, class_lo, class_mass, class_end, order, rng)
            lo, hi = np.minimum(u, v), np.maximum(u, v)
            keep = lo != hi
            keys.append(lo[keep] * n + hi[keep])
        return np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)

    keys = _sorted_unique(draw(int(m * 1.05) + 16)) if m else np.empty(0, dtype=np.int64)
    for _ in range(50):
        if keys.size >= m:
            break
        deficit = m - keys.size
        keys = _sorted_unique(np.concatenate([keys, draw(2 * deficit + 16)]))
    else:
        raise GraphError(f"could not draw {m} distinct edges (got {keys.size}); the graph is too dense for the model")
    if keys.size > m:  # drop a uniformly random surplus
        drop = rng.choice(keys.size, size=keys.size - m, replace=False)
        keep = np.ones(keys.size, dtype=bool)
        keep[drop] = False
        keys = keys[keep]
    edges = torch.from_numpy(np.stack([keys // n, keys % n]))
    del keys

    x = None
    if f > 0:
        means = (rng.standard_normal((c, f), dtype=np.float32) * np.float32(class_separation)).astype(np.float32)
        x_np = rng.standard_normal((n, f), dtype=np.float32)
        x_np *= np.float32(feature_noise)
        for start in range(0, n, 1 << 18):  # chunked to avoid an N x F temporary
            x_np[start : start + (1 << 18)] += means[y[start : start + (1 << 18)]]
        x = torch.from_numpy(x_np)

    y_t = torch.from_numpy(y)
    splits = {}
    if split == "random":
        splits["random"] = fraction_split(n, train_fraction, val_fraction, seed)
    elif split == "per-class":
        splits["per-class"] = stratified_split(y_t, seed, train_per_class=train_per_class, val_per_class=val_per_class)
    return Graph(edges, num_nodes=n, x=x, y=y_t, splits=splits, name="synthetic")
