"""Link prediction: leak-free splits, metrics against scikit-learn/OGB, GAE/VGAE training, CLI, OGB folder, GLT."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.cli import main
from graphsparse.data import load_dataset
from graphsparse.data.link_splits import edge_keys, sample_non_edges, split_edges
from graphsparse.data.ogb_raw import load_ogb_raw
from graphsparse.data.synthetic import synthetic_dcsbm
from graphsparse.graph import Graph, GraphError
from graphsparse.nn.gae import build_link_model
from graphsparse.sparsify import Teddy
from graphsparse.sparsify.methods import MethodSetup
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.tasks.link import LinkTrainConfig, link_split_for_seed, run_link, train_link
from graphsparse.tasks.link_glt import LinkGLTTask
from graphsparse.tasks.link_metrics import MRR_MIN_NEGATIVES, auc_ap, hits_at_k, link_metrics, mean_reciprocal_rank
from graphsparse.utils import seed_everything


@pytest.fixture(scope="module")
def sbm() -> Graph:
    return synthetic_dcsbm(num_nodes=300, num_edges=1500, num_features=16, num_classes=3, seed=0)


def _keys(edges: torch.Tensor, n: int) -> set[int]:
    return set(edge_keys(edges, n).tolist())


def test_held_out_edges_never_in_training_graph(sbm: Graph) -> None:
    split = split_edges(sbm, seed=1)
    n, m = sbm.num_nodes, sbm.num_edges
    assert split.val_pos.size(1) == int(0.05 * m) and split.test_pos.size(1) == int(0.10 * m)
    assert split.train_graph.num_edges == m - split.val_pos.size(1) - split.test_pos.size(1)
    directed = split.train_graph.edge_index  # both directions of every training edge
    directed_keys = set((directed[0] * n + directed[1]).tolist())
    for held in (split.val_pos, split.test_pos):
        for u, v in held.t().tolist():
            assert u * n + v not in directed_keys and v * n + u not in directed_keys
    assert _keys(split.train_pos, n) | _keys(split.val_pos, n) | _keys(split.test_pos, n) == _keys(sbm.edges, n)


def test_negatives_are_true_non_edges(sbm: Graph) -> None:
    split = split_edges(sbm, seed=2, neg_ratio=3)
    n, true = sbm.num_nodes, _keys(sbm.edges, sbm.num_nodes)
    assert split.val_neg.size(1) == 3 * split.val_pos.size(1) and split.neg_ratio == 3
    for neg in (split.val_neg, split.test_neg):
        assert bool((neg[0] != neg[1]).all())
        keys = (neg.min(0).values * n + neg.max(0).values).tolist()
        assert not set(keys) & true and len(set(keys)) == len(keys)
    assert not _keys(split.val_neg, n) & _keys(split.test_neg, n)


def test_same_seed_same_split(sbm: Graph) -> None:
    a, b, c = split_edges(sbm, seed=5), split_edges(sbm, seed=5), split_edges(sbm, seed=6)
    for name in ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.test_pos, c.test_pos)


def test_bad_splits_get_clear_errors(sbm: Graph) -> None:
    with pytest.raises(GraphError, match="no edges"):
        split_edges(Graph(torch.empty(2, 0, dtype=torch.long), num_nodes=4, name="empty"))
    with pytest.raises(GraphError, match="leave none to train"):
        split_edges(sbm, val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(GraphError, match="too few"):
        split_edges(Graph(torch.tensor([[0, 1], [1, 2]]), num_nodes=3, name="tiny"))
    with pytest.raises(ValueError, match="val_fraction"):
        split_edges(sbm, val_fraction=-0.1)
    with pytest.raises(ValueError, match="neg_ratio"):
        split_edges(sbm, neg_ratio=0)
    with pytest.raises(GraphError, match="non-edges"):  # a complete graph has no negatives to draw
        full = torch.combinations(torch.arange(6)).t()
        split_edges(Graph(full, num_nodes=6, name="k6"), val_fraction=0.2, test_fraction=0.2)


def test_sample_non_edges_is_deterministic_and_exhaustive() -> None:
    forbidden = edge_keys(torch.tensor([[0, 1], [1, 2]]), 4)
    pairs = sample_non_edges(4, forbidden, 4, torch.Generator().manual_seed(0))  # all 6 pairs minus 2 edges
    assert _keys(pairs, 4) == {0 * 4 + 2, 0 * 4 + 3, 1 * 4 + 3, 2 * 4 + 3}
    again = sample_non_edges(4, forbidden, 4, torch.Generator().manual_seed(0))
    assert torch.equal(pairs, again)


def test_metrics_match_sklearn_and_ogb() -> None:
    from ogb.linkproppred import Evaluator
    from sklearn.metrics import average_precision_score, roc_auc_score

    gen = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(40, generator=gen) + 1.0, torch.randn(120, generator=gen)
    labels = np.r_[np.ones(40), np.zeros(120)]
    scores = np.r_[pos.numpy(), neg.numpy()]
    auc, ap = auc_ap(pos, neg)
    assert auc == pytest.approx(roc_auc_score(labels, scores))
    assert ap == pytest.approx(average_precision_score(labels, scores))
    collab = Evaluator(name="ogbl-collab")  # Hits@50
    expected = collab.eval({"y_pred_pos": pos, "y_pred_neg": neg})["hits@50"]
    assert hits_at_k(pos, neg, 50) == pytest.approx(expected)
    assert hits_at_k(pos, neg[:10], 50) == 1.0
    citation = Evaluator(name="ogbl-citation2")  # MRR with per-positive negatives
    grouped = neg.view(40, 3)
    expected_mrr = float(citation.eval({"y_pred_pos": pos, "y_pred_neg": grouped})["mrr_list"].mean())
    assert mean_reciprocal_rank(pos, grouped) == pytest.approx(expected_mrr)
    # link_metrics reports MRR only with at least MRR_MIN_NEGATIVES negatives per positive (3 here: no MRR)
    out = link_metrics(pos, neg, hits=(20, 50))
    assert set(out) == {"auc", "ap", "hits@20", "hits@50"}
    many = torch.randn(40 * MRR_MIN_NEGATIVES, generator=gen)
    expected_many = citation.eval({"y_pred_pos": pos, "y_pred_neg": many.view(40, -1)})["mrr_list"].mean()
    out = link_metrics(pos, many, hits=(20,))
    assert set(out) == {"auc", "ap", "hits@20", "mrr"} and out["mrr"] == pytest.approx(float(expected_many))
    for k in (1, 7, 100):  # any K, through OGB's Evaluator
        kth = torch.sort(neg, descending=True).values[k - 1]
        assert hits_at_k(pos, neg, k) == pytest.approx(float((pos > kth).double().mean()))
    with pytest.raises(ValueError, match="K >= 1"):
        hits_at_k(pos, neg, 0)


def test_gae_learns_and_is_deterministic(sbm: Graph) -> None:
    config = LinkTrainConfig(epochs=40, hits=(10,))

    def factory():
        return build_link_model("gae", sbm.num_features, sbm.num_nodes)

    a = run_link(sbm, factory, [0], config)[0]
    b = run_link(sbm, factory, [0], config)[0]
    assert a.test == b.test and a.best_epoch == b.best_epoch
    assert a.scores["test_auc"] > 0.7 and a.scores["test_hits@10"] == pytest.approx(43 / 150)  # seed 0


@pytest.mark.parametrize("name,decoder", [("vgae", "dot"), ("sage", "hadamard")])
def test_other_encoders_and_decoders_train(sbm: Graph, name: str, decoder: str) -> None:
    split = split_edges(sbm, seed=0)
    seed_everything(0)
    model = build_link_model(name, sbm.num_features, sbm.num_nodes, decoder=decoder)
    result = train_link(split, model, LinkTrainConfig(epochs=30), seed=0)
    assert result.scores["test_auc"] > 0.7 and result.scores["test_hits@100"] > 0.8  # chance: 0.5, and far below


def test_featureless_graph_gets_embeddings() -> None:
    graph = load_dataset("usair")
    assert graph.x is None
    model = build_link_model("gae", None, graph.num_nodes)
    assert model.embedding is not None and model.embedding.weight.shape == (graph.num_nodes, 64)
    result = train_link(split_edges(graph, seed=0), model, LinkTrainConfig(epochs=30), seed=0)
    assert result.scores["test_auc"] > 0.6


def test_cli_link_prints_requested_metrics(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        [
            "train",
            "--task",
            "link",
            "--dataset",
            "celegans",
            "--model",
            "gae",
            "--seeds",
            "2",
            "--epochs",
            "20",
            "--hits",
            "20,50",
            "--json",
            "--no-progress",
            "--db",
            str(tmp_path / "r.db"),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("test_auc_mean", "test_auc_std", "test_ap_mean", "test_hits@20_mean", "test_hits@50_mean"):
        assert key in out
    assert out["task"] == "link" and len(out["runs"]) == 2
    code = main(["train", "--task", "link", "--dataset", "celegans", "--hits", "0", "--db", str(tmp_path / "r.db")])
    assert code == 2


def _write_csv(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("\n".join(",".join(str(v) for v in row) for row in rows.reshape(len(rows), -1)) + "\n")


def test_ogb_link_folder_end_to_end(tmp_path: Path) -> None:
    base = synthetic_dcsbm(num_nodes=120, num_edges=600, num_features=8, num_classes=2, seed=1)
    edges = base.edges.t().numpy()
    folder = tmp_path / "ogbl_tiny"
    _write_csv(folder / "raw" / "edge.csv.gz", edges)
    _write_csv(folder / "raw" / "num-node-list.csv.gz", np.array([base.num_nodes]))
    _write_csv(folder / "raw" / "num-edge-list.csv.gz", np.array([len(edges)]))
    _write_csv(folder / "raw" / "node-feat.csv.gz", base.x.numpy())
    reference = split_edges(base, seed=0)  # reuse a leak-free split, stored the way OGB stores it
    parts = {
        "train": {"edge": reference.train_pos.t().numpy()},
        "valid": {"edge": reference.val_pos.t().numpy(), "edge_neg": reference.val_neg.t().numpy()},
        "test": {"edge": reference.test_pos.t().numpy(), "edge_neg": reference.test_neg.t().numpy()},
    }
    (folder / "split" / "time").mkdir(parents=True)
    for part, payload in parts.items():
        torch.save(payload, folder / "split" / "time" / f"{part}.pt")
    graph = load_ogb_raw(folder)
    split = link_split_for_seed(graph, seed=3)
    assert split.train_graph.num_edges == reference.train_graph.num_edges
    assert torch.equal(split.test_neg, reference.test_neg)
    result = run_link(
        graph, lambda: build_link_model("gae", 8, graph.num_nodes), [0], LinkTrainConfig(epochs=20, hits=(50,))
    )[0]
    assert result.scores["test_hits@50"] == pytest.approx(29 / 30) and result.scores["test_auc"] > 0.65  # seed 0


def test_link_glt_never_prunes_held_out_edges(sbm: Graph, tmp_path: Path) -> None:
    from graphsparse.experiments import ResultsStore

    task = LinkGLTTask(sbm, LinkTrainConfig(epochs=15))
    train_graph = task.graph_for_seed(0, 0)
    split = task.split(0)
    held = _keys(split.val_pos, sbm.num_nodes) | _keys(split.test_pos, sbm.num_nodes)
    assert not held & _keys(train_graph.edges, sbm.num_nodes)

    def factory():
        return build_link_model("gae", sbm.num_features, sbm.num_nodes)

    store = ResultsStore(tmp_path / "g.db")
    results = list(
        glt_search(
            sbm,
            factory,
            methods="teddy,ugs,random",
            levels=glt_levels(1, 0.2, 0.2),
            seeds=[0],
            store=store,
            key_prefix="glt|gae|link",
            task=task,
        )
    )
    assert [r.method for r in results] == ["dense", "teddy", "ugs", "random"]
    for r in results:
        assert (r.task, r.metric) == ("link", "auc")
        payload = store.get(r.key)  # stored under the metric's name
        assert payload["test_auc_mean"] == r.test_mean and "test_acc_mean" not in payload
    for r in results[1:]:
        assert r.graph_sparsity == pytest.approx(0.2, abs=0.01) and r.test_mean > 0.7  # AUC; chance is 0.5
    # distillation is defined for node classification only: refused by the method's setup and by the trainer
    with pytest.raises(ValueError, match="node classification only"):
        Teddy.configure(MethodSetup(task="link"), distill=1.0)
    assert Teddy.configure(MethodSetup(task="link")).distill == 0.0
    with pytest.raises(TypeError):
        LinkGLTTask(sbm, distill=1.0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="distillation"):
        next(
            glt_search(
                sbm, factory, methods=[Teddy(distill=1.0)], levels=glt_levels(1, 0.2, 0.2), task=task, dense=False
            )
        )


def test_glt_cli_link_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "glt",
            "--task",
            "link",
            "--dataset",
            "celegans",
            "--method",
            "teddy,random",
            "--rounds",
            "1",
            "--seeds",
            "1",
            "--epochs",
            "10",
            "--json",
            "--no-progress",
            "--db",
            str(tmp_path / "g.db"),
            "--plot",
            str(tmp_path / "p.png"),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metric"] == "auc" and {r["method"] for r in out["levels"]} == {"teddy", "random"}
    assert out["method_options"] == {"teddy": {"distill": 0.0}, "random": {}}  # no distillation for links
    for level in [out["dense"], *out["levels"]]:
        assert level["test_auc_mean"] > 0.75 and level["test_aucs"] == [level["test_auc_mean"]]  # chance: 0.5
        assert "test_acc_mean" not in level
    assert (tmp_path / "p.png").is_file()
