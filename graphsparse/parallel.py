r"""Run units of work in this process or on Ray workers, behind one small interface.

A search or a seed grid is a set of units, some depending on others (a UGS round on the round before it, a
distilled TEDDY level on its seed's teacher). The driver :meth:`~Executor.submit`\ s each unit as a function and
its arguments — an argument may be the handle of another unit, whose result it then receives — and reads
results with :meth:`~Executor.as_completed`. The driver alone writes results (the store, ticket files): a unit
returns what it computed and never opens the results database, so a unit killed half-way leaves nothing
behind and is simply run again.

- :class:`SerialExecutor` (the default): units run here, lazily, in the order they are read (so a serial
  search commits each unit before the next one starts, exactly as before there were executors).
- :class:`RayExecutor` (``workers=N``: a local Ray with N worker slots; ``address="auto"|"HOST:PORT"``: join a
  running Ray cluster): units run as Ray tasks, each with ``threads`` intra-op torch threads and ``num_cpus =
  threads`` (``num_gpus`` with a CUDA device), retried when their worker process dies. Ray is imported only
  here, only when a RayExecutor is made.

Data reaches workers through Ray's object store (:meth:`~Executor.put` once, handles passed to every unit), so
a machine that joins the cluster needs graphsparse and its dependencies installed, but no datasets.
"""

from __future__ import annotations

import logging
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "check_ray_address",
    "Executor",
    "SerialExecutor",
    "RayExecutor",
    "WorkerError",
    "make_executor",
    "TASK_RETRIES",
    "LOCAL_OBJECT_STORE_BYTES",
]

RAY_CONNECT_SECONDS = 10  # how long joining a cluster may wait for its head to answer at all
TASK_RETRIES = 3  # a unit whose worker process dies (killed, out of memory) is run again up to this many times
LOCAL_OBJECT_STORE_BYTES = 512 * 1024**2  # a local Ray keeps graphs and masks, not datasets of GBs


class WorkerError(RuntimeError):
    """A unit could not be run: its worker died more often than :data:`TASK_RETRIES`, or Ray failed."""


class _Lazy:
    """A serial unit: computed the first time its value is needed (by the driver or by a dependent unit)."""

    __slots__ = ("fn", "args", "done", "value")

    def __init__(self, fn: Callable[..., Any] | None, args: tuple[Any, ...], value: Any = None) -> None:
        self.fn, self.args = fn, args
        self.done = fn is None
        self.value = value

    def result(self) -> Any:
        """The unit's value, computed now (its lazy arguments first) unless it was computed before."""
        if not self.done:
            args = tuple(a.result() if isinstance(a, _Lazy) else a for a in self.args)
            self.value = self.fn(*args)
            self.done, self.fn, self.args = True, None, ()
        return self.value


class Executor:
    """The interface: ``put``, ``submit``, ``as_completed``, ``close`` (and use as a context manager)."""

    workers: int = 1
    startup_seconds: float = 0.0
    kind: str = "serial"

    def put(self, value: Any) -> Any:
        """A handle to ``value`` that units can take as an argument (shipped to workers once)."""
        raise NotImplementedError

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Schedule ``fn(*args)``; handle arguments are replaced by their values. Returns a handle."""
        raise NotImplementedError

    def as_completed(self, handles: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """``(handle, result)`` for every handle, as results become available.

        A unit's exception is raised here (the original exception, not a wrapper).
        """
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What ran the units (recorded with results)."""
        return {"executor": self.kind, "workers": self.workers}

    def close(self) -> None:
        """Release the workers (a local Ray started here is shut down)."""

    def __enter__(self) -> Executor:
        """The executor itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the executor (see :meth:`close`), also when the block raised."""
        self.close()


class SerialExecutor(Executor):
    """Units run in this process, lazily, in the order their results are read."""

    def __init__(self) -> None:
        """An executor with no units yet; ``thread_changes`` lists the policy's choices made between units."""
        self.thread_changes: list[dict[str, Any]] = []

    def put(self, value: Any) -> _Lazy:
        """A handle that holds ``value`` itself.

        Args:
            value: what units receive for the handle.

        Returns:
            The handle.
        """
        return _Lazy(None, (), value)

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Lazy:
        """A handle to ``fn(*args)``, computed only when its result is read (here or by a dependent unit).

        Args:
            fn: the unit's function.
            *args: its arguments; handles are replaced by their values.

        Returns:
            The handle.
        """
        return _Lazy(fn, args)

    def as_completed(self, handles: Iterable[_Lazy]) -> Iterator[tuple[_Lazy, Any]]:
        """``(handle, result)`` for every handle in order, each unit computed as it is reached.

        Where the thread policy chose torch's thread count (a ``graphsparse`` command without ``--threads``),
        the count is chosen again before each unit for the load of the units before it
        (:func:`graphsparse.threads.refit_threads`), so load that arrives mid-run does not meet spinning threads.

        Args:
            handles: handles from :meth:`submit` or :meth:`put`.

        Yields:
            The handle and its unit's result; a unit's exception is raised as itself.
        """
        from .threads import LoadWatch, refit_threads

        watch = LoadWatch()
        for handle in handles:
            if not handle.done:
                changed = refit_threads(watch)
                if changed is not None:
                    self.thread_changes.append(changed.as_record())
            yield handle, handle.result()


def _run_on_worker(fn: Callable[..., Any], threads: int, *args: Any) -> Any:
    """The body of every Ray task: the process-wide settings a ``graphsparse`` command makes, then the unit."""
    import torch

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    return fn(*args)


def _signal_handlers() -> dict[int, Any]:
    import signal

    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signal_handlers(handlers: dict[int, Any]) -> None:
    """Put back the command's signal handlers after ``ray.init``.

    ``ray.init`` installs its own SIGTERM handler (a core dump and abort): the command's handlers come back, so a
    terminated command still ends with its one line and status 143 (and shuts the workers down).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


# how long one ray.wait blocks before the driver looks again (a signal's exception comes out at the latest then)
WAIT_SECONDS = 1.0


def _interruptible(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args)``, with a signal handler's exception coming out as itself.

    A signal handler's exception raised while Ray waits (the command's ``Terminated``, a ``KeyboardInterrupt``)
    comes out as itself, not as the ``SystemError`` Ray's Cython wait wraps it in.
    """
    try:
        return call(*args, **kwargs)
    except SystemError as err:
        # a second signal during the first one's handling wraps it twice: look down the whole chain
        cause: BaseException | None = err.__cause__
        while cause is not None:
            if not isinstance(cause, Exception):
                raise cause from None
            cause = cause.__cause__
        raise


def check_ray_address(address: str) -> tuple[str, int] | None:
    """The (host, port) a Ray address names, checked before Ray is imported; None for ``'auto'``.

    Args:
        address: ``'auto'`` (the Ray instance started on this machine), ``HOST:PORT`` of a Ray head (its GCS port,
            6379 by default) or ``ray://HOST:PORT`` (Ray client, port 10001 by default).

    Returns:
        The host and port to reach, or None for ``'auto'``.

    Raises:
        ValueError: the address has none of these forms (naming it).
    """
    text = str(address).strip()
    if text == "auto":
        return None
    rest = text[len("ray://") :] if text.startswith("ray://") else text
    host, sep, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535 or any(c.isspace() for c in rest):
        raise ValueError(
            f"Ray address {address!r} must be 'auto', HOST:PORT of a Ray head (e.g. 10.0.0.5:6379) or "
            "ray://HOST:PORT (Ray client)"
        )
    return host, int(port)


def _reach(address: str) -> None:
    """Fail fast, with one clear message, when nothing listens at a Ray head's address.

    Ray itself retries for minutes, or waits forever, before it gives up.
    """
    where = check_ray_address(address)
    if where is None:
        return
    try:
        with socket.create_connection(where, timeout=RAY_CONNECT_SECONDS):
            pass
    except OSError as err:
        timed_out = isinstance(err, TimeoutError | socket.timeout)
        why = f"no answer within {RAY_CONNECT_SECONDS} s" if timed_out else (err.strerror or str(err))
        raise WorkerError(
            f"cannot reach the Ray head at {address} ({why}): start one there with "
            "`ray start --head`, give the address `ray status` prints on the head, or leave out --ray-address to "
            "run on this machine (--workers N)"
        ) from None


class RayExecutor(Executor):
    """Units as Ray tasks: on a local Ray with ``workers`` slots, or on the cluster at ``address``."""

    kind = "ray"

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        *,
        threads: int = 1,
        gpus_per_task: float = 0.0,
        retries: int = TASK_RETRIES,
    ) -> None:
        """Start a local Ray, or join the cluster at ``address`` (unless Ray is already initialised in this process).

        Args:
            workers: worker slots of a local Ray (None: join ``address``; on a cluster, its CPUs over ``threads``).
            address: ``'auto'``, ``HOST:PORT`` of a Ray head or ``ray://HOST:PORT`` (see :func:`check_ray_address`).
            threads: intra-op torch threads, and CPUs reserved, per unit.
            gpus_per_task: GPUs reserved per unit.
            retries: how many times a unit whose worker process dies is run again.

        Raises:
            ValueError: neither ``workers`` nor ``address`` is given, or the address is malformed.
            WorkerError: Ray is not installed, the head cannot be reached, or Ray fails to start or join.
        """
        if workers is None and address is None:
            raise ValueError("RayExecutor needs workers=N (a local Ray) or address='auto'|'HOST:PORT'")
        if address is not None:
            check_ray_address(address)
        try:
            import ray
        except ImportError as err:  # pragma: no cover - ray is in the dev extra
            raise WorkerError("parallel runs need Ray: pip install 'graphsparse[ray]' (or pip install ray)") from err
        self._ray = ray
        self.threads = int(threads)
        start = time.perf_counter()
        self._started_here = not ray.is_initialized()
        if self._started_here:
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            if address is not None:
                options["address"] = address
            else:  # "local": a Ray of our own, never one found running on this machine (ray.init's default)
                options.update(
                    address="local",
                    num_cpus=int(workers) * self.threads,
                    object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                )
            if address is not None:
                _reach(address)
            handlers = _signal_handlers()
            try:
                ray.init(**options)
            except (ConnectionError, TimeoutError, RuntimeError, ValueError) as err:
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                hint = (
                    "start Ray on this machine with `ray start --head`, or give HOST:PORT of a running head"
                    if str(address).strip() == "auto"
                    else "check that a Ray head of the same Ray version runs there (`ray status` on that machine)"
                )
                if address is None:
                    raise WorkerError(f"cannot start a local Ray with {workers} workers: {first}") from None
                raise WorkerError(f"cannot join the Ray cluster at {address!r}: {first}; {hint}") from None
            finally:
                _restore_signal_handlers(handlers)
        self.startup_seconds = time.perf_counter() - start
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = int(workers) if workers is not None else max(1, cpus // self.threads)
        self.address = address
        self._remote = ray.remote(_run_on_worker).options(
            num_cpus=self.threads, num_gpus=float(gpus_per_task), max_retries=int(retries)
        )

    def describe(self) -> dict[str, Any]:
        """What ran the units: executor, workers, threads per worker, address, Ray version and startup seconds."""
        return {
            "executor": "ray",
            "workers": self.workers,
            "threads_per_worker": self.threads,
            "address": self.address,
            "ray": self._ray.__version__,
            "startup_seconds": round(self.startup_seconds, 3),
        }

    def put(self, value: Any) -> Any:
        """Put ``value`` in Ray's object store once.

        Args:
            value: what units receive for the handle.

        Returns:
            Its object reference.
        """
        return self._ray.put(value)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Schedule ``fn(*args)`` as a Ray task with this executor's threads, GPUs and retries.

        Args:
            fn: the unit's function.
            *args: its arguments; object references are replaced by their values.

        Returns:
            The task's object reference.
        """
        return self._remote.remote(fn, self.threads, *args)

    def as_completed(self, handles: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """``(handle, result)`` for every handle, in the order the tasks finish.

        Args:
            handles: object references from :meth:`submit` or :meth:`put`.

        Yields:
            The handle and its result.

        Raises:
            WorkerError: a worker died more often than retried, or Ray failed otherwise.
        """
        ray = self._ray
        pending = list(handles)
        while pending:
            # short waits: a signal that arrives inside Ray's wait surfaces when the wait returns, so a long unit
            # must not hold a SIGTERM back until it finishes
            done: list[Any] = []
            while not done:
                done, pending = _interruptible(ray.wait, pending, num_returns=1, timeout=WAIT_SECONDS)
            handle = done[0]
            try:
                value = _interruptible(ray.get, handle)
            except ray.exceptions.RayTaskError as err:  # the unit raised: raise what it raised
                cause = getattr(err, "cause", None)
                if isinstance(cause, BaseException):
                    raise cause from None
                raise WorkerError(str(err)) from None
            except ray.exceptions.RayError as err:  # worker died more often than retried, object lost, ...
                raise WorkerError(f"a work unit failed on its Ray worker: {type(err).__name__}: {err}") from None
            yield handle, value

    def close(self) -> None:
        """Shut down the local Ray if this executor started it (a joined cluster stays up)."""
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()


def make_executor(
    workers: int | None = None,
    address: str | None = None,
    *,
    threads: int = 1,
    gpus_per_task: float = 0.0,
) -> Executor:
    """A :class:`RayExecutor` when ``workers`` or ``address`` is given, else a :class:`SerialExecutor`."""
    if workers is None and address is None:
        return SerialExecutor()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if address is not None and not str(address).strip():
        raise ValueError("Ray address must be 'auto' or HOST:PORT, got an empty string")
    return RayExecutor(workers, address, threads=threads, gpus_per_task=gpus_per_task)
