"""Hostile disk graph folders for ``--disk`` (a family of ``benchmarks/reliability.py``, run by it).

A small one-part folder (``synthetic_dcsbm_to_disk``) is copied into each case's scratch folder, damaged one way,
and given to ``graphsparse train --batching cluster --disk`` and ``graphsparse glt --disk``: each must end in one
clear error line naming the damaged file or field (exit 2) before any training. Two cases must work: a folder whose
name is no registered dataset, and a relabelled copy of a folder already partitioned, which must get its own
partition (the cache keyed folders by ``meta.json`` alone once, and the copy trained on the original's data).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CATEGORY = "Disk graph folders"
GRAPH = dict(num_nodes=600, num_edges=3000, num_classes=3, num_features=16, seed=0)
_BASE: dict[str, Path] = {}


def _base() -> Path:
    """The healthy folder, written once per process."""
    if "folder" not in _BASE:
        import tempfile

        from graphsparse.data.synthetic import synthetic_dcsbm_to_disk

        root = Path(tempfile.mkdtemp(prefix="graphsparse-reliability-disk-"))
        _BASE["folder"] = synthetic_dcsbm_to_disk(root / "graph", **GRAPH)
    return _BASE["folder"]


def _array(key: str, index: Any, value: Any) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        array = np.load(folder / f"{key}.npy").copy()
        array[index] = array[5] if value == "copy of entry 5" else value
        np.save(folder / f"{key}.npy", array)

    return damage


def _meta(**fields: Any) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        meta.update(fields)
        (folder / "meta.json").write_text(json.dumps(meta))

    return damage


def _file(name: str, how: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / name
        if how == "deleted":
            path.unlink()
        elif how == "truncated":
            path.write_bytes(path.read_bytes()[:1000])
        else:  # replaced by text
            path.write_text("[1, 2]" if name == "meta.json" else "not numpy")

    return damage


DAMAGES: dict[str, Callable[[Path], None]] = {
    "label 7 of 3 classes": _array("y", 5, 7),
    "label -5": _array("y", 5, -5),
    "neighbour row 100000": _array("indices", 10, 100000),
    "neighbour row -3": _array("indices", 10, -3),
    "a self-loop": _array("indices", 0, 0),
    "edge id 99999": _array("edge_ids", 4, 99999),
    "an edge id on one entry": _array("edge_ids", 4, "copy of entry 5"),
    "row pointers that fall": _array("indptr", 100, 0),
    "a NaN feature": _array("x", (3, 2), np.nan),
    "an inf feature": _array("x", (3, 2), np.inf),
    "split code 9": _array("split-random", 3, 9),
    "perm not the identity": _array("perm", 0, 1),
    "part offsets past the rows": _array("part_ptr", 1, 5),
    "y as float64": lambda folder: np.save(folder / "y.npy", np.load(folder / "y.npy").astype(np.float64)),
    "x.npy deleted": _file("x.npy", "deleted"),
    "x.npy truncated": _file("x.npy", "truncated"),
    "split file deleted": _file("split-random.npy", "deleted"),
    "meta.json deleted": _file("meta.json", "deleted"),
    "meta.json a list": _file("meta.json", "text"),
    "meta num_classes 1": _meta(num_classes=1),
    "meta num_nodes 601": _meta(num_nodes=601),
    "meta num_edges -1": _meta(num_edges=-1),
    "meta num_edges against nnz": _meta(num_edges=2999),
    "meta nnz a word": _meta(nnz="many"),
    "meta features 'sparse'": _meta(features="sparse"),
    "meta splits a string": _meta(splits="random"),
    "meta files entry a string": lambda folder: _meta(files={**_files(folder), "x": "abc"})(folder),
}


def _files(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())["files"]


def _argv(command: str, folder: Path) -> list[str]:
    common = ["--disk", str(folder), "--epochs", "2", "--seeds", "1", "--threads", "1", "--hidden", "8"]
    if command == "train":
        return ["train", "--batching", "cluster", *common, "--parts", "6", "--clusters-per-batch", "2"]
    return ["glt", *common, "--parts", "6", "--clusters-per-batch", "2", "--rounds", "1", "--method", "teddy,ugs"]


def _damaged_case(rel: Any, command: str, damage: Callable[[Path], None]) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        folder = scratch / "graph"
        shutil.copytree(_base(), folder)
        damage(folder)
        return rel.classify_error(rel.run_main(_argv(command, folder), scratch), before_work=True)

    return run


def _named_case(rel: Any) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        folder = scratch / "mine"
        shutil.copytree(_base(), folder)
        _meta(name="my graph")(folder)
        obs = rel.run_main([*_argv("glt", folder), "--json"], scratch)
        if obs.code != 0:
            return rel.classify_error(obs)
        doc = json.loads(rel._lines(obs.out)[-1])
        return "works", f"exit 0, dataset {doc['dataset']!r}, {len(doc['levels'])} levels"

    return run


def _relabelled_case(rel: Any) -> Callable[[Path], tuple[str, str]]:
    def run(scratch: Path) -> tuple[str, str]:
        from graphsparse.data.diskgraph import DiskGraph

        first, copy = scratch / "first", scratch / "copy"
        shutil.copytree(_base(), first)
        shutil.copytree(_base(), copy)
        y = np.load(copy / "y.npy")
        y[:300] = (y[:300] + 1) % GRAPH["num_classes"]
        np.save(copy / "y.npy", y)
        docs = []
        for folder in (first, copy):
            obs = rel.run_main([*_argv("train", folder), "--json"], scratch)
            if obs.code != 0:
                return rel.classify_error(obs)
            docs.append(json.loads(rel._lines(obs.out)[-1]))
        (a,), (b,) = (doc["disk"] for doc in docs)
        if a == b:
            return "silently wrong", "the relabelled copy trained on the first folder's cached partition"
        labels = np.asarray(DiskGraph.open(scratch / b).y)[np.argsort(np.asarray(DiskGraph.open(scratch / b).perm))]
        if not np.array_equal(labels, y):
            return "silently wrong", "the copy's partition holds other labels than the copy"
        return "works", "each folder partitioned into its own cache folder, the copy's with its labels"

    return run


def cases(rel: Any) -> list[Any]:
    """The family's cases, built with ``benchmarks/reliability.py``'s ``Case`` and helpers (``rel``)."""
    out = [
        rel.Case(CATEGORY, f"{command} --disk: {name}", "clear error before training", _damaged_case(rel, command, d))
        for name, d in DAMAGES.items()
        for command in ("train", "glt")
    ]
    out.append(rel.Case(CATEGORY, "glt --disk: a folder named 'my graph'", "works", _named_case(rel)))
    out.append(
        rel.Case(CATEGORY, "train --disk: a relabelled copy of a partitioned folder", "works", _relabelled_case(rel))
    )
    return out
