"""The eight plain link-prediction graphs of the SEAL / WLNM papers (Zhang & Chen, 2017, 2018).

``<root>/seal_link_prediction/mat/<Name>.mat`` holds one sparse symmetric adjacency ``net``. The graphs have no
features (``x = None``), no labels and no fixed split: link-prediction code samples its own edge splits.
"""

from __future__ import annotations

from pathlib import Path

import scipy.io

from ..graph import Graph, GraphError
from ._io import require_file, verify_file

__all__ = ["SEAL_DATASETS", "load_seal"]

# canonical name -> file stem
SEAL_DATASETS: dict[str, str] = {
    "usair": "USAir",
    "ns": "NS",
    "pb": "PB",
    "yeast": "Yeast",
    "celegans": "Celegans",
    "power": "Power",
    "router": "Router",
    "ecoli": "Ecoli",
}


def load_seal(name: str, root: Path, verify: bool = False) -> Graph:
    """Load one SEAL graph (``usair``, ``ns``, ``pb``, ``yeast``, ``celegans``, ``power``, ``router``, ``ecoli``)."""
    if name not in SEAL_DATASETS:
        raise GraphError(f"unknown SEAL dataset {name!r}; known: {', '.join(SEAL_DATASETS)}")
    rel = f"seal_link_prediction/mat/{SEAL_DATASETS[name]}.mat"
    path = verify_file(root, rel) if verify else require_file(root / rel)
    try:
        mat = scipy.io.loadmat(path)
    except (OSError, ValueError, TypeError) as err:
        raise GraphError(f"cannot read MATLAB file {path}: {err}") from err
    if "net" not in mat:
        raise GraphError(f"{path} has no variable 'net'")
    return Graph.from_scipy(mat["net"], name=name)
