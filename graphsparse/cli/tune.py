"""``graphsparse tune``: an Optuna search that never reads a test label, then one honest test.

The objective is the mean validation score over ``--trial-seeds`` runs on the tuning graph (the dataset with its
test labels replaced by -1 and its test split emptied: :mod:`graphsparse.tuning.honest`); the pruner reads each
run's validation curve. The chosen configuration then trains on ``--seeds`` fresh seeds (0..N-1) beside the plain
backbone, and only those runs are tested; they are stored in the results store with the chosen parameters and
the trial count. Studies live in ``--storage`` (default: a SQLite file beside the results database), resume when
rerun, and take several workers: run the same command (``--seeds 0`` for workers that only add trials) against
one storage URL.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import options as opt

__all__ = ["add_parser", "run", "CHECKS", "ACCEPTED"]

CHECKS: dict[str, opt.Check] = {
    "trials": opt.nonnegative_int,
    "trial_seeds": opt.positive_int,
    "seeds": opt.nonnegative_int,
    "epochs": opt.positive_int,
    "lr": opt.positive_float,
    "weight_decay": opt.nonnegative_float,
    "sampler_seed": opt.nonnegative_int,
    "heartbeat": opt.positive_int,
    "glt_rounds": opt.positive_int,
}

_BASE = (
    "dataset",
    "model",
    "augment",
    "method",
    "trials",
    "trial_seeds",
    "seeds",
    "split",
    "preset",
    "epochs",
    "lr",
    "weight_decay",
    "space",
    "print_space",
    "storage",
    "study_name",
    "sampler_seed",
    "heartbeat",
    "metric",
)
ACCEPTED: dict[str, tuple[str, ...]] = {
    "gcn": _BASE,
    "twirls": _BASE,
    "gaug-m": (*_BASE, "gaug"),
    "gaug-o": (*_BASE, "gaug"),
}
GLT_ACCEPTED = (*_BASE, "glt_rounds")  # any GLT method with a search space (--method)
HINTS = {"gaug": "--augment gaug-m and gaug-o", "glt_rounds": "--method (a GLT method, e.g. ugs)"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` subcommand to the ``graphsparse`` parser.

    Args:
        sub: the ``graphsparse`` parser's subparsers.
    """
    p = sub.add_parser(
        "tune",
        help="tune hyperparameters with Optuna on validation only, then test the choice once",
        description="Search a method's hyperparameters with Optuna (TPE sampler, median pruner on the validation "
        "curve). The objective is the mean validation score over --trial-seeds runs on a copy of the dataset "
        "without test labels; the chosen configuration then trains on --seeds fresh seeds beside the plain "
        "backbone and is tested once. Studies persist in --storage, resume when rerun and can be shared by "
        "several workers.",
    )
    p.add_argument("--dataset", default=None, help="dataset name (see `graphsparse datasets`)")
    opt.add_model_option(p)
    p.add_argument(
        "--augment", default=None, type=opt.lower, choices=["gaug-m", "gaug-o"], help="tune GAug-M or GAug-O"
    )
    p.add_argument(
        "--method",
        default=None,
        type=opt.lower,
        help="tune a GLT method's options over its search space (ugs: s1, s2; wd-glt: its λ)",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=None,
        help="finished trials the study should hold (default 100); a rerun adds only the missing ones",
    )
    p.add_argument("--trial-seeds", type=int, default=None, help="runs per trial, averaged (default 3)")
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="fresh seeds 0..N-1 the chosen configuration is trained and tested on (default 10; 0: only add trials)",
    )
    p.add_argument("--split", default=None, help="the split tuned and tested on (default: 'public', else the first)")
    p.add_argument(
        "--preset",
        default=None,
        help="the preset the search starts from (default: the method's paper preset; 'none': library defaults)",
    )
    p.add_argument("--epochs", type=int, default=None, help="training epochs of every run (default: the preset's)")
    p.add_argument("--lr", type=float, default=None, help="fix the learning rate (removes it from the search)")
    p.add_argument("--weight-decay", type=float, default=None, help="fix the weight decay (removes it from the search)")
    p.add_argument(
        "--gaug",
        default=None,
        help="GAug options key=value,... fixed (not searched), e.g. pretrain_ep=100; GAug-M's ep_draws=K "
        "searches draws 0..K-1, ep_select_seeds=K sets --trial-seeds",
    )
    p.add_argument(
        "--glt-rounds",
        "--ugs-rounds",
        dest="glt_rounds",
        type=int,
        default=None,
        help="--method: GLT rounds scored per trial and tested (default 5)",
    )
    p.add_argument(
        "--space",
        default=None,
        help="JSON file overriding the search space ({name: entry}; null removes, a value fixes; see --print-space)",
    )
    p.add_argument("--print-space", action="store_true", help="print the search space as JSON and exit")
    p.add_argument(
        "--storage",
        default=None,
        help="Optuna storage: a SQLite file or a database URL (default: <results db>-optuna.db beside --db)",
    )
    p.add_argument("--study-name", default=None, help="study name (default: derived from what is tuned)")
    p.add_argument("--sampler-seed", type=int, default=None, help="seed of the TPE sampler (default 0)")
    p.add_argument(
        "--heartbeat",
        type=int,
        default=None,
        help="seconds between a worker's heartbeats; a trial silent for two is failed and retried (default 60)",
    )
    p.add_argument(
        "--metric",
        default=None,
        type=opt.lower,
        choices=["acc", "roc_auc"],
        help="selection/report metric (default: the dataset's registered one)",
    )
    opt.add_common(p)
    p.set_defaults(handler=run)


def _space(args: argparse.Namespace, method: str) -> tuple[Any, dict[str, Any], int | None]:
    """The search space and what goes with it.

    The search space (built-in, the --space file, then options that fix a parameter), the fixed GAug options that
    are no parameter of the space, and the trial seeds GAug-M's ep_select_seeds asks for.
    """
    from ..tuning import load_space_overrides, space_for
    from ..tuning.setup import FIXED_GAUG_M_ONLY
    from ..validation import check_int
    from .train_augment import parse_gaug_options

    overrides: dict[str, Any] = load_space_overrides(args.space) if args.space is not None else {}
    gaug = parse_gaug_options(args.gaug)
    draws = select_seeds = None
    if method == "gaug-m":
        if "ep_draws" in gaug:
            draws = check_int("--gaug ep_draws", gaug["ep_draws"], 1)
        if "ep_select_seeds" in gaug:
            select_seeds = check_int("--gaug ep_select_seeds", gaug["ep_select_seeds"], 1)
    gaug = {k: v for k, v in gaug.items() if k not in FIXED_GAUG_M_ONLY}
    where = f"--space {args.space}" if args.space is not None else "search space"
    probe = space_for(method, overrides, where, draws)
    names = {p.name for p in probe}
    for option, value in (("lr", args.lr), ("weight_decay", args.weight_decay)):
        if value is not None and option in names:
            overrides[option] = value  # a value given on the command line is fixed, not searched
    fixed_gaug = {}
    for key, value in gaug.items():
        if key in names:
            overrides[key] = value
        else:
            fixed_gaug[key] = value
    return space_for(method, overrides, where, draws), fixed_gaug, select_seeds


def _check_gaug_keys(method: str, gaug: dict[str, Any]) -> None:
    import dataclasses

    if method == "gaug-o":
        from ..augment.gaug_o import GAugOConfig

        known = {f.name for f in dataclasses.fields(GAugOConfig)}
    else:
        from .train_augment import GAUG_M_OPTIONS

        known = set(GAUG_M_OPTIONS)
    unknown = set(gaug) - known
    if unknown:
        raise ValueError(
            f"--gaug: unknown {method} options: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Check the options, run (or resume) the study, evaluate its choice and return the summary document."""
    from ..tuning import method_for

    opt.check_values(args, CHECKS)
    method = method_for(args.model, args.augment, args.method)
    opt.refuse_inapplicable(args, ACCEPTED.get(method, GLT_ACCEPTED), f"tuning {method}", HINTS)
    if method in ("gaug-m", "gaug-o"):
        from .train_augment import parse_gaug_options

        _check_gaug_keys(method, parse_gaug_options(args.gaug))
    space, fixed_gaug, select_seeds = _space(args, method)
    if args.print_space:
        print(space.to_json())
        return None
    if args.dataset is None:
        raise ValueError("--dataset is required (only --print-space runs without one)")
    return _tune(args, method, space, fixed_gaug, select_seeds)


def _tune(args: argparse.Namespace, method: str, space: Any, fixed_gaug: dict, select_seeds: int | None) -> dict:
    import logging

    import optuna

    from ..data import load_dataset
    from ..experiments.document import STD_POPULATION, command_document, metric_summary
    from ..experiments.store import default_db_path
    from ..tuning import build_setup, check_space, default_storage, storage_url, tune, tuning_split_name
    from ..utils import resolve_device
    from .node_setup import dataset_metric, record_node_run, runtime_config
    from .preflight import preflight
    from .runs import invocation_record

    device = resolve_device(args.device if args.device is not None else "cpu")
    db_path = args.db if args.db is not None else default_db_path()
    storage = storage_url(args.storage) if args.storage is not None else default_storage(db_path)
    storage_file = _sqlite_file(storage)
    store = preflight(
        args,
        files=[("--storage", storage_file)] if storage_file is not None else (),
        inputs=[("--space", args.space)] if args.space is not None else (),
        datasets=[args.dataset],  # found before the database is created
        unit="runs",
        resume="the study keeps every finished trial in its storage: rerun the same command to resume it",
    ).store
    store.invocation = invocation_record(device)
    graph = load_dataset(args.dataset)
    split = tuning_split_name(graph, args.split)
    metric = dataset_metric(graph.name, args.metric)
    train = {k: getattr(args, k) for k in ("epochs", "lr", "weight_decay") if getattr(args, k) is not None}
    train = {k: v for k, v in train.items() if k not in {p.name for p in space}}  # fixed through the space
    setup = build_setup(
        method,
        args.model,
        graph.name,
        split,
        preset=args.preset,
        metric=metric,
        train=train,
        gaug=fixed_gaug,
        rounds=args.glt_rounds if args.glt_rounds is not None else 5,
        device=str(device),
    )
    trial_seeds = args.trial_seeds if args.trial_seeds is not None else (select_seeds or 3)
    trials = args.trials if args.trials is not None else 100
    seeds = args.seeds if args.seeds is not None else 10
    optuna.logging.set_verbosity(logging.WARNING)  # the progress bar and the summary say what happened
    tuned: dict[str, Any] = {}  # the study's choice and trial count, recorded with every final run

    def on_chosen(summary: dict[str, Any]) -> None:
        tuned.update({k: summary[k] for k in ("study", "storage", "trials", "trial_counts", "trial_seeds")})
        tuned.update({k: summary[k] for k in ("sampler_seed", "chosen", "best_trial", "best_trial_val")})

    def on_run(role: str, row: dict[str, Any], target: Any) -> None:
        config = {"split": row.get("split"), "preset": setup.preset, "tuned": dict(tuned)}
        config["augment"] = method if method.startswith("gaug") else None
        if role == "tuned":
            config["setup"] = setup.describe()
            model = args.model
        else:
            config["baseline_of"] = "tune"
            model = args.model if method.startswith("gaug") else "gcn"
        record_node_run(store, "node", target, model, row, metric, config, curves=row.get("history"))

    check_space(setup, graph, space, f"--space {args.space}" if args.space is not None else "search space")
    summary = tune(
        setup,
        graph,
        space,
        trials=trials,
        trial_seeds=trial_seeds,
        seeds=seeds,
        storage=storage,
        study_name=args.study_name,
        sampler_seed=args.sampler_seed if args.sampler_seed is not None else 0,
        heartbeat=args.heartbeat if args.heartbeat is not None else 60,
        progress=not args.no_progress,
        on_chosen=on_chosen,
        on_run=on_run,
        store=store,
    )
    name = summary["study"]
    summary["params"] = ",".join(f"{k}={_short(v)}" for k, v in summary["chosen"].items())
    key = f"tune|{name}|seeds={seeds}"
    store.put(key, {k: v for k, v in summary.items() if k not in ("levels",)})
    summary["store_key"] = key
    flat = {k: v for k, v in summary.items()}
    config = {
        "method": method,
        "preset": setup.preset,
        "base": setup.base,
        "space": space.to_dict(),
        "split": split,
        "trials": trials,
        "trial_seeds": trial_seeds,
        "storage": storage,
        "study": name,
        **runtime_config(device),
    }
    if seeds == 0:
        print(
            f"graphsparse tune: study {name!r} holds {summary['trials']} finished trials; no final runs (--seeds 0)",
            file=sys.stderr,
        )
    return command_document(
        "tune",
        dataset=graph.name,
        model=args.model,
        task="node",
        metric=metric,
        seeds=list(range(seeds)),
        config=config,
        summary=metric_summary(flat),
        extra=flat,
        std=STD_POPULATION,  # the tuned and baseline runs' std (graphsparse.tuning.runner.mean_std)
    )


def _sqlite_file(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` storage URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
