"""Tests for the GLT search (graphsparse.sparsify.search) and the ``graphsparse glt`` command."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from graphsparse.data import synthetic_dcsbm
from graphsparse.experiments import ResultsStore
from graphsparse.nn import build_model
from graphsparse.sparsify import UGS, WDGLT, LevelResult, RandomPruning, Teddy
from graphsparse.sparsify.methods import check_methods, method_names, random_weight_masks
from graphsparse.sparsify.search import glt_levels, glt_search, resolve_methods
from graphsparse.tasks.node import NodeTrainConfig

CONFIG = NodeTrainConfig(epochs=8)


@pytest.fixture(scope="module")
def graph():
    return synthetic_dcsbm(num_nodes=120, num_edges=400, num_features=8, num_classes=3, seed=0)


def factory_for(graph):
    def factory():
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)

    return factory


def comparable(results):
    """The results without what legitimately differs between a run and a rerun (timings, cached)."""
    return [replace(r, seconds=0.0, cached=False) for r in results]


def test_levels_formula():
    levels = glt_levels(3, 0.05, 0.2)
    assert [k for k, _, _ in levels] == [1, 2, 3]
    assert [level.round for level in levels] == [1, 2, 3]
    for k, gs, ws in levels:
        assert gs == pytest.approx(1 - 0.95**k)
        assert ws == pytest.approx(1 - 0.8**k)
    assert levels[1].graph_sparsity == pytest.approx(1 - 0.95**2)
    assert levels[1].weight_sparsity == pytest.approx(1 - 0.8**2)
    assert glt_levels(1, 0.0, 0.0) == [(1, 0.0, 0.0)]


@pytest.mark.parametrize(
    "rounds, pg, pw, match",
    [(0, 0.05, 0.2, "rounds"), (2, 1.0, 0.2, "pg"), (2, 0.05, -0.1, "pw"), (2.5, 0.1, 0.1, "rounds")],
)
def test_levels_bad_args(rounds, pg, pw, match):
    with pytest.raises(ValueError, match=match):
        glt_levels(rounds, pg, pw)


def test_methods_errors():
    assert check_methods("teddy, random") == ["teddy", "random"]
    assert check_methods("ugs,teddy") == ["ugs", "teddy"]
    assert check_methods(["wd-glt"]) == ["wd-glt"]
    assert check_methods("graphsparse.sparsify.methods.random:RandomPruning") == ["random"]
    assert {"teddy", "ugs", "random", "wd-glt"} <= set(method_names())
    with pytest.raises(ValueError, match="listed twice"):
        check_methods("ugs,ugs")
    with pytest.raises(ValueError, match="unknown GLT method 'magic'.*available"):
        check_methods(["teddy", "magic"])
    with pytest.raises(ValueError, match="no GLT method"):
        check_methods("")
    with pytest.raises(ValueError, match="has no attribute 'Nope'"):
        check_methods("graphsparse.sparsify.methods.random:Nope")


def test_method_names_resolve_to_their_defaults():
    teddy, ugs, random = resolve_methods("teddy, ugs,random")
    assert teddy == Teddy() and teddy.distill == 0.0 and teddy.label == "teddy"
    assert ugs == UGS() and (ugs.s1, ugs.s2) == (1e-2, 1e-2)
    assert random == RandomPruning()
    chosen = resolve_methods([Teddy(distill=2.0), "random"])
    assert [m.name for m in chosen] == ["teddy", "random"] and chosen[0].distill == 2.0
    assert chosen[0].label == "teddy + KD (λ = 2)" and chosen[0].teacher_weight == 2.0
    assert resolve_methods(UGS(s1=1e-3))[0].describe() == {"s1": 1e-3, "s2": 1e-2}
    with pytest.raises(ValueError, match="listed twice"):
        resolve_methods([Teddy(distill=1.0), "teddy"])
    with pytest.raises(ValueError, match="no GLT method"):
        resolve_methods([])


@pytest.mark.parametrize(
    "build, option",
    [
        (lambda: UGS(s1=-1.0), "s1"),
        (lambda: UGS(s2=float("nan")), "s2"),
        (lambda: Teddy(distill=-1.0), "distill"),
        (lambda: Teddy(distill=float("inf")), "distill"),
        (lambda: WDGLT(wd_iters=0), "wd_iters"),
        (lambda: WDGLT(wd_eps=0.0), "wd_eps"),
    ],
)
def test_method_options_are_checked_at_construction(build, option):
    with pytest.raises(ValueError, match=option):
        build()


def test_method_configure_follows_the_task_and_dataset():
    from graphsparse.sparsify.methods import MethodSetup

    assert Teddy.configure(MethodSetup(task="node")).distill == 10.0  # the TEDDY paper's λ
    assert Teddy.configure(MethodSetup(task="link")).distill == 0.0
    assert Teddy.configure(MethodSetup(task="node"), distill=0.0).distill == 0.0
    with pytest.raises(ValueError, match="node classification only"):
        Teddy.configure(MethodSetup(task="link"), distill=1.0)
    assert (UGS.configure(MethodSetup(dataset="PubMed")).s1, UGS.configure(MethodSetup(dataset="PubMed")).s2) == (
        1e-6,
        1e-3,
    )
    teddy_backbone = UGS.configure(MethodSetup(dataset="cora", preset="teddy"), s2=5e-3)
    assert (teddy_backbone.s1, teddy_backbone.s2) == (1e-4, 5e-3)


def test_random_weight_masks_sparsity(graph):
    model = factory_for(graph)()
    masks = random_weight_masks(model, 0.36, seed=1)
    total = sum(m.numel() for m in masks.values())
    removed = sum(int((~m).sum()) for m in masks.values())
    assert removed == round(0.36 * total)
    again = random_weight_masks(model, 0.36, seed=1)
    assert all((again[k] == masks[k]).all() for k in masks)


# test accuracy (24 test nodes) of each level of the seeded search below: seed 0, 8 epochs, levels (0.2, 0.3)
SEARCH_SCORES = {("teddy", 1): 13 / 24, ("teddy", 2): 19 / 24, ("random", 1): 12 / 24, ("random", 2): 16 / 24}


def test_search_levels_match_schedule(graph, tmp_path):
    levels = glt_levels(2, 0.2, 0.3)
    store = ResultsStore(tmp_path / "r.db")
    options = dict(methods=["teddy", "random"], levels=levels, seeds=[0], config=CONFIG, store=store, key_prefix="t")
    results = list(glt_search(graph, factory_for(graph), **options))
    assert len(results) == 1 + 2 * len(levels)
    assert all(isinstance(r, LevelResult) for r in results)
    dense = results[0]
    assert (dense.method, dense.round, dense.graph_sparsity, dense.weight_sparsity) == ("dense", 0, 0, 0)
    for r, (method, (k, gs, ws)) in zip(results[1:], [(m, lv) for m in ("teddy", "random") for lv in levels]):
        assert (r.method, r.round, r.label) == (method, k, method)
        assert (r.target_graph_sparsity, r.target_weight_sparsity) == (gs, ws)
        assert r.graph_sparsity == pytest.approx(gs, abs=1.0 / graph.num_edges)
        assert r.weight_sparsity == pytest.approx(ws, abs=0.01)
        assert r.test_mean == pytest.approx(SEARCH_SCORES[r.method, r.round]) and r.test_std == 0.0  # one seed
        assert r.test_scores == [r.test_mean] and r.seeds == [0]
        assert (r.task, r.metric) == ("node", "acc") and r.states is None
        assert not r.cached
        payload = r.to_payload()
        assert (payload["test_acc_mean"], payload["test_accs"], payload["task"]) == (r.test_mean, [r.test_mean], "node")
        assert "method_state" not in payload and payload == r.summary()
        assert store.get(r.key)["test_acc_mean"] == r.test_mean
    assert len(store.keys("t|")) == len(results)
    # a rerun loads everything
    again = list(glt_search(graph, factory_for(graph), **options))
    assert all(r.cached for r in again)
    assert comparable(again) == comparable(results)


def test_resume_after_kill_equals_uninterrupted(graph, tmp_path):
    levels = glt_levels(3, 0.1, 0.2)
    options = dict(methods=["teddy"], levels=levels, seeds=[0, 1], config=CONFIG, key_prefix="k")
    full = list(glt_search(graph, factory_for(graph), store=ResultsStore(tmp_path / "full.db"), **options))

    store = ResultsStore(tmp_path / "killed.db")

    class Killed(Exception):
        pass

    seen = []

    def kill_after_level_1(result):
        seen.append(result)
        if result.method == "teddy" and result.round == 1:
            raise Killed

    with pytest.raises(Killed):
        list(glt_search(graph, factory_for(graph), store=store, progress=kill_after_level_1, **options))
    assert all(isinstance(r, LevelResult) for r in seen) and [r.round for r in seen] == [0, 1]
    assert len(store.keys("k|")) == 2  # dense + level 1 committed before the kill
    resumed = list(glt_search(graph, factory_for(graph), store=store, **options))
    assert [r.cached for r in resumed] == [True, True, False, False]
    assert comparable(resumed) == comparable(full)


def test_search_bad_input(graph):
    factory = factory_for(graph)
    with pytest.raises(ValueError, match="ugs runs its rounds in order"):
        next(glt_search(graph, factory, methods="ugs", levels=glt_levels(3, 0.1, 0.1)[1:], config=CONFIG))
    with pytest.raises(ValueError, match="distill"):
        next(glt_search(graph, factory, methods=[Teddy(distill=-1.0)], levels=glt_levels(1, 0.1, 0.1)))
    with pytest.raises(ValueError, match="at least one level"):
        next(glt_search(graph, factory, methods="teddy", levels=[], config=CONFIG))
    with pytest.raises(ValueError, match="at least one seed"):
        next(glt_search(graph, factory, methods="teddy", levels=glt_levels(1, 0.1, 0.1), seeds=[], config=CONFIG))
    with pytest.raises(ValueError, match="unknown GLT method 'magic'"):
        next(glt_search(graph, factory, methods="teddy,magic", levels=glt_levels(1, 0.1, 0.1), config=CONFIG))
    with pytest.raises(TypeError):  # everything after the graph and the model factory is keyword-only
        next(glt_search(graph, factory, "teddy", glt_levels(1, 0.1, 0.1)))


def test_method_objects_carry_their_options_into_the_key(graph, tmp_path):
    levels = glt_levels(1, 0.2, 0.3)
    store = ResultsStore(tmp_path / "r.db")
    options = dict(levels=levels, config=CONFIG, store=store, key_prefix="o", dense=False)
    plain = list(glt_search(graph, factory_for(graph), methods=["ugs"], **options))
    same = list(glt_search(graph, factory_for(graph), methods=[UGS(s1=1e-2, s2=1e-2)], **options))
    other = list(glt_search(graph, factory_for(graph), methods=[UGS(s1=1e-3)], **options))
    assert same[0].cached and same[0].key == plain[0].key  # a name is the method with its defaults
    assert not other[0].cached and "s1=0.001" in other[0].key and "s1=0.01" in plain[0].key
    assert len(plain[0].states) == 1 and set(plain[0].states[0]) == {"edges", "weights"}
    assert "method_state" in store.get(plain[0].key) and "method_state" not in plain[0].summary()


def test_wd_glt_search_prunes_to_the_schedule(graph):
    levels = glt_levels(2, 0.2, 0.3)
    method = WDGLT(wd_lambda=0.1, wd_nodes=60)
    results = list(glt_search(graph, factory_for(graph), methods=[method], levels=levels, config=CONFIG, dense=False))
    assert [(r.method, r.round) for r in results] == [("wd-glt", 1), ("wd-glt", 2)]
    for r, (_, gs, ws) in zip(results, levels):
        assert r.graph_sparsity == pytest.approx(gs, abs=1.0 / graph.num_edges)
        assert r.weight_sparsity == pytest.approx(ws, abs=0.01)
        assert r.states is not None
    assert [r.test_mean for r in results] == pytest.approx([24 / 24, 21 / 24])  # seed 0: the levels' test accuracy
    assert "lambda=0.1" in results[0].key and "nodes=60" in results[0].key


def test_cli_glt_json_and_plot(tmp_path, capsys):
    from graphsparse.cli import main

    plot = tmp_path / "glt.png"
    argv = ["glt", "--dataset", "synthetic", "--rounds", "2", "--seeds", "1", "--epochs", "3", "--pw", "0.3"]
    argv += ["--json", "--db", str(tmp_path / "r.db"), "--plot", str(plot), "--no-progress"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert set(data) >= {"dataset", "model", "levels", "dense", "method_options", "labels"}
    assert "distill" not in data and "ugs_l1" not in data
    assert data["dataset"] == "synthetic" and data["model"] == "gcn"
    # the default methods: TEDDY with the paper's distillation λ = 10, and random pruning
    assert data["method_options"] == {"teddy": {"distill": 10.0}, "random": {}}
    assert data["labels"] == {"teddy": "teddy + KD (λ = 10)", "random": "random"}
    assert [(lv["method"], lv["round"]) for lv in data["levels"]] == [
        ("teddy", 1),
        ("teddy", 2),
        ("random", 1),
        ("random", 2),
    ]
    for lv in data["levels"]:
        assert set(lv) >= {"graph_sparsity", "weight_sparsity", "test_acc_mean", "test_acc_std", "test_accs", "seconds"}
        assert lv["test_accs"] == [lv["test_acc_mean"]]
    assert data["levels"][1]["weight_sparsity"] == pytest.approx(1 - 0.7**2, abs=0.01)
    assert plot.exists() and plot.stat().st_size > 0
    assert str(plot) in err


def test_cli_glt_bad_method(tmp_path, capsys):
    from graphsparse.cli import main

    argv = ["glt", "--dataset", "synthetic", "--method", "ugs,magic", "--db", str(tmp_path / "r.db"), "--no-progress"]
    assert main(argv) == 2
    assert "unknown GLT method 'magic'" in capsys.readouterr().err


def test_cli_glt_method_option_without_its_method(tmp_path, capsys):
    from graphsparse.cli import main

    argv = ["glt", "--dataset", "synthetic", "--method", "teddy", "--s1", "1e-3", "--db", str(tmp_path / "r.db")]
    assert main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--s1 is an option of ugs: it applies only with ugs in --method" in err


def test_ugs_l1_defaults_follow_the_reference_commands():
    from graphsparse.sparsify.methods.ugs import ugs_l1_coefficients

    assert ugs_l1_coefficients("PubMed") == (1e-6, 1e-3)
    assert ugs_l1_coefficients("cora") == ugs_l1_coefficients("citeseer") == (1e-2, 1e-2)


def test_cli_glt_negative_l1_coefficient(tmp_path, capsys):
    from graphsparse.cli import main

    argv = [
        "glt",
        "--dataset",
        "synthetic",
        "--method",
        "ugs",
        "--s1",
        "-0.1",
        "--rounds",
        "1",
        "--db",
        str(tmp_path / "r.db"),
        "--no-progress",
    ]
    assert main(argv) == 2
    assert "--s1 must be >= 0" in capsys.readouterr().err


def test_teddy_preset_is_the_reference_glt_backbone():
    from graphsparse.presets import resolve_preset
    from graphsparse.sparsify.methods.ugs import ugs_l1_coefficients

    preset = resolve_preset("gcn", "citeseer", "teddy")
    assert preset["model"]["hidden_channels"] == 512
    assert preset["train"]["weight_decay"] == 5e-4 and not preset["train"]["decay_first_layer_only"]
    assert ugs_l1_coefficients("citeseer", "teddy") == ugs_l1_coefficients("pubmed", "teddy") == (1e-4, 1e-4)
    with pytest.raises(ValueError, match="unknown UGS protocol 'magic'"):
        ugs_l1_coefficients("cora", "magic")


def test_cli_glt_hidden_option(tmp_path, capsys, monkeypatch):
    from graphsparse.cli import main

    monkeypatch.chdir(tmp_path)  # the default plot goes to runs/ under the working directory
    argv = [
        "glt",
        "--dataset",
        "synthetic",
        "--method",
        "ugs",
        "--rounds",
        "1",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--hidden",
        "24",
        "--json",
        "--db",
        str(tmp_path / "r.db"),
        "--no-progress",
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model_options"]["hidden_channels"] == 24
    assert data["method_options"] == {"ugs": {"s1": 1e-2, "s2": 1e-2}}
    assert data["labels"] == {"ugs": "ugs"}
    assert (tmp_path / "runs" / "glt_synthetic_gcn_node.png").is_file()
    argv[argv.index("24")] = "0"
    assert main(argv) == 2
    assert "--hidden must be >= 1, got 0" in capsys.readouterr().err


def test_cli_glt_cluster_batching(tmp_path, capsys):
    from graphsparse.cli import main

    argv = ["glt", "--dataset", "synthetic", "--method", "teddy,random", "--distill", "0", "--rounds", "1"]
    argv += ["--seeds", "1", "--epochs", "2", "--json", "--db", str(tmp_path / "r.db"), "--no-progress"]
    argv += ["--plot", str(tmp_path / "p.png")]
    assert main([*argv, "--batching", "cluster", "--parts", "4", "--clusters-per-batch", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["batching"] != "full"
    assert data["method_options"]["teddy"] == {"distill": 0.0}
    assert [(lv["method"], lv["round"]) for lv in data["levels"]] == [("teddy", 1), ("random", 1)]
    assert [lv["test_acc_mean"] for lv in data["levels"]] == pytest.approx([164 / 200, 123 / 200])  # seed 0
    assert main([*argv, "--batching", "cluster", "--parts", "2", "--clusters-per-batch", "3"]) == 2
    assert "--clusters-per-batch (3) must be <= the number of parts (2)" in capsys.readouterr().err
    assert main([*argv, "--parts", "4"]) == 2
    assert "--parts applies to --batching cluster only" in capsys.readouterr().err


def test_cli_glt_sparse_features(tmp_path, capsys):
    """--sparse-features gives full-batch levels CSR features (recorded in the config, so in the store key), and
    is refused where it does not apply."""
    from graphsparse.cli import main

    argv = ["glt", "--dataset", "cora", "--preset", "paper", "--method", "random", "--rounds", "1", "--seeds", "1"]
    argv += ["--epochs", "30", "--json", "--db", str(tmp_path / "r.db"), "--no-progress"]
    argv += ["--plot", str(tmp_path / "p.png")]
    assert main(argv) == 0
    dense_features = json.loads(capsys.readouterr().out)
    assert main([*argv, "--sparse-features"]) == 0
    sparse = json.loads(capsys.readouterr().out)
    assert sparse["config"]["train"]["sparse_features"] is True
    assert dense_features["config"]["train"]["sparse_features"] is False
    assert sparse["dense"]["test_acc_mean"] > 0.6  # chance: 1/7 (30 epochs of Kipf & Welling's GCN)
    assert not any(level.get("cached") for level in sparse["levels"])  # its own key, not the dense-feature run's
    assert main([*argv, "--sparse-features", "--batching", "cluster"]) == 2
    assert "--sparse-features applies to --batching full only" in capsys.readouterr().err
    link = [a for a in argv if a not in ("--preset", "paper")]
    assert main([*link, "--sparse-features", "--task", "link"]) == 2
    assert "--sparse-features applies to --task node only" in capsys.readouterr().err


def test_cli_glt_levels_subset_and_errors(tmp_path, capsys):
    from graphsparse.cli import main

    base = [
        "glt",
        "--dataset",
        "synthetic",
        "--method",
        "teddy",
        "--rounds",
        "3",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--json",
        "--db",
        str(tmp_path / "r.db"),
        "--plot",
        str(tmp_path / "p.png"),
        "--no-progress",
    ]
    assert main(base + ["--levels", "2-3"]) == 0
    subset = json.loads(capsys.readouterr().out)["levels"]
    assert [lv["round"] for lv in subset] == [2, 3]
    assert main(base) == 0  # the full schedule reuses the two stored levels
    full = {lv["round"]: lv for lv in json.loads(capsys.readouterr().out)["levels"]}
    assert sorted(full) == [1, 2, 3]
    assert [full[k]["test_acc_mean"] for k in (2, 3)] == [lv["test_acc_mean"] for lv in subset]
    for levels, message in (("0-2", "outside rounds 1..3"), ("2-x", "cannot read '2-x'")):
        assert main(base + ["--levels", levels]) == 2
        assert message in capsys.readouterr().err
    ugs = base.copy()
    ugs[ugs.index("teddy")] = "ugs"
    assert main(ugs + ["--levels", "2-3"]) == 2
    assert "ugs is iterative" in capsys.readouterr().err


def test_penalty_per_step_divides_by_the_epochs_steps():
    from torch import nn

    from graphsparse.batching.glt import penalty_per_step

    model = nn.Linear(2, 1)
    assert penalty_per_step(None, 5) is None
    whole = lambda m: m.weight.abs().sum() + 3.0  # noqa: E731
    assert float(penalty_per_step(whole, 4)(model)) == pytest.approx(float(whole(model)) / 4)
    assert float(penalty_per_step(whole, 0)(model)) == pytest.approx(float(whole(model)))


def test_cluster_ugs_steps_only_the_batches_edge_masks():
    """On in-memory Cluster-GCN batches UGS's edge mask gets sparse gradients stepped by SparseAdam: the entries
    of edges that no batch of the epoch holds (cut between its batches) keep their initial value, while
    dense gradients with the l1 term would move every entry."""
    from types import SimpleNamespace

    from graphsparse.batching.glt import ClusterGLTTask
    from graphsparse.batching.train import ClusterConfig
    from graphsparse.sparsify.weights import prunable_parameters

    graph = synthetic_dcsbm(num_nodes=300, num_edges=1200, num_features=16, num_classes=3, seed=0)
    task = ClusterGLTTask(graph, NodeTrainConfig(epochs=1), ClusterConfig(num_parts=6, clusters_per_batch=2))
    assert task.sparse_edge_masks

    def build(seed):
        torch.manual_seed(seed)
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)

    ctx = SimpleNamespace(task=task, build=build)
    keep = {n: torch.ones_like(p, dtype=torch.bool) for n, p in prunable_parameters(build(0)).items()}
    masked = UGS(s1=1e-2, s2=1e-2).masked_model(ctx, graph, keep, seed=0)
    before = masked.edge_mask.detach().clone()
    in_a_batch = torch.zeros(graph.num_edges, dtype=torch.bool)
    for batch in task.batches(graph, 0, 0):
        in_a_batch[batch.edge_ids] = True
    assert 0 < int(in_a_batch.sum()) < graph.num_edges
    task.fit(graph, masked, seed=0, seed_index=0, extra_loss=masked.l1_penalty)
    after = masked.edge_mask.detach()
    assert torch.equal(after[~in_a_batch], before[~in_a_batch])
    assert bool((after[in_a_batch] != before[in_a_batch]).all())


def test_batch_optimizers_step_ugs_weight_masks_at_a_full_batch_pace():
    """A batch trainer steps UGS's weight masks at lr / steps (each keeping its group's weight decay) and every
    other dense parameter at lr; with one step per epoch nothing is slowed."""
    from graphsparse.batching.glt import batch_optimizers
    from graphsparse.sparsify.methods.ugs import UGSMasked

    model = UGSMasked(build_model("gcn", 8, 3, hidden_channels=4), 10, sparse_edge_grad=True)
    config = NodeTrainConfig(lr=0.02, weight_decay=5e-4, decay_first_layer_only=True)
    adam, lazy = batch_optimizers(model, config, steps=20)
    masks = {id(p) for p in model.weight_masks}
    lr_of = {id(p): g["lr"] for g in adam.param_groups for p in g["params"]}
    assert {lr_of[i] for i in masks} == {0.02 / 20}
    assert {lr for i, lr in lr_of.items() if i not in masks} == {0.02}
    assert id(model.edge_mask) not in lr_of and lazy.param_groups[0]["lr"] == 0.02
    decay_of = {id(p): g["weight_decay"] for g in adam.param_groups for p in g["params"]}
    first = {id(p) for p in model.base.convs[0].parameters()}
    assert {decay_of[i] for i in first} == {5e-4} and {decay_of[i] for i in masks} == {0.0}
    (single, _) = batch_optimizers(model, config, steps=1)
    assert {g["lr"] for g in single.param_groups} == {0.02}
    with pytest.raises(ValueError, match="slowdown must be >= 1"):
        from graphsparse.train.optim import make_optimizer

        make_optimizer(model, 0.1, slowed=list(model.weight_masks), slowdown=0.5)


def test_step_groups_split_an_epoch_into_optimizer_steps():
    from graphsparse.batching.glt import step_groups

    assert step_groups(14, 4) == [4, 4, 4, 2]
    assert step_groups(14, 14) == [14] and step_groups(14, 1) == [1] * 14 and step_groups(3, 5) == [3]


def test_cluster_glt_accumulate_all_takes_one_step_of_the_mean_batch_gradient():
    """``ClusterConfig(accumulate=0)``: one optimizer step an epoch whose gradient is the mean of the batches'
    gradients (taken here one batch at a time, independently); the default takes one step per batch, and its store
    key does not name the option."""
    import copy

    from graphsparse.batching.glt import ClusterGLTTask
    from graphsparse.batching.train import ClusterConfig

    graph = synthetic_dcsbm(num_nodes=300, num_edges=1200, num_features=16, num_classes=3, seed=0)
    config = NodeTrainConfig(epochs=2)
    torch.manual_seed(0)
    model = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8, dropout=0.0)
    start = copy.deepcopy(model)
    task = ClusterGLTTask(graph, config, ClusterConfig(num_parts=6, clusters_per_batch=2, accumulate=0))
    batches = list(task.batches(graph, 0, 0))
    assert len(batches) == 3
    split_name = "random" if "random" in graph.splits else next(iter(graph.splits))
    mean_grad = [torch.zeros_like(p) for p in start.parameters()]
    for batch in batches:
        index = batch.graph.split(split_name).index("train")
        loss = F.cross_entropy(start(batch.graph)[index], batch.graph.y[index])
        for total, grad in zip(mean_grad, torch.autograd.grad(loss, list(start.parameters()))):
            total += grad / len(batches)
    steps = []
    task.fit(
        graph, model, seed=0, seed_index=0, after_step=lambda m: steps.append([p.grad.clone() for p in m.parameters()])
    )
    assert len(steps) == config.epochs  # one step an epoch
    for got, want in zip(steps[0], mean_grad):
        assert torch.allclose(got, want, atol=1e-6)
    per_batch = []
    default = ClusterGLTTask(graph, config, ClusterConfig(num_parts=6, clusters_per_batch=2))
    default.fit(graph, copy.deepcopy(start), seed=0, seed_index=0, after_step=lambda m: per_batch.append(1))
    assert len(per_batch) == config.epochs * len(batches)
    assert "accumulate" not in default.describe()["cluster"] and task.describe()["cluster"]["accumulate"] == 0


def test_glt_accumulate_applies_to_in_memory_cluster_batches_only(tmp_path, capsys):
    from graphsparse.cli import main

    base = ["glt", "--dataset", "cora", "--db", str(tmp_path / "a.db"), "--no-progress"]
    assert main([*base, "--accumulate", "0"]) == 2
    assert "--accumulate applies to --batching cluster only" in capsys.readouterr().err
    assert main([*base, "--batching", "cluster", "--on-disk", "--accumulate", "0"]) == 2
    assert "a disk graph's search takes one optimizer step per batch" in capsys.readouterr().err
    assert main([*base, "--batching", "cluster", "--accumulate", "-1"]) == 2
    assert "--accumulate" in capsys.readouterr().err
