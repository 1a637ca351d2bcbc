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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that use the pytest process's own Ray share one xdist group: ``make test`` (``-n 2 --dist
    loadgroup``) runs them on one worker, one after another.

    They are test_parallel.py's in-process ones (one local Ray for the module, the two-node test cluster): a
    process joins one Ray at a time. Tests that start Ray in a child process (``--workers N``, the killed
    driver) start a Ray of their own (``address="local"``: its own ports and session folder) and run wherever a
    worker is free, as every other test does.
    """
    for item in items:
        if item.path.name == "test_parallel.py" and "killed_driver" not in item.name:
            item.add_marker(pytest.mark.xdist_group("ray"))
