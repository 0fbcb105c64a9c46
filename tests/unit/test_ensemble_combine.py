"""Ensemble combination rules, fitting/applying, stratified folds and cross-fitting (NumPy only)."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.ensemble.combine import (
    ALL_METHODS,
    COMBINERS,
    EXPO_Q_GRID,
    FittedCombiner,
    cross_fit,
    fit_combiner,
    resolve_methods,
    score_methods,
    stratified_folds,
)
from ferkit.errors import ConfigError, UnknownNameError


def _noisy_members(accs=(0.9, 0.6, 0.4), n=300, c=4, seed=0):
    """Members that are right with probability ``acc`` (confident on their argmax)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    probs = []
    for a in accs:
        right = rng.random(n) < a
        pred = np.where(right, y, (y + rng.integers(1, c, n)) % c)
        p = rng.dirichlet(np.ones(c), n) * 0.3
        p[np.arange(n), pred] += 0.7
        probs.append(p / p.sum(1, keepdims=True))
    return np.stack(probs), y


def test_registry_has_the_five_rules_and_all_expands():
    assert set(COMBINERS.names()) == set(ALL_METHODS)
    assert resolve_methods("all") == ["mean", "vote", "accuracy", "expo", "class"]
    with pytest.raises(UnknownNameError, match="did you mean 'mean'"):
        resolve_methods("meen")


def test_mean_is_the_average_of_member_probabilities():
    probs, _ = _noisy_members()
    np.testing.assert_allclose(FittedCombiner("mean").apply(probs), probs.mean(0))


def test_vote_is_plurality_with_probability_tie_break():
    # 3 classes, 4 members: sample 0 votes 2:2 between classes 0 and 1, class 1 has more mass;
    # sample 1 has a clear plurality for class 2 although class 0 has more summed probability.
    p = np.array([
        [[0.51, 0.49, 0.0], [0.01, 0.0, 0.99]],
        [[0.52, 0.48, 0.0], [0.01, 0.0, 0.99]],
        [[0.10, 0.90, 0.0], [0.0, 0.0, 1.0]],
        [[0.05, 0.95, 0.0], [1.0, 0.0, 0.0]],
    ])
    pred = FittedCombiner("vote").predict(p)
    assert pred.tolist() == [1, 2]
    # without the tie, the vote wins against a confident minority
    p2 = p.copy()
    p2[3, 0] = [0.9, 0.1, 0.0]
    assert FittedCombiner("vote").predict(p2)[0] == 0


def test_accuracy_weights_are_normalised_member_accuracies():
    probs, y = _noisy_members()
    fc = fit_combiner("accuracy", probs, y)
    acc = (probs.argmax(2) == y).mean(1)
    np.testing.assert_allclose(fc.weights, acc / acc.sum())
    np.testing.assert_allclose(fc.apply(probs), np.einsum("m,mnc->nc", fc.weights, probs))


def test_expo_q_zero_is_mean_and_fit_picks_a_grid_q_no_worse_than_mean():
    probs, y = _noisy_members(accs=(0.95, 0.35, 0.3, 0.3))
    flat = FittedCombiner("expo", np.full(4, 0.25), 0.0)
    np.testing.assert_allclose(flat.apply(probs), probs.mean(0))
    fc = fit_combiner("expo", probs, y)
    assert fc.q in EXPO_Q_GRID and fc.q > 0
    assert fc.weights.argmax() == 0 and fc.weights.sum() == pytest.approx(1.0)
    assert (fc.predict(probs) == y).mean() >= (probs.mean(0).argmax(1) == y).mean()


def test_class_weights_follow_per_class_recall():
    # member 0 is perfect on class 0 only, member 1 perfect on class 1 only
    y = np.array([0, 0, 1, 1])
    m0 = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])  # always predicts 0
    m1 = np.array([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])  # always predicts 1
    fc = fit_combiner("class", np.stack([m0, m1]), y)
    np.testing.assert_allclose(fc.weights, [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(fc.weights.sum(0), 1.0)
    assert fc.to_dict()["weights"] == [[1.0, 0.0], [0.0, 1.0]]


def test_fitted_combiner_applies_to_new_data():
    probs, y = _noisy_members(n=400, seed=3)
    fc = fit_combiner("accuracy", probs[:, :200], y[:200])
    out = fc.apply(probs[:, 200:])
    assert out.shape == (200, 4)
    np.testing.assert_allclose(out.sum(1), 1.0)


def test_stratified_folds_partition_and_balance_every_class():
    y = np.repeat(np.arange(5), [10, 11, 3, 40, 1])
    folds = stratified_folds(y, 2, seed=7)
    both = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(both, np.arange(len(y)))
    for k in range(5):
        n0, n1 = ((y[f] == k).sum() for f in folds)
        assert abs(n0 - n1) <= 1
    again = stratified_folds(y, 2, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    other = stratified_folds(y, 2, seed=8)
    assert not np.array_equal(folds[0], other[0])


def test_cross_fit_predicts_each_fold_with_weights_fitted_on_the_other():
    probs, y = _noisy_members(n=200, seed=5)
    out = cross_fit("class", probs, y, seed=1)
    f0, f1 = stratified_folds(y, 2, seed=1)
    np.testing.assert_allclose(out[f1], fit_combiner("class", probs[:, f0], y[f0]).apply(
        probs[:, f1]))
    np.testing.assert_allclose(out[f0], fit_combiner("class", probs[:, f1], y[f1]).apply(
        probs[:, f0]))
    # an unfitted rule needs no folds
    np.testing.assert_allclose(cross_fit("mean", probs, y), probs.mean(0))


def test_score_methods_marks_fitted_rules_as_cross_fitted():
    probs, y = _noisy_members()
    res = {r.method: r for r in score_methods(probs, y, resolve_methods("all"),
                                              label_names=list("abcd"))}
    assert not res["mean"].cross_fitted and not res["vote"].cross_fitted
    assert res["accuracy"].cross_fitted and res["expo"].cross_fitted and res["class"].cross_fitted
    assert all(0 <= r.accuracy <= 1 for r in res.values())
    assert sum(map(sum, res["mean"].confusion_matrix)) == len(y)
    # three members right 90/60/40%: the average beats the mean member
    assert res["mean"].accuracy > (probs.argmax(2) == y).mean()


def test_bad_shapes_are_config_errors():
    with pytest.raises(ConfigError, match="members, samples, classes"):
        FittedCombiner("mean").apply(np.zeros((3, 4)))
    with pytest.raises(ConfigError, match="labels"):
        fit_combiner("accuracy", np.zeros((2, 4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ConfigError, match="at least 2 folds"):
        cross_fit("class", np.zeros((2, 4, 3)), np.zeros(4, dtype=int), n_folds=1)
