"""What the tables and documents print, and in which unit: the sample std for ``train`` summaries (named in the
footer and JSON), the population std for GLT levels (named too), and ``graphsparse runs`` tables."""

from __future__ import annotations

import math
import statistics

import pytest

from graphsparse.experiments.report import STD_POPULATION, STD_SAMPLE, command_document, print_summary, summarize


def test_summarize_gives_the_sample_std_like_pandas():
    rows = [{"test_acc": v} for v in (0.80, 0.82, 0.81, 0.85)]
    out = summarize(rows, ["test_acc"])
    assert math.isclose(out["test_acc_std"], statistics.stdev(r["test_acc"] for r in rows))
    assert math.isclose(out["test_acc_mean"], statistics.fmean(r["test_acc"] for r in rows))
    population = summarize(rows, ["test_acc"], ddof=0)
    assert math.isclose(population["test_acc_std"], statistics.pstdev(r["test_acc"] for r in rows))
    one = summarize(rows[:1], ["test_acc"])  # one seed: the sample std is undefined, as in pandas
    assert one["test_acc_mean"] == 0.80 and math.isnan(one["test_acc_std"])


def test_documents_and_tables_name_their_std(capsys):
    document = command_document(
        "train",
        dataset="cora",
        model="gcn",
        task="node",
        metric="acc",
        seeds=[0, 1],
        config={},
        summary={"test_acc": {"mean": 0.8, "std": 0.01}},
        extra={"test_acc_mean": 0.8, "test_acc_std": 0.01},
        std=STD_SAMPLE,
    )
    assert document["std"] == "sample (ddof=1)" and document["std_ddof"] == 1
    print_summary(document, as_json=False)
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "(accuracy, ROC-AUC, AUC, AP and Hits@K in %; ± std: the sample (ddof=1) std over seeds)"
    assert "std=" not in out[0]  # named in the footer, not in the head line
    glt = command_document(
        "glt", dataset="d", model="m", task="node", metric="acc", seeds=[0], config={}, summary={}, std=STD_POPULATION
    )
    assert glt["std_ddof"] == 0 and glt["std"] == "population (ddof=0)"
    with pytest.raises(ValueError, match="std must be"):
        command_document(
            "train", dataset="d", model="m", task="node", metric="acc", seeds=[0], config={}, summary={}, std="x"
        )
