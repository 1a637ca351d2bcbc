"""Search spaces as data: one per method, printable as JSON and overridable from a JSON file.

A space maps a parameter name to its distribution and to the part of the configuration it sets
(``"target"``):

* ``{"type": "float", "low": 1e-4, "high": 0.1, "log": true, "target": "train"}`` (``log`` optional,
  ``step`` optional, not with ``log``);
* ``{"type": "int", "low": 0, "high": 20, "target": "gaug"}`` (``step`` optional, ``log`` optional);
* ``{"type": "categorical", "choices": [false, true], "target": "model"}``;
* a plain value (number, string, boolean, null is *not* one: see below) fixes the parameter: it is set in its
  target and not searched (``{"fixed": 0.5, "target": "model"}`` when the name is new to the space).

Targets: ``model`` (model options, e.g. ``hidden_channels``), ``train`` (training options: ``lr``,
``weight_decay``), ``gaug`` (GAug-M/GAug-O options; ``draw`` picks GAug-M's edge-predictor draw, its predictor
seed); a GLT method's space is its ``search_space`` (UGS: ``s1``, ``s2``; target ``method``).

An override file (``graphsparse tune --space FILE``) holds ``{name: entry}``: an entry replaces the built-in
one, ``null`` removes the parameter from the search (the preset's value stays), a plain value fixes it, and a
name the method's space does not have must say its ``target``. The built-in ranges bracket the published
settings (the presets in :mod:`graphsparse.presets`) and the ranges their papers searched.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..validation import check_choice, check_float, check_int

__all__ = [
    "Param",
    "SearchSpace",
    "SPACES",
    "TARGETS",
    "METHODS",
    "builtin_space",
    "load_space_overrides",
    "space_for",
]

TARGETS = ("model", "train", "gaug", "method")
TYPES = ("float", "int", "categorical", "fixed")

# the built-in spaces, as data (JSON-able): method -> {name: entry}
SPACES: dict[str, dict[str, Any]] = {
    # GCN (and any backbone tuned on its own): optimiser and width, around Kipf & Welling's 0.01 / 5e-4 / 0.5 / 16
    "gcn": {
        "lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True, "target": "train"},
        "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True, "target": "train"},
        "dropout": {"type": "float", "low": 0.0, "high": 0.8, "step": 0.1, "target": "model"},
        "hidden_channels": {"type": "categorical", "choices": [16, 32, 64, 128], "target": "model"},
    },
    # GAug-M (Zhao et al.): % of |E| removed / added and which edge-predictor draw (predictor seed) builds the graph
    "gaug-m": {
        "rm_pct": {"type": "int", "low": 0, "high": 20, "target": "gaug"},
        "add_pct": {"type": "int", "low": 0, "high": 100, "target": "gaug"},
        "draw": {"type": "int", "low": 0, "high": 9, "target": "gaug"},
    },
    # GAug-O: P' = α P + (1-α) A, loss + β · edge loss, relaxed-Bernoulli temperature, pre-training epochs
    "gaug-o": {
        "alpha": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.01, "target": "gaug"},
        "beta": {"type": "float", "low": 0.0, "high": 4.0, "step": 0.1, "target": "gaug"},
        "temperature": {"type": "float", "low": 0.1, "high": 2.0, "step": 0.1, "target": "gaug"},
        "pretrain_ep": {"type": "int", "low": 5, "high": 300, "step": 5, "target": "gaug"},
        "pretrain_nc": {"type": "int", "low": 5, "high": 300, "step": 5, "target": "gaug"},
    },
    # TWIRLS (Yang et al.): λ of the energy, unrolled propagation steps, IRLS attention on/off
    "twirls": {
        "lam": {"type": "float", "low": 0.01, "high": 10.0, "log": True, "target": "model"},
        "steps": {"type": "int", "low": 2, "high": 64, "log": True, "target": "model"},
        "attention": {"type": "categorical", "choices": [False, True], "target": "model"},
    },
}
METHODS = tuple(SPACES)  # the backbone and augmentation methods; GLT methods bring their own space


def glt_tunable(method: str) -> bool:
    """Whether ``method`` is a registered GLT method with a search space (``graphsparse tune --method``)."""
    from ..sparsify.methods import method_class, method_names

    return method in method_names() and bool(method_class(method).search_space)


@dataclass(frozen=True)
class Param:
    """One parameter of a space: its distribution (or fixed value) and the configuration part it sets."""

    name: str
    type: str
    target: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    fixed: Any = None

    @classmethod
    def from_entry(cls, name: str, entry: Any, default_target: str | None, where: str) -> Param:
        """Parse one space entry (see the module docstring); ``where`` names the source in errors."""
        if not isinstance(entry, Mapping):
            if isinstance(entry, (bool, int, float, str)):
                if default_target is None:
                    raise ValueError(
                        f"{where}: parameter {name!r} is not in the built-in space; fix it with "
                        f'{{"fixed": VALUE, "target": ...}} (targets: {", ".join(TARGETS)})'
                    )
                return cls(name, "fixed", default_target, fixed=entry)
            raise ValueError(f"{where}: parameter {name!r} must be an object, a plain value or null, got {entry!r}")
        known = {"type", "low", "high", "log", "step", "choices", "fixed", "target"}
        unknown = set(entry) - known
        if unknown:
            raise ValueError(f"{where}: parameter {name!r} has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        target = entry.get("target", default_target)
        if target is None:
            raise ValueError(f"{where}: parameter {name!r} needs a 'target' ({', '.join(TARGETS)})")
        check_choice(f"{where}: {name} target", target, TARGETS)
        kind = entry.get("type", "fixed" if "fixed" in entry else None)
        check_choice(f"{where}: {name} type", kind, TYPES)
        if kind == "fixed":
            if "fixed" not in entry:
                raise ValueError(f"{where}: parameter {name!r} of type 'fixed' needs a 'fixed' value")
            return cls(name, "fixed", target, fixed=entry["fixed"])
        if kind == "categorical":
            choices = entry.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ValueError(f"{where}: parameter {name!r} needs a non-empty 'choices' list")
            for choice in choices:
                if choice is not None and not isinstance(choice, (bool, int, float, str)):
                    raise ValueError(f"{where}: {name} choices must be numbers, strings, booleans or null")
            return cls(name, "categorical", target, choices=tuple(choices))
        for key in ("low", "high"):
            if key not in entry:
                raise ValueError(f"{where}: parameter {name!r} of type {kind!r} needs '{key}'")
        check = check_int if kind == "int" else check_float
        low = check(f"{where}: {name} low", entry["low"], None)
        high = check(f"{where}: {name} high", entry["high"], None)
        if high < low:
            raise ValueError(f"{where}: parameter {name!r} has high {high} < low {low}")
        log = entry.get("log", False)
        if not isinstance(log, bool):
            raise ValueError(f"{where}: {name} log must be true or false, got {log!r}")
        step = entry.get("step")
        if step is not None:
            step = check(f"{where}: {name} step", step, None)
            if step <= 0:
                raise ValueError(f"{where}: {name} step must be > 0, got {step}")
            if log:
                raise ValueError(f"{where}: parameter {name!r} cannot have both 'log' and 'step'")
        if log and low <= 0:
            raise ValueError(f"{where}: parameter {name!r} is searched on a log scale: low must be > 0, got {low}")
        return cls(name, kind, target, low=low, high=high, log=log, step=step)

    def to_entry(self) -> dict[str, Any]:
        """The JSON-able entry this parameter was parsed from (normalised)."""
        entry: dict[str, Any] = {"type": self.type, "target": self.target}
        if self.type == "fixed":
            entry["fixed"] = self.fixed
        elif self.type == "categorical":
            entry["choices"] = list(self.choices)
        else:
            entry.update(low=self.low, high=self.high)
            if self.log:
                entry["log"] = True
            if self.step is not None:
                entry["step"] = self.step
        return entry

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna ``trial`` suggests for this parameter (a fixed one returns its value)."""
        if self.type == "fixed":
            return self.fixed
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=step, log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)


class SearchSpace:
    """The parameters of one method's search, in order; ``split(values)`` sorts values into their targets."""

    def __init__(self, method: str, params: list[Param]) -> None:
        """Hold the parameters of ``method``'s search.

        Args:
            method: the tuned method (a key of :data:`SPACES`, or a GLT method with a search space).
            params: its parameters, in the order a trial suggests them.
        """
        self.method = method
        self.params = list(params)

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Iterate over the parameters, in order."""
        return iter(self.params)

    def __len__(self) -> int:
        """The number of parameters (fixed ones included)."""
        return len(self.params)

    @property
    def searched(self) -> list[Param]:
        """The parameters a trial searches (all but the fixed ones)."""
        return [p for p in self.params if p.type != "fixed"]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Every parameter's value for ``trial`` (fixed ones included)."""
        return {p.name: p.suggest(trial) for p in self.params}

    def complete(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` (a trial's searched parameters) with the fixed parameters added."""
        out = {p.name: p.fixed for p in self.params if p.type == "fixed"}
        out.update({k: v for k, v in values.items() if k in {p.name for p in self.params}})
        return out

    def by_target(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """``{target: {name: value}}`` for every target (empty dicts where nothing is set)."""
        parts: dict[str, dict[str, Any]] = {t: {} for t in TARGETS}
        for p in self.params:
            if p.name in values:
                parts[p.target][p.name] = values[p.name]
        return parts

    def to_dict(self) -> dict[str, Any]:
        """``{name: entry}`` for every parameter, in the format of an override file."""
        return {p.name: p.to_entry() for p in self.params}

    def to_json(self) -> str:
        """The space as indented JSON (what ``graphsparse tune --print-space`` prints; a valid override file)."""
        return json.dumps(self.to_dict(), indent=2)

    def digest(self) -> str:
        """A short hash of the space (part of a study's default name: a changed space is a new study)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:8]


def builtin_space(method: str) -> dict[str, Any]:
    """A copy of the built-in space of ``method`` (see :data:`SPACES`)."""
    if method not in SPACES and glt_tunable(method):
        from ..sparsify.methods import method_class

        return copy.deepcopy(method_class(method).search_space)
    check_choice("tuning method", method, METHODS)
    return copy.deepcopy(SPACES[method])


def load_space_overrides(path: str | Path) -> dict[str, Any]:
    """The ``{name: entry}`` object of an override file; a missing or malformed file raises ValueError naming it."""
    from ..validation import load_json_file

    path = Path(path)
    data = load_json_file(path, "--space", "see `graphsparse tune --print-space` for the format", max_bytes=1 << 20)
    if not isinstance(data, dict):
        raise ValueError(f"--space {path}: must hold a JSON object {{name: entry}}, got {type(data).__name__}")
    return data


def space_for(
    method: str, overrides: Mapping[str, Any] | None = None, where: str = "search space", draws: int | None = None
) -> SearchSpace:
    """The search space of ``method`` with ``overrides`` applied (see the module docstring).

    ``draws`` narrows GAug-M's ``draw`` range to ``0..draws-1``.
    """
    entries = builtin_space(method)
    if draws is not None and "draw" in entries:
        entries["draw"]["high"] = check_int("draws", draws, 1) - 1
    targets = {name: entry["target"] for name, entry in entries.items()}
    for name, entry in (overrides or {}).items():
        if entry is None:
            entries.pop(name, None)
        else:
            entries[name] = entry
    params = [Param.from_entry(name, entry, targets.get(name), where) for name, entry in entries.items()]
    return SearchSpace(method, params)
