"""What the tables and documents print, and in which unit: the sample std for ``train`` summaries (named in the
footer and JSON), the population std for GLT levels (named too), and ``graphsparse runs`` tables."""

from __future__ import annotations

import math
import statistics

import pytest

from graphsparse.experiments.document import STD_POPULATION, STD_SAMPLE, command_document, summarize
from graphsparse.experiments.tables import print_summary


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


# ------------------------------------------------------------------------------------------ graphsparse runs
@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Two cora gcn runs and a one-round GLT search (dense + random levels), stored by the command."""
    from graphsparse.cli import main

    folder = tmp_path_factory.mktemp("units")
    path = folder / "r.db"
    common = ["--db", str(path), "--no-progress", "--json"]
    assert main(["train", "--dataset", "cora", "--epochs", "2", "--seeds", "2", *common]) == 0
    glt = ["glt", "--dataset", "cora", "--method", "random", "--rounds", "1", "--seeds", "2", "--epochs", "1"]
    assert main([*glt, "--plot", str(folder / "glt.png"), *common]) == 0
    return path


def _out(capsys, *argv: str) -> str:
    from graphsparse.cli import main

    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _records(capsys, db) -> list[dict]:
    import json

    return json.loads(_out(capsys, "runs", "list", "--db", str(db), "--json"))


def test_runs_and_glt_levels_share_one_unit(db, capsys):
    records = _records(capsys, db)
    run = next(r for r in records if r["kind"] == "node")
    level = next(r for r in records if r["kind"] == "glt" and r["config"]["method"] == "random")
    table = _out(capsys, "runs", "compare", str(run["id"]), level["id"], "--db", str(db), "--wide")
    lines = table.splitlines()
    mean = next(line for line in lines if line.startswith("test_acc_mean"))
    assert f"{100 * level['metrics']['test_acc_mean']:.2f}" in mean.split()  # in %, as the runs' test_acc
    test = next(line for line in lines if line.startswith("test_acc "))
    assert f"{100 * run['metrics']['test_acc']:.2f}" in test.split()
    sparsity = next(line for line in lines if line.startswith("graph_sparsity"))
    assert f"{100 * level['metrics']['graph_sparsity']:.2f}" in sparsity.split()
    assert lines[-1] == "(accuracy, ROC-AUC, AUC, AP, Hits@K, MRR and sparsities in %)"
    listing = _out(capsys, "runs", "list", "--db", str(db), "--wide").splitlines()
    assert listing[-1].endswith("(accuracy, ROC-AUC, AUC, AP, Hits@K, MRR and sparsities in %)")
    glt_line = next(line for line in listing if line.startswith(level["id"]))
    assert f"{100 * level['metrics']['test_acc_mean']:.2f}" in glt_line.split()


def test_runs_tables_fit_the_terminal_unless_wide(db, capsys, monkeypatch):
    records = _records(capsys, db)
    ids = [str(r["id"]) for r in records]
    monkeypatch.setenv("COLUMNS", "80")
    for argv in (["list"], ["compare", *ids]):
        narrow = _out(capsys, "runs", *argv, "--db", str(db)).splitlines()
        wide = _out(capsys, "runs", *argv, "--db", str(db), "--wide").splitlines()
        assert max(len(line) for line in narrow[:-1]) <= 80, argv  # every table line (not the footer)
        assert max(len(line) for line in wide) > 80, argv
        assert any("…" in line for line in narrow) and not any("…" in line for line in wide)
        assert len(narrow) == len(wide)  # cut, not wrapped: one line per row


def test_fit_columns_cuts_the_widest_shrinkable_column():
    from graphsparse.experiments.runs import fit_columns

    widths, cells = fit_columns(["id", "detail"], [["1", "x" * 50]], 20, fixed=(0,))
    assert widths == [2, 16] and cells == [["1", "x" * 15 + "…"]]
    assert fit_columns(["id", "detail"], [["1", "x" * 50]], None)[1] == [["1", "x" * 50]]


def test_every_record_carries_its_versions(db, capsys):
    import csv
    import io
    import json
    from importlib import metadata

    import torch

    try:
        installed = metadata.version("graphsparse")
    except metadata.PackageNotFoundError:
        import graphsparse

        installed = graphsparse.__version__
    records = _records(capsys, db)
    assert {r["kind"] for r in records} == {"node", "glt"}
    for record in records:
        assert record["versions"]["torch"] == torch.__version__ and record["versions"]["graphsparse"], record["id"]
        assert record["invocation"]["package_version"] == installed, record["id"]
    rows = list(csv.DictReader(io.StringIO(_out(capsys, "runs", "export", "--format", "csv", "--db", str(db)))))
    assert {row["package_version"] for row in rows} == {installed}
    assert all(json.loads(row["versions"])["torch"] for row in rows)
