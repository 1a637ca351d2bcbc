"""Hostile-input reliability table: try every case for real, classify it, write docs/reliability.md.

Each case is one hostile or careless input a user might give — a CLI flag, a Python config, a damaged dataset
file, an interruption, a numeric extreme, an empty or extreme graph — run for real and classified automatically:

- **clear error**: the command exits 2 with one line on stderr and no traceback (the API raises ValueError or the
  dataset/graph error type with a message);
- **works**: a case that should work (a graph without edges, a single node, ...) ran and its check passed;
- **kept**: an interrupted run ended with one line and exit 130/143, and everything it had finished is stored (a
  failing results database: exit 1, every finished run committed or kept in the recovery file or on stdout);
- **traceback**: a Python traceback on stderr (the API raised any other exception type);
- **silently wrong**: exit 0 (or a normal return) where an error was expected, or a result that fails its check;
- **lost**: finished work missing after an interrupted run, or training done before an output was found bad;
- **other**: anything else (a multi-line error, a wrong exit status, a valid input refused).

CLI cases run :func:`graphsparse.cli.main` in this process (stdout/stderr captured; an exception escaping ``main``
is what a user would see as a traceback); signals and pipes run the ``graphsparse`` console script in a
subprocess. Usage::

    OMP_NUM_THREADS=1 python benchmarks/reliability.py            # every case; writes docs/reliability.md
    OMP_NUM_THREADS=1 python benchmarks/reliability.py --only cli  # cases whose category or input contain 'cli'
    OMP_NUM_THREADS=1 python benchmarks/reliability.py --check     # CI (make reliability): exit 1 on any failure
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCRIPT = str(Path(sys.executable).parent / "graphsparse")
NAN, INF = float("nan"), float("inf")
OUTCOMES = ("clear error", "works", "kept", "traceback", "silently wrong", "lost", "other")
TINY_TRAIN = ["train", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--epochs", "2", "--seeds", "1"]
TINY_GLT = [
    "glt",
    "--dataset",
    "cora",
    "--preset",
    "none",
    "--hidden",
    "8",
    "--method",
    "teddy",
    "--distill",
    "0",
    "--epochs",
    "2",
    "--seeds",
    "1",
    "--rounds",
    "2",
]


@dataclass
class Case:
    category: str
    input: str
    expected: str
    run: Callable[[Path], tuple[str, str]]  # (outcome, detail), given a fresh scratch folder


@dataclass
class Row:
    case: Case
    outcome: str
    detail: str
    seconds: float = field(default=0.0)


# ------------------------------------------------------------------------------------------------- running


@dataclass
class Observed:
    code: int
    out: str
    err: str
    steps: int  # optimizer steps taken (training happened)


def _steps_counter():
    import torch

    count = [0]
    original = torch.optim.Adam.step

    def counting(self, *args, **kwargs):
        count[0] += 1
        return original(self, *args, **kwargs)

    return count, original, counting


def run_main(argv: list[str], scratch: Path, db: bool = True) -> Observed:
    """``graphsparse <argv>`` in this process; a results database in ``scratch`` unless ``argv`` names one."""
    import torch

    from graphsparse.cli import main

    argv = list(argv)
    command = argv[0] if argv else ""
    if db and "--db" not in argv and command in ("train", "glt"):
        argv += ["--db", str(scratch / "g.db")]
    if command in ("train", "glt") and "--no-progress" not in argv:
        argv.append("--no-progress")
    if command == "glt" and "--plot" not in argv:
        argv += ["--plot", str(scratch / "glt.png")]
    count, original, counting = _steps_counter()
    out, err = io.StringIO(), io.StringIO()
    torch.optim.Adam.step = counting
    cwd = os.getcwd()
    try:
        os.chdir(scratch)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # what a user would see: the interpreter's traceback, exit 1
                err.write(traceback.format_exc())
                code = 1
    finally:
        os.chdir(cwd)
        torch.optim.Adam.step = original
    return Observed(int(code), out.getvalue(), err.getvalue(), count[0])


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def classify_error(obs: Observed, before_work: bool = False) -> tuple[str, str]:
    """An error was expected: one line, exit 2, no traceback (and, for outputs, before any training)."""
    lines = _lines(obs.err)
    first = lines[-1][:160] if lines else ""
    if "Traceback" in obs.err:
        return "traceback", first
    if obs.code == 0:
        return "silently wrong", "exit 0" + (f"; stdout: {_lines(obs.out)[0][:100]}" if _lines(obs.out) else "")
    if before_work and obs.steps:
        return "lost", f"trained {obs.steps} steps before refusing: {first}"
    if obs.code == 2 and len(lines) == 1:
        return "clear error", lines[0][:160]
    return "other", f"exit {obs.code}, {len(lines)} stderr lines: {first}"


def cli_error(argv: list[str], before_work: bool = False, db: bool = True) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        return classify_error(run_main(argv, scratch, db=db), before_work)

    return run


def cli_finite(argv: list[str]) -> Callable[[Path], tuple[str, str]]:
    """Either a clear error or a run whose stored numbers are all finite (never NaN stored)."""

    def run(scratch: Path) -> tuple[str, str]:
        obs = run_main(argv, scratch)
        if obs.code != 0:
            return classify_error(obs)
        stored = _stored_numbers(scratch / "g.db")
        bad = [v for v in stored if not math.isfinite(v)]
        if bad or not stored:
            return "silently wrong", f"stored {len(bad)} non-finite of {len(stored)} numbers"
        return "works", f"exit 0, {len(stored)} stored numbers all finite"

    return run


def _stored_numbers(db: Path) -> list[float]:
    import json

    if not db.exists():
        return []
    values: list[float] = []

    def walk(item: Any) -> None:
        if isinstance(item, bool):
            return
        if isinstance(item, (int, float)):
            values.append(float(item))
        elif isinstance(item, dict):
            for v in item.values():
                walk(v)
        elif isinstance(item, list):
            for v in item:
                walk(v)

    with sqlite3.connect(db) as con:
        for (metrics,) in con.execute("SELECT metrics FROM runs"):
            walk(json.loads(metrics, parse_constant=float))
        for (payload,) in con.execute("SELECT payload FROM results"):
            walk(json.loads(payload, parse_constant=float))
    return values


def api(fn: Callable[[], Any], expected: str = "error") -> Callable[[Path], tuple[str, str]]:
    """A Python API call: expected 'error' (ValueError or the graph/dataset error) or 'works' (``fn`` returns a
    truthy check, or a string explaining what is wrong)."""

    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.graph import GraphError

        try:
            result = fn()
        except (ValueError, GraphError) as err:
            message = f"{type(err).__name__}: {err}".splitlines()[0][:160]
            return ("clear error", message) if expected == "error" else ("other", f"refused: {message}")
        except Exception as err:  # noqa: BLE001 — any other type is a crash the user sees as a traceback
            return "traceback", f"{type(err).__name__}: {err}".splitlines()[0][:160]
        if expected == "error":
            return "silently wrong", f"accepted, returned {str(result)[:100]}"
        if isinstance(result, str) or not result:
            return "silently wrong", str(result)[:160]
        return "works", "as expected"

    return run


# --------------------------------------------------------------------------------------------------- cases


def T(data: Any) -> Any:  # noqa: N802 — an integer tensor (edge lists, labels)
    import torch

    return torch.tensor(data, dtype=torch.long).reshape(2, -1) if _is_edges(data) else torch.tensor(data)


def _is_edges(data: Any) -> bool:
    return isinstance(data, list) and len(data) == 2 and all(isinstance(row, list) for row in data)


def M(*masks: list[int]) -> tuple[Any, ...]:  # noqa: N802 — boolean split masks
    import torch

    return tuple(torch.tensor(m, dtype=torch.bool) for m in masks)


def cli_cases() -> list[Case]:
    cases: list[Case] = []
    train_bad = [
        ["--lr", "nan"],
        ["--lr", "inf"],
        ["--lr=-inf"],
        ["--lr", "0"],
        ["--lr=-0.01"],
        ["--weight-decay", "nan"],
        ["--weight-decay", "inf"],
        ["--weight-decay=-1"],
        ["--dropout", "nan"],
        ["--dropout", "1"],
        ["--dropout=-0.5"],
        ["--hidden", "0"],
        ["--hidden=-16"],
        ["--layers", "0"],
        ["--epochs", "0"],
        ["--epochs=-5"],
        ["--seeds", "0"],
        ["--seed-offset=-1"],
        ["--lr", "abc"],
        ["--epochs", "2.5"],
    ]
    for extra in train_bad:
        cases.append(Case("CLI: numbers", "train " + " ".join(extra), "clear error", cli_error([*TINY_TRAIN, *extra])))
    glt_bad = [
        ["--pg", "nan"],
        ["--pg", "1"],
        ["--pw", "inf"],
        ["--pw=-0.1"],
        ["--rounds", "0"],
        ["--distill", "nan"],
        ["--distill", "inf"],
        ["--distill=-1"],
        ["--hidden", "0"],
        ["--seeds", "0"],
        ["--epochs", "0"],
    ]
    for extra in glt_bad:
        cases.append(Case("CLI: numbers", "glt " + " ".join(extra), "clear error", cli_error([*TINY_GLT, *extra])))
    ugs = _with_method(TINY_GLT, "ugs")
    for extra in (["--s1", "nan"], ["--s2", "inf"], ["--s1=-1"], ["--levels", "2"]):
        cases.append(
            Case("CLI: numbers", "glt --method ugs " + " ".join(extra), "clear error", cli_error([*ugs, *extra]))
        )
    for gaug in (
        "rm_pct=inf",
        "rm_pct=nan",
        "add_pct=-5",
        "ep_draws=inf",
        "ep_hidden=0",
        "ep_epochs=nan",
        "rm_pct=0|nan",
    ):
        cases.append(
            Case(
                "CLI: numbers",
                f"train --augment gaug-m --gaug {gaug}",
                "clear error",
                cli_error(
                    [
                        "train",
                        "--dataset",
                        "cora",
                        "--augment",
                        "gaug-m",
                        "--gaug",
                        gaug,
                        "--epochs",
                        "1",
                        "--seeds",
                        "1",
                    ]
                ),
            )
        )
    for gaug in ("temperature=nan", "alpha=inf", "beta=-1", "warmup=nan", "candidate_ratio=inf", "lr=nan"):
        cases.append(
            Case(
                "CLI: numbers",
                f"train --augment gaug-o --gaug {gaug}",
                "clear error",
                cli_error(
                    [
                        "train",
                        "--dataset",
                        "cora",
                        "--augment",
                        "gaug-o",
                        "--gaug",
                        gaug,
                        "--epochs",
                        "1",
                        "--seeds",
                        "1",
                    ]
                ),
            )
        )
    for extra in (
        ["--parts", "0"],
        ["--clusters-per-batch", "0"],
        ["--parts", "nan"],
        ["--clusters-per-batch", "9", "--parts", "4"],
    ):
        cases.append(
            Case(
                "CLI: numbers",
                "train --batching cluster " + " ".join(extra),
                "clear error",
                cli_error([*TINY_TRAIN, "--batching", "cluster", *extra]),
            )
        )
    inapplicable = [
        ("train --parts 4 (full batch)", [*TINY_TRAIN, "--parts", "4"]),
        ("train --hits 10 (node task)", [*TINY_TRAIN, "--hits", "10"]),
        ("train --task link --layers 3", ["train", "--dataset", "cora", "--task", "link", "--layers", "3"]),
        ("train --augment gaug-m --batching cluster", [*TINY_TRAIN, "--augment", "gaug-m", "--batching", "cluster"]),
        ("train --gaug-mode dense (no --augment)", [*TINY_TRAIN, "--gaug-mode", "dense"]),
        ("glt --method teddy --s1 0.1", [*TINY_GLT, "--s1", "0.1"]),
        ("glt --method random --distill 5", [*_with_method(TINY_GLT, "random"), "--distill", "5"]),
        ("glt --method ugs --wd-lambda 1", [*_with_method(TINY_GLT, "ugs"), "--wd-lambda", "1"]),
        ("glt --task link --split public", [*TINY_GLT, "--task", "link", "--split", "public"]),
    ]
    for text, argv in inapplicable:
        cases.append(Case("CLI: inapplicable options", text, "clear error", cli_error(argv)))
    choices = [
        ("train --dataset nosuch", ["train", "--dataset", "nosuch"]),
        ("train --model nosuch", [*TINY_TRAIN, "--model", "nosuch"]),
        ("train --task graph", [*TINY_TRAIN, "--task", "graph"]),
        ("train --metric f1", [*TINY_TRAIN, "--metric", "f1"]),
        ("train --preset nosuch", [*TINY_TRAIN, "--preset", "nosuch"]),
        ("train --split nosuch", [*TINY_TRAIN, "--split", "nosuch"]),
        ("train --gaug bogus=1 (gaug-m)", ["train", "--dataset", "cora", "--augment", "gaug-m", "--gaug", "bogus=1"]),
        ("glt --method nosuch", [*TINY_GLT[:8], "nosuch", *TINY_GLT[9:]]),
        ("glt --method teddy,teddy", [*TINY_GLT[:8], "teddy,teddy", *TINY_GLT[9:]]),
        ("glt --levels 5-3", [*TINY_GLT, "--levels", "5-3"]),
        ("glt --levels 99", [*TINY_GLT, "--levels", "99"]),
        ("glt --task graph", [*TINY_GLT, "--task", "graph"]),
        ("no subcommand", []),
        ("train (no --dataset)", ["train"]),
        ("train --dataset cora extra-positional", [*TINY_TRAIN, "extra"]),
        ("datasets --name nosuch", ["datasets", "--name", "nosuch", "--no-load"]),
    ]
    for text, argv in choices:
        cases.append(Case("CLI: bad choices", text, "clear error", cli_error(argv, db=bool(argv))))
    for device in ("meta", "mps", "cuda:99", "xla", "gpu", "cuda:-1"):
        cases.append(
            Case(
                "CLI: devices",
                f"train --device {device}",
                "clear error",
                cli_error([*TINY_TRAIN, "--device", device], before_work=True),
            )
        )
    return cases


def preflight_cases() -> list[Case]:
    def setup(kind: str, command: str) -> Callable[[Path], tuple[str, str]]:
        def run(scratch: Path) -> tuple[str, str]:
            (scratch / "afile").write_text("x")
            (scratch / "adir").mkdir()
            (scratch / "junk.db").write_text("this is not a database\n" * 50)
            argv = list(TINY_TRAIN if command == "train" else TINY_GLT)
            target = {
                "db-folder": ["--db", str(scratch / "adir")],
                "db-parent-file": ["--db", str(scratch / "afile" / "g.db")],
                "db-not-sqlite": ["--db", str(scratch / "junk.db")],
                "db-proc": ["--db", "/proc/graphsparse-reliability.db"],
                "plot-parent-file": ["--plot", str(scratch / "afile" / "p.png")],
                "plot-suffix": ["--plot", str(scratch / "p.xyz")],
                "plot-no-suffix": ["--plot", str(scratch / "p")],
                "plot-folder": ["--plot", str(scratch / "adir")],
                "plot-proc": ["--plot", "/proc/graphsparse-reliability.png"],
            }[kind]
            return classify_error(run_main([*argv, *target], scratch), before_work=True)

        return run

    cases = []
    for kind, text in (
        ("db-folder", "--db <a folder>"),
        ("db-parent-file", "--db <file>/g.db"),
        ("db-not-sqlite", "--db <a text file>"),
        ("db-proc", "--db /proc/x.db"),
    ):
        for command in ("train", "glt"):
            cases.append(
                Case("Preflight: outputs", f"{command} {text}", "clear error before training", setup(kind, command))
            )
    for kind, text in (
        ("plot-parent-file", "--plot <file>/p.png"),
        ("plot-suffix", "--plot p.xyz"),
        ("plot-no-suffix", "--plot p (no suffix)"),
        ("plot-folder", "--plot <a folder>"),
        ("plot-proc", "--plot /proc/p.png"),
    ):
        cases.append(Case("Preflight: outputs", f"glt {text}", "clear error before training", setup(kind, "glt")))

    def read_only(scratch: Path) -> tuple[str, str]:
        from graphsparse.experiments.store import ResultsStore

        db = scratch / "ro.db"
        ResultsStore(db)
        original = ResultsStore._connect
        ResultsStore._connect = lambda self: sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return classify_error(run_main([*TINY_TRAIN, "--seeds", "2", "--db", str(db)], scratch), before_work=True)
        finally:
            ResultsStore._connect = original

    cases.append(
        Case(
            "Preflight: outputs",
            "train --db <read-only database> (opened read-only)",
            "clear error before training",
            read_only,
        )
    )

    def distributed_out(scratch: Path) -> tuple[str, str]:
        from graphsparse.cli.distributed import main as distributed_main

        (scratch / "afile").write_text("x")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = distributed_main(["--dataset", "cora", "--epochs", "1", "--out", str(scratch / "afile")])
            except Exception:  # noqa: BLE001
                err.write(traceback.format_exc())
                code = 1
        return classify_error(Observed(code, "", err.getvalue(), 0))

    cases.append(
        Case(
            "Preflight: outputs", "python -m graphsparse.cli.distributed --out <a file>", "clear error", distributed_out
        )
    )
    return cases


def api_cases() -> list[Case]:
    import torch

    from graphsparse.augment.gaug_m import edit_counts
    from graphsparse.augment.gaug_o import GAugOConfig
    from graphsparse.batching import ClusterConfig
    from graphsparse.distributed import DistributedConfig
    from graphsparse.experiments.store import ResultsStore
    from graphsparse.graph import Graph
    from graphsparse.nn import TWIRLS, build_model
    from graphsparse.sparsify import UGS, WDGLT, Teddy
    from graphsparse.sparsify.methods.ugs import UGSMasked
    from graphsparse.sparsify.search import glt_levels, glt_search
    from graphsparse.tasks.link import LinkTrainConfig
    from graphsparse.tasks.node import NodeTrainConfig
    from graphsparse.utils import resolve_device

    cases = []

    def add(text: str, fn: Callable[[], Any], expected: str = "error") -> None:
        cases.append(
            Case("Python API: configs", text, "clear error" if expected == "error" else "works", api(fn, expected))
        )

    for cls in (NodeTrainConfig, LinkTrainConfig):
        for name, value in (
            ("lr", NAN),
            ("lr", INF),
            ("lr", 0.0),
            ("weight_decay", NAN),
            ("weight_decay", -INF),
            ("epochs", 0),
            ("epochs", NAN),
            ("patience", 0),
        ):
            add(f"{cls.__name__}({name}={value})", lambda c=cls, n=name, v=value: c(**{n: v}))
    for name, value in (("num_parts", NAN), ("num_parts", 0), ("clusters_per_batch", INF), ("eval_every", 0)):
        add(f"ClusterConfig({name}={value})", lambda n=name, v=value: ClusterConfig(**{n: v}))
    for name, value in (
        ("alpha", NAN),
        ("beta", INF),
        ("temperature", NAN),
        ("temperature", 0.0),
        ("warmup", NAN),
        ("lr", INF),
        ("weight_decay", NAN),
        ("candidate_ratio", INF),
        ("ep_hidden", 0),
        ("pretrain_ep", INF),
    ):
        add(f"GAugOConfig({name}={value})", lambda n=name, v=value: GAugOConfig(**{n: v}))
    for name, value in (("lr", NAN), ("dropout", INF), ("parts", 0)):
        add(f"DistributedConfig({name}={value})", lambda n=name, v=value: DistributedConfig(dataset="cora", **{n: v}))
    for name, value in (("lam", INF), ("lam", NAN), ("alpha", NAN), ("tau", INF), ("T", NAN), ("steps", 0)):
        add(f"TWIRLS({name}={value})", lambda n=name, v=value: TWIRLS(4, 8, 3, **{n: v}))
    for model in ("gcn", "mlp", "gat"):
        for name, value in (
            ("hidden_channels", 0),
            ("hidden_channels", NAN),
            ("num_layers", 0),
            ("dropout", 1.0),
            ("dropout", NAN),
        ):
            add(
                f"build_model('{model}', {name}={value})",
                lambda m=model, n=name, v=value: build_model(m, 8, 3, **{n: v}),
            )
    graph = Graph(T([[0, 1, 2], [1, 2, 3]]), num_nodes=4, x=torch.rand(4, 2), y=T([0, 1, 0, 1]))
    levels = glt_levels(1, 0.05, 0.2)
    # method options are checked when the method object is built, before any search
    for cls, name, value in (
        (UGS, "s1", NAN),
        (UGS, "s2", INF),
        (UGS, "s1", -1.0),
        (Teddy, "distill", NAN),
        (Teddy, "distill", INF),
        (WDGLT, "wd_lambda", NAN),
        (WDGLT, "wd_iters", 0),
    ):
        add(f"{cls.__name__}({name}={value})", lambda c=cls, n=name, v=value: c(**{n: v}))
    add(
        "glt_search(methods='nosuch')",
        lambda: next(glt_search(graph, lambda: build_model("gcn", 2, 2), methods="nosuch", levels=levels)),
    )
    add("glt_levels(3, pg=nan, pw=0.2)", lambda: glt_levels(3, NAN, 0.2))
    add("glt_levels(3, pg=0.05, pw=inf)", lambda: glt_levels(3, 0.05, INF))
    add("UGSMasked(s1=nan)", lambda: UGSMasked(build_model("gcn", 2, 2), 3, s1=NAN))
    add("GAug-M edit_counts(rm_pct=inf)", lambda: edit_counts(graph, INF, 0))
    add("resolve_device('meta')", lambda: resolve_device("meta"))
    add(
        "ResultsStore.record_run(test_acc=nan)",
        lambda: ResultsStore(Path(tempfile.mkdtemp()) / "g.db").record_run(
            "node", "c", "gcn", 0, {}, {"test_acc": NAN}
        ),
    )
    add(
        "ResultsStore.put(payload with inf)",
        lambda: ResultsStore(Path(tempfile.mkdtemp()) / "g.db").put("k", {"test_acc_mean": INF}),
    )
    return cases


def numeric_cases() -> list[Case]:
    cases = [
        Case(
            "Numeric extremes",
            "train --lr 1e10",
            "clear error or finite results",
            cli_finite([*TINY_TRAIN, "--lr", "1e10", "--epochs", "20"]),
        ),
        Case(
            "Numeric extremes",
            "train --weight-decay 1e300",
            "clear error or finite results",
            cli_finite([*TINY_TRAIN, "--weight-decay", "1e300"]),
        ),
        Case(
            "Numeric extremes",
            "train --lr 1e-300",
            "clear error or finite results",
            cli_finite([*TINY_TRAIN, "--lr", "1e-300"]),
        ),
        Case(
            "Numeric extremes",
            "train --hidden 1 --dropout 0.99",
            "clear error or finite results",
            cli_finite([*TINY_TRAIN, "--hidden", "1", "--dropout", "0.99"]),
        ),
        Case(
            "Numeric extremes",
            "glt --pg 0.999 --rounds 2",
            "clear error or finite results",
            cli_finite([*TINY_GLT, "--pg", "0.999"]),
        ),
        Case(
            "Numeric extremes",
            "glt --pw 0.999 --rounds 2",
            "clear error or finite results",
            cli_finite([*TINY_GLT, "--pw", "0.999"]),
        ),
    ]

    def huge_features() -> Any:
        import torch

        from graphsparse.graph import Graph
        from graphsparse.nn import build_model
        from graphsparse.tasks.node import NodeTrainConfig, run_node

        x = torch.full((6, 3), 3e38)
        graph = Graph(
            T([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]]),
            x=x,
            y=T([0, 1, 0, 1, 0, 1]),
            splits={"s": M([1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1])},
        )
        results = run_node(
            graph, lambda: build_model("gcn", 3, 2, hidden_channels=4), [0], NodeTrainConfig(epochs=3), progress=False
        )
        return f"trained on overflowing features: {results}"

    cases.append(
        Case(
            "Numeric extremes",
            "features of 3e38 (overflow to inf in the first layer)",
            "clear error",
            api(huge_features),
        )
    )
    return cases


def graph_cases() -> list[Case]:
    import torch

    from graphsparse.graph import Graph

    cases = []

    def add(text: str, fn: Callable[[], Any], expected: str) -> None:
        cases.append(Case("Extreme graphs", text, "clear error" if expected == "error" else "works", api(fn, expected)))

    add("edge ids overflow int64 (num_nodes = 2^40)", lambda: Graph(T([[0], [2**40 - 1]]), num_nodes=2**40), "error")
    add("label 10^9", lambda: Graph(T([[0], [1]]), num_nodes=2, y=T([0, 10**9])), "error")
    add("negative label", lambda: Graph(T([[0], [1]]), num_nodes=2, y=T([0, -3])), "error")
    add("float node ids 0.5", lambda: Graph(torch.tensor([[0.5], [1.0]]), num_nodes=2), "error")
    add("negative node id", lambda: Graph(T([[0], [-1]]), num_nodes=2), "error")
    add("node id >= num_nodes", lambda: Graph(T([[0], [5]]), num_nodes=3), "error")
    add("NaN feature", lambda: Graph(T([[0], [1]]), x=torch.tensor([[NAN], [0.0]])), "error")
    add("inf feature", lambda: Graph(T([[0], [1]]), x=torch.tensor([[INF], [0.0]])), "error")
    add(
        "overlapping train/test masks",
        lambda: Graph(T([[0], [1]]), num_nodes=3, splits={"s": M([1, 1, 0], [0, 0, 1], [0, 1, 0])}),
        "error",
    )
    add(
        "mask of the wrong length",
        lambda: Graph(T([[0], [1]]), num_nodes=3, splits={"s": M([1, 0], [0, 1], [0, 0])}),
        "error",
    )
    add("edge_index of shape [3, E]", lambda: Graph(T([[0], [1], [2]]), num_nodes=3), "error")
    add("x rows != num_nodes", lambda: Graph(T([[0], [1]]), num_nodes=3, x=torch.ones(2, 1)), "error")

    def dup_self_loops() -> Any:
        g = Graph(T([[0, 1, 1, 2, 2], [1, 0, 1, 2, 0]]), num_nodes=3)
        return g.num_edges == 2 or f"num_edges {g.num_edges}, expected 2 (duplicates and self-loops removed)"

    add("duplicates, both directions and self-loops", dup_self_loops, "works")

    def toy(num_nodes: int, edges: list[list[int]]) -> Graph:
        y = [i % 2 for i in range(num_nodes)]
        train = [1 if i % 3 == 0 else 0 for i in range(num_nodes)]
        val = [1 if i % 3 == 1 else 0 for i in range(num_nodes)]
        test = [1 if i % 3 == 2 else 0 for i in range(num_nodes)]
        x = torch.randn(num_nodes, 4)
        return Graph(T(edges), num_nodes=num_nodes, x=x, y=T(y), splits={"s": M(train, val, test)})

    def train_on(graph: Graph, model: str) -> Any:
        from graphsparse.nn import build_model
        from graphsparse.tasks.node import NodeTrainConfig, run_node

        classes = max(2, graph.num_classes)
        results = run_node(
            graph,
            lambda: build_model(model, 4, classes, hidden_channels=4),
            [0],
            NodeTrainConfig(epochs=2),
            progress=False,
        )
        values = [v for r in results for k, v in r.metrics().items() if k.endswith("acc")]
        return all(math.isfinite(v) for v in values) or f"non-finite metrics {values}"

    empty = toy(6, [[], []])
    for model in ("gcn", "mlp", "twirls", "sage", "gat", "gin", "cluster-gcn"):
        add(f"graph without edges: train {model}", lambda m=model: train_on(empty, m), "works")

    def forward_single(model: str) -> Any:
        from graphsparse.nn import build_model

        g = Graph(T([[], []]), num_nodes=1, x=torch.ones(1, 4), y=T([0]))
        out = build_model(model, 4, 2, hidden_channels=4).eval()(g)
        return (tuple(out.shape) == (1, 2) and bool(torch.isfinite(out).all())) or f"output {out}"

    for model in ("gcn", "twirls", "sage", "gat"):
        add(f"single node: {model} forward", lambda m=model: forward_single(m), "works")

    def sparsify_empty(method: str) -> Any:
        from graphsparse.sparsify import edge_keep_mask
        from graphsparse.sparsify.edges import degree_product_scores, random_edge_scores, teddy_edge_scores

        scorer = {"teddy": teddy_edge_scores, "random": random_edge_scores, "degree": degree_product_scores}[method]
        keep = edge_keep_mask(scorer(empty), 0.5)
        return keep.numel() == 0 or f"mask of {keep.numel()} entries"

    for method in ("teddy", "random", "degree"):
        add(f"graph without edges: {method} edge scores + mask", lambda m=method: sparsify_empty(m), "works")

    def search_to_zero(method: str) -> Any:
        from graphsparse.nn import build_model
        from graphsparse.sparsify.search import glt_levels, glt_search
        from graphsparse.tasks.node import NodeTrainConfig

        small = toy(8, [[0, 1, 2, 3], [1, 2, 3, 4]])
        levels = glt_levels(3, 0.9, 0.5)
        out = list(
            glt_search(
                small,
                lambda: build_model("gcn", 4, 2, hidden_channels=4),
                methods=[method],
                levels=levels,
                seeds=[0],
                config=NodeTrainConfig(epochs=2),
            )
        )
        last = out[-1]
        return (last.graph_sparsity == 1.0 and math.isfinite(last.test_mean)) or str(last)[:120]

    for method in ("ugs", "teddy", "random"):
        add(f"{method} search down to zero edges", lambda m=method: search_to_zero(m), "works")
    return cases


# ---------------------------------------------------------------------------------------------------- datasets

_DATASETS = {
    # name: (folder under datasets/, files to damage)
    "texas": (
        "webkb/texas",
        ["raw/out1_graph_edges.txt", "raw/out1_node_feature_label.txt", "raw/texas_split_0.6_0.2_7.npz"],
    ),
    "cora": (
        "planetoid/cora",
        ["raw/ind.cora.x", "raw/ind.cora.graph", "raw/ind.cora.test.index", "raw/cora_split_0.6_0.2_7.npz"],
    ),
    "usair": ("seal_link_prediction", ["mat/USAir.mat"]),
    "yandex-texas": ("yandex_heterophilous/texas", ["raw/texas.npz"]),
}


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "byte flip":
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1 :])
    elif how == "deleted":
        path.unlink()
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "last line dropped":
        lines = data.splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-1]))


def dataset_cases() -> list[Case]:
    cases = []
    for name, (folder, files) in _DATASETS.items():
        for rel in files:
            hows = ["truncated", "byte flip", "deleted", "emptied"]
            if rel.endswith(".txt") or rel.endswith("index"):
                hows.append("last line dropped")
            for how in hows:
                cases.append(
                    Case(
                        "Damaged dataset files",
                        f"{name}: {Path(rel).name} {how}",
                        "dataset error",
                        _dataset_case(name, folder, rel, how),
                    )
                )
    for how in ("byte flip", "deleted"):
        cases.append(
            Case(
                "Damaged dataset files",
                f"datasets --verify --name texas ({how} split file)",
                "exit 1, verdict lines, no traceback",
                _verify_case("texas", "webkb/texas", "raw/texas_split_0.6_0.2_7.npz", how),
            )
        )
    return cases


def _copy(folder: str, scratch: Path) -> Path:
    root = scratch / "data"
    shutil.copytree(ROOT / "datasets" / folder, root / folder)
    return root


def _dataset_case(name: str, folder: str, rel: str, how: str) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.data import load_dataset

        root = _copy(folder, scratch)
        _damage(root / folder / rel, how)

        def load() -> Any:
            graph = load_dataset(name, root=root)
            from graphsparse.tasks.node import split_for_seed

            for i in range(10):  # every seed's split (a missing split file must not shift seeds)
                split_for_seed(graph, i) if graph.splits else None
            return f"loaded {graph.num_nodes} nodes, {graph.num_edges} edges, {len(graph.splits)} splits"

        return api(load)(scratch)

    return run


def _verify_case(name: str, folder: str, rel: str, how: str) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        root = _copy(folder, scratch)
        _damage(root / folder / rel, how)
        obs = run_main(["datasets", "--verify", "--name", name, "--root", str(root)], scratch, db=False)
        if "Traceback" in obs.err:
            return "traceback", _lines(obs.err)[-1][:160]
        if obs.code == 0:
            return "silently wrong", "exit 0: " + " | ".join(_lines(obs.out))[:140]
        if obs.code in (1, 2):
            return "clear error", (" | ".join(_lines(obs.out) + _lines(obs.err)))[:160]
        return "other", f"exit {obs.code}"

    return run


# ------------------------------------------------------------------------------------------ interruptions


def interrupt_cases(quick: bool = False) -> list[Case]:
    def in_process(argv: list[str], after: str, n: int, stop: str, unit: str) -> Callable[[Path], tuple[str, str]]:
        """Raise KeyboardInterrupt/SIGTERM's exception right after the ``n``-th ``after`` (record_run or put)."""

        def run(scratch: Path) -> tuple[str, str]:
            from graphsparse.cli import Terminated
            from graphsparse.experiments.store import ResultsStore

            original = getattr(ResultsStore, after)
            calls = [0]

            def then_stop(self, *args, **kwargs):
                result = original(self, *args, **kwargs)
                calls[0] += 1
                if calls[0] == n:
                    raise KeyboardInterrupt if stop == "SIGINT" else Terminated(signal.SIGTERM)
                return result

            setattr(ResultsStore, after, then_stop)
            try:
                obs = run_main(argv, scratch)
            finally:
                setattr(ResultsStore, after, original)
            return classify_interrupt(obs, scratch / "g.db", n, 130 if stop == "SIGINT" else 143, unit)

        return run

    cases = [
        Case(
            "Interruptions",
            "Ctrl-C after train's 1st seed",
            "exit 130, 1 line, finished runs kept",
            in_process([*TINY_TRAIN, "--seeds", "3"], "record_run", 1, "SIGINT", "runs"),
        ),
        Case(
            "Interruptions",
            "SIGTERM after train's 2nd seed",
            "exit 143, 1 line, finished runs kept",
            in_process([*TINY_TRAIN, "--seeds", "3"], "record_run", 2, "SIGTERM", "runs"),
        ),
        Case(
            "Interruptions",
            "Ctrl-C after glt's 2nd level",
            "exit 130, 1 line, finished levels kept",
            in_process([*TINY_GLT, "--rounds", "4"], "put", 2, "SIGINT", "levels"),
        ),
        Case(
            "Interruptions",
            "SIGTERM after UGS round 1",
            "exit 143, 1 line, finished levels kept",
            in_process(_ugs_argv(), "put", 2, "SIGTERM", "levels"),
        ),
        Case(
            "Interruptions",
            "Ctrl-C after GAug-M's 1st run",
            "exit 130, 1 line, finished runs kept",
            in_process(
                [
                    "train",
                    "--dataset",
                    "cora",
                    "--augment",
                    "gaug-m",
                    "--epochs",
                    "2",
                    "--seeds",
                    "2",
                    "--gaug",
                    "ep_epochs=2",
                ],
                "record_run",
                1,
                "SIGINT",
                "runs",
            ),
        ),
    ]
    if not quick:
        cases += [
            Case(
                "Interruptions",
                "real SIGINT during glt (console script), then rerun",
                "exit 130, 1 line, rerun loads stored levels",
                _signal_case(signal.SIGINT, 130, rerun=True),
            ),
            Case(
                "Interruptions",
                "real SIGTERM during glt (console script)",
                "exit 143, 1 line, levels kept",
                _signal_case(signal.SIGTERM, 143, rerun=False),
            ),
            Case(
                "Interruptions",
                "Ctrl-C 1 s after start (while importing)",
                "exit 130, no traceback",
                _early_signal_case(),
            ),
            Case("Pipes", "graphsparse datasets --no-load | head -1", "no BrokenPipeError", _pipe_case("head")),
            Case("Pipes", "graphsparse datasets --no-load > closed pipe", "quiet exit 141", _pipe_case("closed")),
        ]
    return cases


def _with_method(argv: list[str], method: str) -> list[str]:
    """``argv`` (a ``glt`` command line) with ``--method method``, without the options of the method it replaces
    (``--distill`` is TEDDY's: given with another method it is refused)."""
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--distill" and method != "teddy":
            skip = True
            continue
        out.append(method if i > 0 and argv[i - 1] == "--method" else arg)
    return out


def _ugs_argv() -> list[str]:
    return [
        "glt",
        "--dataset",
        "cora",
        "--preset",
        "none",
        "--hidden",
        "8",
        "--method",
        "ugs",
        "--epochs",
        "2",
        "--seeds",
        "1",
        "--rounds",
        "3",
    ]


def classify_interrupt(obs: Observed, db: Path, finished: int, code: int, unit: str) -> tuple[str, str]:
    lines = _lines(obs.err)
    if "Traceback" in obs.err:
        return "traceback", lines[-1][:160] if lines else ""
    stored = 0
    if db.exists():
        with sqlite3.connect(db) as con:
            stored = con.execute("SELECT COUNT(*) FROM " + ("runs" if unit == "runs" else "results")).fetchone()[0]
    if stored < finished:
        return "lost", f"{finished} finished, {stored} stored"
    if obs.code != code or len(lines) != 1:
        return "other", f"exit {obs.code}, {len(lines)} lines: {lines[:1]}"
    return "kept", lines[0][:160]


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")


def _signal_case(signum: int, code: int, rerun: bool) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        db = scratch / "g.db"
        argv = [
            SCRIPT,
            *TINY_GLT[:-1],
            "20",
            "--epochs",
            "5",
            "--hidden",
            "16",
            "--no-progress",
            "--db",
            str(db),
            "--plot",
            str(scratch / "p.png"),
        ]
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=scratch
        )
        deadline = time.monotonic() + 240
        count = 0
        while time.monotonic() < deadline and proc.poll() is None and count < 2:
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    count = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
        with sqlite3.connect(db) as con:
            stored = dict(con.execute("SELECT key, created FROM results"))
        outcome = classify_interrupt(Observed(proc.returncode, out, err, 0), db, count, code, "levels")
        if outcome[0] != "kept" or not rerun:
            return outcome
        again = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=scratch, timeout=600)
        cached = sum(line.endswith("(cached)") for line in again.stdout.splitlines())
        with sqlite3.connect(db) as con:
            after = dict(con.execute("SELECT key, created FROM results"))
        if again.returncode != 0:
            return classify_error(Observed(again.returncode, again.stdout, again.stderr, 0))
        if cached != len(stored) or any(after[k] != v for k, v in stored.items()):
            return "lost", f"rerun recomputed stored levels ({cached} cached of {len(stored)})"
        return "kept", f"{outcome[1][:100]}; rerun: {cached} levels cached, {len(after)} stored"

    return run


def _early_signal_case() -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        proc = subprocess.Popen(
            [SCRIPT, *TINY_TRAIN, "--db", str(scratch / "g.db")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=scratch,
        )
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        lines = _lines(err)
        if "Traceback" in err:
            return "traceback", lines[-1][:160] if lines else ""
        if proc.returncode == 130 and len(lines) <= 1:
            return "kept", (lines[0] if lines else "(quiet)")[:160]
        return "other", f"exit {proc.returncode}, {len(lines)} lines"

    return run


def _pipe_case(kind: str) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        if kind == "head":
            result = subprocess.run(
                f"'{SCRIPT}' datasets --no-load | head -1",
                shell=True,
                capture_output=True,
                text=True,
                env=_env(),
                timeout=120,
            )
            err, ok = result.stderr, len(result.stdout.splitlines()) == 1
        else:
            proc = subprocess.Popen(
                [SCRIPT, "datasets", "--no-load"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()
            )
            proc.stdout.close()
            err = proc.stderr.read().decode()
            proc.wait(timeout=120)
            ok = proc.returncode == 141
        if "Traceback" in err or "BrokenPipeError" in err:
            return "traceback", _lines(err)[-1][:160]
        if err.strip() or not ok:
            return "other", err.strip()[:160]
        return "works", "quiet"

    return run


# ------------------------------------------------------------------------------------------------- report


def issue30_cases(quick: bool = False) -> list[Case]:
    """The second hostile probe's families: store failures, outputs that are inputs, ticket and space files,
    checksums and downloads, store rows and recovery files, Ray addresses and output streams
    (``benchmarks/reliability_probe2.py``)."""
    import importlib.util

    path = Path(__file__).resolve().with_name("reliability_probe2.py")
    spec = importlib.util.spec_from_file_location("graphsparse_reliability_probe2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases(sys.modules[__name__], quick)


def disk_folder_cases() -> list[Case]:
    """Damaged ``--disk`` folders, a user's own folder name and a relabelled copy (``reliability_disk.py``)."""
    import importlib.util

    path = Path(__file__).resolve().with_name("reliability_disk.py")
    spec = importlib.util.spec_from_file_location("graphsparse_reliability_disk", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases(sys.modules[__name__])


def probe3_cases() -> list[Case]:
    """The third hostile probe: store keys, tickets and disk searches (``reliability_probe3.py``)."""
    import importlib.util

    path = Path(__file__).resolve().with_name("reliability_probe3.py")
    spec = importlib.util.spec_from_file_location("graphsparse_reliability_probe3", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module.cases(sys.modules[__name__])


def all_cases(quick: bool = False) -> list[Case]:
    return [
        *cli_cases(),
        *preflight_cases(),
        *api_cases(),
        *numeric_cases(),
        *graph_cases(),
        *dataset_cases(),
        *disk_folder_cases(),
        *probe3_cases(),
        *interrupt_cases(quick),
        *issue30_cases(quick),
    ]


def run_cases(cases: list[Case], verbose: bool = True) -> list[Row]:
    import warnings

    warnings.filterwarnings("ignore")
    rows = []
    for case in cases:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="graphsparse-reliability-") as scratch:
            try:
                outcome, detail = case.run(Path(scratch))
            except Exception as err:  # noqa: BLE001 — the harness itself failed: count it, do not stop
                outcome, detail = "other", f"harness: {type(err).__name__}: {err}"[:160]
            detail = detail.replace(scratch, "<tmp>")  # the same report whichever scratch folder ran it
        rows.append(Row(case, outcome, detail, time.perf_counter() - start))
        if verbose:
            print(f"{outcome:>15}  {case.category}: {case.input}  [{rows[-1].seconds:.1f}s]", file=sys.stderr)
    return rows


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row], seconds: float) -> str:
    counts = Counter(row.outcome for row in rows)
    import torch

    lines = [
        "# Reliability: hostile inputs and what they get",
        "",
        "Generated by `OMP_NUM_THREADS=1 python benchmarks/reliability.py`; do not edit by hand. Every row",
        "was run for real when this file was written and classified automatically: **clear error** (exit 2 with one",
        "stderr line and no traceback; for the Python API a `ValueError` or the graph/dataset error type), **works**",
        "(a case that should work did, and its check passed), **kept** (an interrupted run ended with one line and",
        "exit 130/143 with everything it had finished stored; a run whose results database failed ended with exit 1,",
        "its error and the recovery file, every finished run committed or kept there or on stdout; a full or closed",
        "stdout ended quietly with everything stored), **traceback**, **silently wrong** (accepted where an",
        "error was expected, or a result that fails its check), **lost** (finished work missing, or training done",
        "before an output was found unwritable), **other** (a multi-line error, a wrong exit status, a valid input",
        "refused).",
        "",
        f"Run on {time.strftime('%Y-%m-%d')}, torch {torch.__version__}, in {seconds:.0f} s.",
        "",
        "| tried | clear errors | works | kept | tracebacks | silently wrong | lost | other |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(rows)} | {counts['clear error']} | {counts['works']} | {counts['kept']} | {counts['traceback']} | "
        f"{counts['silently wrong']} | {counts['lost']} | {counts['other']} |",
        "",
        "By category:",
        "",
        "| category | tried | clear errors | works | kept | tracebacks | silently wrong | lost | other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    categories = list(dict.fromkeys(row.case.category for row in rows))
    for category in categories:
        c = Counter(row.outcome for row in rows if row.case.category == category)
        lines.append(f"| {category} | {sum(c.values())} | " + " | ".join(str(c[o]) for o in OUTCOMES) + " |")
    bad = [row for row in rows if row.outcome in ("traceback", "silently wrong", "lost", "other")]
    if bad:
        lines += [
            "",
            "## Cases still failing",
            "",
            "| category | input | expected | outcome | what happened |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(r.case.category)} | {_cell(r.case.input)} | {_cell(r.case.expected)} | **{r.outcome}** | "
            f"{_cell(r.detail)} |"
            for r in bad
        ]
    lines += [
        "",
        "## Every case",
        "",
        "| # | category | input | expected | outcome | message / check |",
        "|---:|---|---|---|---|---|",
    ]
    for i, row in enumerate(rows, 1):
        lines.append(
            f"| {i} | {_cell(row.case.category)} | `{_cell(row.case.input)}` | {_cell(row.case.expected)} | "
            f"{row.outcome} | {_cell(row.detail)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"), help="markdown file to write")
    parser.add_argument("--only", default=None, help="only cases whose category or input contain this text")
    parser.add_argument("--quick", action="store_true", help="skip the subprocess cases (signals, pipes)")
    parser.add_argument("--no-write", action="store_true", help="print the counts only")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when any case ends in a traceback, silently wrong, lost or other (CI: `make reliability`)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    cases = all_cases(args.quick)
    if args.only:
        cases = [c for c in cases if args.only.lower() in f"{c.category} {c.input}".lower()]
    start = time.perf_counter()
    rows = run_cases(cases)
    seconds = time.perf_counter() - start
    counts = Counter(row.outcome for row in rows)
    print(f"tried {len(rows)}: " + ", ".join(f"{o} {counts[o]}" for o in OUTCOMES), file=sys.stderr)
    if not args.no_write:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(render(rows, seconds))
        print(f"wrote {args.out}", file=sys.stderr)
    bad = [row for row in rows if row.outcome in ("traceback", "silently wrong", "lost", "other")]
    if args.check and bad:
        for row in bad:
            print(f"FAILED {row.outcome}: {row.case.category}: {row.case.input}: {row.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
