"""The dataset registry: canonical names, aliases, loaders and the published statistics of every dataset.

Counts are those in the datasets' SOURCE.md files (edges: undirected, self-loops removed, as the Graph stores them);
``tests/test_data.py`` checks every one against what the loaders produce.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import dataset_home
from ..graph import Graph, GraphError
from ._io import DatasetError, dataset_roots
from .checksums import KNOWN_FILES
from .geom_gcn import load_geom_gcn
from .npz_benchmarks import NPZ_DATASETS, load_npz_benchmark
from .ogb_raw import OGB_DATASETS, OGB_INFO, load_ogb, ogb_folder_candidates
from .planetoid import load_planetoid
from .seal import SEAL_DATASETS, load_seal
from .sources import FILE_SOURCES
from .synthetic import synthetic_dcsbm
from .yandex import ROC_AUC_DATASETS, YANDEX_DATASETS, YANDEX_DOWNLOAD_ONLY, load_yandex

__all__ = [
    "DatasetSpec",
    "load_dataset",
    "list_datasets",
    "dataset_info",
    "canonical_name",
    "locate_dataset",
    "fetch_command",
    "shipped_files",
]


@dataclass(frozen=True)
class DatasetSpec:
    """One registered dataset: how to load it and what it should contain."""

    name: str
    family: str
    loader: Callable[..., Graph]
    task: str = "node-classification"
    metric: str = "accuracy"
    num_nodes: int | None = None
    num_edges: int | None = None
    num_features: int | None = None
    num_classes: int | None = None
    splits: str = ""
    path: str = ""
    shipped: bool = True
    notes: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


_SPECS: dict[str, DatasetSpec] = {}
_ALIASES: dict[str, str] = {}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def _yandex_spec(name: str, counts: tuple[int, int, int, int], stem: str, **extra: Any) -> DatasetSpec:
    """The spec of one Yandex heterophily set (shipped or download-only); ``extra`` fills the rest."""
    n, m, f, c = counts
    return DatasetSpec(
        name,
        "yandex",
        _with_root(load_yandex, name),
        metric="roc_auc" if name in ROC_AUC_DATASETS else "accuracy",
        num_nodes=n,
        num_edges=m,
        num_features=f,
        num_classes=c,
        splits="0..9 (fixed splits in the npz)",
        path=f"yandex_heterophilous/{stem}/raw",
        **extra,
    )


def _register(spec: DatasetSpec) -> None:
    _SPECS[spec.name] = spec
    for alias in (spec.name, *spec.aliases):
        _ALIASES[_normalise(alias)] = spec.name


def _with_root(fn: Callable[..., Graph], *args: Any) -> Callable[..., Graph]:
    def load(root: Path, **options: Any) -> Graph:
        return fn(*args, root, **options)

    return load


GEOM_SPLITS = "geom-gcn-0..9 (Geom-GCN fixed splits, ~48/32/20 %)"

# name: nodes, edges, features, classes
_PLANETOID = {"cora": (2708, 5278, 1433, 7), "citeseer": (3327, 4552, 3703, 6), "pubmed": (19717, 44324, 500, 3)}
_GEOM = {
    "texas": (183, 279, 1703, 5),
    "cornell": (183, 277, 1703, 5),
    "wisconsin": (251, 450, 1703, 5),
    "actor": (7600, 26659, 932, 5),
}
_YANDEX = {
    "minesweeper": (10000, 39402, 7, 2),
    "tolokers": (11758, 519000, 10, 2),
    "yandex-actor": (7600, 26659, 932, 5),
    "yandex-chameleon": (2277, 31371, 2325, 5),
    "yandex-chameleon-directed": (2277, 31371, 2325, 5),
    "chameleon-filtered": (890, 8854, 2325, 5),
    "chameleon-filtered-directed": (890, 8854, 2325, 5),
    "yandex-squirrel": (5201, 198353, 2089, 5),
    "yandex-squirrel-directed": (5201, 198353, 2089, 5),
    "squirrel-filtered": (2223, 46998, 2089, 5),
    "squirrel-filtered-directed": (2223, 46998, 2089, 5),
    "yandex-texas": (183, 279, 1703, 5),
    "yandex-texas-4-classes": (183, 279, 1703, 5),
    "yandex-cornell": (183, 277, 1703, 5),
    "yandex-wisconsin": (251, 450, 1703, 5),
}
# not shipped; counts from Platonov et al. (2023), Table 1
_YANDEX_DOWNLOAD = {
    "roman-empire": (22662, 32927, 300, 18),
    "amazon-ratings": (24492, 93050, 300, 5),
    "questions": (48921, 153540, 301, 2),
}
_NPZ = {
    "amazon-computers": (13752, 245861, 767, 10),
    "amazon-photo": (7650, 119081, 745, 8),
    "coauthor-cs": (18333, 81894, 6805, 15),
    "coauthor-physics": (34493, 247962, 8415, 5),
}
_SEAL = {
    "usair": (332, 2126),
    "ns": (1589, 2742),
    "pb": (1222, 16714),
    "yeast": (2375, 11693),
    "celegans": (297, 2148),
    "power": (4941, 6594),
    "router": (5022, 6258),
    "ecoli": (1805, 14660),
}


def _build() -> None:
    for name, (n, m, f, c) in _PLANETOID.items():
        _register(
            DatasetSpec(
                name,
                "planetoid",
                _with_root(load_planetoid, name),
                num_nodes=n,
                num_edges=m,
                num_features=f,
                num_classes=c,
                splits="public (20 per class / 500 / 1000), " + GEOM_SPLITS,
                path=f"planetoid/{name}/raw",
                notes="citation graph; semi-supervised; also used for link prediction",
            )
        )
    for name, (n, m, f, c) in _GEOM.items():
        notes = "directed in the source; loads undirected unless directed=True"
        if name == "cornell":
            notes += "; Geom-GCN's Cornell file has Texas's features and labels (see SOURCE.md)"
        _register(
            DatasetSpec(
                name,
                "geom-gcn",
                _with_root(load_geom_gcn, name),
                num_nodes=n,
                num_edges=m,
                num_features=f,
                num_classes=c,
                splits=GEOM_SPLITS,
                path="actor/raw" if name == "actor" else f"webkb/{name}/raw",
                notes=notes,
                aliases=("film",) if name == "actor" else (),
            )
        )
    for name, (n, m, f, c) in _YANDEX.items():
        stem = YANDEX_DATASETS[name]
        aliases = [f"yandex-{stem}"]
        if stem not in _GEOM:  # plain 'chameleon', 'squirrel', 'texas_4_classes' ... (not texas: that is Geom-GCN's)
            aliases.append(stem)
        notes = "heterophily benchmark (Platonov et al. 2023)"
        if "directed" in stem:
            notes += "; directed in the source, loads undirected unless directed=True"
        if name in ROC_AUC_DATASETS:
            notes += "; binary task, evaluate with ROC-AUC"
        _register(_yandex_spec(name, (n, m, f, c), stem, notes=notes, aliases=tuple(aliases)))
    for name, counts in _YANDEX_DOWNLOAD.items():
        stem = YANDEX_DOWNLOAD_ONLY[name]
        _register(
            _yandex_spec(
                name,
                counts,
                stem,
                shipped=False,
                notes="not shipped (counts from the paper); graphsparse datasets fetch NAME, or download=True",
                aliases=(stem, "roman") if name == "roman-empire" else (stem,),
            )
        )
    for name, (n, m, f, c) in _NPZ.items():
        short = name.split("-", 1)[1]
        _register(
            DatasetSpec(
                name,
                "gnn-benchmark",
                _with_root(load_npz_benchmark, name),
                num_nodes=n,
                num_edges=m,
                num_features=f,
                num_classes=c,
                splits="random-0..9 (seeded, 20/30 per class train/val, rest test; options change it)",
                path=os.path.dirname(NPZ_DATASETS[name]),
                notes="Shchur et al. 2018; features binarised as in PyG",
                aliases=(short,),
            )
        )
    for name, (n, m) in _SEAL.items():
        _register(
            DatasetSpec(
                name,
                "seal",
                _with_root(load_seal, name),
                task="link-prediction",
                metric="auc",
                num_nodes=n,
                num_edges=m,
                num_features=0,
                num_classes=0,
                splits="none (sample edge splits)",
                path="seal_link_prediction/mat",
                notes="featureless plain graph (SEAL / WLNM benchmark)",
            )
        )
    for name in OGB_DATASETS:
        task = "node-classification" if name.startswith("ogbn-") else "link-prediction"
        info = OGB_INFO[name]
        notes = "not shipped: graphsparse datasets fetch NAME, or ogb's folder (e.g. ogbn_arxiv/) under <root>/ogb/"
        if name == "ogbn-arxiv":
            notes += "; directed citations in OGB, loaded symmetrised (as the TEDDY/UGS code does)"
        _register(
            DatasetSpec(
                name,
                "ogb",
                _with_root(load_ogb, name),
                task=task,
                metric="accuracy" if task != "link-prediction" else "hits@k",
                num_nodes=info.get("nodes"),
                num_features=info.get("features"),
                num_classes=info.get("classes"),
                splits=f"ogb (official: split/{info['split']})",
                path=f"ogb/{name.replace('-', '_')}",
                shipped=False,
                notes=notes,
            )
        )
    _register(
        DatasetSpec(
            "synthetic",
            "synthetic",
            lambda root, **options: synthetic_dcsbm(**options),
            shipped=False,
            splits="random (60/20/20) or per-class",
            notes="degree-corrected SBM; options are synthetic_dcsbm's",
            aliases=("dcsbm", "synthetic-dcsbm"),
        )
    )


_build()


def canonical_name(name: str) -> str:
    """The canonical name of ``name`` (case-insensitive, ``_``/``-`` and aliases accepted)."""
    if not isinstance(name, str):
        raise GraphError(f"dataset name must be a string, got {type(name).__name__}")
    key = _normalise(name)
    if key not in _ALIASES:
        raise GraphError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    return _ALIASES[key]


def list_datasets(shipped_only: bool = False) -> list[str]:
    """Canonical names of all registered datasets (only those with files in ``datasets/`` if ``shipped_only``)."""
    return [name for name, spec in _SPECS.items() if spec.shipped or not shipped_only]


def dataset_info(name: str) -> dict[str, Any]:
    """Family, task, metric, expected counts, splits, path and notes of a dataset (no loading)."""
    spec = _SPECS[canonical_name(name)]
    return {
        "name": spec.name,
        "family": spec.family,
        "task": spec.task,
        "metric": spec.metric,
        "num_nodes": spec.num_nodes,
        "num_edges": spec.num_edges,
        "num_features": spec.num_features,
        "num_classes": spec.num_classes,
        "splits": spec.splits,
        "path": spec.path,
        "shipped": spec.shipped,
        "aliases": list(spec.aliases),
        "notes": spec.notes,
    }


def load_dataset(name: str, root: str | os.PathLike[str] | None = None, **options: Any) -> Graph:
    """Load a dataset by name as a :class:`~graphsparse.graph.Graph` whose ``name`` is the canonical name.

    Args:
        name: dataset name, case-insensitive (see :func:`list_datasets`; aliases such as ``film``, ``computers``).
        root: dataset root; default: the first root of the search path that holds the dataset
            (``$GRAPHSPARSE_DATA`` entries, the data home, the checkout's ``datasets/``; see :func:`locate_dataset`).
        **options: loader options, e.g. ``directed=True`` (Geom-GCN, Yandex), ``verify=False`` (skip the sha256
            check of every file read, done by default and cached; the pickles are always checked),
            ``num_splits``/``split_seed``/``train_per_class`` (Amazon, Coauthor), ``download=True`` (OGB), or
            ``synthetic_dcsbm``'s arguments for ``"synthetic"``.

    Raises:
        DatasetError: a file is missing, altered (sha256), unparsable, or the loaded counts differ from the recorded
            ones; the message names the file and the problem.
    """
    spec = _SPECS[canonical_name(name)]
    if root is not None:
        root = Path(root).expanduser()
    else:
        found = locate_dataset(spec.name)
        if found is not None:
            root = found
        elif options.get("download"):  # OGB and the unshipped Yandex sets download into the data home
            root = dataset_home()
        else:
            raise DatasetError(_not_found_message(spec))
    try:
        graph = spec.loader(root, **options)
    except TypeError as err:
        if "unexpected keyword argument" in str(err):
            raise GraphError(f"dataset {spec.name!r}: {err}") from err
        raise
    except DatasetError as err:  # name the exact command in the generic hint (or drop it: nothing to fetch)
        command = fetch_command(spec.name)
        hint = f"({command})" if command else "(no public source: see the dataset's SOURCE.md)"
        message = str(err).replace("(graphsparse datasets fetch NAME)", hint)
        if message == str(err):
            raise
        raise DatasetError(message) from err
    if spec.shipped:
        _check_counts(spec, graph, root)
    return graph if graph.name == spec.name else graph.replace(name=spec.name)


def _markers(spec: DatasetSpec) -> list[str]:
    """Every path (relative to a root) whose presence means a root holds ``spec``'s dataset, in the order tried."""
    if spec.family == "ogb":  # ogb's folder under ogb/, ogb's own root, or the official zip unpacked as it is
        return [path.as_posix() for path in ogb_folder_candidates(spec.name, Path())]
    marker = _marker(spec)
    return [] if marker is None else [marker]


def _marker(spec: DatasetSpec) -> str | None:
    """The path (relative to a root) whose presence means a root holds ``spec``'s dataset; None: needs no files."""
    if spec.family == "synthetic":
        return None
    if spec.family == "seal":
        return f"seal_link_prediction/mat/{SEAL_DATASETS[spec.name]}.mat"
    if spec.family == "yandex":
        return f"{spec.path}/{spec.path.split('/')[1]}.npz"
    return spec.path


def locate_dataset(name: str) -> Path | None:
    """The first root of the dataset search path that holds dataset ``name`` (its folder or file), else None.

    Synthetic datasets need no files: the first root is returned.
    """
    spec = _SPECS[canonical_name(name)]
    roots = dataset_roots()
    markers = _markers(spec)
    if not markers:
        return roots[0]
    for root in roots:
        if any((root / marker).exists() for marker in markers):
            return root
    return None


def shipped_files(name: str) -> list[str]:
    """Paths (relative to the dataset root) of the shipped files of dataset ``name`` that have a known sha256.

    Args:
        name: a dataset name or alias.

    Returns:
        The paths, sorted (SEAL: the graph's ``.mat`` and edge list in the shared folder); empty when the dataset
        is not shipped.
    """
    spec = _SPECS[canonical_name(name)]
    if not spec.shipped:
        return []
    if spec.family == "seal":  # all SEAL graphs share one folder: the .mat the loader reads, and the edge list
        stem = SEAL_DATASETS[spec.name]
        candidates = [f"seal_link_prediction/mat/{stem}.mat", f"seal_link_prediction/txt/{stem}.txt"]
        return [rel for rel in candidates if rel in KNOWN_FILES]
    prefix = spec.path.rstrip("/") + "/"
    return sorted(rel for rel in KNOWN_FILES if rel.startswith(prefix))


def fetch_command(name: str) -> str | None:
    """``graphsparse datasets fetch NAME`` when the dataset can be downloaded, else None."""
    spec = _SPECS[canonical_name(name)]
    if spec.family in ("ogb", "synthetic"):
        return f"graphsparse datasets fetch {spec.name}" if spec.family == "ogb" else None
    if not spec.shipped:  # the Yandex sets that were never shipped download from PyG's URL
        return f"graphsparse datasets fetch {spec.name}"
    files = shipped_files(spec.name)
    if files and all(rel in FILE_SOURCES for rel in files):
        return f"graphsparse datasets fetch {spec.name}"
    return None


def _not_found_message(spec: DatasetSpec) -> str:
    looked = ", ".join(str(root) for root in dataset_roots())
    where = f"dataset {spec.name!r} not found (looked for {_marker(spec)} in: {looked})"
    command = fetch_command(spec.name)
    if command is not None:
        return f"{where}. Download it into the data home with: {command}"
    return (
        f"{where}. Its files are conversions shipped only with the source repository (see its SOURCE.md): put a "
        "copy of the repository's datasets/ folder (or the dataset's folder inside the same layout) on "
        "$GRAPHSPARSE_DATA, or pass root="
    )


def _check_counts(spec: DatasetSpec, graph: Graph, root: Path) -> None:
    """The loaded counts must be the recorded ones (edges: for the undirected view only); else a DatasetError."""
    recorded = {
        "nodes": (spec.num_nodes, graph.num_nodes),
        "edges": (None if graph.directed else spec.num_edges, graph.num_edges),
        "features": (spec.num_features, graph.num_features),
        "classes": (spec.num_classes, graph.num_classes),
    }
    wrong = [
        f"{got} {what} (expected {want})" for what, (want, got) in recorded.items() if want is not None and got != want
    ]
    if wrong:
        raise DatasetError(
            f"dataset {spec.name!r} from {root / spec.path} loaded with {', '.join(wrong)}: its files are truncated "
            f"or altered; restore them (git checkout -- datasets/) or fetch them again (graphsparse datasets fetch "
            f"{spec.name})"
        )
