"""GAug presets: the paper's best hyperparameters per dataset and backbone (zhao-tong/GAug, best_parameters.json).

``GAUG_PRESETS[(method, model, dataset)][preset]`` -> ``{'gaug': {...}, 'model': {...}, 'train': {...}}``:
``gaug`` holds GAug-O's :class:`~graphsparse.augment.gaug_o.GAugOConfig` fields or GAug-M's ``rm_pct`` /
``add_pct`` (and the edge predictor's epochs), ``model`` the backbone's options, ``train`` the classifier's
training options. The reference's classifiers: GCN and GraphSAGE with 128 hidden units and dropout 0.5;
GAT with 8 heads of 16 and dropout 0.6 (learning rate 0.005); row-normalised features; GAug-O runs with
``warmup=0`` (the reference's train script overrides the stored warm-up). The PubMed and Coauthor CS entries
are not from the paper (it has no such runs): they reuse the Cora GCN values for the sparse-mode runs.

Without ``--preset``, ``graphsparse train --augment ...`` uses the ``'paper'`` entry when one is registered for
(method, model, dataset) (:func:`default_gaug_preset`); ``--preset none`` gives the library defaults.
Data only: this module imports nothing from graphsparse.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GAUG_PRESETS", "resolve_gaug_preset", "default_gaug_preset"]

_GCN = {"hidden_channels": 128, "dropout": 0.5}
_SAGE = {"hidden_channels": 128, "dropout": 0.5}
_GAT = {"hidden_channels": 16, "heads": 8, "dropout": 0.6}
_MODEL = {"gcn": _GCN, "sage": _SAGE, "gat": _GAT}
_LR = {"gcn": 0.01, "sage": 0.01, "gat": 0.005}

# (model, dataset): alpha, beta, temperature, pretrain_ep, pretrain_nc
_GAUG_O = {
    ("gcn", "cora"): (1.0, 0.8, 1.2, 160, 30),
    ("gcn", "citeseer"): (0.79, 2.9, 0.5, 70, 215),
    ("gat", "cora"): (0.02, 2.3, 1.7, 175, 45),
    ("gat", "citeseer"): (0.18, 0.4, 1.6, 210, 10),
    ("sage", "cora"): (0.13, 3.2, 1.0, 195, 35),
    ("sage", "citeseer"): (0.08, 0.0, 1.4, 290, 10),
    ("gcn", "pubmed"): (1.0, 0.8, 1.2, 160, 30),  # not in the paper: Cora's values
    ("gcn", "coauthor-cs"): (1.0, 0.8, 1.2, 160, 30),  # not in the paper: Cora's values
}

# GAug-M's edge predictor in the reference (its vgae/ folder): 32 ELU units, 16-d linear embeddings, 200 epochs
_GAUG_M_PREDICTOR = {
    "ep_epochs": 200,
    "ep_hidden": 32,
    "ep_out": 16,
    "ep_hidden_activation": "elu",
    "ep_out_activation": "none",
}

# (model, dataset): rm_pct, add_pct
_GAUG_M = {
    ("gcn", "cora"): (2, 57),
    ("gcn", "citeseer"): (0, 46),
    ("sage", "cora"): (1, 80),
    ("sage", "citeseer"): (2, 37),
    ("gat", "cora"): (1, 68),
}


def _build() -> dict[tuple[str, str, str], dict[str, dict[str, dict[str, Any]]]]:
    presets: dict[tuple[str, str, str], dict[str, dict[str, dict[str, Any]]]] = {}
    for (model, dataset), (alpha, beta, temp, pre_ep, pre_nc) in _GAUG_O.items():
        gaug = {"alpha": alpha, "beta": beta, "temperature": temp, "pretrain_ep": pre_ep, "pretrain_nc": pre_nc}
        gaug.update({"warmup": 0.0, "lr": _LR[model], "weight_decay": 5e-4, "epochs": 200, "patience": 100})
        presets[("gaug-o", model, dataset)] = {"paper": {"gaug": gaug, "model": dict(_MODEL[model]), "train": {}}}
    for (model, dataset), (rm, add) in _GAUG_M.items():
        train = {"epochs": 200, "lr": _LR[model], "weight_decay": 5e-4, "normalize_features": True}
        presets[("gaug-m", model, dataset)] = {
            "paper": {
                "gaug": {"rm_pct": rm, "add_pct": add, **_GAUG_M_PREDICTOR},
                "model": dict(_MODEL[model]),
                "train": train,
            }
        }
    return presets


GAUG_PRESETS = _build()


def resolve_gaug_preset(method: str, model: str, dataset: str, preset: str | None) -> dict[str, dict[str, Any]]:
    """The preset's ``{'gaug', 'model', 'train'}`` parts (empty dicts when ``preset`` is None or ``'none'``)."""
    if preset is None or preset.lower() == "none":
        return {"gaug": {}, "model": {}, "train": {}}
    key = (method.lower(), model.lower(), dataset.lower())
    options = GAUG_PRESETS.get(key, {})
    if preset not in options:
        known = sorted(f"{m}/{d}" for (meth, m, d), ps in GAUG_PRESETS.items() if meth == key[0] and preset in ps)
        raise ValueError(
            f"no {method} preset {preset!r} for model {model!r} on dataset {dataset!r}; known: {', '.join(known)}"
        )
    chosen = options[preset]
    return {part: dict(chosen.get(part, {})) for part in ("gaug", "model", "train")}


def default_gaug_preset(method: str, model: str, dataset: str) -> str | None:
    """``'paper'`` when the GAug paper has a setting for (method, model, dataset), else None."""
    return "paper" if "paper" in GAUG_PRESETS.get((method.lower(), model.lower(), dataset.lower()), {}) else None
