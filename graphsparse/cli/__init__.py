"""The ``graphsparse`` command: ``train``, ``glt``, ``datasets``, ``runs``, ``tune`` (one module per subcommand).

The only place argparse lives, and the only place process-wide settings are made: :func:`main` selects
matplotlib's non-interactive backend, keeps freed memory for reuse (:func:`graphsparse.utils.keep_freed_memory`)
and silences the CSR-beta warning — importing the library does none of these. First of all, before torch is
imported, it chooses how torch's OpenMP threads wait (:func:`graphsparse.threads.choose_wait_policy`: passively
on a busy machine, where spinning threads make two threads several times slower than one; the runtime's short
spin on an idle one; the caller's choice when given). It also turns SIGTERM into an exception while the command
runs, so an interrupted or terminated command ends with one line and exit status 130/143, and a closed output
pipe ends it quietly (141), as Unix tools do.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any


def _stopped_early(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM while the command's own modules load (before :func:`main` runs).

    One line, no traceback from inside an import.
    """
    how = "interrupted" if signum == signal.SIGINT else "terminated"
    print(f"graphsparse: {how} before anything was stored", file=sys.stderr)
    raise SystemExit(128 + signum)


def _early_handlers() -> dict[int, Any]:
    """Install :func:`_stopped_early` for SIGINT and SIGTERM (the main thread only); returns what they replace."""
    saved: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            saved[signum] = signal.signal(signum, _stopped_early)
        except (ValueError, OSError):  # not the main thread, or a platform without the signal
            pass
    return saved


_SAVED_HANDLERS = _early_handlers()
try:
    from .. import __version__
    from . import datasets, glt, runs, ticket, train, tune
    from .options import CommandParser
finally:  # importing the command changes no handler: main installs its own
    for _signum, _handler in _SAVED_HANDLERS.items():
        signal.signal(_signum, _handler)

__all__ = ["main", "build_parser", "Terminated"]


def build_parser() -> CommandParser:
    """The ``graphsparse`` argument parser.

    Returns:
        A parser with ``--version`` and one subparser per subcommand (``train``, ``glt``, ``datasets``, ``runs``,
        ``ticket``, ``tune``).
    """
    parser = CommandParser(
        prog="graphsparse", description="Graph neural networks on sparse graphs, and graph lottery tickets."
    )
    parser.add_argument("--version", action="version", version=f"graphsparse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    train.add_parser(sub)
    glt.add_parser(sub)
    datasets.add_parser(sub)
    runs.add_parser(sub)
    ticket.add_parser(sub)
    tune.add_parser(sub)
    return parser


def _start_up() -> None:
    """Process-wide settings of the command (never made by importing the library)."""
    import warnings

    from ..utils import keep_freed_memory

    os.environ.setdefault("MPLBACKEND", "Agg")  # plots go to files; no display needed
    keep_freed_memory()  # full-batch epochs re-allocate the same large tensors: reuse them, don't re-fault them
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")


class Terminated(BaseException):
    """SIGTERM, turned into an exception so ``finally`` blocks and context managers run.

    Like Ctrl-C's KeyboardInterrupt, it is not an Exception: ``except Exception`` does not swallow it.
    """


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null after the reader of our stdout went away (``graphsparse datasets | head -1``).

    The interpreter's final flush then does not complain again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _recovered(command: str) -> int:
    """Report a write to the results store that failed during the command (:mod:`.recovery`), if one did.

    After such a failure, print the database's error and where the records that could not be stored are (two
    lines), and return 1; else return 0.
    """
    from .preflight import current

    outputs = current()
    if outputs is None or not getattr(outputs.store, "failed", False):
        return 0
    from .recovery import report

    for line in report(outputs.store, command):
        print(line, file=sys.stderr)
    return 1


class _WatchedStream:
    """stdout as the command writes it, remembering whether a write failed (a full disk or device behind it).

    The failure is thus told apart from one writing a file.
    """

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.failed: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[attr-defined]
        except OSError as err:
            self.failed = err
            raise

    def flush(self) -> None:
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except OSError as err:
            self.failed = err
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _stdout_failed() -> bool:
    """Whether a write to stdout failed during the command, or what waits in its buffer cannot be written."""
    if isinstance(sys.stdout, _WatchedStream) and sys.stdout.failed is not None:
        return True
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return True
    return False


def _unprinted(err: OSError) -> str:
    """Why the summary could not be printed, and where the results are."""
    from .preflight import current

    outputs = current()
    why = f"the summary could not be written to stdout ({err.strerror or err})"
    if outputs is None or outputs.store is None:
        return why
    return f"{why}; every finished run is stored in {outputs.store.path} (`graphsparse runs list` shows them)"


def _stopped(command: str, how: str) -> str:
    from .preflight import current

    outputs = current()
    prog = f"graphsparse {command}" if command else "graphsparse"
    if outputs is None:
        return f"{prog}: {how} before anything was stored"
    return f"{prog}: {outputs.interrupted(how)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command and return its exit status.

    The status is 0, 1 (a results-store write failed: its records are in a recovery file or on stdout,
    :mod:`.recovery`; or stdout could not take the summary), 2 (one-line error), 130 (Ctrl-C), 143 (SIGTERM), 141
    (closed pipe).

    Interruptions end with one line saying what is stored and how to resume, never a traceback: every finished
    unit of work (a run, a GLT level) is committed to the results store as it finishes, so nothing finished is
    lost.

    Args:
        argv: the command line after the program name (None: ``sys.argv[1:]``).
    """
    import signal

    from ..threads import choose_wait_policy
    from .preflight import reset

    choose_wait_policy(os.environ)  # before anything imports torch: how its OpenMP threads wait, from the load now
    command = ""
    reset()
    runs.start_invocation(argv)  # one id shared by every run this invocation stores
    previous = None
    stdout = sys.stdout
    sys.stdout = _WatchedStream(stdout)  # type: ignore[assignment]
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (called from a worker thread): leave signals alone
        pass
    try:
        from ..graph import GraphError
        from ..parallel import WorkerError

        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        _start_up()
        try:
            summary = args.handler(args)
        except (GraphError, ValueError, WorkerError) as err:  # WorkerError: Ray unreachable, a worker lost
            print(f"graphsparse {command}: error: {err}", file=sys.stderr)
            return _recovered(command) or 2
        except BrokenPipeError:
            raise
        except OSError as err:  # a file that vanished or could not be written after all: one line, no traceback
            if _stdout_failed():  # the command printed its results itself (a grid, glt) onto a full stdout
                _quiet_stdout()
                print(f"graphsparse {command}: {_unprinted(err)}", file=sys.stderr)
                return _recovered(command) or 1
            print(f"graphsparse {command}: error: {err}", file=sys.stderr)
            return _recovered(command) or 2
        try:
            if isinstance(summary, dict):
                from ..experiments.tables import print_summary

                print_summary(summary, getattr(args, "json", False))
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at interpreter exit
        except BrokenPipeError:
            raise
        except OSError as err:  # stdout on a full disk: what was stored stays stored; one line, no traceback
            _quiet_stdout()
            print(f"graphsparse {command}: {_unprinted(err)}", file=sys.stderr)
            return _recovered(command) or 1
        return _recovered(command) or 0
    except KeyboardInterrupt:
        print(_stopped(command, "interrupted"), file=sys.stderr)
        return 130
    except Terminated:
        print(_stopped(command, "terminated"), file=sys.stderr)
        return 143
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    finally:
        if isinstance(sys.stdout, _WatchedStream):
            sys.stdout = stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
