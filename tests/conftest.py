import os

import pytest
import torch

from graphsparse import Graph


@pytest.fixture(scope="session", autouse=True)
def _tmp_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Caches (dataset checksum verdicts, METIS partitions) go to a temporary folder unless the caller chose one."""
    if os.environ.get("GRAPHSPARSE_CACHE"):
        yield
        return
    os.environ["GRAPHSPARSE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    os.environ.pop("GRAPHSPARSE_CACHE", None)


@pytest.fixture
def small_graph() -> Graph:
    """A 6-node undirected graph with features, labels and one split (given with duplicates and a loop)."""
    edges = torch.tensor([[0, 1, 1, 2, 3, 4, 0, 2, 5], [1, 0, 2, 3, 4, 5, 2, 0, 5]])
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, generator=gen)
    y = torch.tensor([0, 0, 1, 1, 0, 1])
    train = torch.tensor([1, 0, 1, 0, 0, 0], dtype=torch.bool)
    val = torch.tensor([0, 1, 0, 1, 0, 0], dtype=torch.bool)
    test = ~(train | val)
    return Graph(edges, num_nodes=6, x=x, y=y, splits={"public": (train, val, test)}, name="small")


@pytest.fixture(scope="session")
def cora() -> Graph:
    from graphsparse.data import load_dataset

    return load_dataset("cora")
