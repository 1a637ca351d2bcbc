"""No command overwrites what it reads: an output that is the same file as an input, or as another
output, by path, symbolic link or hard link, is refused before any work, with one line naming both and exit 2;
the input is left byte for byte as it was."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from graphsparse.cli import main
from graphsparse.cli.preflight import PreflightError, check_distinct, same_file
from graphsparse.experiments.store import ResultsStore

TINY_GLT = ["glt", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--method", "teddy", "--distill", "0"]
TINY_GLT += ["--epochs", "2", "--seeds", "1", "--rounds", "1", "--no-progress"]
TINY_TUNE = ["tune", "--dataset", "cora", "--trials", "1", "--trial-seeds", "1", "--seeds", "1", "--epochs", "2"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _database(path: Path) -> Path:
    store = ResultsStore(path)
    store.record_run("node", "cora", "gcn", 0, {"lr": 0.01}, {"test_acc": 0.8})
    return path


def _alias(kind: str, target: Path, where: Path) -> Path:
    """``target`` itself, a symbolic link to it, a hard link to it, or a path through ``..``."""
    if kind == "same":
        return target
    if kind == "dotdot":
        sub = where / "sub"
        sub.mkdir(exist_ok=True)
        return sub / ".." / target.name
    alias = where / f"alias-{kind}{target.suffix}"
    if kind == "symlink":
        alias.symlink_to(target)
    else:
        os.link(target, alias)
    return alias


ALIASES = ["same", "symlink", "hardlink", "dotdot"]


@pytest.fixture
def no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dataset was loaded: the output was not refused before the work")

    for where in ("graphsparse.data.load_dataset", "graphsparse.data.registry.load_dataset"):
        monkeypatch.setattr(where, refuse)


def _refused(capsys: pytest.CaptureFixture[str], command: str, *names: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"graphsparse {command}: error: ") and "same file" in lines[0], lines[0]
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


# ---------------------------------------------------------------------------------------------- the check
@pytest.mark.parametrize("kind", ALIASES)
def test_same_file_sees_every_alias(kind, tmp_path) -> None:
    target = tmp_path / "a.db"
    target.write_bytes(b"x")
    assert same_file(_alias(kind, target, tmp_path), target)
    assert not same_file(tmp_path / "b.db", target)
    assert same_file(tmp_path / "new" / ".." / "c.db", tmp_path / "c.db")  # neither exists yet


def test_check_distinct_names_both_and_skips_none(tmp_path) -> None:
    a = tmp_path / "a.json"
    a.write_text("{}")
    check_distinct([("--out", tmp_path / "b.csv"), ("--plot", None)], [("--space", a), ("--db", None)])
    with pytest.raises(PreflightError, match=r"--out .*a\.json.*same file as --space"):
        check_distinct([("--out", a)], [("--space", a)])
    with pytest.raises(PreflightError, match="one would overwrite the other"):
        check_distinct([("--plot", tmp_path / "x.png"), ("--db", tmp_path / "x.png")])


# ---------------------------------------------------------------------------------------------- commands
@pytest.mark.parametrize("kind", ALIASES)
def test_runs_export_never_overwrites_its_database(kind, tmp_path, capsys) -> None:
    db = _database(tmp_path / "runs.db")
    before = _digest(db)
    out = _alias(kind, db, tmp_path)
    assert main(["runs", "export", "--format", "csv", "--out", str(out), "--db", str(db)]) == 2
    _refused(capsys, "runs", "--out", "--db")
    assert _digest(db) == before
    assert main(["runs", "list", "--db", str(db), "--json"]) == 0


def test_runs_import_never_opens_its_file_as_the_database(tmp_path, capsys) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text('{"format": "graphsparse-recovery/1", "records": []}')
    before = _digest(saved)
    assert main(["runs", "import", str(saved), "--db", str(_alias("hardlink", saved, tmp_path))]) == 2
    _refused(capsys, "runs", "recovery file")
    assert _digest(saved) == before


@pytest.mark.parametrize("kind", ALIASES)
def test_glt_plot_never_overwrites_its_database(kind, tmp_path, capsys, no_loading) -> None:
    db = _database(tmp_path / "runs.png")  # a database named like an image: --plot could name it
    before = _digest(db)
    assert main([*TINY_GLT, "--db", str(db), "--plot", str(_alias(kind, db, tmp_path))]) == 2
    _refused(capsys, "glt", "--plot", "--db")
    assert _digest(db) == before


def test_glt_plot_and_a_new_database_at_one_path_are_refused(tmp_path, capsys, no_loading) -> None:
    both = tmp_path / "out.png"
    assert main([*TINY_GLT, "--db", str(both), "--plot", str(both)]) == 2
    _refused(capsys, "glt", "--plot")
    assert not both.exists()  # refused before the database was created


@pytest.mark.parametrize("which", ["ticket", "trained"])
@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
def test_ticket_compact_never_overwrites_the_ticket(which, kind, tmp_path, capsys, no_loading) -> None:
    folder = tmp_path / "teddy" / "round1" / "seed0"
    folder.mkdir(parents=True)
    ticket, trained = folder / "ticket.pt", folder / "trained.pt"
    ticket.write_bytes(b"ticket bytes")
    trained.write_bytes(b"trained bytes")
    target = ticket if which == "ticket" else trained
    before = _digest(target)
    out = _alias(kind, target, tmp_path)
    assert main(["ticket", "compact", str(ticket), "--dataset", "cora", "--out", str(out)]) == 2
    _refused(capsys, "ticket", "--out", str(target.name))
    assert _digest(target) == before


@pytest.mark.parametrize(
    "case",
    ["storage=db", "storage=space", "storage-url=db", "default-storage=space"],
)
def test_tune_storage_never_overwrites_the_database_or_the_space(case, tmp_path, capsys, no_loading) -> None:
    db = _database(tmp_path / "r.db")
    space = tmp_path / "space.json"
    space.write_text("{}")
    argv = [*TINY_TUNE, "--db", str(db), "--space", str(space), "--no-progress"]
    if case == "storage=db":
        argv += ["--storage", str(_alias("hardlink", db, tmp_path))]
    elif case == "storage=space":
        argv += ["--storage", str(space)]
    elif case == "storage-url=db":
        argv += ["--storage", f"sqlite:///{db}"]
    else:  # the default storage, <db stem>-optuna.db beside the database, is the --space file
        space = tmp_path / "r-optuna.db"
        space.write_text("{}")
        argv = [*TINY_TUNE, "--db", str(db), "--space", str(space), "--no-progress"]
    before = {p: _digest(p) for p in (db, space)}
    assert main(argv) == 2
    _refused(capsys, "tune", "--storage")
    assert {p: _digest(p) for p in (db, space)} == before


@pytest.mark.parametrize("command", ["train", "glt"])
def test_a_database_path_on_a_file_that_is_not_a_database_changes_nothing(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_loading: Callable[..., None]
) -> None:
    """``--db`` on an input of another kind (a dataset's file, a ticket) is refused unchanged: SQLite's open
    reads its header and refuses it before writing."""
    data = tmp_path / "cora.npz"
    data.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    before = _digest(data)
    argv = TINY_GLT if command == "glt" else ["train", "--dataset", "cora", "--epochs", "1", "--seeds", "1"]
    assert (
        main(
            [*argv, "--db", str(data), "--plot", str(tmp_path / "p.png")]
            if command == "glt"
            else [*argv, "--db", str(data)]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert str(data) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert _digest(data) == before


@pytest.mark.parametrize("form", ["sqlite", "path", "hardlink"])
def test_runs_export_to_mlflow_never_writes_into_its_database(form, tmp_path, capsys) -> None:
    db = _database(tmp_path / "runs.db")
    before = _digest(db)
    uri = {
        "sqlite": f"sqlite:///{db}",
        "path": str(db),
        "hardlink": f"sqlite:///{_alias('hardlink', db, tmp_path)}",
    }[form]
    assert main(["runs", "export", "--to", "mlflow", "--tracking-uri", uri, "--db", str(db)]) == 2
    _refused(capsys, "runs", "--tracking-uri", "--db")
    assert _digest(db) == before
