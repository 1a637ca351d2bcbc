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
    newest: dict[tuple[str, int], tuple[float, dict]] = {}  # a level stored by several runs: the latest one's
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        for created, payload, invocation in db.execute("select created, payload, invocation from results"):
            argv = json.loads(invocation or "{}").get("argv", [])
            if _half_of(argv) != batching:
                continue
            level = json.loads(payload)
            key = (level["method"], level["round"])
            if key not in newest or created > newest[key][0]:
                newest[key] = (created, level)
    dense = newest.pop(("dense", 0), (0.0, None))[1]
    levels = [level for _, level in newest.values()]
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


def edges(dataset: str, rounds: tuple[int, ...] = (1, 5, 10)) -> str:
    """Where UGS's tickets prune: the share of the edges between METIS parts and inside them, per stored search.

    The parts are the Cluster-GCN half's (``glt``'s default: about 50 nodes a part); every
    UGS level of the dataset's store at ``rounds`` is listed with its half, the code that ran it and its store
    configuration (``cfg``), averaged over its seeds.
    """
    import sqlite3

    import torch

    from graphsparse.batching.parts import cluster_parts, default_parts
    from graphsparse.batching.train import ClusterConfig
    from graphsparse.data import load_dataset
    from graphsparse.sparsify.methods.ugs import unpack_ugs_state

    graph = load_dataset(dataset)
    num_parts = default_parts(graph.num_nodes)  # the search's: `glt --batching cluster` without --parts
    parts = cluster_parts(graph, ClusterConfig(num_parts=num_parts, clusters_per_batch=min(20, num_parts)))
    between = parts[graph.edges[0]] != parts[graph.edges[1]]
    lines = [
        f"**{dataset}**: {100 * float(between.float().mean()):.1f}% of {graph.num_edges} edges lie between its "
        f"{num_parts} METIS parts",
        "",
        "| half | code | cfg | round | pruned % | of the edges between parts % | of the edges inside parts % |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    path = Path("runs") / f"fidelity_{dataset}.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("select key, payload, invocation from results where key like '%|ugs|%'").fetchall()
    for key, payload, invocation in sorted(rows, key=lambda r: json.loads(r[1])["round"]):
        level = json.loads(payload)
        if level["round"] not in rounds or not level.get("method_state"):
            continue
        facts = json.loads(invocation or "{}")
        pruned = torch.stack([~unpack_ugs_state(s)[0].bool() for s in level["method_state"]]).float()
        share = [100 * float(pruned[:, kind].mean()) for kind in (slice(None), between, ~between)]
        cfg = key.split("|cfg=")[1].split("|")[0]
        lines.append(
            f"| {_half_of(facts.get('argv', []))} | {facts.get('git_commit', '?')[:7]} | {cfg} | {level['round']} | "
            + " | ".join(f"{v:.1f}" for v in share)
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """``run DATASET [HALF ...]``, ``table [--accumulate] [DATASET ...]`` or ``edges DATASET``."""
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
    edges_parser = commands.add_parser("edges", help="where UGS's stored tickets prune: between or inside METIS parts")
    edges_parser.add_argument("dataset", help="a dataset with a store runs/fidelity_<dataset>.db")
    args = parser.parse_args(argv)
    if args.command == "run":
        from graphsparse.data.registry import list_datasets

        if args.dataset not in list_datasets():
            parser.error(f"unknown dataset {args.dataset!r}; one of {', '.join(list_datasets())}")
        for half in args.halves:
            if half not in HALVES:
                parser.error(f"unknown half {half!r}; one of {', '.join(HALVES)}")
        run(args.dataset, args.halves or ["full", "cluster"])
    elif args.command == "edges":
        if not (Path("runs") / f"fidelity_{args.dataset}.db").is_file():
            parser.error(f"no store runs/fidelity_{args.dataset}.db (run the searches first)")
        print(edges(args.dataset))
    else:
        half = "cluster-accumulate" if args.accumulate else "cluster"
        names = args.datasets or sorted({p.stem.rsplit("_", 1)[0] for p in HERE.glob("*_full.json")})
        print("\n\n".join(table(n, half) for n in names))


if __name__ == "__main__":
    main(sys.argv[1:])
