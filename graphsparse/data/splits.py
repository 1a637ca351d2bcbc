"""Seeded, vectorised random node splits (stratified per class, or plain fractions)."""

from __future__ import annotations

import numpy as np
import torch

from ..graph import GraphError, Split

__all__ = ["stratified_split", "stratified_splits", "fraction_split"]


def _ranks_within_class(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a random order of the labelled nodes: node ids, their class, and their rank inside their class."""
    nodes = np.flatnonzero(y >= 0)
    nodes = nodes[rng.permutation(nodes.size)]
    classes = y[nodes]
    order = np.argsort(classes, kind="stable")  # random order inside each class survives the stable sort
    nodes, classes = nodes[order], classes[order]
    counts = np.bincount(classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = np.arange(nodes.size) - starts[classes]
    return nodes, classes, ranks


def stratified_split(
    y: torch.Tensor,
    seed: int,
    train_per_class: int | None = 20,
    val_per_class: int | None = 30,
    train_fraction: float | None = None,
    val_fraction: float | None = None,
) -> Split:
    """One random split stratified by class: the Shchur et al. (2018) protocol by default.

    Per class, ``train_per_class`` nodes train and ``val_per_class`` validation (or ``train_fraction`` and
    ``val_fraction`` of the class, rounded), the rest of the labelled nodes test. Unlabelled nodes (``y = -1``) are
    in no mask. Small classes give train first, then validation. Deterministic for a given ``seed``.
    """
    y_np = y.detach().cpu().numpy().astype(np.int64)
    rng = np.random.default_rng(seed)
    nodes, classes, ranks = _ranks_within_class(y_np, rng)
    counts = np.bincount(classes) if classes.size else np.zeros(0, dtype=np.int64)
    if train_fraction is not None or val_fraction is not None:
        tf, vf = float(train_fraction or 0.0), float(val_fraction or 0.0)
        if not (0 <= tf and 0 <= vf and tf + vf <= 1):
            raise GraphError(f"split fractions must be >= 0 and sum to <= 1, got train={tf}, val={vf}")
        n_train = np.rint(counts * tf).astype(np.int64)
        n_val = np.minimum(np.rint(counts * vf).astype(np.int64), counts - n_train)
    else:
        if train_per_class is None or val_per_class is None or train_per_class < 0 or val_per_class < 0:
            raise GraphError(f"train_per_class/val_per_class must be >= 0, got {train_per_class}/{val_per_class}")
        n_train = np.minimum(counts, train_per_class)
        n_val = np.minimum(counts - n_train, val_per_class)
    in_train = ranks < n_train[classes]
    in_val = ~in_train & (ranks < (n_train + n_val)[classes])
    masks = []
    for chosen in (in_train, in_val, ~in_train & ~in_val):
        mask = torch.zeros(y_np.size, dtype=torch.bool)
        mask[torch.from_numpy(nodes[chosen])] = True
        masks.append(mask)
    return Split(*masks)


def stratified_splits(y: torch.Tensor, num_splits: int = 10, seed: int = 0, prefix: str = "random", **options) -> dict:
    """``num_splits`` stratified splits named ``<prefix>-0`` ... from seeds ``seed, seed + 1, ...``."""
    if num_splits < 1:
        raise GraphError(f"num_splits must be at least 1, got {num_splits}")
    return {f"{prefix}-{i}": stratified_split(y, seed + i, **options) for i in range(num_splits)}


def fraction_split(num_nodes: int, train: float, val: float, seed: int) -> Split:
    """A plain random split: ``train``/``val`` fractions of all nodes, the rest test."""
    if not (0 <= train and 0 <= val and train + val <= 1):
        raise GraphError(f"split fractions must be >= 0 and sum to <= 1, got train={train}, val={val}")
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(num_nodes))
    n_train, n_val = int(round(train * num_nodes)), int(round(val * num_nodes))
    masks = []
    for part in (perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]):
        mask = torch.zeros(num_nodes, dtype=torch.bool)
        mask[part] = True
        masks.append(mask)
    return Split(*masks)
