"""Tasks: node classification (and link prediction): train, select by validation, evaluate."""

from .node import NodeRunResult, NodeTrainConfig, evaluate_node, run_node, train_node

__all__ = ["NodeTrainConfig", "NodeRunResult", "train_node", "run_node", "evaluate_node"]
