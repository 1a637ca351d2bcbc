"""Tasks: node classification and link prediction — loss, metric and evaluation on top of :mod:`graphsparse.train`."""

from .node import NodeTrainConfig, evaluate_node, run_node, train_node

__all__ = ["NodeTrainConfig", "train_node", "run_node", "evaluate_node"]
