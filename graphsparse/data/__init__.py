"""Dataset loading: ``load_dataset(name)`` -> :class:`~graphsparse.graph.Graph`.

Families (files under ``datasets/``, each folder with a SOURCE.md): Planetoid (``cora``, ``citeseer``, ``pubmed``),
Geom-GCN heterophily graphs (``texas``, ``cornell``, ``wisconsin``, ``actor``), the Yandex heterophilous npz files
(``minesweeper``, ``tolokers``, ``chameleon-filtered``, ``yandex-squirrel`` ...), Amazon/Coauthor
(``amazon-computers``, ``amazon-photo``, ``coauthor-cs``, ``coauthor-physics``), the SEAL link-prediction graphs
(``usair``, ``ns``, ``pb``, ``yeast``, ``celegans``, ``power``, ``router``, ``ecoli``), OGB raw folders
(:func:`load_ogb_raw`) and a synthetic degree-corrected SBM (``"synthetic"`` / :func:`synthetic_dcsbm`).

The dataset root defaults to the repository's ``datasets/`` folder; ``$GRAPHSPARSE_DATA`` or ``root=`` override it.
"""

from __future__ import annotations

from ._io import default_root
from .ogb_raw import download_ogb, load_ogb_raw
from .registry import DatasetSpec, canonical_name, dataset_info, list_datasets, load_dataset
from .splits import fraction_split, stratified_split, stratified_splits
from .summary import dataset_rows
from .synthetic import synthetic_dcsbm

__all__ = [
    "DatasetSpec",
    "canonical_name",
    "dataset_info",
    "dataset_rows",
    "default_root",
    "download_ogb",
    "fraction_split",
    "list_datasets",
    "load_dataset",
    "load_ogb_raw",
    "stratified_split",
    "stratified_splits",
    "synthetic_dcsbm",
]
