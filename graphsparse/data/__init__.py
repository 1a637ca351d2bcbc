"""Dataset loading: ``load_dataset(name)`` -> :class:`~graphsparse.graph.Graph`.

Families (files under ``datasets/``, each folder with a SOURCE.md): Planetoid (``cora``, ``citeseer``, ``pubmed``),
Geom-GCN heterophily graphs (``texas``, ``cornell``, ``wisconsin``, ``actor``), the Yandex heterophilous npz files
(``minesweeper``, ``tolokers``, ``chameleon-filtered``, ``yandex-squirrel`` ...), Amazon/Coauthor
(``amazon-computers``, ``amazon-photo``, ``coauthor-cs``, ``coauthor-physics``), the SEAL link-prediction graphs
(``usair``, ``ns``, ``pb``, ``yeast``, ``celegans``, ``power``, ``router``, ``ecoli``), OGB raw folders
(:func:`load_ogb_raw`; :func:`ogb_to_disk_graph` writes one straight into a disk graph) and a synthetic
degree-corrected SBM (``"synthetic"`` / :func:`synthetic_dcsbm`).

Datasets are searched (:func:`dataset_roots`) in the ``$GRAPHSPARSE_DATA`` entries (``os.pathsep``-separated), then
the data home's ``datasets/`` folder (``platformdirs``; ``$GRAPHSPARSE_HOME``), then the source checkout's shipped
``datasets/`` folder; ``root=`` names one root instead. :func:`fetch_dataset` (``graphsparse datasets fetch NAME``)
downloads a dataset's original files into the data home, checking each sha256.
Every shipped file is checked by its content against the sha256 shipped in the package when it is read (no
cache file vouches for it); every problem with a file raises :class:`DatasetError` (a
:class:`~graphsparse.graph.GraphError`) naming it. :func:`verify_datasets` checks all files without loading.
"""

from __future__ import annotations

from ._io import DatasetError, dataset_roots, default_root
from .fetch import dataset_sources, fetch_dataset
from .ogb_disk import ogb_to_disk_graph
from .ogb_raw import download_ogb, load_ogb_raw, ogb_accuracy
from .registry import (
    DatasetSpec,
    canonical_name,
    dataset_info,
    fetch_command,
    list_datasets,
    load_dataset,
    locate_dataset,
    shipped_files,
)
from .splits import fraction_split, stratified_split, stratified_splits
from .summary import dataset_rows
from .synthetic import synthetic_dcsbm
from .verify import VerifyResult, verify_datasets

__all__ = [
    "DatasetError",
    "DatasetSpec",
    "VerifyResult",
    "canonical_name",
    "dataset_info",
    "dataset_roots",
    "dataset_rows",
    "dataset_sources",
    "default_root",
    "download_ogb",
    "fetch_command",
    "fetch_dataset",
    "fraction_split",
    "list_datasets",
    "load_dataset",
    "load_ogb_raw",
    "locate_dataset",
    "ogb_accuracy",
    "ogb_to_disk_graph",
    "stratified_split",
    "shipped_files",
    "stratified_splits",
    "synthetic_dcsbm",
    "verify_datasets",
]
