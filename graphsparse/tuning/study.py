"""Optuna studies that persist, resume and spread over workers.

A study lives in an Optuna RDB storage: a SQLite file by default (:func:`default_storage`: beside the results
database), or any SQLAlchemy URL (``postgresql://...``, ``mysql://...``) that several machines reach — Optuna's
own way to distribute a study: every worker runs the same command against the same storage and study name.

* ``trials`` is the study's total: a worker stops once the study holds that many finished (complete or pruned)
  trials, so a rerun of a killed study adds only the missing ones, and N workers share the budget
  (:class:`optuna.study.MaxTrialsCallback`; each may finish the trial it is running, so the total can exceed
  ``trials`` by up to N - 1).
* Workers beat a heartbeat (every ``heartbeat`` seconds); a trial whose worker died (killed, machine lost) is
  marked failed after two missed beats and retried once with the same parameters by the next worker that
  starts a trial (:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`).
* Sampler: TPE seeded with ``sampler_seed``; pruner: median of the other trials' validation curves at the same
  step, after ``warmup`` steps and 5 finished trials.
* The study stores what it tunes (``graphsparse`` user attribute: method, dataset, split, base configuration,
  search space, trial seeds); reopening it with a different one is refused, so two searches never mix.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "default_storage",
    "storage_url",
    "open_study",
    "optimize",
    "finished_trials",
    "trial_counts",
    "best_values",
    "STUDY_ATTR",
]

STUDY_ATTR = "graphsparse"
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


def default_storage(results_db: str | Path) -> str:
    """``sqlite:///<folder of the results database>/<its stem>-optuna.db``."""
    db = Path(results_db).absolute()
    return f"sqlite:///{db.with_name(db.stem + '-optuna.db')}"


def storage_url(storage: str) -> str:
    """A SQLAlchemy URL from ``--storage``.

    An URL is kept (its scheme must be a database's), a plain path becomes a SQLite file (its folder is created).
    """
    text = str(storage).strip()
    if not text:
        raise ValueError("--storage is empty: give a SQLite file path or a database URL")
    if "://" in text:
        scheme = text.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in _RDB_SCHEMES:
            raise ValueError(
                f"--storage {text!r}: unknown database scheme {scheme!r}; use a SQLite path or an URL such as "
                "sqlite:///study.db or postgresql://user@host/db"
            )
        if scheme == "sqlite":
            path = text.split(":///", 1)[1] if ":///" in text else ""
            if path and path != ":memory:":
                _make_folder(Path(path))
        return text
    path = Path(text).absolute()
    _make_folder(path)
    return f"sqlite:///{path}"


def _make_folder(path: Path) -> None:
    if path.is_dir():
        raise ValueError(f"--storage {path}: is a folder, not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--storage {path}: cannot create its folder ({err.strerror or err})") from None


def _storage(url: str, heartbeat: int) -> Any:
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 120}}  # several local workers wait for the file lock
    try:
        with warnings.catch_warnings():  # the heartbeat is marked experimental in Optuna; we rely on it knowingly
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url,
                engine_kwargs=engine,
                heartbeat_interval=heartbeat,
                grace_period=2 * heartbeat,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
    except (ImportError, ValueError, optuna.exceptions.StorageInternalError) as err:
        raise ValueError(f"--storage {url}: cannot be opened ({err})") from None
    except Exception as err:  # SQLAlchemy's own errors (unreachable server, bad credentials)
        if type(err).__module__.startswith("sqlalchemy"):
            raise ValueError(f"--storage {url}: cannot be opened ({type(err).__name__}: {err})") from None
        raise
    if url.startswith("sqlite"):
        _sqlite_wal(storage.engine)
    return storage


def _sqlite_wal(engine: Any) -> None:
    """WAL journal and ``synchronous=NORMAL`` on every SQLite connection of ``engine``.

    Readers no longer block the writer (several local workers), and a commit costs no fsync of the whole file (a
    trial commits many times: every report of its validation curve).
    """
    import sqlite3

    from sqlalchemy import event

    def pragmas(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # another worker is switching it at this moment: it will be WAL
            pass
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()  # connections opened while the tables were created reconnect with the pragmas


def open_study(
    name: str,
    storage: str,
    description: dict[str, Any],
    *,
    sampler_seed: int = 0,
    warmup: int = 20,
    heartbeat: int = 60,
) -> Any:
    """Create study ``name`` in ``storage`` (an URL), or load it when it exists.

    ``description`` (JSON-able) is stored on creation and must match when the study is loaded.
    """
    import optuna

    study = optuna.create_study(
        study_name=name,
        storage=_storage(storage, heartbeat),
        sampler=optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=10),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup),
        direction="maximize",
        load_if_exists=True,
    )
    wanted = json.loads(json.dumps(description, sort_keys=True, default=str))
    stored = study.user_attrs.get(STUDY_ATTR)
    if stored is None:
        study.set_user_attr(STUDY_ATTR, wanted)
    elif stored != wanted:
        differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise ValueError(
            f"study {name!r} in {storage} tunes something else (differs in: {', '.join(differ)}); "
            "give another --study-name or the original options"
        )
    return study


def _finished_states() -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED)


def finished_trials(study: Any) -> int:
    """Complete plus pruned trials: what counts towards ``trials``."""
    return len(study.get_trials(deepcopy=False, states=_finished_states()))


def trial_counts(study: Any) -> dict[str, int]:
    """``{'complete': .., 'pruned': .., 'failed': .., 'running': ..}`` of the study's trials."""
    counts = {"complete": 0, "pruned": 0, "failed": 0, "running": 0, "waiting": 0}
    names = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}
    for trial in study.get_trials(deepcopy=False):
        counts[names[trial.state.name]] += 1
    return counts


def optimize(
    study: Any,
    objective: Callable[[Any], float],
    trials: int,
    *,
    progress: bool = True,
    catch: tuple[type[Exception], ...] = (),
) -> int:
    """Run trials until the study holds ``trials`` finished ones (see the module docstring).

    Returns how many this call ran. A trial raising one of ``catch`` (a diverged run) is recorded as failed and the
    search goes on; it does not count towards ``trials``.
    """
    from optuna.study import MaxTrialsCallback
    from tqdm.auto import tqdm

    done = finished_trials(study)
    if done >= trials:
        return 0
    ran = [0]
    bar = tqdm(total=trials, initial=done, desc=f"tuning {study.study_name}", unit="trial", disable=not progress)

    def count(study_: Any, trial: Any) -> None:
        ran[0] += 1
        bar.n = min(finished_trials(study_), trials)
        best = _best_value(study_)
        if best is not None:
            bar.set_postfix(best_val=f"{best:.4f}")
        bar.refresh()

    try:
        with _interrupt_safe():
            study.optimize(
                objective,
                # at most this many here (a bound against trials failing forever); the callback stops at the total
                n_trials=2 * (trials - done) + 2,
                callbacks=[MaxTrialsCallback(trials, states=_finished_states()), count],
                catch=catch,
            )
    finally:
        bar.close()
    return ran[0]


class _NoInterruptTraceback(logging.Filter):
    """Drops Optuna's "Trial N failed ... KeyboardInterrupt" record and its traceback.

    Ctrl-C ends the command with one line (printed by ``graphsparse``'s main), not a logged traceback.
    """

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and not isinstance(error, Exception):
            self.interrupted = True  # the records that follow ("Trial N failed with value None") go too
        return not self.interrupted


@contextlib.contextmanager
def _interrupt_safe() -> Iterator[None]:
    """Quiet interruption while trials run.

    Optuna's heartbeat threads are daemon threads (an interrupted command never waits at exit for one blocked on
    the storage), and an interrupted trial is not logged with a traceback.
    """
    quiet = _NoInterruptTraceback()
    logger = logging.getLogger("optuna.study._optimize")
    logger.addFilter(quiet)
    module: Any = None
    original: Any = None
    try:
        from optuna.storages import _heartbeat as module  # private: patched only when it looks as expected

        original = getattr(module, "Thread", None)
    except ImportError:  # pragma: no cover - another Optuna layout: leave it alone
        module = None
    if module is not None and original is threading.Thread:
        module.Thread = functools.partial(threading.Thread, daemon=True)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
        if module is not None and original is threading.Thread:
            module.Thread = original


def _best_value(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no complete trial yet
        return None


def best_values(study: Any) -> tuple[dict[str, Any], float, int]:
    """The best complete trial's parameters, its objective value and its number; ValueError if none completed."""
    try:
        best = study.best_trial
    except ValueError:
        counts = trial_counts(study)
        raise ValueError(
            f"study {study.study_name!r} has no complete trial ({counts['pruned']} pruned, {counts['failed']} "
            f"failed, {counts['running']} running): run more trials (--trials)"
        ) from None
    return dict(best.params), float(best.value), int(best.number)
