"""How many intra-op threads torch gets: chosen from the size of the work and how busy the machine is.

torch starts with one intra-op thread per core. When another process keeps a core busy, every parallel region
waits for the thread that shares its core (measured with ``benchmarks/threads.py``: a Cora epoch on 2 cores took
several times longer on two threads than on one beside a busy process); on free cores a second thread pays even
for Cora (12.5 -> 9.2 ms at 16 hidden, 108 -> 61 ms at 512), and only a tiny graph's products are too short to
split (2,000 nodes and 10,000 edges: a tie). The policy:

- a graph whose work (:func:`graph_work`: the non-zeros of A + I, nodes + 2 x undirected edges) is below
  :data:`SMALL_GRAPH_WORK` gets **one thread** (the WebKB graphs, toy graphs);
- a larger one gets every core that is free now: the cores this process may run on (its CPU affinity) minus the
  cores other processes keep busy (:func:`busy_cores`: the machine's CPU time over a short sample, else the
  1-minute load average), at least one;
- a graph of unknown size (a synthetic graph, an OGB folder) is treated as large.

``--threads N`` (or ``OMP_NUM_THREADS``, which torch itself reads) overrides the policy. It is bounded: at least 1 and
at most :func:`max_threads` (the machine's cores times :data:`MAX_THREADS_PER_CORE`): torch allocates per-thread
state for every thread it is asked for, and an extreme count ends the process in a segmentation fault. The command
records the choice (threads, where it came from, the work and load it saw) with every run (:func:`last_choice`).

How the threads wait matters as much as how many there are. torch's OpenMP runtime (libgomp in the Linux wheels)
by default lets a thread that finished its share of a parallel region spin for ~300,000 iterations (milliseconds)
before it sleeps. On free cores that saves a wake-up; on cores shared with busy processes the spinning thread
burns the time slice that the thread it waits for (or the next serial code) needs, and every parallel region
pays. Measured on 2 cores beside two busy single-threaded processes (load ~3.3), a GCN epoch on the 200k-node
synthetic graph (``benchmarks/threads.py``): 278 ms on one thread, **3,074 ms on two** (11x); with
``OMP_WAIT_POLICY=PASSIVE`` 289 ms on two (1.01x); ``GOMP_SPINCOUNT=0`` 1.04x, ``=1000`` 1.07x, ``=10000`` 1.75x;
``MKL_NUM_THREADS=1`` (10.5x) and one inter-op thread (9.9x) change nothing (``benchmarks/README.md``,
"threads.py"). So:

On an idle machine the spin pays instead: PASSIVE's wake-ups made the Cora TEDDY demo (two threads) 113 s
against 98 s with spinning threads. So:

- the entry points (the ``graphsparse`` command, ``python -m graphsparse.cli``, ``benchmarks/gcn_epoch.py``,
  ``benchmarks/threads.py``, ``benchmarks/glt_epoch_parts.py``) call :func:`choose_wait_policy` before torch is
  imported: ``OMP_WAIT_POLICY=PASSIVE`` when other processes keep at least :data:`BUSY_CORES_FOR_PASSIVE`
  cores busy, the runtime's default spin on an idle machine, and the caller's ``OMP_WAIT_POLICY`` or
  ``GOMP_SPINCOUNT`` whenever set (``OMP_WAIT_POLICY=ACTIVE`` on a dedicated machine, ``PASSIVE`` on a shared one
  whose load comes and goes), for the process and every worker it starts;
- the OpenMP runtime reads the variable once, when torch is imported. Load that arrives later meets the policy
  chosen at the start, and a program that imported torch before (a library caller, a notebook) keeps spinning
  threads; for both the remedy is fewer threads on a busy machine: :func:`fit_threads` measures the load again
  and sets torch's thread count to the free cores (call it between units of work: an epoch loop, a GLT level, a
  seed), or set ``OMP_WAIT_POLICY=PASSIVE`` in the environment that starts Python. A command's serial units
  (GLT levels and seeds run by :class:`graphsparse.parallel.SerialExecutor`) do this themselves where the policy
  chose the count: before each unit :func:`refit_threads` applies the policy to the load of the units before it,
  measured by a :class:`LoadWatch` (no sampling pause).

Bottom layer: imports nothing from graphsparse; the caller reads environment variables (graphsparse.config).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

__all__ = [
    "SMALL_GRAPH_WORK",
    "ThreadChoice",
    "check_threads",
    "max_threads",
    "MAX_THREADS_PER_CORE",
    "available_cores",
    "busy_cores",
    "choose_workers",
    "graph_work",
    "choose_threads",
    "resolve_threads",
    "apply_threads",
    "last_choice",
    "WAIT_POLICY_ENV",
    "SPIN_COUNT_ENV",
    "choose_wait_policy",
    "BUSY_CORES_FOR_PASSIVE",
    "fit_threads",
    "LoadWatch",
    "refit_threads",
]

# below this graph_work one thread is faster (benchmarks/threads.py: Cora 13k, CiteSeer 12k, PubMed 108k, the
# 200k-node synthetic graph 4.2M)
SMALL_GRAPH_WORK = 5_000

# --threads may oversubscribe the cores a little (a busy-waiting OpenMP pool on hyperthreads, a container whose
# affinity hides cores), never without bound: torch.set_num_threads(10**6) ends in a segmentation fault
MAX_THREADS_PER_CORE = 4

# OpenMP's variable (libgomp, LLVM's libomp and Intel's all read it) and libgomp's own spin count: either one set by
# the caller is a choice :func:`choose_wait_policy` keeps
WAIT_POLICY_ENV = "OMP_WAIT_POLICY"

# cores kept busy by other processes from which a new process's OpenMP threads wait passively (half a core: a
# machine that is not idle, where a spinning thread may take the time slice the thread it waits for needs)
BUSY_CORES_FOR_PASSIVE = 0.5
SPIN_COUNT_ENV = "GOMP_SPINCOUNT"

_LAST: ThreadChoice | None = None


@dataclass(frozen=True)
class ThreadChoice:
    """The intra-op thread count a command uses and why.

    ``source`` is ``"--threads"``, ``"OMP_NUM_THREADS"`` or ``"policy"``; ``work``, ``cores`` and ``busy`` are
    what the policy saw (None where it was not asked).
    """

    threads: int
    source: str
    reason: str
    work: int | None = None
    cores: int | None = None
    busy: float | None = None

    def as_record(self) -> dict[str, Any]:
        """A JSON-able dict for the results store and ``--json`` documents."""
        return asdict(self)


def max_threads() -> int:
    """Return the largest thread count ``--threads`` accepts.

    That is the machine's cores (``os.cpu_count()``, or the cores this process may run on if larger) times
    :data:`MAX_THREADS_PER_CORE`.
    """
    return max(os.cpu_count() or 1, available_cores()) * MAX_THREADS_PER_CORE


def _shown(value: Any) -> str:
    """``repr(value)``, cut to 40 characters (a value of thousands of digits stays one readable line)."""
    text = repr(value) if not isinstance(value, int) else str(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def check_threads(value: Any, name: str = "--threads", maximum: int | None = None) -> int:
    """``value`` as a thread count between 1 and ``maximum``.

    Args:
        value: an int or a string of one (as the command line gives it).
        name: what the value is called in messages (``--threads``, ``OMP_NUM_THREADS``).
        maximum: the largest count accepted; :func:`max_threads` when None.

    Returns:
        The count.

    Raises:
        ValueError: one line naming ``name`` and the value: not an integer, below 1, or above ``maximum``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral | str):
        raise ValueError(f"{name} must be an integer >= 1, got {_shown(value)}")
    try:
        number = int(str(value).strip())
    except ValueError:  # not a number, or more digits than Python converts
        raise ValueError(f"{name} must be an integer >= 1, got {_shown(value)}") from None
    if number < 1:
        raise ValueError(f"{name} must be an integer >= 1 (intra-op threads), got {_shown(number)}")
    limit = max_threads() if maximum is None else int(maximum)
    if number > limit:
        cores = os.cpu_count() or 1
        raise ValueError(
            f"{name} must be at most {limit} ({MAX_THREADS_PER_CORE} x the machine's {cores} cores), "
            f"got {_shown(number)}; "
            "more threads than that only compete for the same cores"
        )
    return number


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat (Linux), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_cores(sample_seconds: float = 0.1) -> float | None:
    """Estimate how many cores other processes keep busy now.

    The machine's busy CPU time over ``sample_seconds`` (this process sleeps meanwhile, so it is not counted),
    times the number of CPUs; the 1-minute load average where /proc/stat is missing; None if neither is
    available.

    Args:
        sample_seconds: how long to sample /proc/stat.

    Returns:
        The busy cores, or None.
    """
    first = _cpu_times()
    if first is not None:
        time.sleep(sample_seconds)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            share = (second[0] - first[0]) / (second[1] - first[1])
            return share * (os.cpu_count() or 1)
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def graph_work(num_nodes: int, num_edges: int) -> int:
    """Return the size of a graph for the policy: the non-zeros of its propagation matrix A + I.

    That is ``nodes + 2 x undirected edges`` (every product of an epoch loops over these rows and non-zeros).

    Args:
        num_nodes: the graph's nodes.
        num_edges: its undirected edges.

    Returns:
        The work.
    """
    return int(num_nodes) + 2 * int(num_edges)


def choose_threads(work: int | None, *, cores: int | None = None, busy: float | None = None) -> ThreadChoice:
    """The policy (module docstring): one thread below :data:`SMALL_GRAPH_WORK`, else the free cores.

    ``cores`` defaults to :func:`available_cores`; ``busy`` (cores kept busy by others) is measured with
    :func:`busy_cores` only when the work is large enough for it to matter.
    """
    cores = available_cores() if cores is None else max(1, int(cores))
    if work is not None and work < SMALL_GRAPH_WORK:
        return ThreadChoice(1, "policy", f"small graph (work {work:,} < {SMALL_GRAPH_WORK:,})", work, cores, busy)
    if busy is None:
        busy = busy_cores()
    free = cores if busy is None else cores - int(round(busy))
    threads = max(1, min(cores, free))
    size = "unknown size" if work is None else f"work {work:,}"
    load = "" if busy is None else f", {busy:.1f} busy"
    return ThreadChoice(threads, "policy", f"{size}: {threads} of {cores} cores free{load}", work, cores, busy)


def choose_workers(*, cores: int | None = None, busy: float | None = None) -> int:
    """How many one-thread worker processes the machine holds now (``--workers auto``): its free cores.

    Two one-thread processes on two free cores beat one two-thread process at the same work: the make demo's
    512-wide Cora search took 71-73 s on two Ray workers against 98-101 s in one process on two threads, 1.4x
    (``docs/reproductions/speed.md``), since a process's small products do not split well over threads.

    Args:
        cores: the cores this process may run on (default :func:`available_cores`).
        busy: the cores other processes keep busy (default :func:`busy_cores`, sampled now).

    Returns:
        The free cores (available minus busy, rounded), at least 1.
    """
    return choose_threads(None, cores=cores, busy=busy).threads  # the free cores a large graph's threads get


def resolve_threads(
    requested: Any = None, env_threads: str | None = None, work: int | None = None, **policy: Any
) -> ThreadChoice:
    """Decide the thread count: ``--threads``, else ``OMP_NUM_THREADS``, else the policy.

    ``requested`` (``--threads``) if given, else ``env_threads`` (the value of ``OMP_NUM_THREADS``, read by
    the caller) if it is a valid count, else :func:`choose_threads` for ``work``.

    Args:
        requested: the ``--threads`` value, or None.
        env_threads: the value of ``OMP_NUM_THREADS``, or None.
        work: the graph's size (:func:`graph_work`), or None when unknown.
        **policy: passed to :func:`choose_threads` (``cores``, ``busy``).

    Returns:
        The choice and why.

    Raises:
        ValueError: ``requested`` is not a valid thread count.
    """
    if requested is not None:
        n = check_threads(requested)
        return ThreadChoice(n, "--threads", "given", work)
    if env_threads is not None:
        try:
            n = check_threads(env_threads, "OMP_NUM_THREADS")
        except ValueError:
            n = 0  # an unusable value: torch ignores it too, so the policy decides
        if n:
            return ThreadChoice(n, "OMP_NUM_THREADS", "given in the environment", work)
    return choose_threads(work, **policy)


def apply_threads(choice: ThreadChoice) -> ThreadChoice:
    """Set torch's intra-op thread count to ``choice.threads`` and remember the choice (:func:`last_choice`).

    Args:
        choice: the choice to apply.

    Returns:
        ``choice``.

    Raises:
        ValueError: ``choice.threads`` is outside 1..:func:`max_threads`.
    """
    import torch

    global _LAST
    check_threads(choice.threads, "threads")  # a ThreadChoice built by hand: never hand torch an extreme count
    torch.set_num_threads(choice.threads)
    _LAST = choice
    return choice


def last_choice() -> ThreadChoice | None:
    """The choice :func:`apply_threads` applied last in this process (None before)."""
    return _LAST


# the shortest stretch between two looks of a LoadWatch that counts (shorter: the next look measures over more)
MIN_WATCH_SECONDS = 1.0


class LoadWatch:
    """Other processes' busy cores since the last look, measured without sleeping.

    The machine's busy CPU time (``/proc/stat``) minus this process's own (all its threads, spinning OpenMP threads
    included), over the wall time between two looks. Between units of work that last seconds this is exact
    enough, and free, where :func:`busy_cores` sleeps for its sample.
    """

    def __init__(self) -> None:
        """Start watching now."""
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[tuple[int, int] | None, float, float]:
        return _cpu_times(), time.process_time(), time.monotonic()

    def busy(self) -> float | None:
        """The cores other processes kept busy since the last look (or since the watch began).

        Returns:
            The busy cores, or None where ``/proc/stat`` is missing or less than :data:`MIN_WATCH_SECONDS`
            passed (the next look then measures from the same start).
        """
        (machine0, own0, wall0), now = self._mark, self._now()
        machine1, own1, wall1 = now
        if machine0 is None or machine1 is None:
            return None
        if wall1 - wall0 < MIN_WATCH_SECONDS:
            return None
        self._mark = now
        machine_seconds = (machine1[0] - machine0[0]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, (machine_seconds - (own1 - own0)) / (wall1 - wall0))


def refit_threads(watch: LoadWatch) -> ThreadChoice | None:
    """Between units of work: the policy again, for the load since the watch's last look.

    Only where the policy chose the count (:func:`last_choice`'s source is ``"policy"``): a count set by
    ``--threads`` or ``OMP_NUM_THREADS`` is the caller's. Load that arrives after the start meets threads that
    spin while they wait (:func:`choose_wait_policy` chose so on an idle machine); one thread fewer per busy core
    avoids the cliff. A different count may sum in a different order: the units after a change can differ in the
    last bits from a run at the first count.

    Args:
        watch: measures the load since its last look.

    Returns:
        The new choice (applied) when the count changed, else None.
    """
    last = _LAST
    if last is None or last.source != "policy":
        return None
    busy = watch.busy()
    if busy is None:
        return None
    choice = choose_threads(last.work, cores=last.cores, busy=busy)
    if choice.threads == last.threads:
        return None
    return apply_threads(choice)


def choose_wait_policy(
    environ: MutableMapping[str, str], *, busy: float | None = None, sample_seconds: float = 0.1
) -> bool:
    """Choose how torch's OpenMP threads wait, from how busy the machine is when the process starts.

    Nothing changes when the caller set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` (their choice is kept), or set
    ``OMP_NUM_THREADS=1`` (one thread never waits for another). Otherwise:

    - torch already imported (a library caller, a notebook): ``OMP_WAIT_POLICY=PASSIVE`` for the processes it
      starts from now on (its own runtime started with what it had; :func:`fit_threads` is its remedy);
    - other processes keep at least :data:`BUSY_CORES_FOR_PASSIVE` cores busy (:func:`busy_cores`):
      ``OMP_WAIT_POLICY=PASSIVE``, so a waiting thread sleeps instead of taking the time slice of the thread it
      waits for (two threads 11x slower than one beside two busy processes, module docstring);
    - an idle machine: left unset, so the runtime's default short spin saves a wake-up per parallel region
      (the Cora TEDDY demo: 98 s against 113 s with PASSIVE on two threads, ``benchmarks/README.md``).

    Entry points call it with ``os.environ`` before they import torch; the processes they start inherit it.

    Args:
        environ: the environment to set it in (``os.environ`` for this process and its children).
        busy: the cores other processes keep busy (None: measured with :func:`busy_cores`, only when needed).
        sample_seconds: how long :func:`busy_cores` samples the machine when ``busy`` is None.

    Returns:
        True when torch is not imported yet in this process, so that its OpenMP runtime starts with what
        ``environ`` says; False when it is already imported.
    """
    fresh = "torch" not in sys.modules
    if any(environ.get(name) for name in (WAIT_POLICY_ENV, SPIN_COUNT_ENV)) or environ.get("OMP_NUM_THREADS") == "1":
        return fresh
    if not fresh:
        environ[WAIT_POLICY_ENV] = "PASSIVE"
        return False
    if busy is None:
        busy = busy_cores(sample_seconds)
    if busy is None or busy >= BUSY_CORES_FOR_PASSIVE:
        environ[WAIT_POLICY_ENV] = "PASSIVE"
    return True


def fit_threads(work: int | None = None, *, cores: int | None = None, busy: float | None = None) -> ThreadChoice:
    """Measure the load again and set torch's thread count to the policy's choice now.

    For library callers, notebooks and long runs whose load changes: :func:`choose_threads` (one thread below
    :data:`SMALL_GRAPH_WORK`, else the cores that are free now, at least one) applied with :func:`apply_threads`.
    On a busy machine it lowers the count, which is the remedy where torch was imported with spinning OpenMP
    threads (:func:`choose_wait_policy` came too late); on free cores it raises it again. Call it between units of work
    (epochs, GLT levels, seeds), not inside one. A different thread count may sum in a different order: results
    can differ in the last bits between counts.

    Args:
        work: the graph's size (:func:`graph_work`), or None when unknown (treated as large).
        cores: the cores to use at most; :func:`available_cores` when None.
        busy: the cores other processes keep busy; measured (:func:`busy_cores`) when None.

    Returns:
        The applied choice (also :func:`last_choice`).
    """
    return apply_threads(choose_threads(work, cores=cores, busy=busy))
