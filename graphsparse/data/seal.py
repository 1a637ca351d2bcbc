"""The eight plain link-prediction graphs of the SEAL / WLNM papers (Zhang & Chen, 2017, 2018).

``<root>/seal_link_prediction/mat/<Name>.mat`` holds one sparse symmetric adjacency ``net``. The graphs have no
features (``x = None``), no labels and no fixed split: link-prediction code samples its own edge splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse

from ..graph import Graph, GraphError
from ._io import DatasetError, dataset_file, parsing

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


def load_seal(name: str, root: Path, verify: bool = True) -> Graph:
    """Load one SEAL graph (``usair``, ``ns``, ``pb``, ``yeast``, ``celegans``, ``power``, ``router``, ``ecoli``).

    The ``.mat`` file is checked against its known sha256 unless ``verify=False``; any problem with it is a
    :class:`~graphsparse.data.DatasetError` naming the file.
    """
    if name not in SEAL_DATASETS:
        raise GraphError(f"unknown SEAL dataset {name!r}; known: {', '.join(SEAL_DATASETS)}")
    rel = f"seal_link_prediction/mat/{SEAL_DATASETS[name]}.mat"
    path = dataset_file(root, rel, verify)
    with parsing(path, "MATLAB file"):
        mat = scipy.io.loadmat(path)
        if "net" not in mat:
            raise DatasetError(f"{path} has no variable 'net'")
        net = mat["net"]
        if not scipy.sparse.issparse(net) or net.ndim != 2 or net.shape[0] != net.shape[1]:
            raise DatasetError(f"{path}: 'net' must be a square sparse matrix, got {type(net).__name__}")
        net = net.tocsr()
        if not np.isfinite(net.data).all() or (net != net.T).nnz:
            raise DatasetError(f"{path}: 'net' is not a finite symmetric adjacency matrix")
        return Graph.from_scipy(net, weighted=False, name=name)  # SEAL's nets are unweighted graphs
