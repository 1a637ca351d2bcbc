"""``tune --space`` files are untrusted input: the file is read by one loader that names what is wrong
with it, and every value a trial could suggest is checked before Optuna starts (no study is created, no trial
runs): one line naming the file, the parameter and its value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphsparse.cli import main

TUNE = ["tune", "--dataset", "cora", "--trials", "1", "--trial-seeds", "1", "--seeds", "1", "--epochs", "2"]

BAD_FILES = {
    "empty": b"",
    "spaces": b"   \n",
    "a list": b"[1, 2]",
    "NaN": b'{"lr": {"type": "float", "low": NaN, "high": 0.1, "target": "train"}}',
    "Infinity": b'{"lr": Infinity}',
    "not UTF-8": b'{"lr": "\xff"}',
    "torch file": b"PK\x03\x04" + bytes(64),
    "truncated": b'{"lr": {"type": "float", "low": 0.001,',
    "deep": b"[" * 50000 + b"]" * 50000,
}

BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "dropout above 1": ({"dropout": {"type": "float", "low": 0.5, "high": 1.5, "target": "model"}}, "dropout"),
    "zero width": ({"hidden_channels": {"type": "categorical", "choices": [16, 0], "target": "model"}}, "hidden"),
    "huge width": ({"hidden_channels": 10**9}, "hidden_channels"),
    "negative lr": ({"lr": {"type": "float", "low": -1.0, "high": 0.1, "target": "train"}}, "lr"),
    "zero lr fixed": ({"lr": 0.0}, "lr"),
    "negative weight decay": ({"weight_decay": -0.1}, "weight_decay"),
    "unknown model option": ({"rm_rf": {"fixed": 1, "target": "model"}}, "rm_rf"),
    "unknown train option": ({"exec": {"fixed": 1, "target": "train"}}, "exec"),
    "deep model": ({"num_layers": {"fixed": 10**6, "target": "model"}}, "num_layers"),
    "width as text": ({"hidden_channels": "wide"}, "hidden_channels"),
}


def _one_line(capsys: pytest.CaptureFixture[str], *names: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_space_file_is_one_line(case, tmp_path, capsys) -> None:
    space = tmp_path / "space.json"
    space.write_bytes(BAD_FILES[case])
    assert main(["tune", "--print-space", "--space", str(space)]) == 2
    _one_line(capsys, str(space))


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_every_value_a_trial_can_suggest_is_checked_before_optuna(case, tmp_path, capsys) -> None:
    entries, name = BAD_VALUES[case]
    space = tmp_path / "space.json"
    space.write_text(json.dumps(entries))
    db = tmp_path / "r.db"
    code = main([*TUNE, "--space", str(space), "--db", str(db), "--no-progress"])
    assert code == 2
    _one_line(capsys, str(space), name)
    assert not Path(tmp_path / "r-optuna.db").exists()  # no study was created: no trial ran


def test_a_good_space_file_still_runs(tmp_path, capsys) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"hidden_channels": 8, "dropout": None, "lr": 0.01}))
    code = main([*TUNE, "--space", str(space), "--db", str(tmp_path / "r.db"), "--no-progress", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    document = json.loads(out.out)  # the file's entries are the space tuned: fixed values kept, None drops one
    assert document["space"]["hidden_channels"] == {"fixed": 8, "target": "model", "type": "fixed"}
    assert document["space"]["lr"]["fixed"] == 0.01 and "dropout" not in document["space"]
    assert document["chosen"]["hidden_channels"] == 8 and document["chosen"]["lr"] == 0.01
