"""The ``train`` command's option table: its modes and every option, declared once with the modes it applies to.

:data:`MODES` names the paths of ``graphsparse train``; :data:`OPTIONS` declares each option once (its
``add_argument`` keywords, the modes it applies to and the check of its value). :mod:`.train` builds the parsers
from this table: a mode's parser takes the options of the mode and refuses every other one with a message that
says where it applies (:func:`where`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import options as opt

__all__ = ["ALL", "CHECKS", "MODES", "Mode", "OPTIONS", "Option", "SELECTORS", "named", "where"]


@dataclass(frozen=True)
class Mode:
    """One path of ``train``: what it is called and the options that select it."""

    label: str
    selector: str | None  # None: the default mode


MODES: dict[str, Mode] = {
    "full": Mode("full-batch node training", None),
    "cluster": Mode("Cluster-GCN", "--batching cluster"),
    "cluster-disk": Mode("Cluster-GCN on disk", "--batching cluster with --on-disk or --disk FOLDER"),
    "gaug-m": Mode("GAug-M", "--augment gaug-m"),
    "gaug-o": Mode("GAug-O", "--augment gaug-o"),
    "link": Mode("link prediction", "--task link"),
}
ALL = tuple(MODES)
NODE = ("full", "cluster", "cluster-disk", "gaug-m", "gaug-o")
CLUSTER = ("cluster", "cluster-disk")
PROTOCOL = ("full", "cluster", "cluster-disk", "gaug-m")  # the preset's feature normalisation and decay placement
PARALLEL = ("full", "link")  # seeds side by side on Ray
SELECTORS = ("task", "batching", "augment", "on_disk", "disk")


def named(mode: str) -> str:
    """``'GAug-M (--augment gaug-m)'``: a mode's label and how it is chosen."""
    m = MODES[mode]
    return m.label if m.selector is None else f"{m.label} ({m.selector})"


def where(modes: Iterable[str]) -> str:
    """Where options of ``modes`` apply, in words (``'node classification'``, ``'GAug-O (--augment gaug-o)'``).

    Args:
        modes: names of :data:`MODES`.

    Returns:
        The modes named, the node modes together as ``node classification`` and both Cluster-GCN modes as one.
    """
    rest = set(modes)
    if rest >= set(ALL):
        return "every mode"
    names = []
    if rest >= set(NODE):
        names.append("node classification")
        rest -= set(NODE)
    for mode in ALL:
        if mode == "cluster" and rest >= set(CLUSTER):
            names.append("Cluster-GCN (--batching cluster)")
            rest -= set(CLUSTER)
        elif mode in rest:
            names.append(named(mode))
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class Option:
    """One ``train`` option: its ``add_argument`` call, the modes it applies to and the check of its value.

    ``add`` (instead of ``flags``/``kwargs``) adds options shared with other commands (``--model``, ``--workers``).
    """

    modes: tuple[str, ...]
    flags: tuple[str, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    check: opt.Check | None = None
    add: Callable[..., Any] | None = None

    @property
    def dest(self) -> str:
        """Where the value is stored (``--weight-decay`` -> ``weight_decay``)."""
        return self.kwargs.get("dest", self.flags[0].lstrip("-").replace("-", "_")) if self.flags else ""

    def add_to(self, parser: Any) -> None:
        """Add the option to ``parser`` (a parser, an argument group or a :class:`~.options.RefusingAdder`)."""
        if self.add is not None:
            self.add(parser)
        else:
            parser.add_argument(*self.flags, **self.kwargs)


def _arg(modes: tuple[str, ...], *flags: str, check: opt.Check | None = None, **kwargs: Any) -> Option:
    return Option(modes, flags, kwargs, check)


def _link_default(part: str, key: str) -> Any:
    from ..presets import LINK_DEFAULTS  # plain data: no torch

    value = LINK_DEFAULTS[part][key]
    return ",".join(map(str, value)) if isinstance(value, tuple) else value


_PRESET = "the preset's; without one, the library's"
OPTIONS: tuple[Option, ...] = (
    _arg(
        ALL,
        "--dataset",
        default=None,
        help="dataset name (see `graphsparse datasets`), or a comma-separated list: with --model x,y a grid, "
        "trained one combination after the other (with --workers, each combination's seeds side by side); "
        "required unless --disk FOLDER is given",
    ),
    Option(ALL, add=opt.add_model_option),
    _arg(
        ALL,
        "--task",
        default="node",
        type=opt.lower,
        choices=["node", "link"],
        help="node classification or link prediction (default: %(default)s)",
    ),
    _arg(ALL, "--seeds", type=int, default=10, check=opt.positive_int, help="number of seeds (default: %(default)s)"),
    _arg(
        ALL,
        "--seed-offset",
        type=int,
        default=0,
        check=opt.nonnegative_int,
        help="first seed; the runs use --seed-offset .. --seed-offset + --seeds - 1 (default: %(default)s)",
    ),
    _arg(ALL, "--epochs", type=int, default=None, check=opt.positive_int, help=f"training epochs (default: {_PRESET})"),
    _arg(
        ALL, "--lr", type=float, default=None, check=opt.positive_float, help=f"learning rate > 0 (default: {_PRESET})"
    ),
    _arg(
        ALL,
        "--weight-decay",
        type=float,
        default=None,
        check=opt.nonnegative_float,
        help=f"L2 weight decay >= 0 (default: {_PRESET})",
    ),
    _arg(
        ALL,
        "--hidden",
        type=int,
        default=None,
        check=opt.positive_int,
        help=f"hidden channels >= 1 (default: {_PRESET})",
    ),
    _arg(
        ALL,
        "--dropout",
        type=float,
        default=None,
        check=opt.probability,
        help=f"dropout probability in [0, 1) (default: {_PRESET})",
    ),
    Option(ALL, add=opt.add_tensorboard_option),
    _arg(NODE, "--split", default=None, help="split name (default: 'public' if present, else one split per seed)"),
    _arg(
        NODE,
        "--preset",
        default=None,
        help="hyperparameter preset, e.g. 'paper' (the default when one is registered for model/dataset; "
        "GCN: Kipf & Welling's setting) or 'none' (library defaults)",
    ),
    _arg(
        NODE,
        "--layers",
        type=int,
        default=None,
        check=opt.positive_int,
        help="number of layers (default: the model's)",
    ),
    _arg(
        NODE,
        "--metric",
        default=None,
        type=opt.lower,
        choices=["acc", "roc_auc"],
        help="node selection/report metric (default: the dataset's registered one)",
    ),
    _arg(
        NODE,
        "--batching",
        default="full",
        type=opt.lower,
        choices=["full", "cluster"],
        help="full-batch training or Cluster-GCN mini-batches (default: %(default)s)",
    ),
    _arg(
        NODE,
        "--augment",
        default="none",
        type=opt.lower,
        choices=["none", "gaug-m", "gaug-o"],
        help="edge augmentation, with full batches (default: %(default)s)",
    ),
    _arg(
        PROTOCOL,
        "--normalize-features",
        dest="normalize_features",
        action="store_const",
        const="on",
        default=None,
        help="row-normalise the node features (each row sums to 1), as Kipf & Welling do on Planetoid (default: "
        "the preset's; off without one)",
    ),
    _arg(
        PROTOCOL,
        "--no-normalize-features",
        dest="normalize_features",
        action="store_const",
        const="off",
        help="use the features as loaded (default: the preset's; off without one)",
    ),
    _arg(
        PROTOCOL,
        "--decay",
        default=None,
        type=opt.lower,
        choices=["first-layer", "all"],
        help="where --weight-decay applies: 'first-layer' (Kipf & Welling's setting: the first layer's parameters "
        "only) or 'all' parameters (default: the preset's; all without one)",
    ),
    _arg(
        ("full", "gaug-m"),
        "--sparse-features",
        action="store_true",
        help="give the model its features as a CSR tensor (faster for sparse bag-of-words features)",
    ),
    _arg(
        CLUSTER,
        "--parts",
        type=int,
        default=None,
        check=opt.positive_int,
        help="number of METIS parts (default: from the graph's size; a partitioned --disk folder: its parts)",
    ),
    _arg(
        CLUSTER,
        "--clusters-per-batch",
        type=int,
        default=None,
        check=opt.positive_int,
        help="clusters per batch (default: graphsparse.batching.DEFAULT_CLUSTERS_PER_BATCH, the Cluster-GCN "
        "paper's q, capped at --parts)",
    ),
    _arg(
        ("cluster",),
        "--accumulate",
        type=int,
        default=1,
        metavar="K",
        check=opt.nonnegative_int,
        help="batches whose gradients one optimizer step averages (default: %(default)s, a step per batch as "
        "Cluster-GCN takes; 0: every batch of the epoch, one step an epoch as full-batch training takes)",
    ),
    _arg(
        ("cluster-disk",),
        "--on-disk",
        action="store_true",
        help="write the dataset once as a disk graph ordered by its METIS parts (cached under $GRAPHSPARSE_CACHE, "
        "default runs/partitions; row-normalised first if the preset says so) and train from memory maps, one "
        "batch of clusters in memory at a time. Evaluation is batched too (q clusters at a time): edges between "
        "evaluation batches are not used, so scores can differ slightly from the in-memory path",
    ),
    _arg(
        ("cluster-disk",),
        "--disk",
        default=None,
        metavar="FOLDER",
        help="train on a disk graph folder instead of --dataset (e.g. written by "
        "graphsparse.data.diskwrite.write_disk_graph or synthetic_dcsbm_to_disk; its features are used as stored); "
        "a one-part folder is first partitioned into --parts (METIS in a child process, cached), a partitioned one "
        "is used as it is. Evaluation is batched as with --on-disk (edges between evaluation batches are not used)",
    ),
    _arg(
        ("cluster-disk",),
        "--train-only",
        action="store_true",
        help="METIS partitions only the subgraph of the split's training nodes (as the Cluster-GCN authors' code "
        "does); every other node joins the part most of its training neighbours are in. Evaluation stays batched "
        "(edges between evaluation batches are not used)",
    ),
    _arg(
        ("cluster-disk",),
        "--eval-clusters-per-batch",
        type=int,
        default=None,
        metavar="N",
        check=opt.positive_int,
        help="clusters per evaluation batch (default: --clusters-per-batch). Larger batches drop fewer edges "
        "between evaluation batches (all parts: the full-graph evaluation) and map more of the graph at once",
    ),
    _arg(
        ("gaug-m", "gaug-o"),
        "--gaug",
        default=None,
        help="GAug options key=value,... (alpha, beta, temperature, rm_pct, ...); GAug-M with "
        "ep_draws=K also takes grids like rm_pct=0|2|5, chosen on validation (default: the GAug preset's)",
    ),
    _arg(
        ("gaug-o",),
        "--gaug-mode",
        default=None,
        choices=["auto", "dense", "sparse"],
        help="force GAug-O's edge predictor mode (default: auto, by the graph's size)",
    ),
    _arg(
        ("link",),
        "--hits",
        default=_link_default("train", "hits"),
        check=opt.parse_int_list,
        help="comma-separated K of Hits@K (default: %(default)s)",
    ),
    _arg(
        ("link",),
        "--decoder",
        default=None,
        choices=["dot", "hadamard"],
        help=f"pair decoder (default: {_link_default('model', 'decoder')})",
    ),
    _arg(
        ("link",),
        "--eval-negatives",
        type=int,
        default=_link_default("split", "neg_ratio"),
        check=opt.positive_int,
        help="negatives per val/test positive (default: %(default)s; MRR is reported from 50 up)",
    ),
    Option(PARALLEL, add=lambda parser: opt.add_parallel_options(parser, f"parallel runs on Ray ({where(PARALLEL)})")),
    Option(ALL, add=opt.add_common),
)
CHECKS: dict[str, opt.Check] = {o.dest: o.check for o in OPTIONS if o.check is not None}
