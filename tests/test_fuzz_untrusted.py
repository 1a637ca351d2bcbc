"""Property-based fuzzing of the files graphsparse reads from users: ticket files, ``--space`` files and
results-store rows. Whatever the bytes or the structure, the reader returns a valid object or raises its one
documented error type (``ValueError``: FileProblem, StoreError) naming the file; never another exception."""

from __future__ import annotations

import json
import math
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import torch

from graphsparse import Graph
from graphsparse.experiments.store import ResultsStore, StoreError
from graphsparse.sparsify import Ticket

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

settings.register_profile(
    "graphsparse-ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CI = settings(settings.get_profile("graphsparse-ci"), max_examples=150)
SHORT = settings(CI, max_examples=60)

# ---------------------------------------------------------------------------------------------- ticket files
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)


def _tensors() -> st.SearchStrategy[torch.Tensor]:
    shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3)
    dtypes = st.sampled_from([torch.bool, torch.float32, torch.float64, torch.int64, torch.uint8, torch.float16])
    return st.builds(lambda shape, dtype: torch.zeros(shape).to(dtype), shapes, dtypes)


VALUES = st.recursive(
    st.one_of(SCALARS, _tensors()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), inner, max_size=4)
    ),
    max_leaves=12,
)


def _good_ticket() -> Ticket:
    torch.manual_seed(0)
    return Ticket(
        torch.tensor([True, False, True, True]),
        {"w": torch.rand(3, 2) > 0.5},
        {"w": torch.randn(3, 2), "b": torch.randn(2)},
        {"model": "gcn", "seed": 0, "dataset": "cora"},
    )


def _load_only_value_errors(path: Path) -> Ticket | None:
    try:
        return Ticket.load(path)
    except ValueError as err:
        assert str(path) in str(err), err
        return None


@CI
@given(payload=VALUES, keep_header=st.booleans())
def test_any_torch_payload_loads_as_a_ticket_or_is_refused(payload: Any, keep_header: bool) -> None:
    if keep_header:
        base = {"format": "graphsparse.ticket", "version": 1}
        payload = {**base, **payload} if isinstance(payload, dict) else {**base, "edge_keep_mask": payload}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ticket.pt"
        torch.save(payload, path)
        ticket = _load_only_value_errors(path)
        if ticket is not None:  # what loads is a ticket that keeps its invariants
            assert ticket.edge_keep_mask.dtype == torch.bool and ticket.edge_keep_mask.dim() == 1


@CI
@given(cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=6))
def test_damaged_ticket_bytes_load_or_are_refused(cut: int, flips: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ticket.pt"
        _good_ticket().save(path)
        data = bytearray(path.read_bytes())
        for where, xor in flips:
            data[where % len(data)] ^= xor
        path.write_bytes(bytes(data[: cut % (len(data) + 1)]))
        ticket = _load_only_value_errors(path)
        if ticket is not None:
            for value in ticket.init_state.values():
                assert not value.is_floating_point() or bool(torch.isfinite(value).all())
            for mask in [ticket.edge_keep_mask, *ticket.weight_masks.values()]:
                assert mask.numel() == 0 or int(mask.view(torch.uint8).max()) <= 1


@SHORT
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_never_loaded_as_a_ticket(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ticket.pt"
        path.write_bytes(data)
        assert _load_only_value_errors(path) is None


# ---------------------------------------------------------------------------------------------- --space files
ENTRY_KEYS = st.sampled_from(["type", "low", "high", "log", "step", "choices", "fixed", "target", "x"])
ENTRY_VALUES = st.one_of(
    SCALARS,
    st.sampled_from(["float", "int", "categorical", "fixed", "model", "train", "gaug", "method"]),
    st.lists(SCALARS, max_size=4),
)
ENTRIES = st.one_of(SCALARS, st.dictionaries(ENTRY_KEYS, ENTRY_VALUES, max_size=6), st.lists(SCALARS, max_size=3))
NAMES = st.sampled_from(["lr", "weight_decay", "dropout", "hidden_channels", "num_layers", "epochs", "foo", "draw"])


def _tiny_graph() -> Graph:
    g = torch.Generator().manual_seed(0)
    n = 12
    edges = torch.tensor([[i for i in range(n - 1)], [i + 1 for i in range(n - 1)]])
    y = torch.arange(n) % 3
    idx = torch.arange(n)
    split = (idx < 6, (idx >= 6) & (idx < 9), idx >= 9)
    return Graph(edges, num_nodes=n, x=torch.randn(n, 5, generator=g), y=y, splits={"public": split}, name="tiny")


_TINY = _tiny_graph()


@CI
@given(space=st.dictionaries(NAMES, st.one_of(st.none(), ENTRIES), max_size=4), as_text=st.booleans())
def test_any_space_file_is_checked_before_a_trial(space: dict[str, Any], as_text: bool) -> None:
    from graphsparse.tuning import check_space, load_space_overrides, space_for
    from graphsparse.tuning.objective import TuneSetup

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "space.json"
        text = json.dumps(space, allow_nan=True)
        path.write_text(text if as_text else text.replace("NaN", "nan"))
        try:
            overrides = load_space_overrides(path)
            parsed = space_for("gcn", overrides, f"--space {path}")
            check_space(TuneSetup("gcn", "gcn", "tiny", "public"), _TINY, parsed, f"--space {path}")
        except ValueError as err:
            assert str(path) in str(err) or "--space" in str(err), err
            return
    for param in parsed:  # what passed builds: every value a trial can suggest is a sane one
        if param.type in ("float", "int"):
            assert math.isfinite(float(param.low)) and math.isfinite(float(param.high))


# ---------------------------------------------------------------------------------------------- store rows
CELLS = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.binary(max_size=20),
    st.sampled_from(["{}", "[]", "null", "1", '{"test_acc": NaN}', '{"a": {"b": [1, 2]}}', "{not json", '"text"']),
)
COLUMNS = st.sampled_from(["created", "kind", "dataset", "model", "seed", "config", "metrics", "timings", "versions"])
COLUMNS = st.one_of(COLUMNS, st.sampled_from(["graph_fingerprint", "schema_version", "invocation", "curves"]))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-store") / "r.db"
    store = ResultsStore(path)
    store.record_run("node", "cora", "gcn", 0, {"lr": 0.01}, {"test_acc": 0.8}, curves=[{"epoch": 0, "loss": 1.0}])
    store.put("glt|cora|gcn|teddy|1", {"val_acc": 0.7})
    return path


@CI
@given(edits=st.lists(st.tuples(COLUMNS, CELLS), min_size=1, max_size=4), payload=CELLS)
def test_any_hand_edited_row_is_read_or_named(database: Path, edits: list[tuple[str, Any]], payload: Any) -> None:
    from graphsparse.cli import main

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.db"
        path.write_bytes(database.read_bytes())
        with closing(sqlite3.connect(path)) as con, con:
            statements = [(f"UPDATE runs SET {column} = ?", value) for column, value in edits]
            for sql, value in [*statements, ("UPDATE results SET payload = ?", payload)]:
                try:
                    con.execute(sql, (value,))
                except sqlite3.IntegrityError:  # NULL in a NOT NULL column: SQLite itself refuses the edit
                    pass
        store = ResultsStore(path, read_only=True)
        for read in (store.runs, lambda: store.units("glt|")):
            try:
                read()
            except StoreError as err:
                assert str(path) in str(err), err
        for argv in (["runs", "list"], ["runs", "show", "1"], ["runs", "export", "--format", "csv"]):
            import contextlib
            import io

            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([*argv, "--db", str(path)])
            assert code in (0, 2) and "Traceback" not in err.getvalue(), err.getvalue()
            if code == 2:
                assert len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
