"""Where a 512-wide TEDDY epoch on Cora spends its time, part by part, in this checkout and an older tree.

One epoch of the Cora TEDDY protocol (``graphsparse glt --dataset cora --method teddy --preset teddy``): the
512-wide 2-layer GCN on CSR bag-of-words features, a training step (forward with dropout, cross-entropy plus
λ = 10 distillation to a teacher's logits, backward, Adam, the l0 projection at 65% weight sparsity, about level 10)
and the validation pass (an evaluation-mode forward, accuracy and loss on the validation nodes). Each part is timed
on its own: ``forward``, ``loss``, ``backward``, ``adam``, ``l0``, ``validate``, and their sum ``epoch``.

``--baseline-code DIR`` times the graphsparse package of another source tree (e.g. ``git archive <commit>
graphsparse | tar -x -C DIR``) in the same process: it is copied under another name (``graphsparse_baseline``),
both models are built from the same seed, and their epochs alternate, so that both see the same load — on a
shared machine separate processes minutes apart do not. The teacher's logits are random (fixed seed): the parts
cost the same whatever the teacher. Medians over ``--epochs`` epochs after 10 warm-up epochs; freed memory is
kept for reuse as the ``graphsparse`` command keeps it (:func:`graphsparse.utils.keep_freed_memory`).

Usage::

    python benchmarks/glt_epoch_parts.py                                  # this checkout, 1 thread
    python benchmarks/glt_epoch_parts.py --baseline-code /tmp/old --epochs 200 --json
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from graphsparse.threads import choose_wait_policy  # noqa: E402  (imports no torch)

choose_wait_policy(os.environ)  # the project's wait policy, before torch's OpenMP runtime reads it (at import)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from graphsparse.utils import keep_freed_memory  # noqa: E402

PARTS = ("forward", "loss", "backward", "adam", "l0", "validate")
HIDDEN, DISTILL, WEIGHT_SPARSITY = 512, 10.0, 0.65


def _baseline_package(code: Path, folder: Path) -> str:
    """Copy ``code``'s graphsparse package into ``folder`` as ``graphsparse_baseline``; return that name.

    The package imports itself relatively; the few absolute ``graphsparse.`` imports are renamed too.
    """
    target = folder / "graphsparse_baseline"
    shutil.copytree(code / "graphsparse", target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        text = path.read_text()
        renamed = text.replace("from graphsparse.", "from graphsparse_baseline.").replace(
            "import graphsparse.", "import graphsparse_baseline."
        )
        if renamed != text:
            path.write_text(renamed)
    sys.path.insert(0, str(folder))
    return "graphsparse_baseline"


def _epoch_runner(package: str) -> Callable[[], list[float]]:
    """One TEDDY epoch of ``package``'s model and trainer pieces; returns the seconds of each of :data:`PARTS`."""

    def module(name: str) -> Any:
        return importlib.import_module(f"{package}.{name}")

    data, nn_, node, glt = module("data"), module("nn"), module("tasks.node"), module("tasks.glt")
    train, weights = module("train"), module("sparsify.weights")
    graph = node.with_sparse_features(node.row_normalize_features(data.load_dataset("cora", root=REPO / "datasets")))
    classes = int(graph.y.max()) + 1
    torch.manual_seed(0)
    model = nn_.GCN(graph.num_features, HIDDEN, classes)
    logits = torch.randn(graph.num_nodes, classes, generator=torch.Generator().manual_seed(1))
    loss_fn = glt.node_loss(graph.y, glt.Teacher(logits, DISTILL), None)
    _, split = node.split_for_seed(graph, 0)
    train_idx, val_idx = split.index("train"), split.index("val")
    optimizer = train.make_optimizer(model, 0.01, 5e-4)
    project = functools.partial(weights.l0_projection, sparsity=WEIGHT_SPARSITY)

    def epoch() -> list[float]:
        ticks = [time.perf_counter()]
        model.train()
        optimizer.zero_grad()
        out = model(graph)
        ticks.append(time.perf_counter())
        loss = loss_fn(out, train_idx)
        ticks.append(time.perf_counter())
        loss.backward()
        ticks.append(time.perf_counter())
        optimizer.step()
        ticks.append(time.perf_counter())
        project(model)
        ticks.append(time.perf_counter())
        model.eval()
        with torch.no_grad():
            out = model(graph)
            node.node_metric(out, graph.y, val_idx, "acc", part="val")
            float(F.cross_entropy(out[val_idx], graph.y[val_idx]))
        ticks.append(time.perf_counter())
        return [b - a for a, b in zip(ticks, ticks[1:])]

    return epoch


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time the parts; print a table (or ``--json``) and write the report to ``--out`` when given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-code", type=Path, default=None, help="another source tree to time alongside")
    parser.add_argument("--epochs", type=int, default=100, help="timed epochs per tree (default: 100)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report (JSON) there")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.threads < 1:
        parser.error("--epochs and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    with tempfile.TemporaryDirectory(prefix="glt_epoch_parts_") as tmp:
        packages = {"this checkout": "graphsparse"}
        if args.baseline_code is not None:
            if not (args.baseline_code / "graphsparse" / "__init__.py").is_file():
                parser.error(f"--baseline-code {args.baseline_code}: no graphsparse package there")
            packages["baseline"] = _baseline_package(args.baseline_code.resolve(), Path(tmp))
        runs = {name: _epoch_runner(package) for name, package in packages.items()}
        for run in runs.values():
            for _ in range(10):
                run()
        times: dict[str, dict[str, list[float]]] = {name: collections.defaultdict(list) for name in runs}
        load_before = os.getloadavg()
        for i in range(args.epochs):
            for name in list(runs) if i % 2 == 0 else list(reversed(runs)):  # alternate: the same load for both
                parts = runs[name]()
                for part, seconds in zip(PARTS, parts):
                    times[name][part].append(seconds)
                times[name]["epoch"].append(sum(parts))
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "threads": args.threads,
        "epochs": args.epochs,
        "load": [[round(x, 2) for x in load_before], [round(x, 2) for x in os.getloadavg()]],
        "baseline_code": str(args.baseline_code) if args.baseline_code else None,
    }
    for name, parts in times.items():
        report[name] = {part: round(statistics.median(values) * 1e3, 3) for part, values in parts.items()}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        names = [n for n in ("baseline", "this checkout") if n in report]
        print(f"ms per part, medians of {args.epochs} epochs, {args.threads} thread(s), load {report['load']}")
        for part in (*PARTS, "epoch"):
            print(f"{part:9s} " + "   ".join(f"{n} {report[n][part]:7.2f}" for n in names))
    return report


if __name__ == "__main__":
    main()
