"""A results-store writer for the concurrent-writers test, in a module of its own: the test's worker processes
start fresh (``spawn``) and import only this, not the test module."""

from __future__ import annotations

from graphsparse.experiments import ResultsStore


def write_run(args: tuple[str, int]) -> int:
    """Record one node run with seed ``i`` in the store at ``path``; return ``i``."""
    path, i = args
    ResultsStore(path).record_run("node", "d", "m", i, {"i": i}, {"test_acc": i / 100})
    return i
