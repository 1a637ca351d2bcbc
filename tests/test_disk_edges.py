"""Edge ids, keep-bits, CSR features and streamed edge scores of disk graphs (the GLT-at-scale disk layer)."""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsparse.batching import DiskClusterLoader, evaluate_disk, partitioned_disk_graph
from graphsparse.data.disk_scores import (
    disk_random_edge_scores,
    disk_teddy_edge_scores,
    keep_mask_lowest_pruned,
    keep_top_among,
)
from graphsparse.data.diskgraph import DiskGraph
from graphsparse.data.diskwrite import reorder_disk_graph, write_disk_graph
from graphsparse.data.edgemask import PackedEdgeMask
from graphsparse.data.synthetic import synthetic_dcsbm, synthetic_dcsbm_to_disk
from graphsparse.graph import Graph, GraphError
from graphsparse.nn import build_model
from graphsparse.sparsify.edges import edge_keep_mask, teddy_edge_scores
from graphsparse.sparsify.weights import _keep_top
from graphsparse.tasks.node import evaluate_node

OPTIONS = dict(num_nodes=600, num_edges=3000, num_features=5, num_classes=3, seed=11)


@pytest.fixture(scope="module")
def sbm() -> Graph:
    return synthetic_dcsbm(**OPTIONS)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_dcsbm_to_disk(tmp_path_factory.mktemp("edges") / "raw", **OPTIONS)


@pytest.fixture(scope="module")
def random_parts(sbm: Graph) -> np.ndarray:
    """METIS-like parts without METIS: 9 parts, sizes uneven, node order scrambled."""
    return np.random.default_rng(3).integers(0, 9, sbm.num_nodes)


@pytest.fixture(scope="module")
def scrambled(sbm: Graph, random_parts: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_disk_graph(tmp_path_factory.mktemp("edges") / "scrambled", sbm, random_parts)


def _edge_key_ids(graph: Graph) -> tuple[np.ndarray, int]:
    u, v = graph.edges.numpy()
    return u.astype(np.int64) * graph.num_nodes + v, graph.num_nodes


def _ids_of(graph: Graph, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The in-memory edge id of each pair (a, b) of original node ids (every pair must be an edge)."""
    keys, n = _edge_key_ids(graph)
    wanted = np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)
    pos = np.searchsorted(keys, wanted)
    assert np.array_equal(keys[np.minimum(pos, keys.size - 1)], wanted)
    return pos


def _entry_ids(folder: Path, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """(stored edge id, expected edge id) of every CSR entry of the folder."""
    disk = DiskGraph.open(folder)
    indptr = np.asarray(disk.indptr, dtype=np.int64)
    rows = np.repeat(np.arange(disk.num_nodes), np.diff(indptr))
    perm = np.asarray(disk.perm, dtype=np.int64)
    expected = _ids_of(graph, perm[rows], perm[np.asarray(disk.indices, dtype=np.int64)])
    return np.asarray(disk.edge_ids, dtype=np.int64), expected


# ---------------------------------------------------------------------------------------------- edge ids
def test_graph_edges_are_coalesced_sorted_pairs() -> None:
    graph = Graph(torch.tensor([[5, 1, 3, 1, 2, 4, 0], [0, 2, 1, 2, 2, 3, 5]]), num_nodes=6)
    assert graph.edges.tolist() == [[0, 1, 1, 3], [5, 2, 3, 4]]  # u < v, sorted, duplicates and loops gone


def test_every_writer_gives_each_entry_its_in_memory_edge_id(
    sbm: Graph, raw: Path, scrambled: Path, tmp_path: Path, random_parts: np.ndarray
) -> None:
    for folder in (raw, scrambled, reorder_disk_graph(raw, random_parts, tmp_path / "reordered")):
        stored, expected = _entry_ids(folder, sbm)
        assert np.array_equal(stored, expected), folder.name
        assert np.array_equal(np.bincount(stored, minlength=sbm.num_edges), np.full(sbm.num_edges, 2))
        disk = DiskGraph.open(folder)
        assert disk.format == 2 and disk.has_edge_ids and disk.edge_ids.dtype == np.int32


def _downgrade(folder: Path) -> None:
    """Make ``folder`` a format-1 folder, as the previous version wrote it."""
    meta = json.loads((folder / "meta.json").read_text())
    meta["format"] = 1
    del meta["files"]["edge_ids"]
    meta.pop("features", None)
    (folder / "edge_ids.npy").unlink()
    (folder / "meta.json").write_text(json.dumps(meta))


def test_format_1_trains_but_edge_ids_ask_for_a_rewrite(
    sbm: Graph, raw: Path, scrambled: Path, tmp_path: Path, random_parts: np.ndarray
) -> None:
    old = tmp_path / "old"
    shutil.copytree(scrambled, old)
    _downgrade(old)
    disk = DiskGraph.open(old)
    assert not disk.has_edge_ids
    batches = list(DiskClusterLoader(disk, 3, seed=1))
    assert batches and all(b.edge_ids is None for b in batches)
    graph, nodes = disk.subgraph([0, 4])
    new_graph, new_nodes, _ = DiskGraph.open(scrambled).cut([0, 4])
    assert torch.equal(graph.edges, new_graph.edges) and torch.equal(nodes, new_nodes)
    for action in (
        lambda: disk.cut([0]),
        lambda: DiskClusterLoader(disk, 3, keep=PackedEdgeMask.ones(sbm.num_edges)),
        lambda: disk_teddy_edge_scores(old, tmp_path / "s.npy"),
    ):
        with pytest.raises(GraphError, match="rewrite") as err:
            action()
        assert str(old) in str(err.value)
    # a one-part format-1 folder in original order is reordered with its edge ids computed on the way
    old_raw = tmp_path / "old_raw"
    shutil.copytree(raw, old_raw)
    _downgrade(old_raw)
    stored, expected = _entry_ids(reorder_disk_graph(old_raw, random_parts, tmp_path / "re"), sbm)
    assert np.array_equal(stored, expected)


def test_partition_cache_keys_on_the_format(raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import graphsparse.batching.partition as partition

    monkeypatch.setattr(partition, "DISK_FORMAT", 1)
    old = partitioned_disk_graph(raw, 4, cache_dir=tmp_path)
    monkeypatch.undo()
    new = partitioned_disk_graph(raw, 4, cache_dir=tmp_path)
    assert new != old  # the format is in the key: another cache folder
    with pytest.warns(UserWarning, match="other options"):  # and an old folder named explicitly is rewritten
        partitioned_disk_graph(raw, 4, folder=old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert partitioned_disk_graph(raw, 4, cache_dir=tmp_path) == new


# ---------------------------------------------------------------------------------------------- keep-bits
@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 1001])
def test_packed_mask_round_trips(size: int, tmp_path: Path) -> None:
    mask = torch.from_numpy(np.random.default_rng(size).random(size) < 0.4)
    packed = PackedEdgeMask.from_bool(mask)
    assert packed.num_edges == size and packed.bits.nbytes == (size + 7) // 8
    assert torch.equal(packed.to_bool(), mask) and packed.count() == int(mask.sum())
    assert packed == PackedEdgeMask.from_bool(mask.numpy()) and packed.all() == bool(mask.all())
    ids = np.arange(size)[::3]
    assert np.array_equal(packed.take(ids), mask.numpy()[ids])
    other = PackedEdgeMask.from_bool(torch.from_numpy(np.random.default_rng(size + 1).random(size) < 0.5))
    assert torch.equal((packed & other).to_bool(), mask & other.to_bool())
    assert PackedEdgeMask.ones(size).all() and PackedEdgeMask.ones(size).count() == size
    for mmap in (False, True):
        assert PackedEdgeMask.load(packed.save(tmp_path / f"m{size}.bits"), mmap=mmap) == packed
    assert pickle.loads(pickle.dumps(packed)) == packed
    assert len(pickle.dumps(packed)) < (size + 7) // 8 + 200


def test_packed_mask_bit_order_and_errors(tmp_path: Path) -> None:
    packed = PackedEdgeMask.from_bool(np.array([True] + [False] * 8 + [True]))
    assert packed.bits.tolist() == [1, 2]  # little: edge k is bit k % 8 of byte k // 8
    with pytest.raises(GraphError, match="outside"):
        packed.take([10])
    with pytest.raises(GraphError, match="padding"):
        PackedEdgeMask(np.array([0xFF, 0xFF], dtype=np.uint8), 10)
    with pytest.raises(GraphError, match="10 and 11"):
        _ = packed & PackedEdgeMask.ones(11)
    path = packed.save(tmp_path / "m.bits")
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(GraphError, match="damaged") as err:
        PackedEdgeMask.load(path)
    assert str(path) in str(err.value)
    (tmp_path / "junk").write_bytes(b"not a mask at all, no")
    with pytest.raises(GraphError, match="not a packed edge mask"):
        PackedEdgeMask.load(tmp_path / "junk")
    with pytest.raises(GraphError, match="missing"):
        PackedEdgeMask.load(tmp_path / "none")


# ---------------------------------------------------------------------------------------------- cutting batches
def test_cut_edge_ids_align_with_batch_edges_and_keep_prunes(sbm: Graph, scrambled: Path) -> None:
    keep_bool = torch.from_numpy(np.random.default_rng(0).random(sbm.num_edges) < 0.7)
    keep = PackedEdgeMask.from_bool(keep_bool)
    pruned = sbm.keep_edges(keep_bool)
    disk = DiskGraph.open(scrambled)
    loader = DiskClusterLoader(disk, 2, seed=3, keep=keep)
    seen = 0
    for batch in loader:
        graph, nodes, ids = batch.graph, batch.nodes, batch.edge_ids
        assert ids.dtype == torch.int64 and ids.shape == (graph.num_edges,)
        a, b = nodes[graph.edges].numpy()
        assert np.array_equal(ids.numpy(), _ids_of(sbm, a, b))  # column k of graph.edges is edge ids[k]
        assert bool(keep_bool[ids].all())
        expected = pruned.subgraph(nodes)  # nodes come in row order; the same relabelling
        assert torch.equal(graph.edges, expected.edges) and torch.equal(graph.x, expected.x)
        seen += graph.num_edges
    assert seen > 0
    whole, nodes, ids = disk.cut(range(9), keep)
    assert whole.num_edges == int(keep_bool.sum()) and sorted(ids.tolist()) == keep_bool.nonzero().view(-1).tolist()


def test_evaluation_uses_the_keep_bits_and_edge_values(sbm: Graph, scrambled: Path) -> None:
    torch.manual_seed(0)
    model = build_model("gcn", sbm.num_features, sbm.num_classes, hidden_channels=16)
    keep_bool = torch.from_numpy(np.random.default_rng(1).random(sbm.num_edges) < 0.5)
    pruned = sbm.keep_edges(keep_bool)
    loader = DiskClusterLoader(DiskGraph.open(scrambled), 9, keep=PackedEdgeMask.from_bool(keep_bool))
    scores, _ = evaluate_disk(model, loader, "random")  # one batch: every node, the pruned graph
    assert scores == pytest.approx(evaluate_node(model, pruned, pruned.split("random")), abs=1e-6)
    assert scores != pytest.approx(evaluate_node(model, sbm, sbm.split("random")), abs=1e-6)
    values = torch.rand(sbm.num_edges, generator=torch.Generator().manual_seed(2)) + 0.05
    scores, _ = evaluate_disk(model, loader, "random", edge_values_of=lambda ids: values[ids])
    split = pruned.split("random")
    with torch.no_grad():
        logits = model(pruned, edge_values=values[keep_bool])
    expected = {
        f"{part}_acc": float((logits[m].argmax(-1) == pruned.y[m]).float().mean())
        for part, m in zip(("train", "val", "test"), split)
    }
    assert scores == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------------------------------------- CSR features
def _sparse_graph() -> Graph:
    rng = np.random.default_rng(5)
    base = synthetic_dcsbm(num_nodes=300, num_edges=1200, num_features=0, num_classes=3, seed=2)
    x = np.where(rng.random((300, 400)) < 0.02, rng.random((300, 400)).astype(np.float32), 0).astype(np.float32)
    x[3, 7] = -0.0  # stored (its bits are not +0.0), so the densified row is bit-identical
    x[5, :] = 0.0  # an empty row
    return base.replace(x=torch.from_numpy(x))


def test_sparse_features_are_stored_as_csr_and_cut_bit_identical(tmp_path: Path) -> None:
    graph = _sparse_graph()
    parts = np.random.default_rng(0).integers(0, 5, graph.num_nodes)
    dense = DiskGraph.open(write_disk_graph(tmp_path / "dense", graph, parts, sparse_features=False))
    auto = write_disk_graph(tmp_path / "auto", graph, parts)
    csr = DiskGraph.open(auto)
    assert dense.features == "dense" and csr.features == "csr" and csr.x is None
    assert csr.meta["features"] == "csr" and not (auto / "x.npy").exists()
    assert csr.x_indices.size == int((graph.x.numpy().view(np.uint32) != 0).sum())
    # the ones with one part: a reordering carries the CSR files
    one = write_disk_graph(tmp_path / "one", graph)
    reordered = DiskGraph.open(reorder_disk_graph(one, parts, tmp_path / "reordered"))
    assert reordered.features == "csr"
    for parts_cut in ([0], [1, 3], range(5)):
        want, nodes, _ = dense.cut(parts_cut)
        for other in (csr, reordered):
            got, got_nodes, _ = other.cut(parts_cut)
            assert torch.equal(got_nodes, nodes)
            assert torch.equal(got.x.view(torch.int32), want.x.view(torch.int32))
            assert torch.equal(got.x.view(torch.int32), graph.x[nodes].view(torch.int32))
    share = DiskGraph.open(auto, range(2, 4))
    assert torch.equal(share.cut([3])[0].x, csr.cut([3])[0].x)
    # dense features stay dense
    assert DiskGraph.open(write_disk_graph(tmp_path / "d", synthetic_dcsbm(**OPTIONS))).features == "dense"


def test_csr_batches_carry_their_csr_rows_and_gather_dense_only_when_read(tmp_path: Path) -> None:
    """A batch of a CSR folder hands the model its CSR rows (a GCN multiplies those) and makes the dense copy
    only when ``x`` is read; the model's logits equal those of the dense folder's batch."""
    graph = _sparse_graph()
    parts = np.random.default_rng(0).integers(0, 5, graph.num_nodes)
    dense = DiskGraph.open(write_disk_graph(tmp_path / "dense", graph, parts, sparse_features=False))
    csr = DiskGraph.open(write_disk_graph(tmp_path / "csr", graph, parts))
    want, nodes, _ = dense.cut([1, 3])
    got, _, _ = csr.cut([1, 3])
    assert got.num_features == 400 and got.__dict__.get("_x_value") is None  # not gathered yet
    rows = got.sparse_x()
    assert (
        rows is not None
        and rows.layout == torch.sparse_csr
        and rows._nnz() == int((want.x != 0).sum()) + (1 if 3 in nodes.tolist() else 0)
    )  # the stored -0.0 of node 3 is an entry too
    torch.manual_seed(0)
    model = build_model("gcn", 400, 3, hidden_channels=8).eval()
    with torch.no_grad():
        assert torch.allclose(model(got), model(want), atol=1e-6)
    assert got.__dict__.get("_x_value") is None  # the model read the CSR rows only
    assert torch.equal(got.x.view(torch.int32), want.x.view(torch.int32))


@pytest.mark.parametrize("damage", ["nan", "duplicate", "unsorted"])
def test_damaged_csr_feature_files_fail_clearly_or_read_right(damage: str, tmp_path: Path) -> None:
    graph = _sparse_graph()
    folder = write_disk_graph(tmp_path / "g", graph, np.zeros(graph.num_nodes, dtype=np.int64))
    indptr = np.load(folder / "x_indptr.npy")
    row = int(np.argmax(np.diff(indptr) >= 3))  # a row with three entries or more
    a = int(indptr[row])
    if damage == "nan":
        values = np.load(folder / "x_values.npy")
        values[a] = np.nan
        np.save(folder / "x_values.npy", values)
    else:
        columns = np.load(folder / "x_indices.npy")
        if damage == "duplicate":
            columns[a + 1] = columns[a]
        else:
            columns[[a, a + 1]] = columns[[a + 1, a]]
            values = np.load(folder / "x_values.npy")
            values[[a, a + 1]] = values[[a + 1, a]]
            np.save(folder / "x_values.npy", values)
        np.save(folder / "x_indices.npy", columns)
    disk = DiskGraph.open(folder)
    if damage == "unsorted":  # another writer's order: read right
        batch, nodes, _ = disk.cut([0])
        assert torch.equal(batch.sparse_x().to_dense(), graph.x[nodes])
        assert torch.equal(batch.x.view(torch.int32), graph.x[nodes].view(torch.int32))
        return
    with pytest.raises(GraphError, match="x_values.npy|x_indices.npy"):
        disk.cut([0])


# ---------------------------------------------------------------------------------------------- streamed scores
def test_disk_teddy_scores_are_bit_identical(sbm: Graph, scrambled: Path, raw: Path, tmp_path: Path) -> None:
    expected = teddy_edge_scores(sbm).numpy()
    for folder in (scrambled, raw):
        scores = disk_teddy_edge_scores(folder, tmp_path / f"{folder.name}.npy")
        assert scores.dtype == np.float32 and scores.shape == (sbm.num_edges,)
        assert np.array_equal(scores.view(np.uint32), expected.view(np.uint32))
    # isolated nodes and a high-degree hub, random parts
    hub = Graph(torch.tensor([[0] * 40 + [3, 5, 7], list(range(1, 41)) + [4, 6, 9]]), num_nodes=50)
    folder = write_disk_graph(tmp_path / "hub", hub, np.random.default_rng(1).integers(0, 6, 50))
    scores = disk_teddy_edge_scores(DiskGraph.open(folder), tmp_path / "hub.npy")
    assert np.array_equal(np.asarray(scores).view(np.uint32), teddy_edge_scores(hub).numpy().view(np.uint32))


def test_random_scores_do_not_depend_on_the_chunks(tmp_path: Path) -> None:
    expected = np.random.Generator(np.random.PCG64(9)).random(1003, dtype=np.float32)
    for chunk in (1, 7, 64, 1 << 22):
        scores = disk_random_edge_scores(1003, 9, tmp_path / f"r{chunk}.npy", chunk_size=chunk)
        assert np.array_equal(scores, expected)
    assert float(expected.min()) >= 0.0 and float(expected.max()) < 1.0


_values = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, float("inf"), -float("inf"), 1e-30, -3e38])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(_values, st.floats(-10, 10, width=32)), max_size=90),
    st.floats(0, 0.999),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([8, 16, 1 << 22]),
)
def test_lowest_pruned_is_edge_keep_mask(values: list[float], sparsity: float, dtype: type, chunk: int) -> None:
    scores = np.array(values, dtype=dtype)
    packed = keep_mask_lowest_pruned(scores, sparsity, chunk_size=chunk)
    assert torch.equal(packed.to_bool(), edge_keep_mask(torch.from_numpy(scores), sparsity))


def test_lowest_pruned_heavy_ties_memmaps_ints_and_nan(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 4, 5000).astype(np.float32)  # four values, 1250 ties each
    np.save(tmp_path / "s.npy", scores)
    mapped = np.load(tmp_path / "s.npy", mmap_mode="r")
    for sparsity in (0.0, 0.1, 0.25, 0.3337, 0.9):
        want = edge_keep_mask(torch.from_numpy(scores), sparsity)
        got = keep_mask_lowest_pruned(mapped, sparsity, chunk_size=64)
        assert torch.equal(got.to_bool(), want) and got.count() == 5000 - round(sparsity * 5000)
    ints = rng.integers(-3, 3, 300)
    assert torch.equal(keep_mask_lowest_pruned(ints, 0.5).to_bool(), edge_keep_mask(torch.from_numpy(ints), 0.5))
    scores[[17, 4000]] = np.nan
    with pytest.raises(ValueError, match="edge id 17"):
        keep_mask_lowest_pruned(scores, 0.5, chunk_size=8)
    with pytest.raises(ValueError, match="sparsity"):
        keep_mask_lowest_pruned(scores, 1.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(_values, st.floats(-3, 3, width=32)), st.booleans()), min_size=1, max_size=90),
    st.floats(0, 1),
    st.sampled_from([8, 1 << 22]),
)
def test_keep_top_among_is_keep_top(items: list[tuple[float, bool]], fraction: float, chunk: int) -> None:
    scores = np.array([v for v, _ in items], dtype=np.float32)
    current = torch.tensor([a for _, a in items])
    k = round(fraction * int(current.sum()))
    got = keep_top_among(scores, PackedEdgeMask.from_bool(current), k, chunk_size=chunk)
    assert torch.equal(got.to_bool(), _keep_top(torch.from_numpy(np.abs(scores)), current, k))


def test_keep_top_among_heavy_ties_and_limits() -> None:
    rng = np.random.default_rng(6)
    scores = (rng.integers(0, 3, 20000) - 1).astype(np.float32)  # |score| in {0, 1}: two huge tie groups
    current = torch.from_numpy(rng.random(20000) < 0.6)
    packed = PackedEdgeMask.from_bool(current)
    for k in (0, 1, 5000, int(current.sum()) // 2, int(current.sum())):
        got = keep_top_among(torch.from_numpy(scores), packed, k, chunk_size=1000)
        assert torch.equal(got.to_bool(), _keep_top(torch.from_numpy(np.abs(scores)), current, k))
        assert got.count() == k and bool((got & packed) == got)
    with pytest.raises(ValueError, match="keep_count"):
        keep_top_among(scores, packed, int(current.sum()) + 1)


def test_a_csr_folder_search_has_a_store_key_of_its_own(tmp_path: Path) -> None:
    """CSR feature rows draw dropout over the stored entries (other draws than dense rows): the description
    hashed into the store key says so, for a Graph the writer will store as CSR and for a CSR folder."""
    from graphsparse.batching.disk_glt import DiskClusterGLTTask

    sparse = _sparse_graph()
    assert DiskClusterGLTTask(sparse).describe()["features"] == "csr"
    folder = write_disk_graph(tmp_path / "csr", sparse)
    assert DiskClusterGLTTask(folder).describe()["features"] == "csr"
    dense = synthetic_dcsbm(**OPTIONS)
    assert "features" not in DiskClusterGLTTask(dense).describe()
    assert "features" not in DiskClusterGLTTask(write_disk_graph(tmp_path / "dense", dense)).describe()
