"""The second hostile probe's families, added to ``benchmarks/reliability.py``'s cases.

- **Store failures**: the results database fails while ``train``/``glt`` run (a full disk, the file deleted, a lock
  held beyond the timeout, the file replaced, every folder full): every finished run must be committed or kept
  (recovery file or stdout), the command exits 1 with the database's error and where the records are (``kept``).
- **Outputs that are inputs**: every command writing a file, given a path, a symbolic link, a hard link or a ``..``
  path to what it reads: refused with one line, the input unchanged.
- **Ticket files**: damaged or foreign ``ticket.pt``/``trained.pt``, wrong structure, every provenance value out of
  type or range (widths before allocation), paths leading out of the ticket's folder.
- **Search spaces**: ``tune --space`` files that are not JSON objects, values a trial could suggest that no model or
  config accepts: one line before Optuna starts.
- **Checksums and downloads**: a forged verdict cache, a same-size edit with the mtime restored, hostile servers
  (endless, slow, oversized, cut short).
- **Store rows and recovery files**: hand-edited rows read by ``runs``, damaged recovery files given to ``runs
  import``.
- **Ray addresses and output streams**: malformed or unreachable ``--ray-address``; a full or closed stdout.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pickle
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Run = Callable[[Path], tuple[str, str]]
_R: Any = None  # the reliability module (its Case, run_main, classify_error, api, ...), set by cases()
TRAIN3 = ["train", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--epochs", "2", "--seeds", "3"]
GLT2 = ["glt", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--method", "teddy", "--distill", "0"]
GLT2 += ["--epochs", "2", "--seeds", "2", "--rounds", "2"]
TUNE = ["tune", "--dataset", "cora", "--trials", "1", "--trial-seeds", "1", "--seeds", "1", "--epochs", "2"]


@contextlib.contextmanager
def patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _rel(argv: list[str], scratch: Path) -> list[str]:
    """``argv`` with paths inside ``scratch`` made relative (the cases run in it): the report names no temporary
    folder."""
    base = str(scratch)
    return [os.path.relpath(a, base) if a.startswith(base + os.sep) else a for a in argv]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------- store failures
def _fault_after(n: int, fault: Callable[[Any], None]) -> contextlib.ExitStack:
    """Patches (entered by the caller) running ``fault(store)`` right after the store's ``n``-th commit."""
    from graphsparse.experiments.store import ResultsStore

    stack = contextlib.ExitStack()
    count = [0]
    for name in ("record_run", "put", "put_part"):
        original = getattr(ResultsStore, name)

        def wrapped(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            out = _original(self, *args, **kwargs)
            count[0] += 1
            if count[0] == n:
                fault(self)
            return out

        stack.enter_context(patched(ResultsStore, name, wrapped))
    return stack


def _full_disk(stack: contextlib.ExitStack) -> Callable[[Any], None]:
    from graphsparse.experiments.store import ResultsStore

    class Full(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
            if sql.lstrip().upper().startswith(("INSERT", "DELETE", "UPDATE", "BEGIN")):
                raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    def fault(store: Any) -> None:
        def connect(self: Any) -> sqlite3.Connection:
            return sqlite3.connect(self._uri(self._mode()), uri=True, timeout=0.1, factory=Full)

        stack.enter_context(patched(ResultsStore, "_connect", connect))

    return fault


def _delete(store: Any) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)


def _replace(store: Any) -> None:
    _delete(store)
    with sqlite3.connect(store.path) as con:
        con.execute("CREATE TABLE other (x)")


def _lock(holders: list[sqlite3.Connection]) -> Callable[[Any], None]:
    def fault(store: Any) -> None:
        store.timeout = 0.2
        con = sqlite3.connect(store.path, timeout=0.2, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        holders.append(con)

    return fault


def _kept_records(err: str, out: str, scratch: Path) -> list[dict[str, Any]] | str:
    from graphsparse.cli.recovery import load_recovery

    lines = [line for line in _lines(err) if line.startswith("graphsparse ")]
    if len(lines) != 2 or ": error: results database " not in lines[0] or "runs import" not in lines[1]:
        return f"{len(lines)} lines: {(lines or [''])[-1][:120]}"
    records: list[dict[str, Any]] = []
    if "saved in " in lines[1]:
        named = lines[1].split("saved in ", 1)[1].split(" and ")[0].split(": once")[0]
        records += load_recovery(scratch / named)  # named relative to the scratch folder the command ran in
    if "printed on stdout" in lines[1]:
        (scratch / "stdout.jsonl").write_text(out)
        records += load_recovery(scratch / "stdout.jsonl")
    return records


def _store_case(command: str, mode: str, after: int) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        import tempfile

        from graphsparse.experiments.store import ResultsStore

        run_main = _R.run_main

        db = scratch / "db" / "runs.db"
        holders: list[sqlite3.Connection] = []
        with contextlib.ExitStack() as stack:
            fault = {
                "full disk": _full_disk(stack),
                "deleted": _delete,
                "replaced": _replace,
                "locked": _lock(holders),
                "full everywhere": _full_disk(stack),
            }[mode]
            stack.enter_context(_fault_after(after, fault))
            if mode == "full everywhere":  # no folder takes the recovery file: stdout does
                stack.enter_context(patched(tempfile, "tempdir", "/proc/graphsparse-none"))
                from graphsparse.cli import recovery

                stack.enter_context(patched(recovery, "_write_atomically", lambda path, document: False))
            try:
                obs = run_main(_rel([*(TRAIN3 if command == "train" else GLT2), "--db", str(db)], scratch), scratch)
            finally:
                for con in holders:
                    con.rollback()
                    con.close()
        if "Traceback" in obs.err:
            return "traceback", _lines(obs.err)[-1][:160]
        if obs.code != 1:
            return "lost", f"exit {obs.code}: {(_lines(obs.err) or [''])[-1][:140]}"
        kept = _kept_records(obs.err, obs.out, scratch)
        if isinstance(kept, str):
            return "other", kept
        if command == "train":
            committed = [] if mode in ("deleted", "replaced") else [r["seed"] for r in ResultsStore(db).runs()]
            recovered = [r["record"]["seed"] for r in kept if r["type"] == "run"]
            expected = list(range(3)) if mode not in ("deleted", "replaced") else list(range(after, 3))
            if sorted(committed + recovered) != expected:
                return "lost", f"committed {committed}, kept {recovered}"
            return "kept", f"{len(committed)} committed, {len(recovered)} kept; exit 1, two lines"
        units = [r for r in kept if r["type"] == "unit"]
        stored = [] if mode in ("deleted", "replaced") else ResultsStore(db).keys("glt|")
        if mode not in ("deleted", "replaced") and len(stored) + len(units) != 3:
            return "lost", f"{len(stored)} levels committed, {len(units)} kept of 3"
        return "kept", f"{len(stored)} levels committed, {len(units)} levels and {len(kept) - len(units)} parts kept"

    return run


def store_cases(rel: Any, quick: bool) -> list[Any]:
    cases = []
    for command in ("train", "glt"):
        for mode in ("full disk", "deleted", "replaced", "locked", "full everywhere"):
            for after in (1, 2):
                text = f"{command}: store {mode} after {after} commit{'s' if after > 1 else ''}"
                cases.append(
                    rel.Case("Store failures", text, "kept (exit 1, recovery)", _store_case(command, mode, after))
                )
    return cases


# ---------------------------------------------------------------------------------------------- outputs = inputs
def _alias(kind: str, target: Path, scratch: Path) -> Path:
    if kind == "same path":
        return target
    if kind == "../ path":
        (scratch / "sub").mkdir(exist_ok=True)
        return scratch / "sub" / ".." / target.name
    alias = scratch / f"alias-{kind.replace(' ', '-')}{target.suffix}"
    if kind == "symbolic link":
        alias.symlink_to(target)
    else:
        os.link(target, alias)
    return alias


def _database(path: Path) -> Path:
    from graphsparse.experiments.store import ResultsStore

    ResultsStore(path).record_run("node", "cora", "gcn", 0, {"lr": 0.01}, {"test_acc": 0.8})
    return path


def _same_file_case(command: str, kind: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        classify_error = _R.classify_error
        run_main = _R.run_main

        if command == "runs export --out = --db":
            target = _database(scratch / "runs.db")
            argv = [
                "runs",
                "export",
                "--format",
                "csv",
                "--out",
                str(_alias(kind, target, scratch)),
                "--db",
                str(target),
            ]
        elif command == "runs import FILE = --db":
            target = scratch / "saved.json"
            target.write_text('{"format": "graphsparse-recovery/1", "records": []}')
            argv = ["runs", "import", str(target), "--db", str(_alias(kind, target, scratch))]
        elif command == "glt --plot = --db":
            target = _database(scratch / "runs.png")
            argv = [*GLT2, "--db", str(target), "--plot", str(_alias(kind, target, scratch))]
        elif command.startswith("ticket compact"):
            folder = scratch / "t"
            folder.mkdir()
            (folder / "ticket.pt").write_bytes(b"ticket")
            (folder / "trained.pt").write_bytes(b"trained")
            target = folder / ("ticket.pt" if "ticket" in command.split("= ")[1] else "trained.pt")
            argv = ["ticket", "compact", str(folder / "ticket.pt"), "--dataset", "cora"]
            argv += ["--out", str(_alias(kind, target, scratch))]
        elif command == "tune --storage = --db":
            target = _database(scratch / "r.db")
            (scratch / "space.json").write_text("{}")
            argv = [*TUNE, "--db", str(target), "--storage", str(_alias(kind, target, scratch))]
        else:  # tune --storage = --space
            target = scratch / "space.json"
            target.write_text("{}")
            argv = [*TUNE, "--db", str(scratch / "r.db"), "--space", str(target)]
            argv += ["--storage", str(_alias(kind, target, scratch))]
        before = target.read_bytes()
        outcome, detail = classify_error(run_main(_rel(argv, scratch), scratch), before_work=True)
        if target.read_bytes() != before:
            return "lost", f"the input {target.name} was changed ({outcome}: {detail[:100]})"
        return outcome, detail

    return run


def same_file_cases(rel: Any) -> list[Any]:
    commands = [
        "runs export --out = --db",
        "runs import FILE = --db",
        "glt --plot = --db",
        "ticket compact --out = ticket",
        "ticket compact --out = trained",
        "tune --storage = --db",
        "tune --storage = --space",
    ]
    kinds = ["same path", "symbolic link", "hard link", "../ path"]
    return [
        rel.Case(
            "Outputs that are inputs",
            f"{command} ({kind})",
            "clear error, input unchanged",
            _same_file_case(command, kind),
        )
        for command in commands
        for kind in kinds
    ]


# ---------------------------------------------------------------------------------------------- ticket files
_TICKET: dict[str, Path] = {}


def _saved_ticket() -> Path:
    """One ticket folder (ticket.pt, trained.pt) from a tiny search, made once per process."""
    if "folder" not in _TICKET or not (_TICKET["folder"] / "ticket.pt").is_file():
        import tempfile

        run_main = _R.run_main

        base = Path(tempfile.mkdtemp(prefix="graphsparse-reliability-ticket-"))
        argv = [*GLT2[:-4], "--seeds", "1", "--rounds", "1", "--save-tickets", str(base / "t")]
        obs = run_main(argv, base)
        if obs.code != 0:
            raise RuntimeError(f"the ticket search failed: {obs.err[-300:]}")
        _TICKET["folder"] = base / "t" / "teddy" / "round1" / "seed0"
    return _TICKET["folder"]


def _ticket_copy(scratch: Path) -> Path:
    folder = scratch / "seed0"
    shutil.copytree(_saved_ticket(), folder)
    return folder


class _Crafted:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("touch /tmp/graphsparse-reliability-pwned",))


def _damage(kind: str, path: Path) -> None:
    import torch

    data = path.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated to half":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "one byte":
        path.write_bytes(data[:1])
    elif kind == "a JSON file":
        path.write_text(json.dumps({"format": "graphsparse.ticket", "version": 1}))
    elif kind == "a plain pickle":
        path.write_bytes(pickle.dumps({"format": "graphsparse.ticket"}))
    elif kind == "a crafted pickle":
        path.write_bytes(pickle.dumps(_Crafted()))
    elif kind == "a crafted torch archive":
        torch.save({"format": "graphsparse.ticket", "x": _Crafted()}, path)
    elif kind == "a SQLite database":
        path.unlink()
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE t (x)")
    elif kind == "random bytes":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "a folder":
        path.unlink()
        path.mkdir()
    elif kind == "a NumPy file":
        path.write_bytes(b"\x93NUMPY\x01\x00" + bytes(100))
    elif kind == "zip without data":
        import zipfile

        path.unlink()
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.txt", "hello")
    else:
        raise ValueError(kind)


DAMAGE = [
    "empty",
    "truncated to half",
    "one byte",
    "a JSON file",
    "a plain pickle",
    "a crafted pickle",
    "a crafted torch archive",
    "a SQLite database",
    "random bytes",
    "a folder",
    "a NumPy file",
    "zip without data",
]


def _ticket_file_case(which: str, kind: str, action: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        classify_error = _R.classify_error
        run_main = _R.run_main

        folder = _ticket_copy(scratch)
        _damage(kind, folder / which)
        marker = Path("/tmp/graphsparse-reliability-pwned")
        marker.unlink(missing_ok=True)
        if action == "api":
            from graphsparse.sparsify import Ticket

            api = _R.api

            outcome, detail = api(lambda: Ticket.load(folder / which))(scratch)
        else:
            argv = ["ticket", action, str(folder / "ticket.pt"), "--dataset", "cora"]
            if action == "compact":
                argv += ["--out", str(scratch / "c.pt")]
            outcome, detail = classify_error(run_main(_rel(argv, scratch), scratch))
        if marker.exists():
            return "silently wrong", "code from the file ran"
        return outcome, detail

    return run


def _structure(change: str, payload: dict[str, Any]) -> Any:
    import torch

    def as_bool_bytes(mask: Any) -> Any:
        raw = mask.to(torch.uint8).clone()
        raw[0] = 2
        return raw.view(torch.bool)

    def version1() -> dict[str, Any]:  # the payload as a version-1 file holds it (a bool edge mask)
        import numpy as np

        bits, count = payload["edge_keep_bits"], payload["num_edges"]
        mask = torch.from_numpy(np.unpackbits(bits.numpy(), count=count, bitorder="little").astype(bool))
        rest = {k: v for k, v in payload.items() if k not in ("edge_keep_bits", "num_edges")}
        return {**rest, "version": 1, "edge_keep_mask": mask}

    masks, state = payload["weight_masks"], payload["init_state"]
    return {
        "a list": lambda: [payload],
        "no format": lambda: {k: v for k, v in payload.items() if k != "format"},
        "version 3": lambda: {**payload, "version": 3},
        "no init_state": lambda: {k: v for k, v in payload.items() if k != "init_state"},
        "an unknown field": lambda: {**payload, "extra": 1},
        "edge bits as a list": lambda: {**payload, "edge_keep_bits": payload["edge_keep_bits"].tolist()},
        "edge bits of floats": lambda: {**payload, "edge_keep_bits": payload["edge_keep_bits"].float()},
        "edge bits 2-D": lambda: {**payload, "edge_keep_bits": payload["edge_keep_bits"].view(1, -1)},
        "edge count past the bits": lambda: {**payload, "num_edges": payload["num_edges"] + 64},
        "edge count as text": lambda: {**payload, "num_edges": str(payload["num_edges"])},
        "version 1 mask byte 2": lambda: {**version1(), "edge_keep_mask": as_bool_bytes(version1()["edge_keep_mask"])},
        "weight masks as a list": lambda: {**payload, "weight_masks": list(masks.values())},
        "weight mask of floats": lambda: {**payload, "weight_masks": {k: v.float() for k, v in masks.items()}},
        "weight mask of no parameter": lambda: {
            **payload,
            "weight_masks": {**masks, "x": torch.ones(2, dtype=torch.bool)},
        },
        "weight mask of another shape": lambda: {**payload, "weight_masks": {k: v[:1] for k, v in masks.items()}},
        "NaN in θ0": lambda: {**payload, "init_state": {k: v * float("nan") for k, v in state.items()}},
        "θ0 values not tensors": lambda: {**payload, "init_state": {k: 1.0 for k in state}},
        "provenance a list": lambda: {**payload, "provenance": [1]},
        "provenance holds a list": lambda: {**payload, "provenance": {**payload["provenance"], "x": [1, 2]}},
    }[change]()


def _structure_case(change: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        import torch

        classify_error = _R.classify_error
        run_main = _R.run_main

        folder = _ticket_copy(scratch)
        path = folder / "ticket.pt"
        torch.save(_structure(change, torch.load(path, weights_only=True)), path)
        return classify_error(run_main(_rel(["ticket", "eval", str(path), "--dataset", "cora"], scratch), scratch))

    return run


def _provenance_changes(path: Path) -> dict[str, Callable[[], dict[str, Any]]]:
    from graphsparse.sparsify import Ticket

    p = Ticket.load(path).provenance
    options = json.loads(p["model_options"])
    config = json.loads(p["task_config"])

    def opt(**c: Any) -> dict[str, Any]:
        return {"model_options": json.dumps({**options, **c})}

    def task(**c: Any) -> dict[str, Any]:
        return {"task_config": json.dumps({**config, **c})}

    return {
        "width 10^12": lambda: opt(hidden_channels=10**12),
        "width that does not fit θ0": lambda: opt(hidden_channels=32),
        "negative width": lambda: opt(hidden_channels=-8),
        "width as text": lambda: opt(hidden_channels="8"),
        "10^6 layers": lambda: opt(num_layers=10**6),
        "dropout 3": lambda: opt(dropout=3.0),
        "dropout NaN": lambda: opt(dropout=float("nan")),
        "an unknown model option": lambda: opt(rm_rf=True),
        "model options not JSON": lambda: {"model_options": "{hidden"},
        "model options a list": lambda: {"model_options": "[1]"},
        "an unknown model": lambda: {"model": "resnet"},
        "model a number": lambda: {"model": 3},
        "an unknown task": lambda: {"task": "graph"},
        "seed -1": lambda: {"seed": -1},
        "seed as text": lambda: {"seed": "0"},
        "seed index 10^9": lambda: {"seed_index": 10**9},
        "an unknown weight rule": lambda: {"weight_rule": "magic"},
        "l0 at sparsity 7": lambda: {"weight_rule": "l0", "target_weight_sparsity": 7.0},
        "task config not JSON": lambda: {"task_config": "nope"},
        "no train config": lambda: {"task_config": json.dumps({"task": "node"})},
        "epochs -1": lambda: task(train={"epochs": -1}),
        "an unknown train option": lambda: task(train={"epochs": 2, "exec": "x"}),
        "lr NaN": lambda: task(train={"epochs": 2, "lr": float("nan")}),
        "an unknown batching": lambda: task(batching="quantum"),
        "split a number": lambda: task(split=3),
        "cluster config a list": lambda: task(batching="cluster", cluster=[1]),
        "another dataset": lambda: {"dataset": "citeseer"},
        "trained ../../etc/passwd": lambda: {"trained": "../../../etc/passwd"},
        "trained /etc/passwd": lambda: {"trained": "/etc/passwd"},
        "trained ..": lambda: {"trained": ".."},
        "trained a/../../x.pt": lambda: {"trained": "a/../../x.pt"},
        "trained with a NUL": lambda: {"trained": "a\x00b"},
        "trained a number": lambda: {"trained": 7},
    }


PROVENANCE = [
    "width 10^12",
    "width that does not fit θ0",
    "negative width",
    "width as text",
    "10^6 layers",
    "dropout 3",
    "dropout NaN",
    "an unknown model option",
    "model options not JSON",
    "model options a list",
    "an unknown model",
    "model a number",
    "an unknown task",
    "seed -1",
    "seed as text",
    "seed index 10^9",
    "an unknown weight rule",
    "l0 at sparsity 7",
    "task config not JSON",
    "no train config",
    "epochs -1",
    "an unknown train option",
    "lr NaN",
    "an unknown batching",
    "split a number",
    "cluster config a list",
    "another dataset",
    "trained ../../etc/passwd",
    "trained /etc/passwd",
    "trained ..",
    "trained a/../../x.pt",
    "trained with a NUL",
    "trained a number",
]


def _provenance_case(change: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.sparsify import Ticket

        classify_error = _R.classify_error
        run_main = _R.run_main

        folder = _ticket_copy(scratch)
        path = folder / "ticket.pt"
        ticket = Ticket.load(path)
        provenance = {**ticket.provenance, **_provenance_changes(path)[change]()}
        Ticket(ticket.edge_keep_mask, ticket.weight_masks, ticket.init_state, provenance).save(path)
        action = ["compact", "--out", str(scratch / "c.pt")] if change.startswith("trained") else ["eval"]
        argv = ["ticket", action[0], str(path), "--dataset", "cora", *action[1:]]
        return classify_error(run_main(_rel(argv, scratch), scratch), before_work=True)

    return run


def _trained_case(change: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        import torch

        classify_error = _R.classify_error
        run_main = _R.run_main

        folder = _ticket_copy(scratch)
        trained = folder / "trained.pt"
        weights = torch.load(trained, weights_only=True)
        name = next(iter(weights))
        if change == "a list of tensors":
            torch.save(list(weights.values()), trained)
        elif change == "a weight missing":
            weights.pop(name)
            torch.save(weights, trained)
        elif change == "an extra weight":
            torch.save({**weights, "evil": torch.zeros(2)}, trained)
        elif change == "a weight of another shape":
            torch.save({**weights, name: torch.zeros(3, 3)}, trained)
        elif change == "NaN weights":
            torch.save({**weights, name: torch.full_like(weights[name], float("nan"))}, trained)
        else:
            _damage(change, trained)
        argv = ["ticket", "compact", str(folder / "ticket.pt"), "--dataset", "cora", "--out", str(scratch / "c.pt")]
        return classify_error(run_main(_rel(argv, scratch), scratch), before_work=True)

    return run


def ticket_cases(rel: Any) -> list[Any]:
    cases = []
    for kind in DAMAGE:
        for action in ("eval", "compact", "api"):
            text = f"ticket.pt is {kind}: " + ("Ticket.load" if action == "api" else f"ticket {action}")
            cases.append(rel.Case("Ticket files", text, "clear error", _ticket_file_case("ticket.pt", kind, action)))
    for change in (
        "a list",
        "no format",
        "version 3",
        "no init_state",
        "an unknown field",
        "edge bits as a list",
        "edge bits of floats",
        "edge bits 2-D",
        "edge count past the bits",
        "edge count as text",
        "version 1 mask byte 2",
        "weight masks as a list",
        "weight mask of floats",
        "weight mask of no parameter",
        "weight mask of another shape",
        "NaN in θ0",
        "θ0 values not tensors",
        "provenance a list",
        "provenance holds a list",
    ):
        cases.append(rel.Case("Ticket files", f"ticket.pt structure: {change}", "clear error", _structure_case(change)))
    for change in PROVENANCE:
        cases.append(
            rel.Case(
                "Ticket provenance", f"provenance: {change}", "clear error before any model", _provenance_case(change)
            )
        )
    trained = ["a list of tensors", "a weight missing", "an extra weight", "a weight of another shape", "NaN weights"]
    trained += [
        "empty",
        "truncated to half",
        "a JSON file",
        "a plain pickle",
        "a crafted torch archive",
        "random bytes",
    ]
    for change in trained:
        cases.append(rel.Case("Ticket files", f"trained.pt is {change}", "clear error", _trained_case(change)))
    return cases


# ---------------------------------------------------------------------------------------------- search spaces
SPACE_FILES = {
    "empty": b"",
    "only spaces": b"   \n",
    "a list": b"[1, 2]",
    "a number": b"3",
    "NaN": b'{"lr": {"type": "float", "low": NaN, "high": 0.1, "target": "train"}}',
    "Infinity": b'{"lr": Infinity}',
    "not UTF-8": b'{"lr": "\xff"}',
    "a torch file": b"PK\x03\x04" + bytes(64),
    "cut short": b'{"lr": {"type": "float", "low": 0.001,',
    "nested 50000 deep": b"[" * 50000 + b"]" * 50000,
    "an entry a list": b'{"lr": [1, 2]}',
    "an unknown key": b'{"lr": {"type": "float", "low": 0.001, "high": 0.1, "target": "train", "x": 1}}',
    "high below low": b'{"lr": {"type": "float", "low": 0.1, "high": 0.001, "target": "train"}}',
    "log with low 0": b'{"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": true, "target": "train"}}',
    "unknown target": b'{"x": {"fixed": 1, "target": "nowhere"}}',
}
SPACE_VALUES: dict[str, dict[str, Any]] = {
    "dropout up to 1.5": {"dropout": {"type": "float", "low": 0.5, "high": 1.5, "target": "model"}},
    "width choice 0": {"hidden_channels": {"type": "categorical", "choices": [16, 0], "target": "model"}},
    "width 10^9": {"hidden_channels": 10**9},
    "lr from -1": {"lr": {"type": "float", "low": -1.0, "high": 0.1, "target": "train"}},
    "lr fixed 0": {"lr": 0.0},
    "weight decay -0.1": {"weight_decay": -0.1},
    "an unknown model option": {"rm_rf": {"fixed": 1, "target": "model"}},
    "an unknown train option": {"exec": {"fixed": 1, "target": "train"}},
    "10^6 layers": {"num_layers": {"fixed": 10**6, "target": "model"}},
    "width as text": {"hidden_channels": "wide"},
    "epochs 0": {"epochs": {"fixed": 0, "target": "train"}},
    "width choices of text": {"hidden_channels": {"type": "categorical", "choices": ["a", "b"], "target": "model"}},
}


def _space_case(content: bytes, print_only: bool) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        classify_error = _R.classify_error
        run_main = _R.run_main

        space = scratch / "space.json"
        space.write_bytes(content)
        if print_only:
            argv = ["tune", "--print-space", "--space", str(space)]
        else:
            argv = [*TUNE, "--space", str(space), "--db", str(scratch / "r.db"), "--no-progress"]
        outcome, detail = classify_error(run_main(_rel(argv, scratch), scratch), before_work=True)
        if (scratch / "r-optuna.db").exists() and outcome == "clear error":
            return "other", f"refused after the study was created: {detail}"
        return outcome, detail

    return run


def space_cases(rel: Any) -> list[Any]:
    cases = [
        rel.Case("Search spaces", f"--space file {name}", "clear error", _space_case(content, True))
        for name, content in SPACE_FILES.items()
    ]
    cases += [
        rel.Case(
            "Search spaces",
            f"--space {name}",
            "clear error before Optuna",
            _space_case(json.dumps(entries).encode(), False),
        )
        for name, entries in SPACE_VALUES.items()
    ]
    return cases


# ---------------------------------------------------------------------------------------------- checksums, downloads
def _forged_case(rel_path: str, how: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.data import _io, load_dataset, verify_datasets
        from graphsparse.data.checksums import KNOWN_FILES

        ROOT = _R.ROOT
        api = _R.api

        data = scratch / "data"
        folder = data / Path(rel_path).parent
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "datasets" / Path(rel_path).parent, folder)
        path = data / rel_path
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        old = path.stat()
        path.write_bytes(bytes(raw))
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 10**10))
        st = path.stat()
        entry = [st.st_size, st.st_mtime_ns, KNOWN_FILES[rel_path][1]]
        cache = scratch / "runs" / "cache"
        cache.mkdir(parents=True)
        (cache / "dataset_checksums.json").write_text(json.dumps({"version": 1, "files": {str(path.resolve()): entry}}))
        name = Path(rel_path).parts[1] if Path(rel_path).parts[0] in ("webkb", "planetoid") else Path(rel_path).parts[0]
        cwd = os.getcwd()
        os.chdir(scratch)
        try:
            with patched(_io, "_MEMO", {}):
                if how == "load":
                    return api(lambda: load_dataset(name, root=data))(scratch)
                results = verify_datasets([name], root=data)
                bad = [r for r in results if not r.ok]
                return (
                    ("clear error", bad[0].line()[:160]) if bad else ("silently wrong", "--verify passed altered data")
                )
        finally:
            os.chdir(cwd)

    return run


class _Hostile:
    def __init__(self, mode: str) -> None:
        self.stop = threading.Event()
        hostile = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(200)
                    if mode == "announces 1 TB":
                        self.send_header("Content-Length", str(1 << 40))
                    elif mode == "cut short":
                        self.send_header("Content-Length", "1500")
                    self.end_headers()
                    if mode == "cut short":
                        self.wfile.write(b"x" * 1000)
                    elif mode == "a byte every 50 ms":
                        while not hostile.stop.is_set():
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.05)
                    elif mode == "an endless body":
                        while not hostile.stop.is_set():
                            self.wfile.write(b"x" * 65536)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _download_case(mode: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.data import download as download_module
        from graphsparse.data import fetch as fetch_module

        api = _R.api

        server = _Hostile(mode)
        try:
            with patched(download_module, "DEADLINE_SECONDS", 1.0), patched(download_module, "TIMEOUT_SECONDS", 5):
                start = time.monotonic()
                outcome, detail = api(
                    lambda: fetch_module.fetch_dataset("texas", to=scratch / "d", base_url=server.url)
                )(scratch)
                took = time.monotonic() - start
        finally:
            server.close()
        left = [p for p in (scratch / "d").rglob("*") if p.is_file()] if (scratch / "d").exists() else []
        if left:
            return "lost", f"left {[p.name for p in left]}"
        if took > 15:
            return "other", f"took {took:.0f} s"
        import re

        return outcome, re.sub(r"http://127\.0\.0\.1:\d+/\S+", "<server>/<file>", detail)  # no port, no long path

    return run


def data_cases(rel: Any) -> list[Any]:
    from graphsparse.data.checksums import KNOWN_FILES

    files = sorted(k for k in KNOWN_FILES if k.startswith(("webkb/texas/", "webkb/cornell/")))
    cases = [
        rel.Case(
            "Checksums",
            f"forged cache + edit kept size/mtime: {Path(f).name} ({how})",
            "clear error",
            _forged_case(f, how),
        )
        for f in files[:20]
        for how in ("load", "--verify")
    ]
    cases += [
        rel.Case("Downloads", f"the server: {mode}", "clear error, nothing left", _download_case(mode))
        for mode in ("an endless body", "announces 1 TB", "cut short", "a byte every 50 ms")
    ]
    return cases


# ---------------------------------------------------------------------------------------------- store rows, recovery
def _row_case(column: str, value: Any, command: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        classify_error = _R.classify_error
        run_main = _R.run_main

        db = _database(scratch / "r.db")
        with sqlite3.connect(db) as con:
            con.execute(f"UPDATE runs SET {column} = ?", (value,))
        argv = {
            "list": ["runs", "list"],
            "show": ["runs", "show", "1"],
            "export": ["runs", "export", "--format", "json"],
        }
        return classify_error(run_main(_rel([*argv[command], "--db", str(db)], scratch), scratch))

    return run


def _import_case(text: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        classify_error = _R.classify_error
        run_main = _R.run_main

        saved = scratch / "saved.json"
        saved.write_text(text)
        outcome, detail = classify_error(
            run_main(_rel(["runs", "import", str(saved), "--db", str(scratch / "x.db")], scratch), scratch)
        )
        if (scratch / "x.db").exists():
            return "other", f"the database was created before the file was checked: {detail}"
        return outcome, detail

    return run


_RUN = '[{"type": "run", "record": {"kind": "n", "dataset": "d", "model": "m", "config": {}, "metrics": {}, %s}}]'


def row_cases(rel: Any) -> list[Any]:
    cases = []
    for column, value in (
        ("config", "{not json"),
        ("metrics", "[1,"),
        ("timings", "nan}"),
        ("versions", "\x00"),
        ("curves", "{{"),
    ):
        for command in ("list", "show", "export"):
            cases.append(
                rel.Case(
                    "Store rows",
                    f"runs {command}: {column} edited to {value!r}",
                    "clear error",
                    _row_case(column, value, command),
                )
            )
    records = '{"format": "graphsparse-recovery/1", "records": %s}'
    for name, text in (
        ("empty", ""),
        ("an object without format", "{}"),
        ("a list", "[1]"),
        ("no records", '{"format": "graphsparse-recovery/1"}'),
        ("a record that is a number", records % "[1]"),
        ("a run without metrics", records % '[{"type": "run", "record": {"kind": "node"}}]'),
        (
            "a run with a text seed",
            records % _RUN % '"seed": "0"',
        ),
        (
            "a run with an unknown field",
            records % _RUN % '"sql": 1',
        ),
        ("a unit without payload", records % '[{"type": "unit", "key": "k"}]'),
        ("an unknown record type", records % '[{"type": "drop table"}]'),
    ):
        cases.append(
            rel.Case("Recovery files", f"runs import: {name}", "clear error, no database made", _import_case(text))
        )
    return cases


# ---------------------------------------------------------------------------------------------- ray, streams
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_case(address: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        TINY_TRAIN = _R.TINY_TRAIN
        classify_error = _R.classify_error
        run_main = _R.run_main

        given = f"127.0.0.1:{_closed_port()}" if address == "<a closed port>" else address
        start = time.monotonic()
        outcome, detail = classify_error(
            run_main(_rel([*TINY_TRAIN, "--ray-address", given], scratch), scratch), before_work=True
        )
        if time.monotonic() - start > 60:
            return "other", f"took {time.monotonic() - start:.0f} s: {detail}"
        return outcome, detail.replace(given, "127.0.0.1:<closed port>") if given != address else detail

    return run


def _stream_case(command: str, how: str) -> Run:
    def run(scratch: Path) -> tuple[str, str]:
        SCRIPT = _R.SCRIPT
        TINY_GLT = _R.TINY_GLT
        TINY_TRAIN = _R.TINY_TRAIN
        _env = _R._env

        db = scratch / "r.db"
        argv = [SCRIPT, *(TINY_TRAIN if command == "train" else TINY_GLT), "--db", str(db), "--json", "--no-progress"]
        if command == "glt":
            argv += ["--plot", str(scratch / "p.png")]
        if how == "full":
            with open("/dev/full", "w") as sink:
                done = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, text=True, env=_env(), timeout=300)
            want = 1
        else:
            read, write = os.pipe()
            os.close(read)
            try:
                done = subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, text=True, env=_env(), timeout=300)
            finally:
                os.close(write)
            want = 141
        if "Traceback" in done.stderr:
            return "traceback", _lines(done.stderr)[-1][:160]
        with contextlib.closing(sqlite3.connect(db)) as con:
            stored = (
                con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                + con.execute("SELECT COUNT(*) FROM results WHERE key LIKE 'glt|%'").fetchone()[0]
            )
        if not stored:
            return "lost", "nothing stored"
        if done.returncode != want or len(_lines(done.stderr)) > 1:
            return "other", f"exit {done.returncode}, {len(_lines(done.stderr))} stderr lines"
        return "kept", f"exit {done.returncode}, {stored} stored, {len(_lines(done.stderr))} stderr line"

    return run


def resource_cases(rel: Any, quick: bool) -> list[Any]:
    cases = [
        rel.Case("Ray addresses", f"--ray-address {address}", "clear error within seconds", _ray_case(address))
        for address in (
            "<a closed port>",
            "nonsense",
            "127.0.0.1:99999",
            "ray://host",
            "a b:1",
            ":6379",
            "host:",
            "host:port",
        )
    ]
    if not quick and Path("/dev/full").exists():
        cases += [
            rel.Case(
                "Output streams",
                f"{command} --json > {'/dev/full' if how == 'full' else 'a closed pipe'}",
                "kept",
                _stream_case(command, how),
            )
            for command in ("train", "glt")
            for how in ("full", "closed")
        ]
    return cases


def cases(rel: Any, quick: bool = False) -> list[Any]:
    """Every case of these families, as ``rel.Case`` objects (``rel``: the reliability module)."""
    global _R
    _R = rel
    return [
        *store_cases(rel, quick),
        *same_file_cases(rel),
        *ticket_cases(rel),
        *space_cases(rel),
        *data_cases(rel),
        *row_cases(rel),
        *resource_cases(rel, quick),
    ]
