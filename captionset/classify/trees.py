"""Gradient-boosted decision trees at run time: the model's trees as flat arrays, evaluated without sklearn.

``scripts/train_classifier.py`` fits the trees with scikit-learn's HistGradientBoostingClassifier and writes
them into ``model.json`` as one node table per stage (all trees end to end). Here they are scored with
numpy, or with the C extension when it is built (the same sums in the same order, so both give the same
bits). A row goes left at a node when its feature value is ``<=`` the node's threshold, as in sklearn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class TreeEnsemble:
    """One stage's trees: node arrays (leaves have feature -1), each tree's root and class column."""

    feature: np.ndarray  # int64, per node
    threshold: np.ndarray  # float64, per node
    left: np.ndarray  # int64, per node (absolute node index)
    right: np.ndarray  # int64, per node
    value: np.ndarray  # float64, per node (leaves only)
    roots: np.ndarray  # int64, per tree
    tree_class: np.ndarray  # int64, per tree
    baseline: np.ndarray  # float64, per class
    max_depth: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeEnsemble:
        nodes = data["nodes"]
        return cls(
            feature=np.array(nodes["feature"], dtype=np.int64),
            threshold=np.array(nodes["threshold"], dtype=np.float64),
            left=np.array(nodes["left"], dtype=np.int64),
            right=np.array(nodes["right"], dtype=np.int64),
            value=np.array(nodes["value"], dtype=np.float64),
            roots=np.array(data["roots"], dtype=np.int64),
            tree_class=np.array(data["tree_class"], dtype=np.int64),
            baseline=np.array(data["baseline"], dtype=np.float64),
            max_depth=int(data["max_depth"]),
        )

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree (rows x trees), all trees walked at once."""
        rows = np.arange(x.shape[0])[:, None]
        node = np.broadcast_to(self.roots, (x.shape[0], self.roots.size)).copy()
        for _ in range(self.max_depth):
            feature = self.feature[node]
            inner = feature >= 0
            if not inner.any():
                break
            goes_left = x[rows, np.maximum(feature, 0)] <= self.threshold[node]
            node = np.where(inner, np.where(goes_left, self.left[node], self.right[node]), node)
        return node

    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        """Per-class raw scores (rows x classes): the baseline plus each tree's leaf value, summed in tree
        order (a cumulative sum is sequential, as the C loop is)."""
        values = self.value[self.leaves(x)]
        out = np.empty((x.shape[0], self.baseline.size))
        for k in range(self.baseline.size):
            column = np.hstack([np.full((x.shape[0], 1), self.baseline[k]), values[:, self.tree_class == k]])
            out[:, k] = np.cumsum(column, axis=1)[:, -1]
        return out


def softmax(scores: np.ndarray) -> np.ndarray:
    """Class probabilities from raw scores (rows x classes)."""
    z = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def export_sklearn(estimator: Any, n_classes: int) -> dict[str, Any]:
    """A fitted HistGradientBoostingClassifier as the node table ``TreeEnsemble.from_dict`` reads (plain
    lists of numbers: JSON keeps float64 thresholds and values exactly). Classes the training data lacked
    get a baseline of -30 and no trees. Used by the training script only."""
    classes = [int(c) for c in estimator.classes_]
    baseline = np.full(n_classes, -30.0)
    raw_baseline = np.asarray(estimator._baseline_prediction, dtype=float).reshape(-1)
    if len(classes) == 2:  # binary: one tree per round on the log-odds of classes[1]
        baseline[classes[0]], baseline[classes[1]] = 0.0, raw_baseline[0]
    else:
        baseline[classes] = raw_baseline
    feature, threshold, left, right, value, roots, tree_class = [], [], [], [], [], [], []
    max_depth = 0
    for round_predictors in estimator._predictors:
        for column, predictor in enumerate(round_predictors):
            offset = len(feature)
            roots.append(offset)
            tree_class.append(classes[1] if len(classes) == 2 else classes[column])
            for node in predictor.nodes:
                leaf = bool(node["is_leaf"])
                feature.append(-1 if leaf else int(node["feature_idx"]))
                threshold.append(0.0 if leaf else float(node["num_threshold"]))
                left.append(offset if leaf else offset + int(node["left"]))
                right.append(offset if leaf else offset + int(node["right"]))
                value.append(float(node["value"]) if leaf else 0.0)
                max_depth = max(max_depth, int(node["depth"]))
    return {
        "kind": "trees",
        "baseline": [float(v) for v in baseline],
        "max_depth": max_depth,
        "roots": roots,
        "tree_class": tree_class,
        "nodes": {
            "feature": feature,
            "threshold": threshold,
            "left": left,
            "right": right,
            "value": value,
        },
    }
