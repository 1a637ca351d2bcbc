"""Disk graphs (nodes ordered by METIS part, read through memory maps) and Cluster-GCN batches from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.batching import (
    DiskClusterLoader,
    evaluate_disk,
    metis_partition,
    partitioned_disk_graph,
    shard_parts,
)
from graphsparse.data.diskgraph import DiskGraph
from graphsparse.data.diskwrite import graph_csr, write_disk_graph
from graphsparse.data.synthetic import synthetic_dcsbm, synthetic_dcsbm_to_disk
from graphsparse.graph import Graph, GraphError
from graphsparse.nn import build_model
from graphsparse.tasks.node import evaluate_node

OPTIONS = dict(num_nodes=700, num_edges=3500, num_features=6, num_classes=3, seed=4)


@pytest.fixture(scope="module")
def sbm() -> Graph:
    return synthetic_dcsbm(**OPTIONS)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_dcsbm_to_disk(tmp_path_factory.mktemp("disk") / "raw", **OPTIONS)


@pytest.fixture(scope="module")
def parted(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return partitioned_disk_graph(raw, 12, cache_dir=tmp_path_factory.mktemp("cache"))


def _same_graph(a: Graph, b: Graph) -> None:
    assert a.num_nodes == b.num_nodes
    assert torch.equal(a.edges, b.edges) and torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert a.splits.keys() == b.splits.keys()
    for name in a.splits:
        assert all(torch.equal(m, n) for m, n in zip(a.split(name), b.split(name)))


def test_generator_on_disk_writes_the_in_memory_graph(sbm: Graph, raw: Path) -> None:
    disk = DiskGraph.open(raw)
    indptr, indices = graph_csr(sbm)
    assert np.array_equal(disk.indptr, indptr) and np.array_equal(disk.indices, indices)
    assert disk.indices.dtype == np.int32 and disk.indptr.dtype == np.int32 and disk.perm.dtype == np.int32
    assert np.array_equal(disk.x, sbm.x.numpy()) and np.array_equal(disk.y, sbm.y.numpy())
    whole, nodes = disk.subgraph([0])
    _same_graph(whole, sbm)
    assert torch.equal(nodes, torch.arange(sbm.num_nodes))


def test_partitioned_folder_from_a_graph_equals_the_one_from_a_folder(
    sbm: Graph, raw: Path, parted: Path, tmp_path: Path
) -> None:
    parts = metis_partition(sbm, 12, cache_dir=tmp_path)
    from_graph = write_disk_graph(tmp_path / "g", sbm, parts.numpy())
    for name in ("part_ptr", "perm", "indptr", "indices", "x", "y", "split-random"):
        a, b = np.load(from_graph / f"{name}.npy"), np.load(parted / f"{name}.npy")
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    perm = np.load(parted / "perm.npy")
    assert np.array_equal(np.sort(perm), np.arange(sbm.num_nodes))
    assert np.array_equal(np.sort(parts.numpy()[perm]), parts.numpy()[perm])  # rows grouped by part


def test_batches_are_the_induced_subgraphs(sbm: Graph, parted: Path) -> None:
    loader = DiskClusterLoader(DiskGraph.open(parted), clusters_per_batch=5, seed=1)
    seen = []
    for batch in loader:
        _same_graph(batch.graph, sbm.subgraph(batch.nodes))  # between-cluster edges kept, none invented
        seen.append(batch.nodes)
    assert len(loader) == 3
    assert torch.equal(torch.sort(torch.cat(seen)).values, torch.arange(sbm.num_nodes))
    first = [b.clusters.tolist() for b in loader]
    again = [b.clusters.tolist() for b in DiskClusterLoader(DiskGraph.open(parted), 5, seed=1)]
    assert first != [b.clusters.tolist() for b in loader] and again[0] != first  # epochs differ, runs repeat
    assert [b.clusters.tolist() for b in DiskClusterLoader(DiskGraph.open(parted), 5, seed=1)] == again


def test_a_rank_maps_only_its_parts(parted: Path) -> None:
    whole = DiskGraph.open(parted)
    share = shard_parts(whole.num_parts, 2, 1)
    disk = DiskGraph.open(parted, share)
    rows = int(whole.part_ptr[share.stop] - whole.part_ptr[share.start])
    assert disk.mapped_rows == rows and disk.x.shape[0] == rows and disk.perm.shape[0] == rows
    a, b = int(whole.part_ptr[share.start]), int(whole.part_ptr[share.stop])
    assert disk.indices.shape[0] == int(whole.indptr[b] - whole.indptr[a]) < whole.indices.shape[0]
    with pytest.raises(GraphError, match="outside the opened share"):
        disk.subgraph([0])
    with pytest.raises(GraphError, match="shard 0 needs parts"):
        DiskClusterLoader(disk, 2, ranks=(0, 2))
    mine = DiskClusterLoader(disk, 2, seed=5, ranks=(1, 2))
    assert all(set(b.clusters.tolist()) <= set(share) for b in mine)


def test_one_process_interleaves_the_shards_of_the_ranks(parted: Path) -> None:
    whole = DiskGraph.open(parted)
    one = [b.clusters.tolist() for b in DiskClusterLoader(whole, 2, seed=7, batch_multiple=2)]
    ranks = [
        [
            b.clusters.tolist()
            for b in DiskClusterLoader(DiskGraph.open(parted, shard_parts(12, 2, r)), 2, seed=7, ranks=(r, 2))
        ]
        for r in range(2)
    ]
    assert len(one) == 6 and one == [c for step in zip(*ranks) for c in step]


def test_batched_evaluation_of_one_batch_is_full_graph_evaluation(sbm: Graph, parted: Path) -> None:
    torch.manual_seed(0)
    model = build_model("gcn", sbm.num_features, sbm.num_classes, hidden_channels=16)
    disk = DiskGraph.open(parted)
    scores, val_loss = evaluate_disk(model, DiskClusterLoader(disk, 12), "random")  # one batch: every node
    expected = evaluate_node(model, sbm, sbm.split("random"))
    assert scores == pytest.approx(expected, abs=1e-6)
    split = sbm.split("random")
    with torch.no_grad():
        logits = model(sbm)
        loss = torch.nn.functional.cross_entropy(logits[split.val], sbm.y[split.val])
    assert val_loss == pytest.approx(float(loss), rel=1e-5)


def test_damaged_folders_are_named(parted: Path, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(parted, bad)
    x = bad / "x.npy"
    x.write_bytes(x.read_bytes()[:-40])
    with pytest.raises(GraphError, match=r"x\.npy is truncated"):
        DiskGraph.open(bad)
    shutil.copy(parted / "x.npy", x)
    meta = json.loads((bad / "meta.json").read_text())
    meta["files"]["y"][0] = "<i4"
    (bad / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(GraphError, match=r"y\.npy holds int64 .* meta.json says int32"):
        DiskGraph.open(bad)
    meta["files"]["y"][0] = "<i8"
    meta["num_parts"] = 13
    (bad / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(GraphError, match=r"files.part_ptr has shape \[13\], expected \[14\]"):
        DiskGraph.open(bad)
    (bad / "meta.json").unlink()
    with pytest.raises(GraphError, match="meta.json is missing"):
        DiskGraph.open(bad)
    with pytest.raises(GraphError, match="every node in a part"):
        write_disk_graph(tmp_path / "m", synthetic_dcsbm(num_nodes=50, num_edges=100), np.full(50, -1))


def test_cached_disk_graph_is_reused_and_rewritten_when_damaged(raw: Path, tmp_path: Path) -> None:
    first = partitioned_disk_graph(raw, 6, cache_dir=tmp_path)
    stamp = (first / "meta.json").stat().st_mtime_ns
    assert partitioned_disk_graph(raw, 6, cache_dir=tmp_path) == first
    assert (first / "meta.json").stat().st_mtime_ns == stamp  # reused, not rewritten
    (first / "indices.npy").write_bytes(b"broken")
    with pytest.warns(UserWarning, match="unusable"):
        again = partitioned_disk_graph(raw, 6, cache_dir=tmp_path)
    assert again == first and DiskGraph.open(again).indices.shape[0] == 2 * OPTIONS["num_edges"]


@pytest.mark.slow
def test_rank_memory_falls_as_ranks_are_added(tmp_path: Path) -> None:
    """300k nodes with 400 features (480 MB of them): each of two ranks maps half the rows, and its peak RSS is
    well below that of one rank mapping all of them (benchmarks/cluster_scale.py's ddp mode, one epoch)."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "cluster_scale.py"
    common = [
        *("--nodes", "300000", "--edges", "1500000", "--features", "400", "--classes", "8"),
        *("--parts", "60", "--clusters-per-batch", "5", "--workdir", str(tmp_path), "--json", "--modes", "ddp"),
    ]
    peaks = {}
    for ranks in (1, 2):
        done = subprocess.run(
            [sys.executable, str(script), *common, "--ranks", str(ranks)], capture_output=True, text=True, timeout=1800
        )
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout)["ddp"]
        assert "error" not in result, result
        assert sum(r["rows_mapped"] for r in result["ranks"]) == 300000
        peaks[ranks] = max(r["peak_rss_gb"] for r in result["ranks"])
    assert peaks[2] < peaks[1] - 0.15, peaks  # about 0.24 GB of features and 0.02 GB of CSR fewer per rank


def test_training_graph_partition_matches_metis_on_the_mask_and_extends_to_every_node(
    sbm: Graph, raw: Path, tmp_path: Path
) -> None:
    folder = partitioned_disk_graph(raw, 8, cache_dir=tmp_path, train_split="random")
    disk = DiskGraph.open(folder)
    parts = np.repeat(np.arange(8), np.diff(disk.part_ptr))[np.argsort(disk.perm)]  # part of each original node
    train = sbm.split("random").train
    expected = metis_partition(sbm, 8, node_mask=train, cache_dir=tmp_path).numpy()
    assert np.array_equal(parts[train.numpy()], expected[train.numpy()])  # METIS on the training graph only
    u, v = sbm.edges.numpy()
    for node in np.flatnonzero(~train.numpy())[:50]:  # the others: the part most training neighbours are in
        neighbours = np.r_[v[u == node], u[v == node]]
        neighbours = neighbours[train.numpy()[neighbours]]
        if neighbours.size:
            counts = np.bincount(expected[neighbours], minlength=8)
            assert parts[node] == int(np.argmax(counts))
        else:
            assert parts[node] == node % 8
    with pytest.raises(GraphError, match="no split 'public'"):
        partitioned_disk_graph(raw, 8, cache_dir=tmp_path, train_split="public")
