"""GLT search on Cluster-GCN batches of a disk graph: pruning as bits, tickets, resume, the command line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from graphsparse.batching import ClusterConfig
from graphsparse.batching.disk_glt import DiskClusterGLTTask, batches_of
from graphsparse.cli import main
from graphsparse.data.edgemask import PackedEdgeMask
from graphsparse.data.synthetic import synthetic_dcsbm, synthetic_dcsbm_to_disk
from graphsparse.sparsify.edges import edge_keep_mask, random_edge_scores, teddy_edge_scores
from graphsparse.sparsify.ticket import Ticket
from graphsparse.tasks.node import NodeTrainConfig

# a planted partition: 4 classes, homophilous, well-separated features; chance is 0.25
OPTIONS = dict(num_nodes=1200, num_edges=6000, num_features=16, num_classes=4, homophily=0.9, seed=3)


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory):
    return synthetic_dcsbm_to_disk(tmp_path_factory.mktemp("glt-disk") / "raw", **OPTIONS)


@pytest.fixture(scope="module")
def task(raw_folder, tmp_path_factory):
    cache = tmp_path_factory.mktemp("glt-disk-cache")
    return DiskClusterGLTTask(raw_folder, NodeTrainConfig(epochs=30), ClusterConfig(12, 4), cache_dir=cache)


def test_disk_scores_and_masks_are_the_in_memory_ones(task):
    graph = synthetic_dcsbm(**OPTIONS)
    view = task.graph_for_seed(0, 0)
    assert view.total_edges == graph.num_edges
    disk_scores = teddy_edge_scores(view)
    assert np.array_equal(np.asarray(disk_scores), teddy_edge_scores(graph).numpy())
    for sparsity in (0.05, 0.4, 0.9):
        bits = edge_keep_mask(disk_scores, sparsity)
        assert isinstance(bits, PackedEdgeMask)
        assert torch.equal(bits.to_bool(), edge_keep_mask(teddy_edge_scores(graph), sparsity))
    random_bits = edge_keep_mask(random_edge_scores(view, seed=1), 0.3)
    assert random_bits.count() == graph.num_edges - round(0.3 * graph.num_edges)


def test_pruned_batches_hold_the_pruned_graphs_edges_with_their_ranks(task):
    graph = synthetic_dcsbm(**OPTIONS)
    keep = edge_keep_mask(teddy_edge_scores(graph), 0.4)
    pruned = graph.keep_edges(keep)
    view = task.graph_for_seed(0, 0).keep_edges(keep)
    assert view.num_edges == pruned.num_edges
    seen = 0
    for batch in batches_of(task, view, seed=0):
        original = torch.sort(batch.nodes[batch.graph.edges], dim=0).values
        assert bool(keep[batch.edge_ids].all())
        assert torch.equal(original, graph.edges[:, batch.edge_ids])
        # the rank of a kept id is the pruned in-memory graph's edge id (a learnable mask's position)
        assert torch.equal(original, pruned.edges[:, view.kept_rank(batch.edge_ids)])
        seen += batch.graph.num_edges
    assert 0 < seen <= pruned.num_edges


def test_the_task_pickles_as_a_path(task):
    blob = pickle.dumps(task)
    assert len(blob) < 20_000  # no graph, features or edges travel to a worker
    again = pickle.loads(blob)
    assert again.folder() == task.folder()
    view = again.graph_for_seed(0, 0)
    assert pickle.loads(pickle.dumps(view.keep_edges(torch.ones(view.total_edges, dtype=torch.bool)))).num_edges == (
        view.total_edges
    )


def test_teacher_logits_go_to_disk_and_back(task):
    from graphsparse.nn import build_model

    view = task.graph_for_seed(0, 0)
    torch.manual_seed(0)
    model = build_model("gcn", view.num_features, view.num_classes, hidden_channels=8)
    logits = task.predict(view, model)
    nodes = torch.tensor([0, 5, 1199])
    rows = logits.rows(nodes)
    assert rows.shape == (3, view.num_classes) and logits.path.endswith(".npy")
    assert bool(torch.isfinite(rows).all()) and float(rows.abs().sum()) > 0


def _glt_argv(folder, tmp_path, *extra):
    return [
        "glt", "--disk", str(folder), "--model", "gcn", "--hidden", "16", "--method", "teddy,random,ugs",
        "--rounds", "2", "--seeds", "1", "--epochs", "25", "--parts", "12", "--clusters-per-batch", "4",
        "--db", str(tmp_path / "glt.db"), "--plot", str(tmp_path / "glt.png"), "--json", "--no-progress", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def disk_search(raw_folder, tmp_path_factory):
    """One uninterrupted search with tickets, in this process: ``(its JSON document, its folder)``.

    The resume and the killed-run tests compare with it, so the search is trained once per module.
    """
    where = tmp_path_factory.mktemp("disk-search")
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.setenv("GRAPHSPARSE_CACHE", str(where / "cache"))
        assert main(_glt_argv(raw_folder, where, "--save-tickets", str(where / "tickets"))) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1]), where


def test_glt_on_a_disk_graph_resumes_and_its_tickets_retrain(raw_folder, disk_search, capsys, monkeypatch):
    doc, tmp_path = disk_search
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "cache"))
    assert doc["config"]["batching"] == "cluster-disk"
    scores = {(r["method"], r["round"]): r for r in doc["levels"]}
    assert doc["dense"]["test_acc_mean"] > 0.6  # chance: 0.25
    assert scores[("teddy", 2)]["test_acc_mean"] > 0.5
    assert abs(scores[("teddy", 2)]["graph_sparsity"] - (1 - 0.95**2)) < 1e-3
    # UGS's edge mask is stepped sparsely on a disk graph (the batch's rows, SparseAdam): its tickets stay good
    assert scores[("ugs", 2)]["test_acc_mean"] > 0.6
    assert abs(scores[("ugs", 2)]["graph_sparsity"] - (1 - 0.95**2)) < 1e-3
    # a rerun loads every level from the store: the same numbers
    assert main(_glt_argv(raw_folder, tmp_path, "--save-tickets", str(tmp_path / "tickets"))) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["levels"] == doc["levels"]
    ticket_path = tmp_path / "tickets" / "teddy" / "round2" / "seed0" / "ticket.pt"
    raw = torch.load(ticket_path, weights_only=True)
    assert raw["edge_keep_bits"].dtype == torch.uint8 and raw["num_edges"] == OPTIONS["num_edges"]
    ticket = Ticket.load(ticket_path)
    argv = ["ticket", "eval", str(ticket_path), "--disk", str(raw_folder), "--json"]
    assert main(argv) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test"] == pytest.approx(ticket.provenance["test"], abs=1e-6)


def test_glt_disk_refuses_what_does_not_apply(raw_folder, tmp_path, capsys):
    assert main(["glt", "--disk", str(raw_folder), "--dataset", "cora", "--db", str(tmp_path / "x.db")]) == 2
    assert "either --dataset or --disk" in capsys.readouterr().err
    assert main(["glt", "--disk", str(raw_folder), "--batching", "full", "--db", str(tmp_path / "x.db")]) == 2
    assert "not --batching full" in capsys.readouterr().err
    assert main(["glt", "--disk", str(tmp_path / "nowhere"), "--db", str(tmp_path / "x.db")]) == 2
    assert "nowhere" in capsys.readouterr().err
    argv = [
        "glt",
        "--dataset",
        "cora",
        "--batching",
        "cluster",
        "--on-disk",
        "--train-only",
        "--db",
        str(tmp_path / "x.db"),
    ]
    assert main(argv) == 2
    assert "--train-only applies to --disk" in capsys.readouterr().err


def _levels(db) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM results WHERE key LIKE 'glt|%'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_disk_search_resumes_to_the_same_levels(raw_folder, disk_search, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", GRAPHSPARSE_CACHE=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "graphsparse.cli", *_glt_argv(raw_folder, tmp_path)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _levels(tmp_path / "glt.db") < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the search ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = _levels(tmp_path / "glt.db")
    assert 2 <= stored < 7  # dense + some levels, not all of them
    resumed = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    doc = json.loads(resumed.stdout.strip().splitlines()[-1])
    expected = disk_search[0]  # the same search, uninterrupted (its tickets change no number)

    def scores(d):
        return [(r["method"], r["round"], r["test_accs"], r["graph_sparsity"]) for r in d["levels"]]

    assert scores(doc) == scores(expected)
    assert doc["dense"]["test_accs"] == expected["dense"]["test_accs"]


def test_a_ugs_step_on_a_disk_graph_touches_only_the_batchs_mask_entries(task):
    from types import SimpleNamespace

    from graphsparse.nn import build_model
    from graphsparse.sparsify.methods.ugs import UGS
    from graphsparse.sparsify.weights import prunable_parameters

    view = task.graph_for_seed(0, 0)
    level = view.keep_edges(edge_keep_mask(teddy_edge_scores(synthetic_dcsbm(**OPTIONS)), 0.2))

    def build(seed):
        torch.manual_seed(seed)
        return build_model("gcn", view.num_features, view.num_classes, hidden_channels=8)

    ctx = SimpleNamespace(task=task, build=build)
    weight_keep = {n: torch.ones_like(p, dtype=torch.bool) for n, p in prunable_parameters(build(0)).items()}
    masked = UGS(s1=1e-2, s2=1e-2).masked_model(ctx, level, weight_keep, seed=0)
    assert masked.sparse_edge_grad and masked.edge_mask.numel() == level.num_edges
    optimizers = task.optimizers(masked)
    assert [type(o) for o in optimizers] == [torch.optim.Adam, torch.optim.SparseAdam]
    assert all(p is not masked.edge_mask for group in optimizers[0].param_groups for p in group["params"])
    batch = next(iter(batches_of(task, level, seed=0)))
    before = masked.edge_mask.detach().clone()
    masked.train()
    loss = task.train_step(level, masked, batch, optimizers, task.split_name(level, 0), extra_loss=masked.l1_penalty)
    assert bool(torch.isfinite(loss))
    grad = masked.edge_mask.grad
    assert grad is not None and grad.is_sparse
    rows = level.kept_rank(batch.edge_ids)
    assert torch.equal(torch.unique(grad.coalesce().indices()[0]), torch.unique(rows))
    inside = torch.zeros(level.num_edges, dtype=torch.bool)
    inside[rows] = True
    assert 0 < int(inside.sum()) < level.num_edges
    after = masked.edge_mask.detach()
    assert torch.equal(after[~inside], before[~inside])  # bit-identical outside the batch
    assert bool((after[inside] != before[inside]).all())  # every entry of the batch moved (l1 alone moves it)
    # the penalty's edge term is the batch's entries, scaled to estimate the whole mask's norm
    edge_term = after[rows].abs().sum() * (level.num_edges / rows.numel())
    expected = 1e-2 * edge_term + 1e-2 * sum(m.abs().sum() for m in masked.weight_masks)
    masked(batch.graph, edge_ids=rows)
    assert float(masked.l1_penalty().detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    # evaluation (no gradients) and the best-state restore work on the sparse mask
    scores, _ = task._evaluate(level, level.open(), masked, task.split_name(level, 0), None)
    assert 0.0 <= scores["val_acc"] <= 1.0
    masked.load_state_dict({k: v.clone() for k, v in masked.state_dict().items()})


def _ugs_argv(folder, tmp_path, *extra):
    return [
        "glt", "--disk", str(folder), "--model", "gcn", "--hidden", "16", "--method", "ugs", "--rounds", "2",
        "--seeds", "1", "--epochs", "10", "--parts", "12", "--clusters-per-batch", "4",
        "--db", str(tmp_path / "ugs.db"), "--plot", str(tmp_path / "ugs.png"), "--json", "--no-progress", *extra,
    ]  # fmt: skip


@pytest.mark.integration  # ends on two Ray workers
@pytest.mark.timeout(900)
def test_a_disk_ugs_search_on_two_workers_gives_the_serial_levels(raw_folder, tmp_path, capsys, monkeypatch):
    env = dict(os.environ, OMP_NUM_THREADS="1", GRAPHSPARSE_CACHE=str(tmp_path / "cache"), MPLBACKEND="Agg")

    def levels(stdout):
        doc = json.loads(stdout.strip().splitlines()[-1])
        return [(r["method"], r["round"], r["test_accs"], r["graph_sparsity"]) for r in doc["levels"]]

    def run(where, *extra):
        where.mkdir()
        argv = [sys.executable, "-m", "graphsparse.cli", *_ugs_argv(raw_folder, where, *extra)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return levels(done.stdout)

    (tmp_path / "serial").mkdir()  # the serial search in this process: only the Ray run needs one of its own
    monkeypatch.setenv("GRAPHSPARSE_CACHE", env["GRAPHSPARSE_CACHE"])
    assert main(_ugs_argv(raw_folder, tmp_path / "serial")) == 0
    serial = levels(capsys.readouterr().out)
    assert [(m, r) for m, r, _, _ in serial] == [("ugs", 1), ("ugs", 2)]
    assert run(tmp_path / "workers", "--workers", "2") == serial


def test_a_file_backed_ugs_mask_trains_as_the_in_memory_one(tmp_path):
    """UGSMasked with ``mask_folder`` keeps the edge mask (and batch_optimizers SparseAdam's moments) in unlinked
    memory-mapped files: the same initial values, and the same values after sparse steps, as in memory."""
    from graphsparse.batching.glt import batch_optimizers
    from graphsparse.nn import build_model
    from graphsparse.sparsify.methods.ugs import UGSMasked

    graph = synthetic_dcsbm(num_nodes=200, num_edges=900, num_features=8, num_classes=3, seed=1)

    def masked(folder):
        torch.manual_seed(0)
        model = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)
        return UGSMasked(model, graph.num_edges, s1=1e-2, s2=1e-2, sparse_edge_grad=True, mask_folder=folder)

    in_memory, mapped = masked(None), masked(tmp_path / "masks")
    assert torch.equal(in_memory.edge_mask, mapped.edge_mask)
    assert list((tmp_path / "masks").iterdir()) == []  # unlinked: nothing left behind, even after a kill
    config = NodeTrainConfig(lr=0.05)
    moments = []
    for model in (in_memory, mapped):
        optimizers = batch_optimizers(model, config)
        prefilled = dict(optimizers[1].state.get(model.edge_mask, {}))
        for step in range(3):  # overlapping batches of mask entries, as Cluster-GCN batches touch them
            ids = torch.arange(step * 100, step * 100 + 300) % graph.num_edges
            for optimizer in optimizers:
                optimizer.zero_grad()
            (torch.gather(model.edge_mask, 0, ids, sparse_grad=True) - 0.5).square().sum().backward()
            for optimizer in optimizers:
                optimizer.step()
        state = optimizers[1].state[model.edge_mask]
        assert state["step"] == 3
        moments.append(state["exp_avg_sq"].clone())
        if prefilled:  # the mapped moments are the ones SparseAdam stepped
            assert state["exp_avg_sq"] is prefilled["exp_avg_sq"]
    assert torch.equal(in_memory.edge_mask, mapped.edge_mask) and torch.equal(*moments)
    assert not torch.equal(in_memory.edge_mask[:500], masked(None).edge_mask[:500])  # the steps moved it
    with pytest.raises(ValueError, match="mask_folder needs sparse_edge_grad"):
        UGSMasked(build_model("gcn", 8, 3, hidden_channels=4), 10, mask_folder=tmp_path)
