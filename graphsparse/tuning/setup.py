"""Where a study starts: the base configuration of each method, and the plain backbone trained beside it.

The base configuration comes from the presets; every final evaluation trains the plain backbone beside the tuned
configuration.
"""

from __future__ import annotations

from typing import Any

from ..validation import check_choice
from .objective import TuneSetup

__all__ = ["method_for", "build_setup", "baseline_setup", "GAUG_M_TRAIN", "FIXED_GAUG_M_ONLY"]

# what a GAug-M backbone trains with when the preset says nothing (as `graphsparse train --augment gaug-m`)
GAUG_M_TRAIN = {"epochs": 200, "lr": 0.01, "weight_decay": 5e-4, "normalize_features": True}
# GAug-M options of `train --gaug` that are no configuration here: ep_draws sets the draw range, ep_select_seeds
# the seeds per trial
FIXED_GAUG_M_ONLY = ("ep_draws", "ep_select_seeds")


def method_for(model: str, augment: str | None, method: str | None) -> str:
    """The search space a command tunes.

    A GLT method with a search space (``--method ugs``), ``gaug-m``/``gaug-o`` (``--augment``), ``twirls``
    (``--model twirls``/``twirls-att``), else ``gcn`` (the backbone's optimiser and width).
    """
    if method is not None:
        from ..sparsify.methods import method_names
        from .space import glt_tunable

        check_choice("--method", method, [m for m in method_names() if glt_tunable(m)])
        if augment is not None:
            raise ValueError(
                f"--method {method} tunes a graph lottery ticket search: it does not combine with --augment"
            )
        return method
    if augment is not None:
        return check_choice("--augment", augment, ("gaug-m", "gaug-o"))
    return "twirls" if model in ("twirls", "twirls-att") else "gcn"


def build_setup(
    method: str,
    model: str,
    dataset: str,
    split: str,
    *,
    preset: str | None = None,
    metric: str = "acc",
    train: dict[str, Any] | None = None,
    gaug: dict[str, Any] | None = None,
    rounds: int = 5,
    device: str = "cpu",
) -> TuneSetup:
    """The :class:`TuneSetup` of ``method``.

    It starts from the preset of (model, dataset) — GAug's for ``gaug-*``, the GLT protocol's for a GLT method,
    the paper's otherwise, ``preset`` naming another (``'none'``: library defaults) — with explicit ``train``
    options (epochs, lr, weight decay) and fixed ``gaug`` options on top.
    """
    from ..presets import default_gaug_preset, default_preset, resolve_gaug_preset, resolve_preset

    train, gaug = dict(train or {}), dict(gaug or {})
    from .space import glt_tunable

    glt = glt_tunable(method)
    base: dict[str, dict[str, Any]] = {"model": {}, "train": {}, "gaug": {}, "method": {}}
    if method in ("gaug-m", "gaug-o"):
        name = preset if preset is not None else default_gaug_preset(method, model, dataset)
        chosen = resolve_gaug_preset(method, model, dataset, name)
        base["model"] = chosen["model"]
        base["gaug"] = {**chosen["gaug"], **gaug}
        if method == "gaug-m":
            base["train"] = {**GAUG_M_TRAIN, **chosen["train"], **train}
        else:
            base["gaug"].update(train)  # GAug-O's own optimiser: epochs, lr, weight decay live in its config
            base["train"] = {}
    else:
        if gaug:
            raise ValueError("--gaug applies to --augment gaug-m and gaug-o only")
        name = preset if preset is not None else default_preset(model, dataset, "glt" if glt else "train")
        chosen = resolve_preset(model, dataset, name)
        base["model"], base["train"] = chosen["model"], {**chosen["train"], **train}
        if glt:
            from ..sparsify.methods import MethodSetup, method_class

            preset_name = None if name is None or name.lower() == "none" else name
            cls = method_class(method)
            fixed = chosen["glt"].get("method_options", {})  # a GLT preset's option defaults (teddy-ogb's λ)
            values = {o.name: fixed[o.name] for o in cls.options if o.name in fixed}
            defaults = cls.configure(MethodSetup(dataset=dataset, preset=preset_name, task="node"), **values)
            base["method"] = defaults.describe()
    return TuneSetup(
        method=method,
        model=model,
        dataset=dataset,
        split=split,
        metric=metric,
        preset=name,
        base=base,
        rounds=rounds,
        device=str(device),
    )


def baseline_setup(setup: TuneSetup) -> TuneSetup | None:
    """The plain backbone trained beside the tuned configuration on the same seeds.

    GAug's backbone on the original graph with GAug's training options; Kipf & Welling's GCN beside a tuned GCN or
    TWIRLS; None for a GLT method (its search trains the dense model itself).
    """
    if setup.glt:
        return None
    if setup.method == "gaug-m":
        base = {"model": dict(setup.base["model"]), "train": dict(setup.base["train"]), "gaug": {}, "method": {}}
        model = setup.model
    elif setup.method == "gaug-o":
        gaug = setup.base["gaug"]
        train = {"normalize_features": True}
        train.update({k: gaug[k] for k in ("epochs", "lr", "weight_decay") if k in gaug})
        base = {"model": dict(setup.base["model"]), "train": train, "gaug": {}, "method": {}}
        model = setup.model
    else:
        from ..presets import default_preset, resolve_preset

        chosen = resolve_preset("gcn", setup.dataset, default_preset("gcn", setup.dataset))
        epochs = {"epochs": setup.base["train"]["epochs"]} if "epochs" in setup.base["train"] else {}
        base = {"model": chosen["model"], "train": {**chosen["train"], **epochs}, "gaug": {}, "method": {}}
        model = "gcn"
    return TuneSetup(
        method="gcn",
        model=model,
        dataset=setup.dataset,
        split=setup.split,
        metric=setup.metric,
        preset="baseline",
        base=base,
        device=setup.device,
    )
