"""Link-prediction reproduction: GAE and VGAE (Kipf & Welling, 2016) on Cora/CiteSeer/PubMed, GAE on the SEAL graphs.

Every cell is one ``graphsparse train --task link ... --json`` command run through the CLI's own parser (so the
table measures exactly what the command does): seeds 0..N-1, each with its own 85/5/10 edge split and one negative
per held-out positive, 200 epochs, lr 0.01, encoder 32→16, inner-product decoder, the epoch with the best
validation AUC. Results are appended to a JSON file as each command finishes (re-running skips finished cells) and
a markdown table is written at the end.

Usage::

    python docs/link/reproduce.py                                    # everything, 10 seeds
    python docs/link/reproduce.py --cells cora/gae --seeds 2 --out /tmp/l.json --table /tmp/l.md
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from graphsparse.cli import build_parser  # noqa: E402

CITATION = ("cora", "citeseer", "pubmed")
SEAL = ("usair", "ns", "pb", "yeast", "celegans", "power", "router", "ecoli")
# Kipf & Welling (2016), Table 1: AUC / AP in %
PAPER = {
    "cora/gae": (91.0, 92.0),
    "cora/vgae": (91.4, 92.6),
    "citeseer/gae": (89.5, 89.9),
    "citeseer/vgae": (90.8, 92.0),
    "pubmed/gae": (96.4, 96.5),
    "pubmed/vgae": (94.4, 94.7),
}
HERE = Path(__file__).resolve().parent
CELLS = [f"{d}/{m}" for d in CITATION for m in ("gae", "vgae")] + [f"{d}/gae" for d in SEAL]


def run_cell(dataset: str, model: str, seeds: int, db: str) -> dict:
    argv = [
        "train",
        "--task",
        "link",
        "--dataset",
        dataset,
        "--model",
        model,
        "--seeds",
        str(seeds),
        "--hits",
        "20,50,100",
        "--json",
        "--no-progress",
        "--db",
        db,
    ]
    parsed = build_parser().parse_args(argv)
    start = time.perf_counter()
    with redirect_stderr(io.StringIO()):
        summary = parsed.handler(parsed)
    summary["command_line"] = "graphsparse " + " ".join(argv[:-2])  # "command" is the subcommand
    summary["wall_seconds"] = time.perf_counter() - start
    return summary


def _cell(r: dict, key: str) -> str:
    return f"{100 * r[key + '_mean']:.1f} ± {100 * r[key + '_std']:.1f}"


def table(results: dict) -> str:
    lines = [
        "| dataset | model | AUC (ours) | AP (ours) | AUC / AP (paper) | Hits@50 (ours) | epoch (ms) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key in CELLS:
        r = results.get(key)
        if r is None:
            continue
        paper = PAPER.get(key)
        ref = f"{paper[0]:.1f} / {paper[1]:.1f}" if paper else "—"
        dataset, model = key.split("/")
        lines.append(
            f"| {dataset} | {model.upper()} | {_cell(r, 'test_auc')} | {_cell(r, 'test_ap')} | {ref} | "
            f"{_cell(r, 'test_hits@50')} | {1000 * r['epoch_seconds_mean']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _seed_count(result: dict) -> int | None:
    """How many seeds a stored cell ran: ``seeds`` is the list of seeds (JSON schema 1) or, in older files, a count."""
    seeds = result.get("seeds")
    return len(seeds) if isinstance(seeds, list) else seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default=",".join(CELLS), help="dataset/model cells, comma-separated")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "reproduction.json"))
    parser.add_argument("--table", default=str(HERE / "reproduction.md"))
    parser.add_argument("--db", default="/tmp/graphsparse_link_reproduce.db")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cells = [c.strip().lower() for c in args.cells.split(",") if c.strip()]
    unknown = set(cells) - set(CELLS)
    if unknown:
        raise ValueError(f"unknown cells {sorted(unknown)}; choose from {CELLS}")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    for key in cells:
        if key in results and _seed_count(results[key]) == args.seeds:
            continue
        dataset, model = key.split("/")
        results[key] = run_cell(dataset, model, args.seeds, args.db)
        out.write_text(json.dumps(results, indent=1, sort_keys=True))
        r = results[key]
        print(f"{key}: AUC {_cell(r, 'test_auc')} AP {_cell(r, 'test_ap')} ({r['wall_seconds']:.0f} s)", flush=True)
    text = table(results)
    Path(args.table).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
