"""Mini-batch against full-batch GLT: the same search with Cluster-GCN batches and on the full graph.

``python docs/glt/fidelity.py run pubmed`` runs ``graphsparse glt`` twice (``--batching full`` and
``--batching cluster``, the default parts and clusters per batch) with TEDDY + KD, random and UGS over 10 levels and
3 seeds, and writes ``docs/glt/fidelity/<dataset>_{full,cluster}.json``. ``python docs/glt/fidelity.py table``
prints one markdown table per dataset from those files: per level and method, both means and their difference
(mini-batch minus full-batch, in points), with the bar the difference is held to (1 point for TEDDY + KD and
random, 2 for UGS).

The third half, ``cluster-accumulate`` (``run DATASET cluster-accumulate``, ``table --accumulate DATASET``), trains
on the same batches with one optimizer step an epoch (``glt --accumulate 0``): the mini-batch search then differs
from full batch only by the edges between batches, not by the number of steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "fidelity"
ROUNDS, SEEDS = 10, 3
METHODS = "teddy,random,ugs"
BARS = {"teddy": 1.0, "random": 1.0, "ugs": 2.0}
# Kipf & Welling's 16 hidden underfit Amazon Computers (a dense seed: 71.5% train, 43.6% test); 64 is the width
# of the Cluster-GCN comparison on docs/reproductions/cluster-gcn.md (81.3%)
HIDDEN = {"amazon-computers": 64}


HALVES = ("full", "cluster", "cluster-accumulate")


def command(dataset: str, half: str) -> list[str]:
    """The ``graphsparse glt`` command of one half of the comparison (a name of :data:`HALVES`)."""
    batching = "full" if half == "full" else "cluster"
    return [
        "graphsparse", "glt", "--dataset", dataset, "--preset", "paper", "--method", METHODS,
        "--rounds", str(ROUNDS), "--seeds", str(SEEDS), "--batching", batching,
        *(["--accumulate", "0"] if half == "cluster-accumulate" else []),
        "--db", f"runs/fidelity_{dataset}.db", "--plot", f"runs/fidelity_{dataset}_{_stem(half)}.png",
        "--json", "--no-progress", "--threads", "1",
        *(["--hidden", str(HIDDEN[dataset])] if dataset in HIDDEN else []),
    ]  # fmt: skip


def _stem(half: str) -> str:
    return half.replace("-", "_")


def _half_of(argv: list[str]) -> str:
    """Which half a stored run's command line was (``--accumulate 0`` on batches: ``cluster-accumulate``)."""
    if "--batching" not in argv or argv[argv.index("--batching") + 1] != "cluster":
        return "full"
    accumulate = argv[argv.index("--accumulate") + 1] if "--accumulate" in argv else "1"
    return "cluster-accumulate" if accumulate == "0" else "cluster"


def run(dataset: str, batchings: list[str]) -> None:
    """Run the full-batch and mini-batch searches of ``dataset`` and write their JSON documents."""
    HERE.mkdir(exist_ok=True)
    Path("runs").mkdir(exist_ok=True)
    for half in batchings:
        if half not in HALVES:
            raise SystemExit(f"fidelity.py: unknown half {half!r}; one of {', '.join(HALVES)}")
        out = subprocess.run(command(dataset, half), check=True, capture_output=True, text=True, env=os.environ)
        (HERE / f"{dataset}_{_stem(half)}.json").write_text(out.stdout)
        print(f"{dataset} {half}: written", flush=True)


def stored_levels(dataset: str, batching: str) -> dict:
    """A half still running (or stopped): its finished levels from its results store, as a partial document."""
    import sqlite3

    path = Path("runs") / f"fidelity_{dataset}.db"
    if not path.is_file():
        raise SystemExit(f"fidelity.py: no {HERE / f'{dataset}_{_stem(batching)}.json'} and no store {path}")
    levels, dense = [], None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        for payload, invocation in db.execute("select payload, invocation from results"):
            argv = json.loads(invocation or "{}").get("argv", [])
            if _half_of(argv) != batching:
                continue
            level = json.loads(payload)
            if level["method"] == "dense":
                dense = level
            else:
                levels.append(level)
    if dense is None:
        raise SystemExit(f"fidelity.py: the {batching} half of {dataset} has no finished dense level yet")
    return {"dense": dense, "levels": levels, "seeds": dense.get("seeds", []), "partial": True}


def document(dataset: str, batching: str) -> dict:
    """One half's ``glt --json`` document, or its finished levels from the store while it is not written.

    A method the document lacks (run by a command of its own, e.g. ``--method ugs``, still running or stopped)
    comes from the store: its finished levels, the rest pending.
    """
    path = HERE / f"{dataset}_{_stem(batching)}.json"
    if not path.is_file():
        return stored_levels(dataset, batching)
    doc = json.loads(path.read_text())
    have = {level["method"] for level in doc["levels"]}
    if (Path("runs") / f"fidelity_{dataset}.db").is_file():
        extra = [lv for lv in stored_levels(dataset, batching)["levels"] if lv["method"] not in have]
        if extra:
            doc = {**doc, "levels": doc["levels"] + extra, "partial": True}
    return doc


def table(dataset: str, mini_half: str = "cluster") -> str:
    """The markdown comparison of full batch and one mini-batch half (a level it lacks is shown as pending)."""
    full, mini = document(dataset, "full"), document(dataset, mini_half)
    name = "Cluster-GCN" if mini_half == "cluster" else "Cluster-GCN, one step an epoch"

    def by_level(doc: dict) -> dict[tuple[str, int], dict]:
        return {(r["method"], r["round"]): r for r in doc["levels"]}

    f, m = by_level(full), by_level(mini)
    ran = {method for method, _ in m}  # a finished half that left a method out: "not run", not "pending"
    labels = full.get("labels", {})
    lines = [
        f"**{dataset}** / GCN (preset paper{f', {HIDDEN[dataset]} hidden' if dataset in HIDDEN else ''}), "
        f"{len(full['seeds'])} seeds, test accuracy %; dense: full batch "
        f"{100 * full['dense']['test_acc_mean']:.2f}, {name} {100 * mini['dense']['test_acc_mean']:.2f}",
        "",
        f"| method | round | graph sp % | weight sp % | full batch | {name} | Δ (points) | within bar |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(f, key=lambda k: (list(BARS).index(k[0]) if k[0] in BARS else 9, k[1])):
        a, b = f[key], m.get(key)
        if b is None:
            lines.append(
                f"| {labels.get(key[0], key[0])} | {key[1]} | {100 * a['graph_sparsity']:.1f} | "
                f"{100 * a['weight_sparsity']:.1f} | {100 * a['test_acc_mean']:.2f} ± {100 * a['test_acc_std']:.2f} | "
                f"{'pending' if mini.get('partial') or key[0] in ran else 'not run'} | | |"
            )
            continue
        delta = 100 * (b["test_acc_mean"] - a["test_acc_mean"])
        bar = BARS.get(key[0], 1.0)
        lines.append(
            f"| {labels.get(key[0], key[0])} | {key[1]} | {100 * a['graph_sparsity']:.1f} | "
            f"{100 * a['weight_sparsity']:.1f} | {100 * a['test_acc_mean']:.2f} ± {100 * a['test_acc_std']:.2f} | "
            f"{100 * b['test_acc_mean']:.2f} ± {100 * b['test_acc_std']:.2f} | {delta:+.2f} | "
            f"{'yes' if abs(delta) <= bar else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """``run DATASET [HALF ...]`` or ``table [--accumulate] [DATASET ...]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="fidelity.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the searches of one dataset and write their JSON documents")
    run_parser.add_argument("dataset", help="a registered dataset name, e.g. pubmed, amazon-computers")
    run_parser.add_argument(
        "halves", nargs="*", metavar="HALF",
        help=f"which searches: {', '.join(HALVES)} (default: full cluster)",
    )  # fmt: skip
    table_parser = commands.add_parser("table", help="print the markdown comparison of written documents")
    table_parser.add_argument("datasets", nargs="*", metavar="DATASET", help="default: every dataset with a full half")
    table_parser.add_argument(
        "--accumulate", action="store_true", help="compare with the one-step-an-epoch half (cluster-accumulate)"
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        from graphsparse.data.registry import list_datasets

        if args.dataset not in list_datasets():
            parser.error(f"unknown dataset {args.dataset!r}; one of {', '.join(list_datasets())}")
        for half in args.halves:
            if half not in HALVES:
                parser.error(f"unknown half {half!r}; one of {', '.join(HALVES)}")
        run(args.dataset, args.halves or ["full", "cluster"])
    else:
        half = "cluster-accumulate" if args.accumulate else "cluster"
        names = args.datasets or sorted({p.stem.rsplit("_", 1)[0] for p in HERE.glob("*_full.json")})
        print("\n\n".join(table(n, half) for n in names))


if __name__ == "__main__":
    main(sys.argv[1:])
