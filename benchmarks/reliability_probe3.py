"""The third hostile probe's cases: store keys, tickets and disk searches (a family of ``benchmarks/reliability.py``).

Each case is one thing the probe found silently wrong or misleading, run for real: options a partitioned folder
cannot honour, a ticket retrained on another graph of the same name and size, a plug-in's options left out of its
store key, a class taking a built-in's name, tickets of another search or damaged ones recorded on a resume, an
open-ended ``--levels``, a folder named with a comma, and an error naming an option the user did not give.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

CATEGORY = "Store keys, tickets and disk searches (third probe)"
QUICK = ["--rounds", "1", "--seeds", "1", "--epochs", "3", "--threads", "1"]
_FOLDERS: dict[str, Path] = {}


def _folders() -> dict[str, Path]:
    """Two 6-part folders of one generator (same name and sizes, other graphs), written once per process."""
    if not _FOLDERS:
        import tempfile

        from graphsparse.data.diskwrite import write_disk_graph
        from graphsparse.data.synthetic import synthetic_dcsbm

        root = Path(tempfile.mkdtemp(prefix="graphsparse-reliability-probe3-"))
        for name, seed in (("six", 0), ("other", 1)):
            graph = synthetic_dcsbm(num_nodes=300, num_edges=1200, num_features=8, num_classes=3, seed=seed)
            _FOLDERS[name] = write_disk_graph(root / name, graph, np.arange(300) % 6)
    return _FOLDERS


def _copy(scratch: Path, name: str) -> Path:
    folder = scratch / name
    shutil.copytree(_folders()[name], folder)
    return folder


def _disk_error(rel: Any, extra: list[str]) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        argv = ["glt", "--disk", str(_copy(scratch, "six")), *QUICK, "--method", "random", *extra]
        return rel.classify_error(rel.run_main(argv, scratch), before_work=True)

    return run


def _other_graph(rel: Any) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        six, other = _copy(scratch, "six"), _copy(scratch, "other")
        argv = ["glt", "--disk", str(six), *QUICK, "--method", "random", "--clusters-per-batch", "2"]
        obs = rel.run_main([*argv, "--save-tickets", str(scratch / "tickets")], scratch)
        if obs.code != 0:
            return rel.classify_error(obs)
        ticket = scratch / "tickets" / "random" / "round1" / "seed0" / "ticket.pt"
        return rel.classify_error(rel.run_main(["ticket", "eval", str(ticket), "--disk", str(other)], scratch))

    return run


def _plugin_option_resume(rel: Any) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        import torch

        from graphsparse.data import load_dataset
        from graphsparse.experiments import ResultsStore
        from graphsparse.nn import build_model
        from graphsparse.sparsify.methods import MethodOption, OneShotMethod, WeightRule
        from graphsparse.sparsify.search import glt_levels, glt_search
        from graphsparse.tasks.node import NodeTrainConfig

        @dataclass(frozen=True)
        class PowerPrune(OneShotMethod):  # a plug-in as a researcher writes it: no key_tag of its own
            power: float = 1.0
            name: ClassVar[str] = "power-prune-probe"
            options: ClassVar[tuple[MethodOption, ...]] = (MethodOption("power", "exponent"),)

            def edge_scores(self, ctx: Any, graph: Any, job: Any) -> torch.Tensor:
                degree = torch.bincount(graph.edges.reshape(-1), minlength=graph.num_nodes).double()
                return -((degree[graph.edges[0]] + degree[graph.edges[1]]) ** self.power)

            def weight_rule(self, model: Any, job: Any) -> WeightRule:
                return WeightRule("none")

        graph = load_dataset("cora")
        store = ResultsStore(scratch / "p.db")

        def factory() -> Any:
            return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)

        cached = []
        for power in (1.0, 0.0):
            results = glt_search(
                graph, factory, methods=[PowerPrune(power=power)], levels=glt_levels(1, 0.3, 0.0),
                config=NodeTrainConfig(epochs=3), store=store, dense=False,
            )  # fmt: skip
            cached += [r.cached for r in results]
        if cached[1]:
            return "silently wrong", "power=0 was answered with the stored power=1 level"
        return "works", "power=0 trained its own level (the options are in the store key)"

    return run


def _taken_name(rel: Any) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.sparsify.methods import OneShotMethod, register_method

        @dataclass(frozen=True)
        class Teddy(OneShotMethod):
            name: ClassVar[str] = "teddy"

        try:
            register_method(Teddy)
        except ValueError as err:
            return "clear error", str(err)[:160]
        return "silently wrong", "another module's class took the name 'teddy' (and its stored levels)"

    return run


def _tickets(rel: Any, damage: str) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.sparsify.ticket import Ticket

        common = ["glt", "--dataset", "cora", "--method", "random", "--preset", "paper", *QUICK]
        common += ["--save-tickets", str(scratch / "tickets")]
        path = scratch / "tickets" / "random" / "round1" / "seed0" / "ticket.pt"
        obs = rel.run_main([*common, "--db", str(scratch / "a.db")], scratch)
        if obs.code != 0:
            return rel.classify_error(obs)
        key = Ticket.load(path).provenance["key"]
        if damage == "another search":
            obs = rel.run_main([*common, "--epochs", "5", "--db", str(scratch / "b.db")], scratch)
        else:
            path.write_bytes(path.read_bytes()[:1000])
        obs = rel.run_main([*common, "--db", str(scratch / "a.db")], scratch)
        if obs.code != 0:
            return rel.classify_error(obs)
        try:
            again = Ticket.load(path).provenance["key"]
        except ValueError as err:
            return "lost", f"the resumed search recorded a damaged ticket: {str(err)[:100]}"
        if again != key:
            return "silently wrong", "the resumed search recorded another search's ticket as its own"
        return "works", "the resumed search wrote its own ticket again"

    return run


def _comma_name(rel: Any) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.data.diskwrite import write_disk_graph
        from graphsparse.data.synthetic import synthetic_dcsbm

        graph = synthetic_dcsbm(num_nodes=120, num_edges=400, num_features=8, num_classes=3, seed=0)
        folder = write_disk_graph(scratch / "comma", graph.replace(name="my,graph"), np.arange(120) % 4)
        obs = rel.run_main(["glt", "--disk", str(folder), *QUICK, "--method", "random"], scratch)
        if obs.code != 0:
            return rel.classify_error(obs)
        return "works", "exit 0: one search of the folder 'my,graph'"

    return run


def cases(rel: Any) -> list[Any]:
    """The family's cases, built with ``benchmarks/reliability.py``'s ``Case`` and helpers (``rel``)."""
    error = "clear error before training"
    c = rel.Case
    return [
        c(CATEGORY, "glt --disk on a 6-part folder with --parts 3", error, _disk_error(rel, ["--parts", "3"])),
        c(CATEGORY, "glt --disk on a 6-part folder with --train-only", error, _disk_error(rel, ["--train-only"])),
        c(CATEGORY, "glt --disk --task link", error, _disk_error(rel, ["--task", "link"])),
        c(CATEGORY, "glt --disk with --levels 15-", error, _disk_error(rel, ["--rounds", "20", "--levels", "15-"])),
        c(CATEGORY, "ticket eval --disk on another folder of the same name and size", "clear error", _other_graph(rel)),
        c(CATEGORY, "a plug-in's option changed on a resumed search", "works", _plugin_option_resume(rel)),
        c(CATEGORY, "another module's class registered as 'teddy'", "clear error", _taken_name(rel)),
        c(CATEGORY, "--save-tickets folder rewritten by another search", "works", _tickets(rel, "another search")),
        c(CATEGORY, "--save-tickets ticket cut short, search resumed", "works", _tickets(rel, "truncated")),
        c(CATEGORY, "glt --disk on a folder named 'my,graph'", "works", _comma_name(rel)),
    ]
