"""Tests for the GLT search (graphsparse.sparsify.search) and the ``graphsparse glt`` command."""

from __future__ import annotations

import json

import pytest

from graphsparse.data import synthetic_dcsbm
from graphsparse.experiments import ResultsStore
from graphsparse.nn import build_model
from graphsparse.sparsify.search import check_methods, glt_levels, glt_search, random_weight_masks
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
    return [{k: v for k, v in r.items() if k not in ("seconds", "cached")} for r in results]


def test_levels_formula():
    levels = glt_levels(3, 0.05, 0.2)
    assert [k for k, _, _ in levels] == [1, 2, 3]
    for k, gs, ws in levels:
        assert gs == pytest.approx(1 - 0.95**k)
        assert ws == pytest.approx(1 - 0.8**k)
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
    with pytest.raises(ValueError, match="listed twice"):
        check_methods("ugs,ugs")
    with pytest.raises(ValueError, match="unknown GLT method 'magic'.*available"):
        check_methods(["teddy", "magic"])
    with pytest.raises(ValueError, match="no GLT method"):
        check_methods("")


def test_random_weight_masks_sparsity(graph):
    model = factory_for(graph)()
    masks = random_weight_masks(model, 0.36, seed=1)
    total = sum(m.numel() for m in masks.values())
    removed = sum(int((~m).sum()) for m in masks.values())
    assert removed == round(0.36 * total)
    again = random_weight_masks(model, 0.36, seed=1)
    assert all((again[k] == masks[k]).all() for k in masks)


def test_search_levels_match_schedule(graph, tmp_path):
    levels = glt_levels(2, 0.2, 0.3)
    store = ResultsStore(tmp_path / "r.db")
    results = list(glt_search(graph, factory_for(graph), ["teddy", "random"], levels, [0], CONFIG, store, "t"))
    assert len(results) == 1 + 2 * len(levels)
    dense = results[0]
    assert (dense["method"], dense["round"], dense["graph_sparsity"], dense["weight_sparsity"]) == ("dense", 0, 0, 0)
    for r, (method, (k, gs, ws)) in zip(results[1:], [(m, lv) for m in ("teddy", "random") for lv in levels]):
        assert (r["method"], r["round"]) == (method, k)
        assert r["graph_sparsity"] == pytest.approx(gs, abs=1.0 / graph.num_edges)
        assert r["weight_sparsity"] == pytest.approx(ws, abs=0.01)
        assert 0.0 <= r["test_acc_mean"] <= 1.0 and r["test_acc_std"] >= 0.0
        assert not r["cached"]
    assert len(store.keys("t|")) == len(results)
    # a rerun loads everything
    again = list(glt_search(graph, factory_for(graph), ["teddy", "random"], levels, [0], CONFIG, store, "t"))
    assert all(r["cached"] for r in again)
    assert comparable(again) == comparable(results)


def test_resume_after_kill_equals_uninterrupted(graph, tmp_path):
    levels = glt_levels(3, 0.1, 0.2)
    args = (graph, factory_for(graph), ["teddy"], levels, [0, 1], CONFIG)
    full = list(glt_search(*args, ResultsStore(tmp_path / "full.db"), "k"))

    store = ResultsStore(tmp_path / "killed.db")

    class Killed(Exception):
        pass

    def kill_after_level_1(result):
        if result["method"] == "teddy" and result["round"] == 1:
            raise Killed

    with pytest.raises(Killed):
        list(glt_search(*args, store, "k", kill_after_level_1))
    assert len(store.keys("k|")) == 2  # dense + level 1 committed before the kill
    resumed = list(glt_search(*args, store, "k"))
    assert [r["cached"] for r in resumed] == [True, True, False, False]
    assert comparable(resumed) == comparable(full)


def test_search_bad_input(graph):
    with pytest.raises(ValueError, match="UGS runs its rounds in order"):
        next(glt_search(graph, factory_for(graph), "ugs", glt_levels(3, 0.1, 0.1)[1:], [0], CONFIG))
    with pytest.raises(ValueError, match="distill"):
        next(glt_search(graph, factory_for(graph), "teddy", glt_levels(1, 0.1, 0.1), [0], CONFIG, distill=-1.0))
    with pytest.raises(ValueError, match="at least one level"):
        next(glt_search(graph, factory_for(graph), "teddy", [], [0], CONFIG))


def test_cli_glt_json_and_plot(tmp_path, capsys):
    from graphsparse.cli import main

    plot = tmp_path / "glt.png"
    argv = ["glt", "--dataset", "synthetic", "--rounds", "2", "--seeds", "1", "--epochs", "3", "--pw", "0.3"]
    argv += ["--json", "--db", str(tmp_path / "r.db"), "--plot", str(plot), "--no-progress"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert set(data) >= {"dataset", "model", "levels", "dense"}
    assert data["dataset"] == "synthetic" and data["model"] == "gcn"
    assert [(lv["method"], lv["round"]) for lv in data["levels"]] == [
        ("teddy", 1),
        ("teddy", 2),
        ("random", 1),
        ("random", 2),
    ]
    for lv in data["levels"]:
        assert set(lv) >= {"graph_sparsity", "weight_sparsity", "test_acc_mean", "test_acc_std", "seconds"}
    assert data["levels"][1]["weight_sparsity"] == pytest.approx(1 - 0.7**2, abs=0.01)
    assert plot.exists() and plot.stat().st_size > 0
    assert str(plot) in err


def test_cli_glt_bad_method(tmp_path, capsys):
    from graphsparse.cli import main

    argv = ["glt", "--dataset", "synthetic", "--method", "ugs,magic", "--db", str(tmp_path / "r.db"), "--no-progress"]
    assert main(argv) == 2
    assert "unknown GLT method 'magic'" in capsys.readouterr().err


def test_ugs_l1_defaults_follow_the_reference_commands():
    from graphsparse.sparsify.ugs import ugs_l1_coefficients

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
    from graphsparse.nn.presets import resolve_preset
    from graphsparse.sparsify.ugs import ugs_l1_coefficients

    preset = resolve_preset("gcn", "citeseer", "teddy")
    assert preset["model"]["hidden_channels"] == 512
    assert preset["train"]["weight_decay"] == 5e-4 and not preset["train"]["decay_first_layer_only"]
    assert ugs_l1_coefficients("citeseer", "teddy") == ugs_l1_coefficients("pubmed", "teddy") == (1e-4, 1e-4)
    with pytest.raises(ValueError, match="unknown UGS protocol 'magic'"):
        ugs_l1_coefficients("cora", "magic")


def test_cli_glt_hidden_option(tmp_path, capsys):
    from graphsparse.cli import main

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
        "--plot",
        str(tmp_path / "p.png"),
        "--no-progress",
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model_options"]["hidden_channels"] == 24
    assert data["ugs_l1"] == {"s1": 1e-2, "s2": 1e-2}
    argv[argv.index("24")] = "0"
    assert main(argv) == 2
    assert "--hidden must be >= 1, got 0" in capsys.readouterr().err


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
    assert "UGS is iterative" in capsys.readouterr().err
