"""Gradient-boosted decision trees at run time: the model's trees as flat arrays, evaluated without sklearn.

``scripts/train_classifier.py`` fits the trees with scikit-learn's HistGradientBoostingClassifier and writes
them into ``model.json`` as one node table per stage (all trees end to end). Here they are scored with
numpy, or with the C extension when it is built (the same sums in the same order, so both give the same
bits). A row goes left at a node when its feature value is ``<=`` the node's threshold, as in sklearn; a
NaN compares false, so it always goes right (sklearn's learned side for missing values is not exported).

A stage of bagged models (``blend_probabilities``) is compiled as one pass over both ensembles, numpy's
exp, and one call that normalises and averages: the operations of ``blend_probabilities_python``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .compiled import import_speedups


def _load_speedups() -> ModuleType | None:
    """The C extension when it is built and has the tree functions; None under CAPTIONSET_PURE_PYTHON=1."""
    module = import_speedups()
    if module is None:
        return None
    if not all(hasattr(module, name) for name in ("tree_model", "tree_scores", "tree_logits", "tree_blend")):
        return None  # an extension built before the trees were added
    return module


_speedups = _load_speedups()
#: Are the trees scored by the C extension?
COMPILED = _speedups is not None

_INT_FIELDS = ("feature", "left", "right", "roots", "tree_class")
_FLOAT_FIELDS = ("threshold", "value", "baseline")


def _frozen_array(name: str, data: Any, dtype: type) -> np.ndarray:
    """data as a read-only C-contiguous 1-D array of its own (int64 or float64), without a lossy cast."""
    array = np.asarray(data)
    if array.size == 0:
        array = array.astype(dtype)  # np.asarray([]) is float64
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {array.shape}")
    if dtype is np.int64 and array.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integers, got {array.dtype}")
    if not np.can_cast(array.dtype, dtype, casting="safe"):
        raise ValueError(f"{name}: {array.dtype} does not convert to {np.dtype(dtype)} exactly")
    array = np.array(array, dtype=dtype, order="C", copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class TreeEnsemble:
    """One stage's trees: node arrays (leaves have feature -1), each tree's root and class column.

    An inner node's children come after it (sklearn numbers nodes depth first), so no walk can loop; a
    leaf's left and right are not used. The arrays are checked and copied (read-only) at construction,
    and compiled for the C extension when it is loaded."""

    feature: np.ndarray  # int64, per node
    threshold: np.ndarray  # float64, per node
    left: np.ndarray  # int64, per node (absolute node index)
    right: np.ndarray  # int64, per node
    value: np.ndarray  # float64, per node (leaves only)
    roots: np.ndarray  # int64, per tree
    tree_class: np.ndarray  # int64, per tree
    baseline: np.ndarray  # float64, per class
    max_depth: int
    #: Columns x must have: the largest feature index tested, plus one.
    n_features: int = field(init=False, repr=False, compare=False)
    _compiled: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _INT_FIELDS:
            object.__setattr__(self, name, _frozen_array(name, getattr(self, name), np.int64))
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, _frozen_array(name, getattr(self, name), np.float64))
        object.__setattr__(self, "max_depth", int(self.max_depth))
        object.__setattr__(self, "n_features", self._check())
        compiled = None
        if _speedups is not None:
            compiled = _speedups.tree_model(
                self.feature,
                self.threshold,
                self.left,
                self.right,
                self.value,
                self.roots,
                self.tree_class,
                self.baseline,
            )
        object.__setattr__(self, "_compiled", compiled)

    def _check(self) -> int:
        """Raises ValueError unless the arrays form trees both paths can walk; returns n_features."""
        n = self.feature.size
        for name in ("threshold", "left", "right", "value"):
            if getattr(self, name).size != n:
                raise ValueError(f"{name} has {getattr(self, name).size} nodes, feature has {n}")
        if self.tree_class.size != self.roots.size:
            raise ValueError(f"tree_class has {self.tree_class.size} trees, roots has {self.roots.size}")
        if n == 0 or self.baseline.size == 0:
            raise ValueError("a tree ensemble needs at least one node and one class")
        if n > np.iinfo(np.int32).max:
            raise ValueError(f"{n} nodes: at most {np.iinfo(np.int32).max}")
        index = np.arange(n)
        inner = self.feature != -1
        bad = np.flatnonzero(inner & ((self.feature < 0) | (self.feature >= np.iinfo(np.int32).max)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"feature[{i}] = {self.feature[i]}: expected -1 (a leaf) or a column index")
        for name in ("left", "right"):
            child = getattr(self, name)
            bad = np.flatnonzero(inner & ((child <= index) | (child >= n)))
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"{name}[{i}] = {child[i]}: an inner node's children must come after it ({i + 1} to {n - 1})"
                )
        bad = np.flatnonzero((self.roots < 0) | (self.roots >= n))
        if bad.size:
            t = int(bad[0])
            raise ValueError(f"roots[{t}] = {self.roots[t]}: not a node (0 to {n - 1})")
        bad = np.flatnonzero((self.tree_class < 0) | (self.tree_class >= self.baseline.size))
        if bad.size:
            t = int(bad[0])
            raise ValueError(
                f"tree_class[{t}] = {self.tree_class[t]}: not a class (0 to {self.baseline.size - 1})"
            )
        # Each node's height (steps down to its deepest leaf), level by level: children come later, so
        # this settles after (the tallest height + 1) rounds.
        left, right = np.where(inner, self.left, index), np.where(inner, self.right, index)
        height = np.zeros(n, dtype=np.int64)
        while True:
            taller = np.where(inner, 1 + np.maximum(height[left], height[right]), 0)
            if np.array_equal(taller, height):
                break
            height = taller
        tallest = int(height[self.roots].max(initial=0))
        if tallest > self.max_depth:
            raise ValueError(f"max_depth = {self.max_depth}, but a tree is {tallest} deep")
        return int(self.feature.max()) + 1 if inner.any() else 0

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its arrays (the compiled model is rebuilt on loading)."""
        arrays = (self.feature, self.threshold, self.left, self.right, self.value, self.roots)
        return (type(self), (*arrays, self.tree_class, self.baseline, self.max_depth))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeEnsemble:
        """The ensemble of a model.json stage (as ``export_sklearn`` writes it)."""
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

    def _checked_x(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"x: expected a 2-D array (rows x features), got shape {x.shape}")
        if x.shape[1] < self.n_features:
            raise ValueError(f"x has {x.shape[1]} columns, the trees test column {self.n_features - 1}")
        return x

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree (rows x trees), all trees walked at once."""
        x = self._checked_x(x)
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
        """Per-class raw scores (rows x classes), compiled when the extension is loaded: the same bits as
        ``raw_scores_python``."""
        if self._compiled is None:
            return self.raw_scores_python(x)
        x = self._checked_x(x)
        out = np.empty((x.shape[0], self.baseline.size))
        _speedups.tree_scores(self._compiled, x, out)
        return out

    def raw_scores_python(self, x: np.ndarray) -> np.ndarray:
        """Per-class raw scores (rows x classes): the baseline plus each tree's leaf value, summed in tree
        order (a cumulative sum is sequential, as the C loop is). The definition of ``raw_scores``."""
        values = self.value[self.leaves(x)]
        out = np.empty((values.shape[0], self.baseline.size))
        for k in range(self.baseline.size):
            column = np.hstack(
                [np.full((values.shape[0], 1), self.baseline[k]), values[:, self.tree_class == k]]
            )
            out[:, k] = np.cumsum(column, axis=1)[:, -1]
        return out


def softmax(scores: np.ndarray) -> np.ndarray:
    """Class probabilities from raw scores (rows x classes)."""
    z = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


#: numpy sums a row of fewer classes than this left to right (a longer one pairwise): the compiled blend
#: adds as numpy does only below it.
BLEND_MAX_CLASSES = 8


def blend_probabilities(ensembles: Sequence[TreeEnsemble], x: np.ndarray) -> np.ndarray:
    """The mean of the ensembles' softmax probabilities (rows x classes; a stage of bagged trees), the bits
    of ``blend_probabilities_python``. Compiled, it is two calls around one np.exp (numpy's exp, so the
    bits do not depend on the C library's) instead of a dozen numpy operations per ensemble."""
    if not ensembles:
        raise ValueError("a blend needs at least one tree ensemble")
    classes = ensembles[0].baseline.size
    models = tuple(e._compiled for e in ensembles)
    if (
        any(model is None for model in models)
        or classes >= BLEND_MAX_CLASSES
        or any(e.baseline.size != classes for e in ensembles)
    ):
        return blend_probabilities_python(ensembles, x)
    for e in ensembles:
        x = e._checked_x(x)
    z = np.empty((len(models), x.shape[0], classes))
    if not _speedups.tree_logits(models, x, z):
        # A score that is not finite: numpy's own softmax, whose NaN signs the C code does not copy.
        return blend_probabilities_python(ensembles, x)
    np.exp(z, out=z)
    out = np.empty((x.shape[0], classes))
    _speedups.tree_blend(z, out)
    return out


def blend_probabilities_python(ensembles: Sequence[TreeEnsemble], x: np.ndarray) -> np.ndarray:
    """The definition of ``blend_probabilities``: each ensemble's softmax, added in order, over their count."""
    return sum(softmax(e.raw_scores_python(x)) for e in ensembles) / len(ensembles)


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
