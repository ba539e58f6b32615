"""Tree scores: the compiled path (captionset/classify/_speedups.c) gives the numpy definition's bits, the
numpy definition gives a plain per-row walk's sums, and exported sklearn models predict as sklearn does."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from compiled_checks import CI, pure_python_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captionset.classify import trees
from captionset.classify.trees import (
    BLEND_MAX_CLASSES,
    TreeEnsemble,
    blend_probabilities,
    blend_probabilities_python,
    export_sklearn,
    softmax,
)


@pytest.fixture
def compiled() -> Any:
    """The extension module; skips without it, except under CI (the wheel must carry it)."""
    if not trees.COMPILED:
        if CI:
            pytest.fail(
                "the tree scores are not compiled (CI runs the installed wheel, which must carry them)"
            )
        pytest.skip("the C extension is not built (pip install -e . compiles it)")
    return trees._speedups


#: Both ways the extension scores shallow trees: AVX-512 bit vectors (where the CPU has them) and the walk.
SIMD_MODES = pytest.mark.parametrize("simd", [True, False], ids=["simd", "walk"])


@contextlib.contextmanager
def simd_mode(simd: bool) -> Iterator[None]:
    """The compiled trees with the AVX-512 scoring on or off (without the extension, nothing to switch)."""
    if not trees.COMPILED:
        yield
        return
    trees._speedups.tree_simd(simd)
    try:
        yield
    finally:
        trees._speedups.tree_simd(True)


def same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal bit for bit (assert_array_equal alone takes -0.0 for 0.0, and any NaN for any other)."""
    assert a.dtype == b.dtype == np.float64 and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))


def walk_scores(ensemble: TreeEnsemble, x: np.ndarray) -> np.ndarray:
    """The definition spelled out row by row: walk each tree to its leaf, add in tree order."""
    out = np.empty((x.shape[0], ensemble.baseline.size))
    for r in range(x.shape[0]):
        sums = [float(b) for b in ensemble.baseline]
        for root, k in zip(ensemble.roots, ensemble.tree_class, strict=True):
            node = int(root)
            while ensemble.feature[node] != -1:
                goes_left = x[r, ensemble.feature[node]] <= ensemble.threshold[node]
                node = int(ensemble.left[node] if goes_left else ensemble.right[node])
            sums[k] += float(ensemble.value[node])
        out[r] = sums
    return out


def assert_paths_agree(ensemble: TreeEnsemble, x: np.ndarray) -> np.ndarray:
    """raw_scores (compiled) equals raw_scores_python bit for bit; returns the scores."""
    assert ensemble._compiled is not None
    scores = ensemble.raw_scores(x)
    same_bits(scores, ensemble.raw_scores_python(x))
    return scores


def ensemble(
    nodes: list[tuple[int, float, int, int, float]],
    roots: list[int],
    tree_class: list[int],
    baseline: list[float],
    max_depth: int,
) -> TreeEnsemble:
    """An ensemble from rows (feature, threshold, left, right, value) of its node table."""
    feature, threshold, left, right, value = (list(column) for column in zip(*nodes, strict=True))
    return TreeEnsemble.from_dict(
        {
            "nodes": {
                "feature": feature,
                "threshold": threshold,
                "left": left,
                "right": right,
                "value": value,
            },
            "roots": roots,
            "tree_class": tree_class,
            "baseline": baseline,
            "max_depth": max_depth,
        }
    )


def stump(threshold: float, feature: int = 0, below: float = -1.0, above: float = 1.0) -> TreeEnsemble:
    """One split: ``below`` where x[:, feature] <= threshold, else ``above``; one class, baseline 0."""
    nodes = [(feature, threshold, 1, 2, 0.0), (-1, 0.0, 0, 0, below), (-1, 0.0, 0, 0, above)]
    return ensemble(nodes, [0], [0], [0.0], 1)


def both_paths(e: TreeEnsemble, x: np.ndarray) -> list[np.ndarray]:
    """The scores of every path there is here (numpy always, compiled when it is loaded)."""
    scores = [e.raw_scores_python(x), walk_scores(e, np.asarray(x, dtype=float))]
    if e._compiled is not None:
        scores.append(e.raw_scores(x))
    return scores


# --- exported scikit-learn models ------------------------------------------------------------------------


def fitted(n_classes: int, depth: int, *, present: tuple[int, ...] | None = None, rounds: int = 25) -> tuple:
    """A HistGradientBoostingClassifier fitted on random data (labels from a few of the features), and
    rows to score; fitted once per set of arguments."""
    pytest.importorskip("sklearn")
    return _fitted(n_classes, depth, present, rounds)


@functools.cache
def _fitted(n_classes: int, depth: int, present: tuple[int, ...] | None, rounds: int) -> tuple:
    from sklearn import ensemble as ensemble_module
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(depth * 10 + n_classes)
    x = rng.normal(size=(400, 12))
    x[:, 3] = np.round(x[:, 3])  # a feature with ties, so thresholds fall between repeated values
    labels = present if present is not None else list(range(n_classes))
    score = x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + 0.3 * x[:, 3] + 0.5 * rng.normal(size=400)
    y = np.array(labels)[np.digitize(score, np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1]))]
    estimator = ensemble_module.HistGradientBoostingClassifier(
        max_iter=rounds, max_depth=depth, learning_rate=0.3, early_stopping=False, random_state=0
    )
    with threadpool_limits(1):  # OpenMP threads spinning against pytest-xdist workers make fits slow
        estimator.fit(x, y)
    test = rng.normal(size=(57, 12))  # 57 rows: blocks of eight, of four and single rows
    test[:, 3] = np.round(test[:, 3])
    test[::5, 3] = 0.5  # exactly between two of its values
    return estimator, test


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_exported_sklearn_predicts_as_sklearn(n_classes, depth):
    estimator, x = fitted(n_classes, depth)
    data = json.loads(json.dumps(export_sklearn(estimator, n_classes)))  # as model.json keeps it
    e = TreeEnsemble.from_dict(data)
    assert e.max_depth <= depth
    np.testing.assert_allclose(softmax(e.raw_scores(x)), estimator.predict_proba(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        softmax(e.raw_scores_python(x)), estimator.predict_proba(x), rtol=0, atol=1e-12
    )


@SIMD_MODES
@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6])
def test_compiled_scores_equal_numpy_on_sklearn_models(compiled, n_classes, depth, simd):
    estimator, x = fitted(n_classes, depth)
    e = TreeEnsemble.from_dict(export_sklearn(estimator, n_classes))
    with simd_mode(simd):
        assert_paths_agree(e, x)
        for rows in range(10):  # every remainder of the blocks of eight rows
            assert_paths_agree(e, x[:rows])


@pytest.mark.parametrize("present", [(1, 3), (0, 2, 4)])
def test_classes_missing_from_training(compiled, present):
    estimator, x = fitted(5, 3, present=present)
    e = TreeEnsemble.from_dict(export_sklearn(estimator, 5))
    scores = assert_paths_agree(e, x)
    missing = [k for k in range(5) if k not in present]
    assert (scores[:, missing] == -30.0).all()
    assert (softmax(scores)[:, missing] < 1e-9).all()
    np.testing.assert_allclose(softmax(scores[:, present]), estimator.predict_proba(x), rtol=0, atol=1e-12)


def test_export_matches_sklearn_raw_scores():
    """Our sums are sklearn's own: the baseline plus the trees in the same order (bit for bit)."""
    estimator, x = fitted(5, 4)
    e = TreeEnsemble.from_dict(export_sklearn(estimator, 5))
    same_bits(e.raw_scores(x), np.ascontiguousarray(estimator.decision_function(x)))


# --- hand-made ensembles ----------------------------------------------------------------------------------


def test_single_leaf_tree():
    e = ensemble([(-1, 0.0, 0, 0, 0.25)], [0], [0], [0.5, -1.0], 0)
    assert e.n_features == 0
    for x in (np.zeros((3, 0)), np.ones((3, 4))):
        for scores in both_paths(e, x):
            same_bits(scores, np.array([[0.75, -1.0]] * 3))


def test_no_trees_scores_the_baseline():
    e = ensemble([(-1, 0.0, 0, 0, 0.0)], [], [], [-0.0, 2.0], 0)
    for scores in both_paths(e, np.zeros((2, 3))):
        same_bits(scores, np.array([[-0.0, 2.0]] * 2))


def test_no_rows():
    e = stump(0.0)
    for scores in both_paths(e, np.zeros((0, 1))):
        assert scores.shape == (0, 1)


def test_a_value_at_the_threshold_goes_left():
    x = np.array([[1.5], [np.nextafter(1.5, np.inf)], [np.nextafter(1.5, -np.inf)]])
    for scores in both_paths(stump(1.5), x):
        same_bits(scores, np.array([[-1.0], [1.0], [-1.0]]))


def test_signed_zeros_are_equal():
    x = np.array([[0.0], [-0.0], [5e-324], [-5e-324]])
    for threshold in (0.0, -0.0):
        for scores in both_paths(stump(threshold), x):
            same_bits(scores, np.array([[-1.0], [-1.0], [1.0], [-1.0]]))


def test_infinite_thresholds():
    x = np.array([[-np.inf], [-1e308], [0.0], [1e308], [np.inf], [np.nan]])
    for scores in both_paths(stump(np.inf), x):
        same_bits(scores, np.array([[-1.0]] * 5 + [[1.0]]))
    for scores in both_paths(stump(-np.inf), x):
        same_bits(scores, np.array([[-1.0]] + [[1.0]] * 5))


@SIMD_MODES
def test_nan_goes_right(simd):
    """NaN compares false with <=, so a NaN input goes right at every node (and a NaN threshold sends
    every row right); both paths agree. sklearn's learned side for missing values is not exported."""
    x = np.array([[np.nan], [0.0]])
    with simd_mode(simd):
        for scores in both_paths(stump(0.0), x):
            same_bits(scores, np.array([[1.0], [-1.0]]))
        for scores in both_paths(stump(np.nan), x):
            same_bits(scores, np.array([[1.0], [1.0]]))
        # Two levels: NaN right, then right again.
        nodes = [(0, 0.0, 1, 4, 0.0), (1, 0.0, 2, 3, 0.0), (-1, 0, 0, 0, 1.0), (-1, 0, 0, 0, 2.0)]
        nodes += [(1, 0.0, 5, 6, 0.0), (-1, 0, 0, 0, 3.0), (-1, 0, 0, 0, 4.0)]
        e = ensemble(nodes, [0], [0], [0.0], 2)
        x = np.array([[np.nan, np.nan], [np.nan, -1.0], [-1.0, np.nan], [-1.0, -1.0]])
        for scores in both_paths(e, x):
            same_bits(scores, np.array([[4.0], [3.0], [2.0], [1.0]]))


def full_tree(depth: int, feature_of: Any, threshold_of: Any) -> list[tuple[int, float, int, int, float]]:
    """A complete tree of `depth` levels, numbered depth first: inner node at (level, place) tests
    feature_of(level, place) <= threshold_of(level, place); leaf l (left to right) has the value l."""
    nodes: list[tuple[int, float, int, int, float]] = []

    def grow(level: int, place: int) -> int:
        i = len(nodes)
        if level == depth:
            nodes.append((-1, 0.0, i, i, float(place)))
            return i
        nodes.append((feature_of(level, place), threshold_of(level, place), 0, 0, 0.0))
        left, right = grow(level + 1, 2 * place), grow(level + 1, 2 * place + 1)
        nodes[i] = (*nodes[i][:2], left, right, 0.0)
        return i

    grow(0, 0)
    return nodes


@SIMD_MODES
@pytest.mark.parametrize("depth", [1, 4, 5, 6])
def test_every_leaf_of_a_full_tree_is_reached(simd, depth):
    """Rows that take each way down a full tree (feature = level, each row's bits its way) end on the leaf
    of that way, in every lane of a block: the leaf bits of the AVX-512 layout cover 2**5 leaves, a
    deeper tree is walked."""
    e = ensemble(
        full_tree(depth, lambda level, place: level, lambda level, place: 0.0), [0], [0], [0.0], depth
    )
    ways = np.arange(2**depth)
    x = np.array(
        [[1.0 if way >> (depth - 1 - level) & 1 else -1.0 for level in range(depth)] for way in ways]
    )
    with simd_mode(simd):
        for scores in both_paths(e, x):
            same_bits(scores, ways.astype(float).reshape(-1, 1))


def test_leaf_values_are_added_in_tree_order():
    """baseline 1, then 1e16, 1, -1e16: left to right the ones are lost (1e16 + 1 rounds to 1e16) and the
    sum is 0.0; any other order or a pairwise sum gives 2.0."""
    leaves = [(-1, 0.0, i, i, v) for i, v in enumerate([1e16, 1.0, -1e16])]
    e = ensemble(leaves, [0, 1, 2], [0, 0, 0], [1.0], 0)
    assert ((1.0 + 1e16) + 1.0) - 1e16 == 0.0
    for scores in both_paths(e, np.zeros((9, 1))):
        same_bits(scores, np.zeros((9, 1)))


def test_special_leaf_values_propagate():
    leaves = [(-1, 0.0, 0, 0, np.inf), (-1, 0.0, 1, 1, -np.inf), (-1, 0.0, 2, 2, np.nan), (-1, 0, 3, 3, -0.0)]
    e = ensemble(leaves, [0, 1, 2, 3, 3], [0, 1, 2, 3, 4], [0.0, 0.0, 0.0, -0.0, -0.0], 0)
    scores = both_paths(e, np.zeros((2, 1)))
    for s in scores[1:]:
        same_bits(s, scores[0])
    assert np.isinf(scores[0][0, 0]) and math.copysign(1, scores[0][0, 3]) == -1


def test_deep_and_uneven_trees():
    """A chain 40 deep (a leaf on the left at every level) next to a stump, in two classes."""
    nodes: list[tuple[int, float, int, int, float]] = []
    for level in range(40):
        i = len(nodes)
        nodes.append((level % 3, level / 40 - 0.5, i + 1, i + 2, 0.0))
        nodes.append((-1, 0.0, 0, 0, float(level)))
    nodes.append((-1, 0.0, 0, 0, 99.0))
    offset = len(nodes)
    nodes += [(1, 0.0, offset + 1, offset + 2, 0.0), (-1, 0.0, 0, 0, -1.0), (-1, 0.0, 0, 0, 1.0)]
    e = ensemble(nodes, [0, offset, 0], [1, 0, 1], [0.0, 0.5], 40)
    x = np.random.default_rng(1).uniform(-0.6, 0.6, size=(50, 3))
    x[::7] = np.inf  # all the way down
    expected = walk_scores(e, x)
    assert (expected[::7, 1] == 0.5 + 99.0 + 99.0).all()
    for scores in both_paths(e, x):
        same_bits(scores, expected)


def test_shared_subtrees():
    """Nodes may be shared (by two parents, or two trees): the table need only be acyclic."""
    nodes = [
        (0, 0.0, 1, 2, 0.0),
        (1, 0.0, 2, 3, 0.0),
        (1, 1.0, 3, 4, 0.0),
        (-1, 0, 0, 0, 5.0),
        (-1, 0, 0, 0, 7.0),
    ]
    e = ensemble(nodes, [0, 1, 2], [0, 1, 0], [0.0, 0.0], 3)
    x = np.array([[-1.0, -1.0], [-1.0, 0.5], [1.0, 0.5], [1.0, 2.0], [np.nan, np.nan]])
    expected = walk_scores(e, x)
    for scores in both_paths(e, x):
        same_bits(scores, expected)


def test_inputs_are_converted():
    e = stump(0.5, feature=1)
    x = np.array([[0, 1, 2], [3, 0, 5]])
    expected = np.array([[1.0], [-1.0]])
    wide = np.zeros((2, 6))
    wide[:, ::2] = x
    variants = (
        x,
        x.astype(np.float32),
        np.asfortranarray(x, dtype=float),
        x[:, :2],
        wide[:, ::2],
        x.tolist(),
    )
    for variant in variants:
        same_bits(e.raw_scores(variant), expected)
        same_bits(e.raw_scores_python(variant), expected)


def test_arrays_are_copied_and_read_only():
    feature = np.array([0, -1, -1])
    e = TreeEnsemble(
        feature=feature,
        threshold=np.zeros(3),
        left=np.array([1, 0, 0]),
        right=np.array([2, 0, 0]),
        value=np.array([0.0, -1.0, 1.0]),
        roots=np.array([0]),
        tree_class=np.array([0]),
        baseline=np.zeros(1),
        max_depth=1,
    )
    feature[0] = 5  # the caller's array, not the ensemble's
    assert e.feature[0] == 0
    with pytest.raises(ValueError):
        e.threshold[0] = 1.0
    same_bits(e.raw_scores(np.array([[1.0]])), np.array([[1.0]]))


def test_pickles():
    e = stump(0.5)
    copy = pickle.loads(pickle.dumps(e))
    assert (copy._compiled is None) == (e._compiled is None)
    x = np.array([[0.0], [1.0]])
    same_bits(copy.raw_scores(x), e.raw_scores(x))


def test_scores_from_threads(compiled):
    """The GIL is let go while scoring: threads scoring at once get the same scores."""
    estimator, x = fitted(5, 5, rounds=60)
    e = TreeEnsemble.from_dict(export_sklearn(estimator, 5))
    big = np.tile(x, (4, 1))
    expected = e.raw_scores_python(big)
    results: list[np.ndarray] = []

    def score() -> None:
        for _ in range(20):
            results.append(e.raw_scores(big))

    workers = [threading.Thread(target=score) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 80
    for scores in results:
        same_bits(scores, expected)


# --- bad input --------------------------------------------------------------------------------------------


def table(**changes: Any) -> dict[str, Any]:
    """A valid two-tree table (a stump and a leaf), with some of its arrays changed."""
    data: dict[str, Any] = {
        "feature": [0, -1, -1, -1],
        "threshold": [0.5, 0.0, 0.0, 0.0],
        "left": [1, 0, 0, 3],
        "right": [2, 0, 0, 3],
        "value": [0.0, -1.0, 1.0, 2.0],
        "roots": [0, 3],
        "tree_class": [0, 1],
        "baseline": [0.0, 0.0],
    }
    data.update(changes)
    return data


def build(**changes: Any) -> TreeEnsemble:
    data = table(**changes)
    max_depth = data.pop("max_depth", 1)
    return TreeEnsemble(**{name: np.asarray(v) for name, v in data.items()}, max_depth=max_depth)


def c_arrays(data: dict[str, Any]) -> list[np.ndarray]:
    """tree_model's arguments, each in the dtype it takes (unless a test gave an array of its own)."""
    names = ("feature", "threshold", "left", "right", "value", "roots", "tree_class", "baseline")
    floats = ("threshold", "value", "baseline")
    return [
        data[n]
        if isinstance(data[n], np.ndarray)
        else np.array(data[n], dtype=float if n in floats else np.int64)
        for n in names
    ]


BAD_TABLES = {
    "feature below -1": dict(feature=[-2, -1, -1, -1]),
    "feature too large": dict(feature=[2**31, -1, -1, -1]),
    "left child before its parent (a cycle)": dict(left=[0, 0, 0, 3]),
    "right child past the end": dict(right=[4, 0, 0, 3]),
    "negative child": dict(left=[-1, 0, 0, 3]),
    "root past the end": dict(roots=[0, 4]),
    "negative root": dict(roots=[-1, 3]),
    "class past the end": dict(tree_class=[0, 2]),
    "negative class": dict(tree_class=[-1, 0]),
    "threshold too short": dict(threshold=[0.5, 0.0, 0.0]),
    "value too long": dict(value=[0.0, -1.0, 1.0, 2.0, 3.0]),
    "tree_class too short": dict(tree_class=[0]),
    "no nodes": dict(feature=[], threshold=[], left=[], right=[], value=[], roots=[], tree_class=[]),
    "no classes": dict(baseline=[], tree_class=[0, 0]),
}


@pytest.mark.parametrize("changes", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_tables_are_refused(changes):
    with pytest.raises(ValueError):
        build(**changes)


@pytest.mark.parametrize("changes", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_tables_are_refused_by_the_extension(compiled, changes):
    """The C function checks for itself (it must never read out of bounds whoever calls it)."""
    with pytest.raises(ValueError):
        compiled.tree_model(*c_arrays(table(**changes)))


def test_max_depth_must_cover_the_trees():
    build(max_depth=1)
    with pytest.raises(ValueError, match="max_depth"):
        build(max_depth=0)


@pytest.mark.parametrize(
    "name, array",
    [
        ("feature", np.array([0.0, -1.0, -1.0, -1.0])),  # float, not int64
        ("left", np.array([1, 0, 0, 3], dtype=np.int32)),
        ("roots", np.array([0, 3], dtype=np.uint64)),
        ("threshold", np.array([0.5, 0.0, 0.0, 0.0], dtype=np.float32)),
        ("value", np.array([0, -1, 1, 2])),  # int, not float64
        ("baseline", np.zeros((1, 2))),  # 2-D
        ("feature", np.array([0, 9, -1, 9, -1, 9, -1, 9])[::2]),  # not contiguous
    ],
)
def test_the_extension_takes_exact_dtypes_and_shapes(compiled, name, array):
    compiled.tree_model(*c_arrays(table()))  # the valid table
    with pytest.raises(ValueError):
        compiled.tree_model(*c_arrays(table(**{name: array})))


@pytest.mark.parametrize(
    "name, data",
    [
        ("feature", [0.0, -1.0, -1.0, -1.0]),  # floats for indices
        ("left", np.array([1, 0, 0, 3], dtype=np.uint64)),  # no exact int64
        ("threshold", ["a", "b", "c", "d"]),
        ("roots", [[0, 3]]),  # 2-D
    ],
)
def test_bad_dtypes_and_shapes_are_refused(name, data):
    with pytest.raises(ValueError):
        build(**{name: data})


def test_bad_scoring_inputs(compiled):
    e = build()
    m = e._compiled
    good_x, good_out = np.zeros((3, 2)), np.empty((3, 2))
    compiled.tree_scores(m, good_x, good_out)
    for x in (np.zeros((3, 2), dtype=np.float32), np.zeros(6), np.zeros((3, 0)), np.zeros((3, 4))[:, ::2]):
        with pytest.raises(ValueError):
            compiled.tree_scores(m, x, good_out)
    read_only = np.empty((3, 2))
    read_only.flags.writeable = False
    for out in (np.empty((3, 1)), np.empty((2, 2)), np.empty((3, 2), dtype=np.float32), read_only):
        with pytest.raises(ValueError):
            compiled.tree_scores(m, good_x, out)
    memory = np.zeros(12)
    with pytest.raises(ValueError, match="overlap"):
        compiled.tree_scores(m, memory[:6].reshape(3, 2), memory[4:10].reshape(3, 2))
    with pytest.raises(TypeError):
        compiled.tree_scores(object(), good_x, good_out)
    with pytest.raises(TypeError):
        compiled.tree_scores(m, [[0.0, 0.0]], good_out)
    for x in (np.zeros(3), np.zeros((3, 0))):
        with pytest.raises(ValueError):
            e.raw_scores(x)
        with pytest.raises(ValueError):
            e.raw_scores_python(x)


# --- generated ensembles ----------------------------------------------------------------------------------

#: Values that make ties and the special cases likely: thresholds and inputs are drawn from the same few.
SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.0, np.inf, -np.inf, 5e-324, 1e300]


#: Inputs and thresholds: the special values, ordinary ones and any float at all.
NUMBERS = st.one_of(
    st.sampled_from(SPECIAL), st.floats(-2, 2), st.floats(allow_nan=True, allow_infinity=True)
)


@st.composite
def ensembles_and_inputs(draw: Any) -> tuple[TreeEnsemble, np.ndarray]:
    n_features = draw(st.integers(1, 4))
    n_classes = draw(st.integers(1, 4))
    e = draw_ensemble(draw, n_features, n_classes)
    rows = draw(st.integers(0, 19))
    cells = draw(st.lists(NUMBERS, min_size=rows * n_features, max_size=rows * n_features))
    return e, np.array(cells, dtype=float).reshape(rows, n_features)


def draw_ensemble(draw: Any, n_features: int, n_classes: int, max_depth: int = 6) -> TreeEnsemble:
    """A random ensemble: trees of up to max_depth levels, leaves at any depth."""
    numbers = NUMBERS
    # Leaf values: infinities too (inf - inf makes the one default NaN), but no NaN payloads of their own,
    # whose order in an addition the hardware may pick differently from numpy's.
    leaf_values = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.inf, -np.inf, 1e308, -1e308, -0.0]))
    nodes: list[list[Any]] = []

    def grow(depth: int) -> int:
        i = len(nodes)
        if depth == 0 or draw(st.integers(0, 3)) == 0:
            nodes.append([-1, 0.0, i, i, draw(leaf_values)])
            return i
        nodes.append([draw(st.integers(0, n_features - 1)), draw(numbers), 0, 0, 0.0])
        nodes[i][2] = grow(depth - 1)
        nodes[i][3] = grow(depth - 1)
        return i

    roots, depths = [], []
    for _ in range(draw(st.integers(0, 12))):
        depth = draw(st.integers(0, max_depth))
        roots.append(grow(depth))
        depths.append(depth)
    if not nodes:
        nodes.append([-1, 0.0, 0, 0, 0.0])
    tree_class = [draw(st.integers(0, n_classes - 1)) for _ in roots]
    baseline = draw(st.lists(st.floats(-10, 10), min_size=n_classes, max_size=n_classes))
    return ensemble([tuple(n) for n in nodes], roots, tree_class, baseline, max(depths, default=0))


@SIMD_MODES
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ensembles_and_inputs())
def test_generated_ensembles_agree(simd, case):
    e, x = case
    # numpy's warnings for inf - inf and overflow
    with simd_mode(simd), np.errstate(over="ignore", invalid="ignore"):
        scores = both_paths(e, x)
    for s in scores[1:]:
        same_bits(s, scores[0])


# --- blends of bagged ensembles ---------------------------------------------------------------------------


@st.composite
def blends_and_inputs(draw: Any) -> tuple[list[TreeEnsemble], np.ndarray]:
    """A few ensembles over the same features and classes (a bagged stage), and rows to score."""
    n_features = draw(st.integers(1, 4))
    n_classes = draw(st.integers(1, BLEND_MAX_CLASSES + 1))
    parts = [draw_ensemble(draw, n_features, n_classes, 4) for _ in range(draw(st.integers(1, 3)))]
    rows = draw(st.integers(0, 19))
    finite = st.one_of(st.sampled_from([0.0, -0.0, 0.5, -0.5, 1.0, 5e-324]), st.floats(-2, 2))
    cells = draw(st.lists(finite, min_size=rows * n_features, max_size=rows * n_features))
    return parts, np.array(cells, dtype=float).reshape(rows, n_features)


@SIMD_MODES
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blends_and_inputs())
def test_blends_equal_their_definition(simd, case):
    """The compiled blend (both ensembles in one pass, numpy's exp between two calls) gives the bits of
    sum(softmax(...)) / count, for every number of classes (at BLEND_MAX_CLASSES and up it is that sum)."""
    parts, x = case
    with simd_mode(simd), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        expected = blend_probabilities_python(parts, x)
        manual = sum(softmax(e.raw_scores_python(x)) for e in parts) / len(parts)
        got = blend_probabilities(parts, x)
    same_bits(expected, manual)
    same_bits(got, expected)


@SIMD_MODES
@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("depth", [1, 4, 5])
def test_blends_of_sklearn_models(compiled, n_classes, depth, simd):
    estimator, x = fitted(n_classes, depth)
    other, _ = fitted(n_classes, depth, rounds=20)
    parts = [TreeEnsemble.from_dict(export_sklearn(m, n_classes)) for m in (estimator, other)]
    with simd_mode(simd):
        for rows in (0, 1, 3, 4, 5, 8, 9, 57):
            same_bits(blend_probabilities(parts, x[:rows]), blend_probabilities_python(parts, x[:rows]))


@SIMD_MODES
def test_shipped_model_scores_the_corpus_as_numpy_does(compiled, simd):
    """Both stages of the shipped model over the features of every article of the shipped corpus: the
    compiled blend (AVX-512 or walked) gives the definition's bits."""
    from captionset.classify.classifier import load_model, stage2_rows
    from captionset.classify.features import article_features
    from captionset.corpus import default_corpus_dir
    from captionset.segment import segment

    model = load_model()
    stages = [
        [TreeEnsemble.from_dict(part) for part in model[name]["parts"]] for name in ("stage1", "stage2")
    ]
    paths: list[Path] = sorted(default_corpus_dir().glob("*.txt"))
    assert paths
    with simd_mode(simd):
        for path in paths:
            x, endings = article_features([b.text for b in segment(path.read_text())])
            probs = blend_probabilities(stages[0], x)
            same_bits(probs, blend_probabilities_python(stages[0], x))
            x2 = stage2_rows(x, probs, endings)
            same_bits(blend_probabilities(stages[1], x2), blend_probabilities_python(stages[1], x2))


def test_simd_switch(compiled):
    """tree_simd says whether the AVX-512 scoring is used: never while switched off."""
    assert compiled.tree_simd(False) is False
    assert isinstance(compiled.tree_simd(True), bool)


def test_a_blend_needs_an_ensemble():
    with pytest.raises(ValueError):
        blend_probabilities([], np.zeros((1, 1)))


def test_bad_blend_inputs(compiled):
    e, other = build(), stump(0.0)  # two classes, one class
    models = (e._compiled, e._compiled)
    x, z = np.zeros((3, 2)), np.empty((2, 3, 2))
    compiled.tree_logits(models, x, z)
    for bad in ([e._compiled], (), (e._compiled, object()), (e._compiled, other._compiled)):
        with pytest.raises((TypeError, ValueError)):
            compiled.tree_logits(bad, x, z)
    for bad_z in (np.empty((1, 3, 2)), np.empty((2, 3, 1)), np.empty((2, 2, 2)), np.empty((6, 2))):
        with pytest.raises(ValueError):
            compiled.tree_logits(models, x, bad_z)
    with pytest.raises(ValueError):
        compiled.tree_logits(models, np.zeros((3, 0)), z)
    memory = np.zeros(20)
    with pytest.raises(ValueError, match="overlap"):
        compiled.tree_logits(models, memory[:6].reshape(3, 2), memory[4:16].reshape(2, 3, 2))
    out = np.empty((3, 2))
    compiled.tree_blend(z, out)
    for bad_e, bad_out in (
        (np.empty((2, 3, BLEND_MAX_CLASSES)), np.empty((3, BLEND_MAX_CLASSES))),
        (np.empty((0, 3, 2)), out),
        (z, np.empty((3, 3))),
        (z, np.empty((2, 2))),
    ):
        with pytest.raises(ValueError):
            compiled.tree_blend(bad_e, bad_out)
    with pytest.raises(ValueError, match="overlap"):
        compiled.tree_blend(memory[:12].reshape(2, 3, 2), memory[6:12].reshape(3, 2))


# --- the switch -------------------------------------------------------------------------------------------


def test_pure_python_switch_turns_the_compiled_trees_off():
    code = "from captionset.classify import trees; print(trees.COMPILED)"
    assert pure_python_output(code) == "False"


def test_ci_scores_trees_compiled():
    if not CI:
        pytest.skip("CI only: a developer's checkout may run without the extension")
    assert trees.COMPILED, "the installed extension has no tree_scores"
