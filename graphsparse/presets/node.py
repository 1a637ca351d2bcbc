"""Model and training presets: ``PRESETS[(model, dataset)][preset]`` -> {'model': {...}, 'train': {...}}.

A preset gives model options (passed to :func:`graphsparse.nn.build_model`) and training options (fields of
:class:`graphsparse.tasks.node.NodeTrainConfig`). Explicit command-line values override the preset.

Defaults (what ``graphsparse train`` / ``glt`` use without ``--preset``; ``--preset none`` gives the bare library
defaults instead):

- ``train``: the ``'paper'`` preset of (model, dataset) when one is registered — e.g. GCN on Cora, CiteSeer and
  PubMed is Kipf & Welling's setting (16 hidden, dropout 0.5, Adam 0.01, 200 epochs, L2 5e-4 on the first layer
  only, row-normalised features); TWIRLS on its benchmarks is the authors' command. GCN on any other dataset
  gets Kipf & Welling's model and optimiser too (``'paper'`` under the dataset wildcard ``'*'``: 16 hidden,
  dropout 0.5, Adam 0.01, 200 epochs, L2 5e-4 on the first layer only) but *not* their feature
  row-normalisation, which suits bag-of-words features only (Yandex's and Amazon's numeric or dense features
  would lose their scale). ``pyg-gcn`` (PyG's own GCN through :class:`graphsparse.nn.PyGModel`) gets the same
  presets as ``gcn`` (its first layer, for the decay, is the PyG model's ``convs[0]``). Other models without a
  registered preset keep the library defaults.
- ``glt``: the ``'teddy'`` preset when one is registered (GCN on Cora, CiteSeer, PubMed: the 512-wide GCN of the
  TEDDY and UGS reference code), with TEDDY's distillation λ = :data:`GLT_DISTILL` and UGS's l1 coefficients
  s1 = s2 = 1e-4 (``graphsparse.sparsify.methods.ugs.ugs_l1_coefficients(..., 'teddy')``); other (model, dataset) pairs
  keep the library defaults (and the UGS reference's coefficients), still with λ = :data:`GLT_DISTILL`.
  GCN on ogbn-arxiv gets ``'teddy-ogb'``: the settings of the TEDDY code's arxiv script (:data:`TEDDY_OGB_SOURCE`),
  which also fix the GLT schedule (20 rounds, pg = pw = 0.1) and TEDDY's λ = 0.1 (its ``'glt'`` part).
- link prediction (``train --task link``): :data:`LINK_DEFAULTS`, Kipf & Welling's GAE (2016).

Data only: this module imports nothing from graphsparse.
"""

from __future__ import annotations

from typing import Any

from .twirls import TWIRLS_PRESETS

__all__ = [
    "PRESETS",
    "LINK_DEFAULTS",
    "GLT_DISTILL",
    "GLT_PRESETS",
    "TEDDY_OGB_SOURCE",
    "ANY_DATASET",
    "resolve_preset",
    "default_preset",
    "NO_PRESET",
]

ANY_DATASET = "*"  # a preset registered for (model, '*') applies to every dataset without its own
NO_PRESET = "none"  # --preset none: the bare library defaults

# Kipf & Welling (ICLR 2017): 16 hidden, dropout 0.5, Adam 0.01, L2 5e-4 on the first layer, row-normalised x
_KIPF = {
    "model": {"hidden_channels": 16, "dropout": 0.5},
    "train": {
        "epochs": 200,
        "lr": 0.01,
        "weight_decay": 5e-4,
        "decay_first_layer_only": True,
        "normalize_features": True,
    },
}

# Kipf & Welling's model and optimiser for datasets they did not run: no feature row-normalisation (see above)
_KIPF_ANY = {"model": dict(_KIPF["model"]), "train": {**_KIPF["train"], "normalize_features": False}}

# The GLT backbone of the TEDDY and UGS reference code (hyunjin72/TEDDY, VITA-Group/Unified-LTH-GNN): a 512-wide
# two-layer GCN, dropout 0.5, Adam 0.01 with L2 5e-4 on every parameter, 200 epochs, row-normalised features
_GLT_512 = {
    "model": {**_KIPF["model"], "hidden_channels": 512},
    # at 512 columns the bag-of-words SpMM beats the dense product (benchmarks/README.md)
    "train": {**_KIPF["train"], "decay_first_layer_only": False, "sparse_features": True},
}

# TEDDY on ogbn-arxiv: the argparse defaults of hyunjin72/TEDDY's main_teddy_ogb.py (commit 126a08e; its README
# gives commands for the Planetoid sets only): GCN (--net GCN), --embedding_dim 512, --n_layers 2, --dropout 0.5,
# Adam --lr 0.01 --weight_decay 5e-4 on every parameter, --total_epoch 200, n_simulations = 20 pruning rounds with
# --pruning_percent_adj 0.1 (pg) and --pruning_percent_wei 0.1 (pw) per round, features as OGB gives them (no
# row-normalisation), the adjacency symmetrised (adj_t.to_symmetric()). Distillation is the script's --distill_reg
# switch with --lamb 0.1 (its default); every TEDDY command of the README passes --distill_reg, so the preset
# distils with λ = 0.1 (`--distill 0` switches it off). The script's GCNConv layers have no bias; graphsparse's
# GCN keeps its bias (as the Planetoid 'teddy' preset does).
TEDDY_OGB_SOURCE = "hyunjin72/TEDDY main_teddy_ogb.py @ 126a08e4e3696dcc6ce42bc0c1180cd34930f428 (argparse defaults)"
_TEDDY_OGB = {
    "model": {"hidden_channels": 512, "num_layers": 2, "dropout": 0.5},
    "train": {
        "epochs": 200,
        "lr": 0.01,
        "weight_decay": 5e-4,
        "decay_first_layer_only": False,
        "normalize_features": False,
    },
    # the GLT schedule and the methods' option defaults (explicit --rounds/--pg/--pw/--distill override them)
    "glt": {"rounds": 20, "pg": 0.1, "pw": 0.1, "method_options": {"distill": 0.1}},
}

PRESETS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("gcn", "cora"): {"paper": _KIPF, "teddy": _GLT_512},
    ("gcn", "citeseer"): {"paper": _KIPF, "teddy": _GLT_512},
    ("gcn", "pubmed"): {"paper": _KIPF, "teddy": _GLT_512},
    ("gcn", ANY_DATASET): {"paper": _KIPF_ANY},
    ("gcn", "ogbn-arxiv"): {"teddy-ogb": _TEDDY_OGB},
    # PyG's own GCN (torch_geometric.nn.models.GCN behind PyGModel) under the same protocol as graphsparse's GCN,
    # so `train --model gcn,pyg-gcn` compares the two implementations, not two protocols
    ("pyg-gcn", "cora"): {"paper": _KIPF},
    ("pyg-gcn", "citeseer"): {"paper": _KIPF},
    ("pyg-gcn", "pubmed"): {"paper": _KIPF},
    ("pyg-gcn", ANY_DATASET): {"paper": _KIPF_ANY},
    **TWIRLS_PRESETS,
}

# the GLT presets, in the order `glt` picks its default from those registered for (model, dataset)
GLT_PRESETS = ("teddy", "teddy-ogb")

# TEDDY's distillation weight λ (Seo et al., ICLR 2024: the reference's TEDDY commands distil with λ = 10)
GLT_DISTILL = 10.0

# Kipf & Welling's GAE (2016): 32-16 GCN encoder, inner-product decoder, Adam 0.01, 200 epochs, no L2, no dropout
LINK_DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {"hidden_channels": 32, "out_channels": 16, "decoder": "dot", "dropout": 0.0},
    "train": {"epochs": 200, "lr": 0.01, "weight_decay": 0.0, "hits": (20, 50, 100)},
    "split": {"val_fraction": 0.05, "test_fraction": 0.10, "neg_ratio": 1},
}


def _options(model: str, dataset: str) -> dict[str, dict[str, Any]]:
    key = (model.lower(), dataset.lower())
    return {**PRESETS.get((key[0], ANY_DATASET), {}), **PRESETS.get(key, {})}


def default_preset(model: str, dataset: str, purpose: str = "train") -> str | None:
    """The preset used without ``--preset``, or None when none is registered.

    ``'paper'`` for ``train``; for ``glt`` the GLT papers' own protocol: ``'teddy'`` (Planetoid) or ``'teddy-ogb'``
    (ogbn-arxiv), never a wildcard's.
    """
    if purpose == "glt":  # the GLT protocol is the published one: no wildcard fallback
        registered = PRESETS.get((model.lower(), dataset.lower()), {})
        return next((name for name in GLT_PRESETS if name in registered), None)
    if purpose != "train":
        raise KeyError(purpose)
    return "paper" if "paper" in _options(model, dataset) else None


def resolve_preset(model: str, dataset: str, preset: str | None) -> dict[str, dict[str, Any]]:
    """The preset's parts: ``{'model': ..., 'train': ..., 'glt': ...}``; ``{}`` parts for None or ``'none'``.

    ``'glt'`` holds what a GLT preset fixes beyond model and training: ``rounds``, ``pg``, ``pw`` and
    ``method_options`` (defaults of the methods' options, e.g. ``distill``); empty for the other presets.

    Raises:
        ValueError: ``preset`` is not registered for (model, dataset).
    """
    if preset is None or preset.lower() == NO_PRESET:
        return {"model": {}, "train": {}, "glt": {}}
    options = _options(model, dataset)
    if preset not in options:
        known = sorted(f"{m}/{d}:{p}" for (m, d), ps in PRESETS.items() for p in ps if m == model.lower())
        raise ValueError(
            f"no preset {preset!r} for model {model!r} on dataset {dataset!r}; "
            f"known for {model!r}: {', '.join(known) or 'none'}"
        )
    chosen = options[preset]
    glt = dict(chosen.get("glt", {}))
    if "method_options" in glt:
        glt["method_options"] = dict(glt["method_options"])
    return {"model": dict(chosen.get("model", {})), "train": dict(chosen.get("train", {})), "glt": glt}
