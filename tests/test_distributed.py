"""DDP Cluster-GCN: two gloo processes on localhost end with identical parameters and match one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]  # torchrun: two ranks in child processes

ARGS = [
    "--dataset",
    "cora",
    "--parts",
    "40",
    "--clusters-per-batch",
    "5",
    "--epochs",
    "12",
    "--dropout",
    "0",
    "--normalize-features",
    "--seed",
    "3",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_identical_and_equal_to_one_process_with_accumulation(tmp_path: Path) -> None:
    env = {**os.environ, "GRAPHSPARSE_CACHE": str(tmp_path / "parts"), "OMP_NUM_THREADS": "1"}
    ddp = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "graphsparse.cli.distributed",
        *ARGS,
        "--out",
        str(tmp_path / "ddp"),
    ]
    done = subprocess.run(ddp, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / "ddp" / f"rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0]["world"] == 2 and ranks[0]["params_sha256"] == ranks[1]["params_sha256"]
    assert ranks[0]["batches_per_epoch"] == ranks[1]["batches_per_epoch"] == 4  # 8 batches of 5 clusters / 2

    single = [
        sys.executable,
        "-m",
        "graphsparse.cli.distributed",
        *ARGS,
        "--accumulate",
        "2",
        "--out",
        str(tmp_path / "one"),
    ]
    done = subprocess.run(single, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "rank0.json").read_text())
    assert one["world"] == 1 and one["batches_per_epoch"] == 8
    assert abs(one["test_acc"] - ranks[0]["test_acc"]) <= 0.01
    assert ranks[0]["test_acc"] > 0.5


def test_ranks_on_disk_map_half_the_rows_and_equal_one_process_bit_for_bit(tmp_path: Path) -> None:
    """--on-disk: each rank maps only its shard of the parts; both ranks and one process accumulating the two
    shards' gradients end with the same parameters, byte for byte (dropout 0, one thread)."""
    env = {**os.environ, "GRAPHSPARSE_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    common = [*ARGS, "--on-disk", "--no-progress"]
    ddp = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "graphsparse.cli.distributed",
        *common,
        "--out",
        str(tmp_path / "ddp"),
    ]
    done = subprocess.run(ddp, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / "ddp" / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["parts_opened"] for r in ranks] == [[0, 20], [20, 40]]
    assert sum(r["rows_mapped"] for r in ranks) == ranks[0]["num_nodes"] == 2708
    assert max(r["rows_mapped"] for r in ranks) < 2708
    single = [sys.executable, "-m", "graphsparse.cli.distributed", *common, "--accumulate", "2"]
    done = subprocess.run([*single, "--out", str(tmp_path / "one")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "rank0.json").read_text())
    assert one["rows_mapped"] == 2708 and one["batches_per_epoch"] == 2 * ranks[0]["batches_per_epoch"]
    assert one["params_sha256"] == ranks[0]["params_sha256"] == ranks[1]["params_sha256"]
    assert one["test_acc"] == ranks[0]["test_acc"] > 0.5 and one["best_epoch"] == ranks[0]["best_epoch"]
