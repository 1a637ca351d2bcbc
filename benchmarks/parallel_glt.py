"""GLT search serial vs on Ray workers: wall time, speed-up, identical accuracies, Ray start-up.

Runs the same ``graphsparse glt`` command twice in fresh processes with fresh results databases (nothing
cached): serially, then with ``--workers N`` (one torch thread per worker; the serial run gets one thread too),
and compares every level's per-seed test accuracies (they must be identical), the wall times and the Ray
start-up time (``ray.init`` of the local workers, reported by the command itself).

Usage::

    python benchmarks/parallel_glt.py                     # Cora, TEDDY + random, 20 levels, 3 seeds, TEDDY protocol
    python benchmarks/parallel_glt.py --preset paper      # the same on Kipf & Welling's 16-wide GCN (minutes)
    python benchmarks/parallel_glt.py --json              # one JSON object (also written with --out)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def _per_seed(document: dict) -> list[tuple[str, int, list[float]]]:
    rows = [document["dense"], *document["levels"]]
    return [(row["method"], row["round"], row.get("test_accs") or [row["test_acc_mean"]]) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--method", default="teddy,random")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preset", default=None, help="glt --preset (default: the command's, the TEDDY protocol)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="gsbench") as tmp:
        base = [sys.executable, "-m", "graphsparse.cli", "glt", "--dataset", args.dataset, "--method", args.method]
        base += ["--rounds", str(args.rounds), "--seeds", str(args.seeds), "--json", "--no-progress"]
        if args.preset is not None:
            base += ["--preset", args.preset]
        if args.epochs is not None:
            base += ["--epochs", str(args.epochs)]
        serial_s, serial = _run([*base, "--db", f"{tmp}/serial.db", "--plot", f"{tmp}/serial.png"], env)
        parallel_argv = [*base, "--db", f"{tmp}/parallel.db", "--plot", f"{tmp}/parallel.png"]
        parallel_s, parallel = _run([*parallel_argv, "--workers", str(args.workers)], env)
    same = _per_seed(serial) == _per_seed(parallel)
    result = {
        "dataset": args.dataset,
        "methods": args.method,
        "rounds": args.rounds,
        "seeds": args.seeds,
        "preset": serial["config"]["preset"],
        "epochs": serial["config"]["train"]["epochs"],
        "hidden": serial["config"]["model_options"].get("hidden_channels"),
        "workers": args.workers,
        "threads_per_process": 1,
        "serial_seconds": serial_s,
        "parallel_seconds": parallel_s,
        "speedup": serial_s / parallel_s,
        "ray_startup_seconds": parallel["config"]["parallel"].get("startup_seconds"),
        "identical_accuracies": same,
        "levels": len(serial["levels"]),
        "cpu_count": os.cpu_count(),
        "load_average_after": os.getloadavg()[0],
    }
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print(
            f"{args.dataset} GLT ({args.method}), {args.rounds} levels x {args.seeds} seeds, preset {result['preset']}"
        )
        print(f"serial      {serial_s:8.1f} s (1 process, 1 thread)")
        print(f"--workers {args.workers} {parallel_s:8.1f} s (Ray start-up {result['ray_startup_seconds']:.1f} s)")
        print(f"speed-up    {result['speedup']:8.2f}x   identical accuracies: {same}")
    if not same:
        raise SystemExit("serial and parallel accuracies differ")


if __name__ == "__main__":
    main()
