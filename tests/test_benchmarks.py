"""Smoke test for benchmarks/gcn_epoch.py: runs --quick --json and checks the report's shape (no timing thresholds)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gcn_epoch.py"
IMPLEMENTATIONS = ("graphsparse", "pyg_edge_index", "pyg_csr")


def test_gcn_epoch_quick_json() -> None:
    # a caller's wait policy is kept and recorded (the choice by load is tests/test_threads.py's)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", "--threads", "1", "--repeats", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # stdout is exactly one JSON object
    assert result["config"]["threads"] == 1
    assert result["config"]["omp_wait_policy"] == "PASSIVE" and result["config"]["wait_policy_applied"] is True
    assert result["graphs"]["synthetic"]["threads"] == 1
    assert result["graphs"]["synthetic"]["threads_source"] == "--threads"
    assert result["config"]["repeats"] == 2
    assert result["config"]["adam_step_included"] is True
    assert set(result["graphs"]) == {"synthetic"}
    row = result["graphs"]["synthetic"]
    assert row["num_nodes"] == 2000 and row["num_edges"] == 10000 and row["num_features"] == 32
    for name in IMPLEMENTATIONS:
        for key in (f"{name}_s", f"{name}_min_s"):
            assert math.isfinite(row[key]) and row[key] > 0, (key, row[key])
        assert row[f"{name}_min_s"] <= row[f"{name}_s"]
    for key in ("ratio_vs_pyg_edge_index", "ratio_vs_pyg_csr"):
        assert math.isfinite(row[key]) and row[key] > 0, (key, row[key])
    assert math.isclose(row["ratio_vs_pyg_edge_index"], row["graphsparse_s"] / row["pyg_edge_index_s"])
    assert math.isclose(row["ratio_vs_pyg_csr"], row["graphsparse_s"] / row["pyg_csr_s"])


def _load_script():
    spec = importlib.util.spec_from_file_location("gcn_epoch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gcn_epoch_table_and_bad_arguments() -> None:
    bench = _load_script()
    row = {
        "num_nodes": 10,
        "num_edges": 20,
        "num_features": 3,
        "num_classes": 2,
        "process_peak_rss_mib": 1.0,
        "ratio_vs_pyg_edge_index": 0.5,
        "ratio_vs_pyg_csr": 2.0,
    }
    row.update({f"{name}_s": 0.001 * (i + 1) for i, name in enumerate(IMPLEMENTATIONS)})
    config = {"hidden": 16, "repeats": 5, "threads": 1, "torch": "t", "torch_geometric": "p"}
    table = bench.format_table({"config": config, "graphs": {"toy": row}})
    assert "toy" in table and "ours/ei" in table and "2.00" in table and "3.00" in table
    args = bench.parse_args(["--quick", "--graphs", "pubmed"])
    assert args.graphs == ["synthetic"] and args.repeats <= 3
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])
    assert bench.parse_args([]).threads is None  # the thread policy decides per graph
    with pytest.raises(SystemExit):
        bench.parse_args(["--threads", "0"])


TICKET_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ticket_inference.py"


def test_ticket_inference_quick_json() -> None:
    proc = subprocess.run(
        [sys.executable, str(TICKET_SCRIPT), "--quick", "--json", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    row = result["graphs"]["synthetic"]
    assert abs(row["graph_sparsity"] - 0.64) < 0.01
    assert abs(row["weight_sparsity"] - 0.988) < 0.01
    assert row["ticket_edges"] < row["num_edges"]
    assert row["max_abs_diff_compact_vs_masked"] < 1e-4
    assert math.isclose(row["speedup"], row["dense_s"] / row["ticket_compact_s"])
    assert row["compact_widths"][0] < row["num_features"]
    bad = subprocess.run(
        [sys.executable, str(TICKET_SCRIPT), "--graph-sparsity", "1.0"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "--graph-sparsity must be in [0, 1)" in bad.stderr


def test_cluster_scale_small_json() -> None:
    script = SCRIPT.parent / "cluster_scale.py"
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--nodes",
            "3000",
            "--edges",
            "15000",
            "--features",
            "8",
            "--classes",
            "4",
            "--parts",
            "12",
            "--clusters-per-batch",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"cluster", "full"}
    cluster = result["cluster"]
    assert cluster["edges_built"] == 15000 and cluster["batches"] == 3  # 12 clusters, 4 per batch
    for mode in ("cluster", "full"):
        assert result[mode]["epoch_seconds"] > 0 and 0 < result[mode]["peak_rss_gb"] < 10
