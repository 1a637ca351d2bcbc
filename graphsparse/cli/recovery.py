"""A finished run is always committed or printed: the results store as the commands write it.

:class:`GuardedStore` wraps the :class:`~graphsparse.experiments.store.ResultsStore` a command opened in its
preflight (``train``, ``glt``, ``tune``). Reads go to the store unchanged. A write (a run, a GLT level, one seed of
a level) that fails with a :class:`~graphsparse.experiments.store.StoreError` once training has started (a full
disk, a lock held beyond the timeout, the database deleted, replaced or damaged) does not end the command: the
store is marked failed, and that record and every later one go to a **recovery file**, a JSON document rewritten
atomically after each record, beside the database (``<db>.recovered-<time>-<pid>.json``), else in the working
folder, else in the temporary folder. Where no file can be written (every disk full), each record is printed on
stdout as one JSON line instead. The command finishes its work, then :func:`report` gives the two lines ``main``
prints (the database's error, and where the records are with the command that stores them) and it exits 1.

``graphsparse runs import FILE`` (:func:`import_records`) stores a recovery file's records once the database works
again; a resumed ``glt`` then finds its levels there.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..experiments.store import StoreError

__all__ = ["GuardedStore", "RECOVERY_FORMAT", "report", "load_recovery", "import_records"]

RECOVERY_FORMAT = "graphsparse-recovery/1"
_KINDS = ("run", "unit", "part")


class GuardedStore:
    """A results store whose failed writes are kept in a recovery file (or printed) instead of lost.

    Args:
        store: the open :class:`~graphsparse.experiments.store.ResultsStore`.
        command: the subcommand's name, for the recovery document.
        folders: where to try the recovery file, in order (default: the database's folder, the working folder,
            the temporary folder).

    Every attribute but the writes (``record_run``, ``put``, ``put_part``, ``delete_parts``) is the store's;
    setting one (``invocation``) sets the store's.
    """

    _OWN = ("_store", "_command", "_folders", "error", "records", "recovery_path", "printed", "_started")

    def __init__(self, store: Any, command: str = "", folders: list[Path] | None = None) -> None:
        """Wrap ``store``; nothing has failed yet (the arguments are described in the class docstring)."""
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_command", command)
        object.__setattr__(self, "_folders", folders)
        object.__setattr__(self, "error", None)  # the first StoreError's message
        object.__setattr__(self, "records", [])  # what could not be stored
        object.__setattr__(self, "recovery_path", None)  # the recovery file, once one was written
        object.__setattr__(self, "printed", 0)  # records printed on stdout (no file could be written)
        object.__setattr__(self, "_started", time.time())

    def __getattr__(self, name: str) -> Any:
        """The wrapped store's attribute ``name``."""
        return getattr(self._store, name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Set the wrapper's own attribute ``name``, or else the wrapped store's."""
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._store, name, value)

    @property
    def failed(self) -> bool:
        """Whether a write failed (every later write then goes to the recovery file)."""
        return self.error is not None

    @property
    def store(self) -> Any:
        """The wrapped results store."""
        return self._store

    # ------------------------------------------------------------------------------------------ writes
    def record_run(
        self,
        kind: str,
        dataset: str,
        model: str,
        seed: int | None,
        config: dict[str, Any],
        metrics: dict[str, Any],
        timings: dict[str, Any] | None = None,
        graph_fingerprint: str | None = None,
        invocation: dict[str, Any] | None = None,
        curves: list[dict[str, Any]] | None = None,
    ) -> int | None:
        """Store one finished run (see ``ResultsStore.record_run``).

        Returns its id, or None when it went to the recovery file. A non-finite metric is still refused (ValueError)
        as the store refuses it.
        """
        args = {
            "kind": kind,
            "dataset": dataset,
            "model": model,
            "seed": seed,
            "config": config,
            "metrics": metrics,
            "timings": timings,
            "graph_fingerprint": graph_fingerprint,
            "invocation": invocation if invocation is not None else self._store.invocation,
            "curves": curves,
        }
        if not self.failed:
            try:
                return self._store.record_run(**args)
            except StoreError as err:
                self._fail(err)
        self._keep({"type": "run", "record": args})
        return None

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Commit a finished unit (a GLT level), or keep it in the recovery file."""
        if not self.failed:
            try:
                self._store.put(key, payload)
                return
            except StoreError as err:
                self._fail(err)
        self._keep({"type": "unit", "key": key, "payload": payload, "invocation": self._store.invocation})

    def put_part(self, key: str, payload: dict[str, Any]) -> None:
        """Commit one seed of an unfinished unit, or keep it in the recovery file."""
        if not self.failed:
            try:
                self._store.put_part(key, payload)
                return
            except StoreError as err:
                self._fail(err)
        self._keep({"type": "part", "key": key, "payload": payload})

    def delete_parts(self, keys: list[str]) -> None:
        """Remove parts whose unit is committed; skipped once the store failed (a resumed search removes them)."""
        if self.failed:
            return
        try:
            self._store.delete_parts(keys)
        except StoreError as err:  # the unit itself is committed: nothing finished is lost
            self._fail(err)

    # ------------------------------------------------------------------------------------------ recovery
    def _fail(self, err: StoreError) -> None:
        if self.error is None:
            self.error = str(err)

    def _document(self) -> dict[str, Any]:
        return {
            "format": RECOVERY_FORMAT,
            "command": self._command,
            "database": str(self._store.path),
            "error": self.error,
            "created": self._started,
            "records": self.records,
        }

    def _candidates(self) -> list[Path]:
        if self._folders is not None:
            folders = list(self._folders)
        else:
            folders = [Path(self._store.path).absolute().parent, Path.cwd(), Path(tempfile.gettempdir())]
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self._started))
        name = f"{Path(self._store.path).name}.recovered-{stamp}-{os.getpid()}.json"
        return [folder / name for folder in folders]

    def _keep(self, entry: dict[str, Any]) -> None:
        self.records.append(entry)
        if self.printed == 0:  # a file while one can be written: rewritten whole, atomically
            candidates = self._candidates()
            if self.recovery_path is not None:
                candidates = [self.recovery_path] + [c for c in candidates if c != self.recovery_path]
            for path in candidates:
                if _write_atomically(path, self._document()):
                    if self.recovery_path is not None and self.recovery_path != path:
                        Path(self.recovery_path).unlink(missing_ok=True)
                    self.recovery_path = path
                    return
            if self.recovery_path is not None:  # the file stays as it was: what it lacks is printed below
                pending = self.records[len(self.records) - 1 :]
            else:
                pending = self.records
        else:
            pending = [entry]
        for item in pending:
            _print_record({**self._document(), "records": [item]})
            self.printed += 1


def _write_atomically(path: Path, document: dict[str, Any]) -> bool:
    """Write ``document`` as JSON to ``path`` through a temporary file renamed over it.

    Returns False (and leaves nothing behind) when the folder cannot take it (full disk, read-only, missing).
    """
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out, sort_keys=True, default=str)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        return True
    except (OSError, ValueError):
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


def _print_record(document: dict[str, Any]) -> None:
    """One recovery document on stdout as one JSON line (stderr when stdout cannot take it)."""
    line = json.dumps(document, sort_keys=True, default=str)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.write(line + "\n")
            stream.flush()
            return
        except (OSError, ValueError):
            continue


def report(store: Any, command: str) -> list[str]:
    """The lines ``main`` prints when ``store`` (a :class:`GuardedStore`) failed.

    The database's error, then where the records that could not be stored are and how to store them; [] when
    nothing failed.
    """
    if not isinstance(store, GuardedStore) or not store.failed:
        return []
    prog = f"graphsparse {command}" if command else "graphsparse"
    lines = [f"{prog}: error: {store.error}"]
    n = len(store.records)
    noun = "record" if n == 1 else "records"
    db = store.store.path
    if n == 0:
        lines.append(f"{prog}: every finished result was stored in {db} before it failed; nothing is lost")
        return lines
    where = []
    if store.recovery_path is not None:
        where.append(f"saved in {store.recovery_path}")
    if store.printed:
        where.append(f"{store.printed} printed on stdout as JSON lines")
    source = store.recovery_path if store.recovery_path is not None and not store.printed else "FILE"
    lines.append(
        f"{prog}: {n} finished {noun} could not be stored in {db} and {' and '.join(where)}: once the database "
        f"works again, store them with `graphsparse runs import {source} --db {db}`"
        + ("" if source != "FILE" else " (FILE: the saved file, or stdout's JSON lines saved to a file)")
    )
    return lines


# ---------------------------------------------------------------------------------------------- import
def _check_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict) or entry.get("type") not in _KINDS:
        raise ValueError(f"{where}: not a recovery record (its 'type' must be one of {', '.join(_KINDS)})")
    if entry["type"] == "run":
        record = entry.get("record")
        if not isinstance(record, dict):
            raise ValueError(f"{where}: a run record needs a 'record' object")
        for name, kind in (("kind", str), ("dataset", str), ("model", str), ("config", dict), ("metrics", dict)):
            if not isinstance(record.get(name), kind):
                raise ValueError(f"{where}: the run's {name!r} must be a {kind.__name__}, got {record.get(name)!r}")
        seed = record.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"{where}: the run's 'seed' must be an integer or null, got {seed!r}")
        unknown = set(record) - {
            "kind",
            "dataset",
            "model",
            "seed",
            "config",
            "metrics",
            "timings",
            "graph_fingerprint",
            "invocation",
            "curves",
        }
        if unknown:
            raise ValueError(f"{where}: the run has unknown fields {sorted(unknown)}")
    else:
        if not isinstance(entry.get("key"), str) or not isinstance(entry.get("payload"), dict):
            raise ValueError(f"{where}: a {entry['type']} record needs a string 'key' and a 'payload' object")
    return entry


def load_recovery(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a recovery file.

    It is one JSON document, or JSON lines (stdout saved to a file; lines that are not recovery documents, such as
    a summary, are skipped).

    Args:
        path: the file.

    Returns:
        The records, in the order they were kept.

    Raises:
        ValueError: the file cannot be read or holds no recovery document (naming the file and the problem).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"recovery file {path} cannot be read: {err}") from None
    documents: list[Any] = []
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError:
        for line in text.splitlines():
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    documents = [d for d in documents if isinstance(d, dict) and d.get("format") == RECOVERY_FORMAT]
    if not documents:
        raise ValueError(
            f"recovery file {path} holds no graphsparse recovery document (format {RECOVERY_FORMAT!r}): give the "
            "file a failed train/glt/tune named, or its saved stdout"
        )
    records = []
    for d, document in enumerate(documents):
        entries = document.get("records")
        if not isinstance(entries, list):
            raise ValueError(f"recovery file {path}: document {d + 1} has no 'records' list")
        records += [
            _check_entry(e, f"recovery file {path}, record {len(records) + i + 1}") for i, e in enumerate(entries)
        ]
    return records


def _run_identity(kind: Any, dataset: Any, model: Any, seed: Any, invocation: Any, metrics: Any) -> str:
    """What makes a recovered run the same run when it is imported again (its invocation's id, seed, metrics)."""
    ident = invocation.get("id") if isinstance(invocation, dict) else None
    return json.dumps([kind, dataset, model, seed, ident, metrics], sort_keys=True, default=str)


def import_records(store: Any, records: list[dict[str, Any]]) -> dict[str, int]:
    """Store ``records`` (from :func:`load_recovery`) in ``store``.

    Returns how many runs, units and parts were stored, and how many runs were ``skipped`` (already stored:
    importing a file twice stores each run once; units and parts replace what their key held).
    """
    counts = {"run": 0, "unit": 0, "part": 0, "skipped": 0}
    seen = {
        _run_identity(r["kind"], r["dataset"], r["model"], r["seed"], r.get("invocation"), r["metrics"])
        for r in store.runs()
    }
    for entry in records:
        if entry["type"] == "run":
            r = entry["record"]
            identity = _run_identity(
                r["kind"], r["dataset"], r["model"], r.get("seed"), r.get("invocation"), r["metrics"]
            )
            if identity in seen:
                counts["skipped"] += 1
                continue
            store.record_run(**r)
            seen.add(identity)
        elif entry["type"] == "unit":
            previous = store.invocation
            store.invocation = entry.get("invocation") if isinstance(entry.get("invocation"), dict) else None
            try:
                store.put(entry["key"], entry["payload"])
            finally:
                store.invocation = previous
        else:
            store.put_part(entry["key"], entry["payload"])
        counts[entry["type"]] += 1
    return counts
