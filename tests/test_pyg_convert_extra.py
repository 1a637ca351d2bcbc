"""PyG conversions a PyG user meets: a train mask alone (KarateClub) is completed or refused naming the
split helpers; dropped self-loops and duplicate edges are counted in a warning; ``to_pyg(minimal=True)`` gives back
exactly the attributes that came in; :func:`pyg_edge_graph` numbers a Data's edges as ``from_pyg`` does."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data

from graphsparse.graph import Graph, GraphError, keep_pyg_edges, pyg_edge_graph
from graphsparse.graph.convert import from_pyg, to_pyg

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def assert_same_data(a: Data, b: Data) -> None:
    """Equal attribute by attribute: the same keys, and equal tensors (dtype included) or values under each."""
    assert sorted(a.keys()) == sorted(b.keys())
    assert a.num_nodes == b.num_nodes
    for key in a.keys():
        left, right = a[key], b[key]
        if isinstance(left, torch.Tensor):
            assert isinstance(right, torch.Tensor) and left.dtype == right.dtype, key
            assert torch.equal(left, right), key
        else:
            assert left == right, key


def _karate() -> Data:
    from torch_geometric.datasets import KarateClub

    return KarateClub()[0]  # built in memory from PyG's own tables: no download


def _pyg_cora(tmp_path: Path) -> Data:
    """PyG's own Cora, read by ``Planetoid`` from the raw files the repository ships."""
    from torch_geometric.datasets import Planetoid

    shutil.copytree(DATASETS / "planetoid" / "cora" / "raw", tmp_path / "Cora" / "raw")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Planetoid(str(tmp_path), "Cora")[0]


# ------------------------------------------------------------------ a train mask alone
def test_karate_club_builds_with_a_completed_split():
    data = _karate()
    assert "val_mask" not in data and "test_mask" not in data
    with pytest.warns(UserWarning, match=r"train_mask \(4 nodes\) but no val_mask nor test_mask.*seed 0"):
        graph = Graph.from_pyg(data)
    assert (graph.num_nodes, graph.num_edges, graph.num_classes) == (34, 78, 4)
    split = graph.split("default")
    assert torch.equal(split.train, data.train_mask)
    assert not bool(
        (split.train & split.val).any() or (split.train & split.test).any() or (split.val & split.test).any()
    )
    assert bool((split.train | split.val | split.test).all())  # every Karate node is labelled
    # per class, half of the other nodes (rounded up) to validation
    for c in range(4):
        rest = int(((data.y == c) & ~data.train_mask).sum())
        assert int((split.val & (data.y == c)).sum()) == (rest + 1) // 2
    # deterministic, silent on request, another seed another split
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = Graph.from_pyg(data, fill_split=True)
        other = Graph.from_pyg(data, fill_split=True, split_seed=1)
    assert torch.equal(again.split().val, split.val) and torch.equal(again.split().test, split.test)
    assert not torch.equal(other.split().val, split.val)
    assert torch.equal(other.split().train, split.train)


def test_completed_split_leaves_unlabelled_nodes_out():
    y = torch.tensor([0, 0, 1, 1, -1, 0, 1, -1])
    train = torch.tensor([True, False, True, False, False, False, False, False])
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), y=y, train_mask=train, num_nodes=8)
    split = Graph.from_pyg(data, fill_split=True).split()
    assert not bool(split.val[y < 0].any() or split.test[y < 0].any())
    assert int(split.val.sum()) + int(split.test.sum()) == 4


def test_train_mask_alone_refused_on_request_and_missing_masks_name_the_split_helpers():
    data = _karate()
    with pytest.raises(GraphError, match="no val_mask nor test_mask.*stratified_split.*fraction_split"):
        Graph.from_pyg(data, fill_split=False)
    data.test_mask = ~data.train_mask
    with pytest.raises(GraphError, match=r"has train_mask but no val_mask;.*stratified_split.*fraction_split"):
        Graph.from_pyg(data)


def test_data_without_masks_gives_a_graph_without_splits_quietly():
    data = _karate()
    del data.train_mask
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = Graph.from_pyg(data)
    assert graph.splits == {}


# ------------------------------------------------------------------ what from_pyg drops, it says
def test_dropped_self_loops_and_duplicates_are_counted():
    edge_index = torch.tensor([[0, 1, 0, 1, 2, 2, 1, 3], [1, 0, 1, 1, 2, 1, 2, 3]])  # 3 loops, 1 duplicate (0, 1)
    data = Data(edge_index=edge_index, num_nodes=4)
    with pytest.warns(UserWarning, match=r"dropped 3 self-loops and 1 duplicate edge \(") as record:
        graph = Graph.from_pyg(data)
    assert graph.num_edges == 2
    assert len([w for w in record if "dropped" in str(w.message)]) == 1
    assert all(w.filename == __file__ for w in record)  # points at the caller
    one_loop = Data(edge_index=torch.tensor([[0, 1, 1], [1, 0, 1]]), num_nodes=2)
    with pytest.warns(UserWarning, match=r"dropped 1 self-loop and 0 duplicate edges"):
        Graph.from_pyg(one_loop)


def test_clean_data_converts_without_a_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = Graph.from_pyg(_pyg_cora(tmp_path))
    assert graph.num_edges == 5278


# ------------------------------------------------------------------ to_pyg(minimal=True)
def test_minimal_round_trip_of_pyg_cora_is_equal_attribute_by_attribute(tmp_path):
    data = _pyg_cora(tmp_path)
    assert sorted(data.keys()) == ["edge_index", "test_mask", "train_mask", "val_mask", "x", "y"]
    assert data.is_sorted(sort_by_row=False)  # PyG's Planetoid sorts by target
    back = to_pyg(from_pyg(data), minimal=True, sort_by_row=False)
    assert_same_data(back, data)
    by_row = to_pyg(from_pyg(data), minimal=True)
    assert by_row.is_sorted() and torch.equal(by_row.edge_index, data.sort().edge_index)
    full = to_pyg(from_pyg(data))  # the default holds everything of the graph
    assert {"name", "directed", "split_names", "default__train_mask"} <= set(full.keys())


def test_minimal_round_trip_of_karate_with_all_masks():
    data = _karate()
    assert data.is_sorted()  # by source, PyG's default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = Graph.from_pyg(data).split()
    data.val_mask, data.test_mask = split.val, split.test
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_data(to_pyg(from_pyg(data), minimal=True), data)


def test_minimal_round_trip_of_weights_stacked_masks_and_no_features():
    # weighted, coalesced, no x (num_nodes given), an isolated last node, 2-D masks (one column per split)
    edge_index = torch.tensor([[0, 0, 1, 1, 2, 3], [1, 3, 0, 2, 1, 0]])
    weight = torch.tensor([0.5, 2.0, 0.5, 1.5, 1.5, 2.0])
    part = torch.arange(5) % 3
    masks = {k: torch.stack([part == i, part == (i + 1) % 3], dim=1) for i, k in enumerate(["train", "val", "test"])}
    data = Data(
        edge_index=edge_index,
        edge_weight=weight,
        y=torch.tensor([0, 1, 0, 1, 1]),
        num_nodes=5,
        train_mask=masks["train"],
        val_mask=masks["val"],
        test_mask=masks["test"],
    )
    graph = from_pyg(data)
    assert list(graph.splits) == ["0", "1"]
    assert_same_data(to_pyg(graph, minimal=True), data)
    bare = Data(edge_index=edge_index, num_nodes=5)
    assert_same_data(to_pyg(from_pyg(bare), minimal=True), bare)


def test_minimal_of_a_graph_with_many_named_splits_writes_the_default_one(cora):
    data = to_pyg(cora, minimal=True)
    assert sorted(data.keys()) == ["edge_index", "test_mask", "train_mask", "val_mask", "x", "y"]
    public = cora.split("public")
    assert torch.equal(data.train_mask, public.train) and torch.equal(data.test_mask, public.test)
    assert data.is_coalesced()
    assert from_pyg(data).fingerprint() == cora.replace(splits={"default": public}).fingerprint()


# ------------------------------------------------------------------ a Data's edge ids
def test_pyg_edge_graph_numbers_edges_as_from_pyg():
    edge_index = torch.tensor([[3, 1, 0, 2, 1, 2, 4], [1, 3, 2, 0, 1, 0, 0]])
    data = Data(edge_index=edge_index, num_nodes=5)
    graph, ids = pyg_edge_graph(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.equal(graph.edges, Graph.from_pyg(data).edges)
    assert ids.tolist() == [2, 2, 0, 0, -1, 0, 1]  # edges (0, 2), (0, 4), (1, 3); the loop has no id
    pruned = keep_pyg_edges(data, torch.tensor([True, False, True]))
    assert pruned.edge_index.tolist() == [[3, 1, 0, 2, 1, 2], [1, 3, 2, 0, 1, 0]]
    directed, arc_ids = pyg_edge_graph(data, directed=True)
    assert directed.directed and directed.num_edges == 5 and int(arc_ids.max()) == 4  # (2, 0) is given twice
    with pytest.raises(GraphError, match="3 undirected edges.*7 columns"):
        keep_pyg_edges(data, torch.ones(4, dtype=torch.bool))
