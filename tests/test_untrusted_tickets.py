"""Ticket and trained-weight files are untrusted input: a damaged or foreign file (empty, truncated, a
JSON file, a pickle, a database, a crafted archive) and every provenance value read from it (types, ranges, widths
before allocation, paths confined to the ticket's folder, unknown values) are checked, and each problem is one line
naming the file and the field, never a traceback."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from graphsparse.cli import main
from graphsparse.sparsify import Ticket
from graphsparse.validation import FileProblem, confined_path, load_json_file, load_torch_file

SEARCH = ["glt", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--method", "teddy", "--distill", "0"]
SEARCH += ["--epochs", "2", "--seeds", "1", "--rounds", "1", "--no-progress"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of one ticket written by a tiny search (ticket.pt and trained.pt)."""
    tmp = tmp_path_factory.mktemp("untrusted")
    argv = [*SEARCH, "--db", str(tmp / "r.db"), "--plot", str(tmp / "p.png"), "--save-tickets", str(tmp / "t")]
    assert main(argv) == 0
    folder = tmp / "t" / "teddy" / "round1" / "seed0"
    assert (folder / "ticket.pt").is_file() and (folder / "trained.pt").is_file()
    return folder


@pytest.fixture
def ticket_dir(saved: Path, tmp_path: Path) -> Path:
    """A private copy of the saved ticket's folder, for one test to damage."""
    copy = tmp_path / "seed0"
    shutil.copytree(saved, copy)
    return copy


def _one_line(capsys: pytest.CaptureFixture[str], *names: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def _eval(path: Path) -> int:
    return main(["ticket", "eval", str(path), "--dataset", "cora", "--json"])


class _Crafted:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("touch /tmp/graphsparse-pwned",))


# ---------------------------------------------------------------------------------------------- whole files
def _damage(kind: str, path: Path) -> None:
    data = path.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "one byte":
        path.write_bytes(data[:1])
    elif kind == "json":
        path.write_text(json.dumps({"format": "graphsparse.ticket", "version": 1}))
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"format": "graphsparse.ticket", "version": 1}))
    elif kind == "crafted pickle":
        path.write_bytes(pickle.dumps(_Crafted()))
    elif kind == "crafted archive":
        torch.save({"format": "graphsparse.ticket", "x": _Crafted()}, path)
    elif kind == "sqlite":
        path.unlink()
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE t (x)")
    elif kind == "garbage":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "flipped":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :])
    elif kind == "folder":
        path.unlink()
        path.mkdir()
    else:
        raise AssertionError(kind)


KINDS = ["empty", "truncated", "one byte", "json", "pickle", "crafted pickle", "crafted archive", "sqlite"]
KINDS += ["garbage", "folder"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_or_foreign_ticket_file_is_one_line(kind, ticket_dir, capsys) -> None:
    path = ticket_dir / "ticket.pt"
    _damage(kind, path)
    marker = Path("/tmp/graphsparse-pwned")
    marker.unlink(missing_ok=True)
    code = _eval(path)
    assert code == 2
    _one_line(capsys, str(path))
    assert not marker.exists()  # no code from the file ran
    with pytest.raises(ValueError, match=str(path).replace("/", ".")):
        Ticket.load(path)


@pytest.mark.parametrize("kind", ["empty", "truncated", "json", "pickle", "crafted archive", "garbage"])
def test_a_damaged_trained_weights_file_is_one_line(kind, ticket_dir, tmp_path, capsys) -> None:
    trained = ticket_dir / "trained.pt"
    _damage(kind, trained)
    code = main(
        ["ticket", "compact", str(ticket_dir / "ticket.pt"), "--dataset", "cora", "--out", str(tmp_path / "c.pt")]
    )
    assert code == 2
    _one_line(capsys, str(trained))


@pytest.mark.parametrize(
    "state",
    [
        "list",
        "missing",
        "extra",
        "shape",
        "nan",
    ],
)
def test_trained_weights_that_do_not_fit_are_refused(state, ticket_dir, tmp_path, capsys) -> None:
    trained = ticket_dir / "trained.pt"
    weights = torch.load(trained, weights_only=True)
    name = next(iter(weights))
    if state == "list":
        torch.save(list(weights.values()), trained)
    elif state == "missing":
        weights.pop(name)
        torch.save(weights, trained)
    elif state == "extra":
        weights["evil"] = torch.zeros(2)
        torch.save(weights, trained)
    elif state == "shape":
        weights[name] = torch.zeros(3, 3)
        torch.save(weights, trained)
    else:
        weights[name] = torch.full_like(weights[name], float("nan"))
        torch.save(weights, trained)
    code = main(
        ["ticket", "compact", str(ticket_dir / "ticket.pt"), "--dataset", "cora", "--out", str(tmp_path / "c.pt")]
    )
    assert code == 2
    _one_line(capsys, str(trained))


# ---------------------------------------------------------------------------------------------- structure
def _bytes_as_bool(mask: torch.Tensor) -> torch.Tensor:
    raw = mask.to(torch.uint8).clone()
    raw[0] = 2
    return raw.view(torch.bool)


def _payload(path: Path) -> dict[str, Any]:
    """The saved ticket as a version-1 payload (its edge mask a bool tensor), which every reader still takes."""
    p = torch.load(path, weights_only=True)
    bits, count = p.pop("edge_keep_bits"), p.pop("num_edges")
    mask = np.unpackbits(bits.numpy(), count=count, bitorder="little").astype(bool)
    return {**p, "version": 1, "edge_keep_mask": torch.from_numpy(mask)}


@pytest.mark.parametrize(
    "change",
    [
        ("bits as bool", lambda p: {**p, "edge_keep_bits": p["edge_keep_bits"].bool()}),
        ("bits 2-D", lambda p: {**p, "edge_keep_bits": p["edge_keep_bits"].view(1, -1)}),
        ("edges too many", lambda p: {**p, "num_edges": p["num_edges"] + 64}),
        ("edges negative", lambda p: {**p, "num_edges": -1}),
        ("edges as text", lambda p: {**p, "num_edges": "5278"}),
        ("no bits", lambda p: {k: v for k, v in p.items() if k != "edge_keep_bits"}),
    ],
    ids=lambda c: c[0],
)
def test_a_packed_edge_mask_that_does_not_fit_is_named(change, ticket_dir) -> None:
    path = ticket_dir / "ticket.pt"
    torch.save(change[1](torch.load(path, weights_only=True)), path)
    with pytest.raises(ValueError, match="ticket.pt"):
        Ticket.load(path)


def test_a_version_1_ticket_still_loads(ticket_dir) -> None:
    path = ticket_dir / "ticket.pt"
    packed = Ticket.load(path)
    torch.save(_payload(path), path)
    assert torch.equal(Ticket.load(path).edge_keep_mask, packed.edge_keep_mask)


@pytest.mark.parametrize(
    "change",
    [
        ("not a dict", lambda p: [p]),
        ("no format", lambda p: {k: v for k, v in p.items() if k != "format"}),
        ("version 3", lambda p: {**p, "version": 3}),
        ("missing field", lambda p: {k: v for k, v in p.items() if k != "init_state"}),
        ("unknown field", lambda p: {**p, "extra": 1}),
        ("mask as list", lambda p: {**p, "edge_keep_mask": p["edge_keep_mask"].tolist()}),
        ("float mask", lambda p: {**p, "edge_keep_mask": p["edge_keep_mask"].float()}),
        ("2-D mask", lambda p: {**p, "edge_keep_mask": p["edge_keep_mask"].view(1, -1)}),
        ("masks as list", lambda p: {**p, "weight_masks": list(p["weight_masks"].values())}),
        ("mask not bool", lambda p: {**p, "weight_masks": {k: v.float() for k, v in p["weight_masks"].items()}}),
        (
            "mask of nothing",
            lambda p: {**p, "weight_masks": {**p["weight_masks"], "nope": torch.ones(2, dtype=torch.bool)}},
        ),
        ("mask shape", lambda p: {**p, "weight_masks": {k: v[:1] for k, v in p["weight_masks"].items()}}),
        ("mask byte 2", lambda p: {**p, "edge_keep_mask": _bytes_as_bool(p["edge_keep_mask"])}),
        ("NaN in θ0", lambda p: {**p, "init_state": {k: v * float("nan") for k, v in p["init_state"].items()}}),
        ("state value", lambda p: {**p, "init_state": {k: 1.0 for k in p["init_state"]}}),
        ("provenance list", lambda p: {**p, "provenance": [1]}),
        ("provenance object", lambda p: {**p, "provenance": {**p["provenance"], "x": [1, 2]}}),
    ],
    ids=lambda c: c[0],
)
def test_a_ticket_file_of_the_wrong_structure_is_named(change, ticket_dir, capsys) -> None:
    path = ticket_dir / "ticket.pt"
    torch.save(change[1](_payload(path)), path)
    with pytest.raises(ValueError, match="ticket"):
        Ticket.load(path)
    assert _eval(path) == 2
    _one_line(capsys, str(path))


# ---------------------------------------------------------------------------------------------- provenance
def _resave(path: Path, **changes: Any) -> None:
    ticket = Ticket.load(path)
    provenance = {**ticket.provenance, **changes}
    for key in [k for k, v in changes.items() if v is _DROP]:
        provenance.pop(key)
    Ticket(ticket.edge_keep_mask, ticket.weight_masks, ticket.init_state, provenance).save(path)


_DROP = object()


def _options(path: Path, **changes: Any) -> str:
    options = json.loads(Ticket.load(path).provenance["model_options"])
    return json.dumps({**options, **changes})


def _task_config(path: Path, **changes: Any) -> str:
    config = json.loads(Ticket.load(path).provenance["task_config"])
    return json.dumps({**config, **changes})


PROVENANCE = {
    "huge width": lambda p: {"model_options": _options(p, hidden_channels=10**12)},
    "width that does not fit θ0": lambda p: {"model_options": _options(p, hidden_channels=32)},
    "negative width": lambda p: {"model_options": _options(p, hidden_channels=-8)},
    "width as text": lambda p: {"model_options": _options(p, hidden_channels="8")},
    "deep model": lambda p: {"model_options": _options(p, num_layers=10**6)},
    "dropout above 1": lambda p: {"model_options": _options(p, dropout=3.0)},
    "unknown option": lambda p: {"model_options": _options(p, rm_rf=True)},
    "options not JSON": lambda p: {"model_options": "{hidden"},
    "options a list": lambda p: {"model_options": "[1]"},
    "options NaN": lambda p: {"model_options": _options(p, dropout=float("nan"))},
    "unknown model": lambda p: {"model": "resnet"},
    "model number": lambda p: {"model": 3},
    "unknown task": lambda p: {"task": "graph"},
    "negative seed": lambda p: {"seed": -1},
    "seed as text": lambda p: {"seed": "0"},
    "huge seed index": lambda p: {"seed_index": 10**9},
    "unknown weight rule": lambda p: {"weight_rule": "magic"},
    "l0 without sparsity": lambda p: {"weight_rule": "l0", "target_weight_sparsity": 7.0},
    "task config not JSON": lambda p: {"task_config": "nope"},
    "no train config": lambda p: {"task_config": json.dumps({"task": "node"})},
    "negative epochs": lambda p: {"task_config": _task_config(p, train={"epochs": -1})},
    "unknown train option": lambda p: {"task_config": _task_config(p, train={"epochs": 2, "exec": "x"})},
    "unknown batching": lambda p: {"task_config": _task_config(p, batching="quantum")},
    "split as number": lambda p: {"task_config": _task_config(p, split=3)},
    "missing seed": lambda p: {"seed": _DROP},
    "another dataset": lambda p: {"dataset": "citeseer"},
}


@pytest.mark.parametrize("case", sorted(PROVENANCE))
def test_every_provenance_value_is_checked(case, ticket_dir, capsys, monkeypatch) -> None:
    path = ticket_dir / "ticket.pt"
    _resave(path, **PROVENANCE[case](path))
    built: list[int] = []
    import graphsparse.nn as nn_module

    original = nn_module.build_model

    def counting(*args: Any, **kwargs: Any) -> Any:
        if torch.empty(0).device.type != "meta":
            built.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(nn_module, "build_model", counting)
    assert _eval(path) == 2
    _one_line(capsys, str(path))
    assert not built  # refused before any model was allocated


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "..", "sub/../../x.pt", "", "a\x00b"])
def test_a_trained_path_outside_the_ticket_folder_is_refused(name, ticket_dir, tmp_path, capsys) -> None:
    path = ticket_dir / "ticket.pt"
    _resave(path, trained=name)
    out = tmp_path / "c.pt"
    if name == "":  # an empty name is no file: the ticket is retrained
        return
    assert main(["ticket", "compact", str(path), "--dataset", "cora", "--out", str(out)]) == 2
    _one_line(capsys, str(path), "trained")
    assert not out.exists()


def test_a_trained_symlink_leading_out_is_refused(ticket_dir, tmp_path, capsys) -> None:
    outside = tmp_path / "elsewhere.pt"
    shutil.copy(ticket_dir / "trained.pt", outside)
    (ticket_dir / "link.pt").symlink_to(outside)
    path = ticket_dir / "ticket.pt"
    _resave(path, trained="link.pt")
    assert main(["ticket", "compact", str(path), "--dataset", "cora", "--out", str(tmp_path / "c.pt")]) == 2
    _one_line(capsys, "outside")


# ---------------------------------------------------------------------------------------------- the loaders
def test_load_torch_file_names_every_problem(tmp_path) -> None:
    with pytest.raises(FileProblem, match="does not exist"):
        load_torch_file(tmp_path / "none.pt", "ticket file")
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(FileProblem, match="empty"):
        load_torch_file(tmp_path / "e.pt", "ticket file")
    (tmp_path / "j.pt").write_text("{}")
    with pytest.raises(FileProblem, match="JSON"):
        load_torch_file(tmp_path / "j.pt", "ticket file")
    torch.save({"a": torch.ones(2)}, tmp_path / "ok.pt")
    assert torch.equal(load_torch_file(tmp_path / "ok.pt", "x")["a"], torch.ones(2))


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty"),
        ("{", "not valid JSON"),
        ('{"a": NaN}', "NaN"),
        ("[" * 100000, "nested|JSON"),
        ("\xff", "UTF-8|JSON"),
    ],
)
def test_load_json_file_names_every_problem(text, problem, tmp_path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(text.encode("latin-1") if text == "\xff" else text.encode())
    with pytest.raises(FileProblem, match=problem):
        load_json_file(path, "--space")


def test_confined_path(tmp_path) -> None:
    assert confined_path(tmp_path, "trained.pt", "x") == tmp_path / "trained.pt"
    for bad in ("../x", "/etc/passwd", 3, None, "a/../../b"):
        with pytest.raises(FileProblem):
            confined_path(tmp_path, bad, "x")
