"""Hyperparameter presets: ``PRESETS[(model, dataset)][preset]`` -> {'model': {...}, 'train': {...}}.

A preset gives model options (passed to :func:`graphsparse.nn.build_model`) and training options (fields of
:class:`graphsparse.tasks.node.NodeTrainConfig`). Explicit command-line values override the preset.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS", "resolve_preset"]

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

# The GLT backbone of the TEDDY and UGS reference code (hyunjin72/TEDDY, VITA-Group/Unified-LTH-GNN): a 512-wide
# two-layer GCN, dropout 0.5, Adam 0.01 with L2 5e-4 on every parameter, 200 epochs, row-normalised features
_GLT_512 = {
    "model": {**_KIPF["model"], "hidden_channels": 512},
    # 512 columns: the bag-of-words SpMM is ~7x faster than the dense product on CiteSeer
    "train": {**_KIPF["train"], "decay_first_layer_only": False, "sparse_features": True},
}

PRESETS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("gcn", "cora"): {"paper": _KIPF, "teddy": _GLT_512},
    ("gcn", "citeseer"): {"paper": _KIPF, "teddy": _GLT_512},
    ("gcn", "pubmed"): {"paper": _KIPF, "teddy": _GLT_512},
}


def resolve_preset(model: str, dataset: str, preset: str | None) -> dict[str, dict[str, Any]]:
    """The preset's {'model': ..., 'train': ...}; ``{}`` parts when ``preset`` is None."""
    if preset is None:
        return {"model": {}, "train": {}}
    key = (model.lower(), dataset.lower())
    options = PRESETS.get(key, {})
    if preset not in options:
        known = sorted(f"{m}/{d}:{p}" for (m, d), ps in PRESETS.items() for p in ps if m == key[0])
        raise ValueError(
            f"no preset {preset!r} for model {model!r} on dataset {dataset!r}; "
            f"known for {model!r}: {', '.join(known) or 'none'}"
        )
    chosen = options[preset]
    return {"model": dict(chosen.get("model", {})), "train": dict(chosen.get("train", {}))}
