"""What a hostile probe of the GLT store, tickets and disk searches found: options ignored or left out of store keys,
tickets recorded against another search's files, and errors that named the wrong thing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch

from graphsparse.batching import ClusterConfig
from graphsparse.batching.disk_glt import DiskClusterGLTTask
from graphsparse.cli import main
from graphsparse.data.diskwrite import write_disk_graph
from graphsparse.data.synthetic import synthetic_dcsbm
from graphsparse.sparsify.levels import parse_levels
from graphsparse.sparsify.methods import OneShotMethod, register_method
from graphsparse.sparsify.ticket import Ticket
from graphsparse.tasks.node import NodeTrainConfig

QUICK = ["--rounds", "1", "--seeds", "1", "--epochs", "3", "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two 6-part folders of one generator: the same name ("synthetic") and sizes, other graphs."""
    root = tmp_path_factory.mktemp("six")
    out = {}
    for name, seed in (("six", 0), ("other", 1)):
        graph = synthetic_dcsbm(num_nodes=300, num_edges=1200, num_features=8, num_classes=3, seed=seed)
        out[name] = write_disk_graph(root / name, graph, np.arange(300) % 6)
    return out


def test_glt_refuses_to_repartition_a_partitioned_folder(folders, tmp_path, capsys):
    base = ["glt", "--disk", str(folders["six"]), *QUICK, "--db", str(tmp_path / "a.db"), "--method", "random"]
    assert main([*base, "--parts", "3"]) == 2
    assert "--parts 3: disk graph" in capsys.readouterr().err
    assert main([*base, "--train-only"]) == 2
    assert "--train-only: disk graph" in capsys.readouterr().err
    with pytest.raises(ValueError, match="already partitioned into 6 parts"):
        DiskClusterGLTTask(folders["six"], NodeTrainConfig(epochs=1), ClusterConfig(num_parts=3, clusters_per_batch=2))
    with pytest.raises(ValueError, match="one optimizer step per batch"):
        DiskClusterGLTTask(folders["six"], None, ClusterConfig(num_parts=6, clusters_per_batch=2, accumulate=0))


def test_ticket_eval_refuses_another_graph_of_the_same_name_and_size(folders, tmp_path, capsys):
    tickets = tmp_path / "tickets"
    argv = ["glt", "--disk", str(folders["six"]), *QUICK, "--db", str(tmp_path / "s.db"), "--method", "random"]
    assert (
        main([*argv, "--clusters-per-batch", "2", "--plot", str(tmp_path / "s.png"), "--save-tickets", str(tickets)])
        == 0
    )
    ticket = tickets / "random" / "round1" / "seed0" / "ticket.pt"
    capsys.readouterr()
    assert main(["ticket", "eval", str(ticket), "--disk", str(folders["other"]), "--json"]) == 2
    assert "same name, other content" in capsys.readouterr().err
    assert main(["ticket", "eval", str(ticket), "--disk", str(folders["six"]), "--json"]) == 0


@dataclass(frozen=True)
class _Optioned(OneShotMethod):
    power: float = 1.0
    name: ClassVar[str] = "optioned-probe"

    from graphsparse.sparsify.methods import MethodOption

    options: ClassVar[tuple] = (MethodOption("power", "probe option"),)

    def edge_scores(self, ctx, graph, job):
        return torch.zeros(graph.num_edges)

    def weight_rule(self, model, job):
        from graphsparse.sparsify.methods import WeightRule

        return WeightRule("none")


def test_a_methods_options_are_in_its_store_key_by_default():
    """The base key tag names the options (a plug-in that does not override it got one key for every value)."""
    from graphsparse.sparsify.methods import UGS, RandomPruning
    from graphsparse.sparsify.search import glt_levels

    levels = glt_levels(2, 0.1, 0.1)
    assert _Optioned(power=1.0).key_tag(levels, levels[0]) != _Optioned(power=0.0).key_tag(levels, levels[0])
    assert _Optioned(power=0.5).key_tag(levels, levels[0]) == "|power=0.5"
    assert RandomPruning().key_tag(levels, levels[0]) == ""  # no options: the keys stored before stand
    assert "after=0.100000/0.100000,0.190000/0.190000" in UGS().key_tag(levels, levels[1])


def test_another_class_may_not_take_a_built_in_methods_name():
    @dataclass(frozen=True)
    class Teddy(OneShotMethod):  # the built-in's class and method name, another module
        name: ClassVar[str] = "teddy"

        def edge_scores(self, ctx, graph, job):
            return torch.zeros(graph.num_edges)

    with pytest.raises(ValueError, match="name 'teddy' is taken by graphsparse.sparsify.methods.teddy.Teddy"):
        register_method(Teddy)


def test_tickets_of_another_search_or_damaged_are_written_again(tmp_path):
    tickets = tmp_path / "tickets"
    common = ["glt", "--dataset", "cora", "--method", "random", "--preset", "paper", *QUICK]
    common += ["--plot", str(tmp_path / "k.png"), "--save-tickets", str(tickets)]
    assert main([*common, "--db", str(tmp_path / "a.db")]) == 0
    path = tickets / "random" / "round1" / "seed0" / "ticket.pt"
    key_a = Ticket.load(path).provenance["key"]
    assert main([*common, "--epochs", "5", "--db", str(tmp_path / "b.db")]) == 0  # the same folder, another search
    assert Ticket.load(path).provenance["key"] != key_a
    assert main([*common, "--db", str(tmp_path / "a.db")]) == 0  # a's levels are cached: its tickets come back
    assert Ticket.load(path).provenance["key"] == key_a
    with open(path, "r+b") as handle:  # a file cut short (a kill while it was rewritten)
        handle.truncate(1000)
    assert main([*common, "--db", str(tmp_path / "a.db")]) == 0
    assert Ticket.load(path).provenance["key"] == key_a
    assert not list(path.parent.glob("*.tmp-*"))


def test_cluster_eval_every_is_honoured(monkeypatch):
    """``ClusterConfig.eval_every`` reaches the fit loop (it was read nowhere): validation every 4th epoch only."""
    import graphsparse.batching.glt as cluster_glt
    from graphsparse.nn import build_model

    graph = synthetic_dcsbm(num_nodes=200, num_edges=800, num_features=8, num_classes=3, seed=0)
    cluster = ClusterConfig(num_parts=4, clusters_per_batch=2, eval_every=4)
    task = cluster_glt.ClusterGLTTask(graph, NodeTrainConfig(epochs=8), cluster)
    validations = []
    real_fit = cluster_glt.fit

    def counting_fit(model, train_epoch, validate, **kwargs):
        def counted():
            validations.append(1)
            return validate()

        return real_fit(model, train_epoch, counted, **kwargs)

    monkeypatch.setattr(cluster_glt, "fit", counting_fit)
    model = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=8)
    result = task.fit(graph, model, seed=0, seed_index=0)
    assert len(validations) == 2 and result["best_epoch"] in (4, 8)


def test_disk_teacher_logits_are_reused_not_piled_up(folders, tmp_path):
    argv = ["glt", "--disk", str(folders["six"]), *QUICK, "--method", "teddy", "--clusters-per-batch", "2"]
    for run in ("a", "b"):
        assert main([*argv, "--db", str(tmp_path / f"{run}.db"), "--plot", str(tmp_path / f"{run}.png")]) == 0
    work = folders["six"].parent / f"{folders['six'].name}.work"
    assert len(list(work.glob("teacher-*.npy"))) == 1
    assert not list(work.glob("teacher-partial-*"))


def test_a_disk_folder_named_with_a_comma_is_one_search(tmp_path):
    graph = synthetic_dcsbm(num_nodes=120, num_edges=400, num_features=8, num_classes=3, seed=0)
    folder = write_disk_graph(tmp_path / "comma", graph.replace(name="my,graph"), np.arange(120) % 4)
    out = tmp_path / "x.png"
    assert main(["glt", "--disk", str(folder), *QUICK, "--db", str(tmp_path / "c.db"), "--plot", str(out)]) == 0
    assert out.is_file()


def test_levels_with_an_open_end_are_refused():
    for text in ("15-", "3-", "1,4-"):
        with pytest.raises(ValueError, match="cannot read"):
            parse_levels(text, 20)
    assert parse_levels("3-5", 20) == {3, 4, 5}


def test_glt_json_names_the_batches(tmp_path, capsys):
    base = ["glt", "--dataset", "cora", "--method", "random", *QUICK, "--batching", "cluster", "--json"]
    documents = {}
    for accumulate in ("1", "0"):
        capsys.readouterr()
        db = tmp_path / f"{accumulate}.db"
        assert main([*base, "--accumulate", accumulate, "--db", str(db), "--plot", str(tmp_path / "p.png")]) == 0
        documents[accumulate] = json.loads(capsys.readouterr().out)["config"]["cluster"]
    assert documents["1"]["accumulate"] == 1 and documents["0"]["accumulate"] == 0
    assert documents["1"]["num_parts"] == documents["0"]["num_parts"] > 1


def test_glt_disk_with_the_link_task_names_the_disk_option(folders, tmp_path, capsys):
    assert main(["glt", "--disk", str(folders["six"]), "--task", "link", "--db", str(tmp_path / "l.db")]) == 2
    err = capsys.readouterr().err
    assert "--disk" in err and "node classification only" in err and "--batching" not in err
