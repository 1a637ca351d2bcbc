"""What every subcommand shares.

The parser class (one-line errors), the common options, the checks of option values (through
:mod:`graphsparse.validation`) and the refusal of options that do not apply.

Every option of a subcommand defaults to None (flags to False), so "given" means "not None / not False"; the
library and preset defaults are filled in after the checks, never with ``x or default`` (which would turn
``--lr 0`` into the default instead of refusing it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

from ..validation import check_float, check_int, check_probability

__all__ = [
    "CommandParser",
    "Refuse",
    "RefusingAdder",
    "add_common",
    "apply_thread_option",
    "add_parallel_options",
    "add_tensorboard_option",
    "tensorboard_writer",
    "ListChoices",
    "COMMON",
    "flag",
    "given",
    "check_values",
    "refuse_inapplicable",
    "positive_int",
    "nonnegative_int",
    "positive_float",
    "nonnegative_float",
    "probability",
    "parse_int_list",
    "lower",
    "LazyChoices",
    "model_choices",
    "node_model_choices",
]

COMMON = ("db", "device", "json", "no_progress", "threads")
_INTERNAL = ("command", "handler")


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, ``<prog>: error: ...``, exit status 2.

    With ``dispatch``, the command line is parsed by the parser ``dispatch`` picks for it (``graphsparse train``:
    the parser of the mode its ``--task``/``--batching``/``--augment`` select, which knows only that mode's
    options); ``dispatch`` returning this parser parses with this one.
    """

    def __init__(
        self,
        *args: Any,
        dispatch: Callable[[CommandParser, list[str]], argparse.ArgumentParser] | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the parser.

        Args:
            *args: passed on to :class:`argparse.ArgumentParser`.
            dispatch: picks the parser for a command line (``(this parser, arguments) -> parser``); None: this one.
            **kwargs: passed on to :class:`argparse.ArgumentParser`.
        """
        super().__init__(*args, **kwargs)
        self.dispatch = dispatch

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse ``args`` with this parser, or with the one ``dispatch`` picks for them.

        Args:
            args: the arguments (None: ``sys.argv[1:]``).
            namespace: the namespace to fill (None: a new one).

        Returns:
            The namespace and the arguments no option took.
        """
        if self.dispatch is not None:
            arguments = list(sys.argv[1:] if args is None else args)
            parser = self.dispatch(self, arguments)
            if parser is not self:
                return parser.parse_known_args(arguments, namespace)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` as one line on standard error and exit with status 2.

        Args:
            message: argparse's description of the usage error.
        """
        self.exit(2, f"{self.prog}: error: {message}\n")


class Refuse(argparse.Action):
    """An option a parser knows but does not take: giving it is a usage error that names it and says ``why``.

    Hidden from ``--help``; it consumes the value the option would take, so the error names this option, not the
    value as a stray argument.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, why: str, **kwargs: Any) -> None:
        """Create the action.

        Args:
            option_strings: the option's flags.
            dest: where the option would be stored (it keeps its default).
            why: completes ``"<flag> <why>"``, e.g. ``"applies to link prediction only, not to GAug-M"``.
            **kwargs: ``nargs`` and ``default`` of the option refused.
        """
        super().__init__(
            option_strings, dest, nargs=kwargs.get("nargs"), default=kwargs.get("default"), help=argparse.SUPPRESS
        )
        self.why = why

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option_string: Any = None) -> None:
        """Refuse the option (argparse's usage error, exit status 2)."""
        parser.error(f"{option_string} {self.why}")


_FLAG_ACTIONS = ("store_true", "store_false", "store_const", "append_const", "count")


class RefusingAdder:
    """Stands in for a parser in ``add_argument`` calls: every option added becomes a :class:`Refuse` action.

    The options a parser does not take are thus declared by the same code that declares them where they apply.
    """

    def __init__(self, parser: argparse.ArgumentParser, why: str) -> None:
        """Refuse options on ``parser``, each saying ``why``.

        Args:
            parser: the parser the refusing actions are added to.
            why: completes ``"<flag> <why>"`` in the error.
        """
        self.parser = parser
        self.why = why

    def add_argument(self, *flags: str, **kwargs: Any) -> argparse.Action:
        """Add ``flags`` as an option ``parser`` refuses (same destination, default and number of values).

        Args:
            *flags: the option's flags.
            **kwargs: the option's ``add_argument`` keywords (``dest``, ``default``, ``action``, ``nargs``).

        Returns:
            The :class:`Refuse` action added.
        """
        flag_action = kwargs.get("action") in _FLAG_ACTIONS
        default = kwargs.get("default", False if kwargs.get("action") in ("store_true", "store_false") else None)
        if kwargs.get("action") == "store_false":
            default = True
        extra = {"dest": kwargs["dest"]} if "dest" in kwargs else {}
        return self.parser.add_argument(
            *flags,
            action=Refuse,
            why=self.why,
            nargs=0 if flag_action else kwargs.get("nargs"),
            default=default,
            **extra,
        )

    def add_argument_group(self, *args: Any, **kwargs: Any) -> RefusingAdder:
        """Groups only arrange help, which refused options are hidden from: the options go to the same parser."""
        return self


def add_common(parser: argparse.ArgumentParser) -> None:
    """Add the options of :data:`COMMON`: ``--db``, ``--device``, ``--json``, ``--no-progress`` and ``--threads``.

    Args:
        parser: the subcommand's parser.
    """
    parser.add_argument("--db", default=None, help="results database (default: $GRAPHSPARSE_DB or runs/graphsparse.db)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "--threads",
        default=None,
        metavar="N",
        help="torch intra-op threads, from 1 to the machine's cores x graphsparse.threads.MAX_THREADS_PER_CORE "
        "(default: $OMP_NUM_THREADS if set, else chosen from the graph's size: one thread for tiny graphs such as "
        "the WebKB ones, every free core for larger ones such as Cora; recorded with every run)",
    )


def apply_thread_option(args: argparse.Namespace) -> Any:
    """Set torch's thread count for the command (:mod:`graphsparse.threads`).

    The count is ``--threads``, else ``$OMP_NUM_THREADS``, else the policy for the size of ``--dataset`` as the
    dataset registry records it (the largest of a comma-separated list; unknown sizes count as large). Returns the
    applied ThreadChoice; ValueError (one line) for a bad ``--threads``: not an integer, below 1 or above
    :func:`graphsparse.threads.max_threads` (an extreme count would end in a segmentation fault).
    """
    from ..config import omp_threads
    from ..threads import apply_threads, graph_work, resolve_threads

    requested = getattr(args, "threads", None)
    if requested is not None:  # a bad value fails before the dataset is looked up
        from ..threads import check_threads

        requested = args.threads = check_threads(requested)
    work = None
    names = [n.strip() for n in str(getattr(args, "dataset", None) or "").split(",") if n.strip()]
    if names and requested is None:
        from ..data import dataset_info

        sizes = []
        for name in names:
            try:
                info = dataset_info(name)
                sizes.append(graph_work(info["num_nodes"], info["num_edges"]))
            except (KeyError, ValueError, TypeError):  # not registered, or a size that depends on options
                sizes = []
                break
        work = max(sizes) if sizes else None
    return apply_threads(resolve_threads(requested, omp_threads(), work))


def lower(text: str) -> str:
    """Argparse ``type=`` for case-insensitive choices."""
    return text.lower()


class LazyChoices:
    """argparse ``choices`` read from a registry on first use (``--help``, or when the option is given).

    Building the parser thus imports no model code (the command starts before torch loads).
    """

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        """Remember ``load``; it is called once, on first use.

        Args:
            load: returns the valid names.
        """
        self._load = load
        self._names: tuple[str, ...] | None = None

    def _get(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(self._load())
        return self._names

    def __contains__(self, value: object) -> bool:
        """Whether ``value`` is one of the names."""
        return value in self._get()

    def __iter__(self):  # type: ignore[no-untyped-def]
        """The names, in the order ``load`` gave them."""
        return iter(self._get())

    def __len__(self) -> int:
        """How many names there are."""
        return len(self._get())


def _model_names() -> list[str]:
    from ..nn import MODELS
    from ..nn.gae import LINK_MODELS

    return sorted(set(MODELS) | set(LINK_MODELS))


def _node_model_names() -> list[str]:
    from ..nn import MODELS

    return sorted(MODELS)


def node_model_choices() -> LazyChoices:
    """The node-classification models of :data:`graphsparse.nn.MODELS`."""
    return LazyChoices(_node_model_names)


class ListChoices(LazyChoices):
    """Choices for a comma-separated list option (``--model gcn,gat``): a value is valid when each item is."""

    def __contains__(self, value: object) -> bool:
        """Whether every comma-separated item of ``value`` is one of the names (an empty item is not)."""
        items = [item.strip() for item in str(value).split(",")]
        return all(item and item in self._get() for item in items)


def model_choices() -> LazyChoices:
    """Every model name ``--model`` accepts.

    These are the node models of :data:`graphsparse.nn.MODELS` and the link models of
    :data:`graphsparse.nn.gae.LINK_MODELS` (each task still refuses the other's names).
    """
    return LazyChoices(_model_names)


def add_tensorboard_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--tensorboard DIR`` (``train`` and ``glt``).

    Every stored run or GLT level is also written as TensorBoard event files under DIR
    (:class:`graphsparse.experiments.tracking.TensorBoardWriter`).
    """
    parser.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help="also write every finished run (per-epoch curves, final metrics) or GLT level (scores and sparsities "
        "by round) as TensorBoard event files under DIR (`tensorboard --logdir DIR`); needs the tensorboard "
        "package (pip install 'graphsparse[tensorboard]')",
    )


def tensorboard_writer(args: argparse.Namespace) -> Any:
    """The :class:`~graphsparse.experiments.tracking.TensorBoardWriter` ``--tensorboard`` asks for, else None.

    A ValueError (one line) when the tensorboard package is missing, before anything is created.
    """
    folder = getattr(args, "tensorboard", None)
    if folder is None:
        return None
    from ..experiments.tracking import TensorBoardWriter

    return TensorBoardWriter(folder)


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--model``, shared by ``train`` and ``glt``.

    Every registered name is accepted and listed in ``--help``; a comma-separated list runs one after the other (a
    grid with ``--dataset a,b``).
    """
    parser.add_argument(
        "--model",
        default="gcn",
        type=lower,
        choices=ListChoices(_model_names),
        metavar="MODEL",
        help="model, or a comma-separated list of models (a grid): %(choices)s (default: %(default)s; gae/vgae are "
        "for --task link)",
    )


def add_parallel_options(parser: argparse.ArgumentParser, title: str = "parallel runs (Ray)") -> None:
    """``--workers`` / ``--ray-address``: run the command's work units on Ray (imported only when given).

    Args:
        parser: the subcommand's parser.
        title: the title of their group in ``--help``.
    """
    group = parser.add_argument_group(title)
    group.add_argument(
        "--workers",
        default=None,
        metavar="N|auto",
        help="run work units on a local Ray with N worker processes, one torch thread each (results identical "
        "to a serial run on one thread; needs `pip install graphsparse[ray]`); 'auto': one worker per free core "
        "when two or more are free and Ray is installed, else serially",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="join a running Ray cluster: 'auto' (this machine joined it with `ray start`) or HOST:PORT of its "
        "head; every node needs graphsparse installed, datasets travel through Ray's object store",
    )


# value checks: (option name, value) -> checked value; the name is the flag, so every message names the option
Check = Callable[[str, Any], Any]


def positive_int(name: str, value: Any) -> int:
    """``value`` as an integer >= 1.

    Args:
        name: the option, named in the error.
        value: the value given.

    Returns:
        The checked integer.

    Raises:
        ValueError: ``value`` is not an integer, or is below 1.
    """
    return check_int(name, value, 1)


def nonnegative_int(name: str, value: Any) -> int:
    """``value`` as an integer >= 0.

    Args:
        name: the option, named in the error.
        value: the value given.

    Returns:
        The checked integer.

    Raises:
        ValueError: ``value`` is not an integer, or is negative.
    """
    return check_int(name, value, 0)


def positive_float(name: str, value: Any) -> float:
    """``value`` as a finite float > 0.

    Args:
        name: the option, named in the error.
        value: the value given.

    Returns:
        The checked float.

    Raises:
        ValueError: ``value`` is not a finite number, or is not above 0.
    """
    return check_float(name, value, 0.0, include_minimum=False)


def nonnegative_float(name: str, value: Any) -> float:
    """``value`` as a finite float >= 0.

    Args:
        name: the option, named in the error.
        value: the value given.

    Returns:
        The checked float.

    Raises:
        ValueError: ``value`` is not a finite number, or is negative.
    """
    return check_float(name, value, 0.0)


def probability(name: str, value: Any) -> float:
    """``value`` as a probability, a finite float in ``[0, 1)``.

    Args:
        name: the option, named in the error.
        value: the value given.

    Returns:
        The checked float.

    Raises:
        ValueError: ``value`` is not a finite number in ``[0, 1)``.
    """
    return check_probability(name, value)


def parse_int_list(name: str, text: str) -> tuple[int, ...]:
    """``'20,50'`` -> ``(20, 50)``; every item an integer >= 1."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise ValueError(f"{name} needs comma-separated integers >= 1, got {text!r}")
    values = []
    for item in items:
        try:
            number = int(item)
        except ValueError:
            raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from None
        values.append(check_int(name, number, 1))
    return tuple(values)


def flag(dest: str) -> str:
    """The command-line flag of the option stored in ``dest`` (``weight_decay`` -> ``--weight-decay``)."""
    return "--" + dest.replace("_", "-")


def given(args: argparse.Namespace, dest: str) -> bool:
    """Whether the option stored in ``dest`` was given (neither None nor False, nor missing from ``args``)."""
    value = getattr(args, dest, None)
    return value is not None and value is not False


def check_values(args: argparse.Namespace, checks: Mapping[str, Check]) -> None:
    """Check (and store back) every given option that has a check; raises ValueError naming the option."""
    for dest, check in checks.items():
        if given(args, dest):
            setattr(args, dest, check(flag(dest), getattr(args, dest)))


def refuse_inapplicable(
    args: argparse.Namespace,
    accepted: Iterable[str],
    mode: str,
    hints: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> None:
    """Raise ValueError naming the first given option that ``mode`` does not use (with where it applies)."""
    allowed = set(accepted) | set(COMMON) | set(_INTERNAL) | set(ignore)
    hints = hints or {}
    for dest in vars(args):
        if dest in allowed or not given(args, dest):
            continue
        hint = hints.get(dest)
        if hint:
            raise ValueError(f"{flag(dest)} applies to {hint} only, not to {mode}")
        raise ValueError(f"{flag(dest)} does not apply to {mode}")
