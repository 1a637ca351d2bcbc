"""Experiment trackers PyG users already use: MLflow (export of the results store) and TensorBoard (written live).

**MLflow** (:func:`export_mlflow`, ``graphsparse runs export --to mlflow [--tracking-uri URI]``; the optional
extra ``graphsparse[mlflow]``): every stored run becomes one MLflow run of the experiment (default
``"graphsparse"``) with

- params: the run's kind, dataset, model, seed and its flattened configuration (``config.train.lr``, ...);
- metrics: the stored metrics under their own names (``test_acc``, ``val_acc``, ``best_epoch``: what
  ``graphsparse runs show`` prints), timings as ``timing.<name>``, and the per-epoch history as
  ``curve.<name>`` (``curve.loss``, ``curve.val_score``...) with the epoch as the step;
- tags: ``graphsparse.id`` (the id ``runs list`` shows), ``graphsparse.kind``, the invocation id, git commit and
  installed package version.

The GLT levels of one search and method become one MLflow run whose steps are the rounds (the dense level is
step 0): ``test_acc_mean``, ``test_acc_std``, ``graph_sparsity``, ``weight_sparsity``, ... logged at each
round, so MLflow plots score against round; ``graphsparse.ids`` lists the levels' ids.

An export is idempotent: a run (or a GLT series with the same levels) already exported to the experiment (tag
``graphsparse.key``) is skipped, so rerunning an export adds only what is new.

**TensorBoard** (:class:`TensorBoardWriter`, ``--tensorboard DIR`` on ``train`` and ``glt``; the optional extra
``graphsparse[tensorboard]``, or any install where ``torch.utils.tensorboard`` imports): each finished run is
written as it is stored to ``DIR/<kind>-<dataset>-<model>-seed<seed>`` (its per-epoch history as
``curve/<name>`` by epoch, its final metrics as ``final/<name>``), each GLT level to
``DIR/glt-<dataset>-<model>-<method>`` (``test_<metric>_mean``, ``graph_sparsity``... with the round as the step).
:func:`tracked` wraps a results store so that everything stored is written too.

Neither package is imported until used; a missing one is a clear error naming the extra to install.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..sparsify.records import DENSE_LEVEL

__all__ = [
    "MLFLOW_EXPERIMENT",
    "export_mlflow",
    "check_mlflow",
    "glt_series",
    "TensorBoardWriter",
    "tracked",
    "flatten",
]

MLFLOW_EXPERIMENT = "graphsparse"
_PARAM_VALUE_MAX = 6000  # MLflow's limit on a param value's length
_BATCH = 900  # under MLflow's 1000 metrics per log_batch call
_PARAMS_BATCH = 100


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists kept whole)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _metric_name(name: str) -> str:
    """A name MLflow accepts (letters, digits, ``_ - . / :`` and spaces): ``hits@20`` -> ``hits_at_20``."""
    return re.sub(r"[^A-Za-z0-9_\-./: ]", "_", str(name).replace("@", "_at_"))


def _glt_search_id(record: dict[str, Any]) -> tuple[str, ...]:
    """The parts of a GLT level's key shared by every level of one search (whatever the method and round)."""
    parts = str(record["config"]["key"]).split("|")
    keep = [p for p in parts[:6]]  # glt, model, preset, dataset, data=..., schema=...
    keep += [p for p in parts[6:] if p.startswith(("seeds=", "cfg="))]
    return tuple(keep)


def glt_series(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The GLT level records grouped by search and method, each group's levels ordered by round.

    Args:
        records: ``graphsparse runs`` records; those of kind ``glt`` are grouped, the others ignored.

    Returns:
        One ``{"key", "method", "levels"}`` per (search, method) other than the dense baseline: ``levels`` starts
        with the search's dense level (round 0) when it is among ``records``. A dense level whose search has no
        other method among ``records`` is a series of its own.
    """
    levels = [r for r in records if r.get("kind") == "glt"]
    dense: dict[tuple[str, ...], dict[str, Any]] = {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record in levels:
        config = record["config"]
        search = _glt_search_id(record)
        if config.get("round") == DENSE_LEVEL.round:  # the search's dense baseline is its round 0
            dense[search] = record
            continue
        parts = str(config["key"]).split("|")
        extra = tuple(p for p in parts[6:] if not p.startswith(("round=", "pg=", "pw=")))
        groups.setdefault((*search, *extra), []).append(record)
    out = []
    used = set()
    for key, mine in groups.items():
        mine = sorted(mine, key=lambda r: int(r["config"].get("round") or 0))
        search = _glt_search_id(mine[0])
        base = dense.get(search)
        if base is not None:
            used.add(search)
        out.append(
            {"key": "|".join(key), "method": mine[0]["config"]["method"], "levels": [base, *mine] if base else mine}
        )
    for search, record in dense.items():
        if search not in used:
            out.append({"key": "|".join((*search, "dense")), "method": "dense", "levels": [record]})
    return out


def check_mlflow() -> None:
    """Raise ValueError (naming the extra to install) when mlflow cannot be imported."""
    _mlflow()


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ValueError(
            "exporting to MLflow needs the mlflow package: pip install 'graphsparse[mlflow]' (or mlflow-skinny)"
        ) from None
    return mlflow


def _params(record: dict[str, Any]) -> dict[str, str]:
    described = {
        "kind": record.get("kind"),
        "dataset": record.get("dataset"),
        "model": record.get("model"),
        "seed": record.get("seed"),
        "graph_fingerprint": record.get("graph_fingerprint"),
        "config": record.get("config") or {},
    }
    out = {}
    for key, value in flatten(described).items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        out[_metric_name(key)[:250]] = text[:_PARAM_VALUE_MAX]
    return out


def _tags(record: dict[str, Any]) -> dict[str, str]:
    invocation = record.get("invocation") or {}
    tags = {
        "graphsparse.id": str(record["id"]),
        "graphsparse.kind": str(record.get("kind")),
        "graphsparse.invocation": str(invocation.get("id") or ""),
        "graphsparse.git_commit": str(invocation.get("git_commit") or ""),
        "graphsparse.package_version": str(invocation.get("package_version") or ""),
        "graphsparse.argv": " ".join(invocation.get("argv") or [])[:5000],
    }
    versions = record.get("versions") or {}
    tags.update({f"graphsparse.versions.{k}": str(v) for k, v in versions.items()})
    return {k: v for k, v in tags.items() if v}


def _run_metrics(record: dict[str, Any], timestamp: int) -> list[tuple[str, float, int, int]]:
    """(name, value, timestamp ms, step) of one run: its metrics, timings and per-epoch curves."""
    out = []
    for name, value in (record.get("metrics") or {}).items():
        number = _number(value)
        if number is not None:
            out.append((_metric_name(name), number, timestamp, 0))
    for name, value in (record.get("timings") or {}).items():
        number = _number(value)
        if number is not None:
            out.append((_metric_name(f"timing.{name}"), number, timestamp, 0))
    for point in record.get("curves") or []:
        step = int(point.get("epoch", 0))
        for name, value in point.items():
            number = _number(value)
            if name != "epoch" and number is not None and math.isfinite(number):
                out.append((_metric_name(f"curve.{name}"), number, timestamp, step))
    return out


def _exported_keys(client: Any, experiment_id: str) -> set[str]:
    keys: set[str] = set()
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        keys.update(run.data.tags.get("graphsparse.key", "") for run in page)
        token = page.token
        if not token:
            return keys


def _log(client: Any, run_id: str, metrics: list[tuple[str, float, int, int]], params: dict[str, str]) -> None:
    from mlflow.entities import Metric, Param

    items = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(items), _PARAMS_BATCH):
        client.log_batch(run_id, params=items[start : start + _PARAMS_BATCH])
    values = [Metric(name, value, timestamp, step) for name, value, timestamp, step in metrics]
    for start in range(0, len(values), _BATCH):
        client.log_batch(run_id, metrics=values[start : start + _BATCH])


def export_mlflow(
    records: Sequence[dict[str, Any]],
    tracking_uri: str | None = None,
    experiment: str = MLFLOW_EXPERIMENT,
) -> dict[str, int]:
    """Export ``graphsparse runs`` records to MLflow (see the module docstring for what each becomes).

    Args:
        records: records as ``graphsparse runs list --json`` gives them (runs with their ``curves``, GLT levels).
        tracking_uri: where MLflow stores them (``sqlite:///mlflow.db``, ``file:./mlruns``, ``http://host:5000``);
            None: MLflow's default (``$MLFLOW_TRACKING_URI``, else its local default).
        experiment: the MLflow experiment (created when missing).

    Returns:
        ``{"runs": n, "glt_series": m, "skipped": k}``: MLflow runs created for stored runs and for GLT series,
        and records already exported before.

    Raises:
        ValueError: mlflow is not installed.
    """
    _mlflow()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
    done = _exported_keys(client, experiment_id)
    counts = {"runs": 0, "glt_series": 0, "skipped": 0}
    for record in records:
        if record.get("kind") == "glt":
            continue
        key = f"run {record['id']} {float(record['created']):.6f}"
        if key in done:
            counts["skipped"] += 1
            continue
        timestamp = int(1000 * float(record["created"]))
        name = f"{record['kind']} {record['dataset']} {record['model']} seed {record.get('seed')}"
        run = client.create_run(
            experiment_id, start_time=timestamp, tags={**_tags(record), "graphsparse.key": key}, run_name=name
        )
        _log(client, run.info.run_id, _run_metrics(record, timestamp), _params(record))
        client.set_terminated(run.info.run_id, end_time=timestamp)
        counts["runs"] += 1
    for series in glt_series(records):
        levels = series["levels"]
        key = "glt " + series["key"] + " " + ",".join(str(r["id"]) for r in levels)
        if key in done:
            counts["skipped"] += 1
            continue
        first, last = levels[0], levels[-1]
        timestamp = int(1000 * float(first["created"]))
        tags = {
            **_tags(last),
            "graphsparse.id": str(last["id"]),
            "graphsparse.ids": ",".join(str(r["id"]) for r in levels),
            "graphsparse.key": key,
            "graphsparse.method": str(series["method"]),
        }
        params = _params({**last, "config": {k: v for k, v in last["config"].items() if k in _GLT_SERIES_PARAMS}})
        metrics = []
        for level in levels:
            step, stamp = int(level["config"].get("round") or 0), int(1000 * float(level["created"]))
            metrics += [(n, v, stamp, step) for n, v, _, _ in _run_metrics(level, stamp)]
        name = f"glt {last['dataset']} {last['model']} {series['method']}"
        run = client.create_run(experiment_id, start_time=timestamp, tags=tags, run_name=name)
        _log(client, run.info.run_id, metrics, params)
        client.set_terminated(run.info.run_id, end_time=int(1000 * float(last["created"])))
        counts["glt_series"] += 1
    return counts


# the configuration shared by every level of a series (the per-level targets and round are metrics' steps)
_GLT_SERIES_PARAMS = ("preset", "task", "metric", "method", "seeds", "config_hash")


# ---------------------------------------------------------------------------------------------- TensorBoard
def _summary_writer() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ValueError(
            "--tensorboard needs the tensorboard package: pip install 'graphsparse[tensorboard]'"
        ) from None
    return SummaryWriter


def _folder_name(*parts: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,-]+", "_", "-".join(str(p) for p in parts if p is not None))


class TensorBoardWriter:
    """Writes finished runs and GLT levels as TensorBoard event files under ``folder`` (one sub-folder each).

    Args:
        folder: the log directory (``tensorboard --logdir folder`` shows it); created on first use.

    Raises:
        ValueError: torch.utils.tensorboard cannot be imported (the tensorboard package is missing).
    """

    def __init__(self, folder: str | Path) -> None:  # noqa: D107 (the class docstring documents the arguments)
        self.folder = Path(folder)
        self._writer_class = _summary_writer()
        self._writers: dict[str, Any] = {}

    def _writer(self, name: str) -> Any:
        if name not in self._writers:
            self._writers[name] = self._writer_class(log_dir=str(self.folder / name))
        return self._writers[name]

    def run(
        self,
        kind: str,
        dataset: str,
        model: str,
        seed: Any,
        metrics: dict[str, Any],
        curves: Iterable[dict[str, Any]] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        """One finished run: ``curve/<name>`` per epoch, ``final/<name>`` for each metric, the config as text."""
        writer = self._writer(_folder_name(kind, dataset, model, f"seed{seed}"))
        for point in curves or []:
            step = int(point.get("epoch", 0))
            for name, value in point.items():
                number = _number(value)
                if name != "epoch" and number is not None and math.isfinite(number):
                    writer.add_scalar(f"curve/{name}", number, step)
        for name, value in metrics.items():
            number = _number(value)
            if number is not None:
                writer.add_scalar(f"final/{name}", number, 0)
        if config:
            writer.add_text("config", json.dumps(config, sort_keys=True, default=str), 0)
        writer.flush()

    def level(self, key: str, payload: dict[str, Any]) -> None:
        """One GLT level (a ``glt|...`` store key and its payload): its numbers with the round as the step."""
        parts = key.split("|")
        if len(parts) < 5 or parts[0] != "glt" or not isinstance(payload, dict):
            return
        method = payload.get("method", "")
        writer = self._writer(_folder_name("glt", parts[3], parts[1], method))
        step = int(payload.get("round") or 0)
        for name, value in payload.items():
            number = _number(value)
            if name != "round" and number is not None and math.isfinite(number):
                writer.add_scalar(name, number, step)
        writer.flush()

    def close(self) -> None:
        """Flush and close every event file written so far."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


class _Tracked:
    """A results store that also hands every stored run and GLT level to a :class:`TensorBoardWriter`."""

    def __init__(self, store: Any, writer: TensorBoardWriter) -> None:
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_tracker", writer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._store, name, value)

    def record_run(self, kind: str, dataset: str, model: str, seed: Any, config: dict, metrics: dict, *args, **kw):
        run_id = self._store.record_run(kind, dataset, model, seed, config, metrics, *args, **kw)
        self._tracker.run(kind, dataset, model, seed, metrics, kw.get("curves"), config)
        return run_id

    def put(self, key: str, payload: dict[str, Any]) -> None:
        self._store.put(key, payload)
        self._tracker.level(key, payload)


def tracked(store: Any, writer: TensorBoardWriter | None) -> Any:
    """``store`` itself when ``writer`` is None, else a store that writes through to both.

    Attribute reads and writes (such as ``invocation``) go to ``store``; ``record_run`` and ``put`` store first,
    then write to TensorBoard.
    """
    return store if writer is None else _Tracked(store, writer)
