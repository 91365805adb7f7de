"""AUC uncertainty: DeLong by hand, OR/Hillis multi-reader analysis against the field's programs,
and the case bootstrap's properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dermstudy.analysis import roc
from tests.conftest import DATA

# Copies of ../shared/mrmc/{vandyke,franken}.csv with their provenance (tests/data/mrmc/PROVENANCE.md)
MRMC = DATA / "mrmc"


def test_delong_by_hand():
    # positives 0.9, 0.6; negatives 0.7, 0.2. V10 = [1, 0.5], V01 = [0.5, 1].
    y = np.array([1, 1, 0, 0])
    s = np.array([0.9, 0.6, 0.7, 0.2])
    auc, v10, v01 = roc.delong_components(y, s)
    assert auc == pytest.approx(0.75)
    assert v10.tolist() == [1.0, 0.5]
    assert v01.tolist() == [0.5, 1.0]
    auc, var, low, high = roc.delong_auc_ci(y, s)
    assert var == pytest.approx(0.125 / 2 + 0.125 / 2)
    assert low == pytest.approx(max(0.0, 0.75 - 1.959964 * np.sqrt(0.125)), abs=1e-6)
    assert high == 1.0  # clipped


def test_delong_ties_count_half_and_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = rng.integers(1, 6, 60)  # heavy ties, like a 5-point scale
    auc, v10, v01 = roc.delong_components(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s))
    assert v10.mean() == pytest.approx(auc)
    assert v01.mean() == pytest.approx(auc)


def _modality(path, modality):
    data = pd.read_csv(path)
    data = data[data["modality"] == modality]
    wide = data.pivot(index="case", columns="reader", values="rating").sort_index()
    truth = data.drop_duplicates("case").set_index("case")["truth"].loc[wide.index]
    return truth.to_numpy(), wide.to_numpy().T


@pytest.mark.parametrize(
    ("modality", "auc", "se", "df", "low", "high", "fixed_se"),
    [
        # Iowa OR-DBM MRMC 2.51 on VanDyke.lrc, parts 1(c) and 2(c)
        (0, 0.89703704, 0.03317360, 12.74, 0.82522360, 0.96885048, 0.02428971),
        (1, 0.94083736, 0.02156637, 12.71, 0.89413783, 0.98753689, 0.01677632),
    ],
)
def test_reader_averaged_auc_matches_iowa_program_van_dyke(
    modality, auc, se, df, low, high, fixed_se
):
    truth, scores = _modality(MRMC / "vandyke.csv", modality)
    result = roc.reader_averaged_auc(truth, scores, covariance="jackknife")
    assert result.auc == pytest.approx(auc, abs=5e-9)
    assert result.rrrc_se == pytest.approx(se, abs=5e-9)
    assert result.rrrc_df == pytest.approx(df, abs=5e-3)
    assert result.rrrc_ci[0] == pytest.approx(low, abs=5e-8)
    assert result.rrrc_ci[1] == pytest.approx(high, abs=5e-8)
    assert result.frrc_se == pytest.approx(fixed_se, abs=5e-9)


def test_reader_averaged_auc_matches_iowa_program_franken():
    truth, scores = _modality(MRMC / "franken.csv", 0)
    result = roc.reader_averaged_auc(truth, scores, covariance="jackknife")
    # Iowa OR-DBM MRMC 2.51 on Franken1.lrc, part 1(c), treatment 1
    assert result.auc == pytest.approx(0.84774989, abs=5e-9)
    assert result.rrrc_se == pytest.approx(0.02440215, abs=5e-9)
    assert result.rrrc_df == pytest.approx(70.12, abs=5e-3)
    assert result.cov2 == pytest.approx(0.00047230, abs=5e-9)


@pytest.mark.parametrize(
    ("modality", "var_error", "cov2"),
    [
        # RJafroc 3.6.1 UtilVarComponents(dataset02, FOM = "Wilcoxon", covEstMethod = "DeLong"),
        # tests/testthat/goodValues361/UtilVarComponents_DeLongDataset02.rds: varEachTrt, cov2EachTrt
        (0, 0.0010013829325928036, 0.00047752386827531703),
        (1, 0.0005828819735603201, 0.00020152919369594062),
    ],
)
def test_delong_covariances_match_rjafroc(modality, var_error, cov2):
    truth, scores = _modality(MRMC / "vandyke.csv", modality)
    result = roc.reader_averaged_auc(truth, scores, covariance="delong")
    assert result.var_error == pytest.approx(var_error, rel=1e-10)
    assert result.cov2 == pytest.approx(cov2, rel=1e-10)
    per_reader = [roc.delong_auc_ci(truth, s)[1] for s in scores]
    assert np.mean(per_reader) == pytest.approx(var_error, rel=1e-10)


def test_reader_averaged_auc_needs_two_readers():
    with pytest.raises(ValueError, match="two readers"):
        roc.reader_averaged_auc(np.array([0, 1, 1]), np.array([[1, 2, 3]]))


def test_bootstrap_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200).astype(bool)
    score = np.where(truth, rng.normal(1, 1, 200), rng.normal(0, 1, 200)).round(1)
    counts = roc.pooled_level_counts(np.arange(200), score, 200)
    weights = roc.stratified_case_weights(truth, 500, seed=7)
    again = roc.stratified_case_weights(truth, 500, seed=7)
    assert np.array_equal(weights, again)
    # every resample keeps the class sizes (stratified)
    assert np.all(weights[:, truth].sum(axis=1) == truth.sum())
    low, high = roc.bootstrap_auc_ci(truth, counts, weights)
    point = roc_auc_score(truth, score)
    assert low < point < high
    # about the width DeLong gives for the same data
    _, _, d_low, d_high = roc.delong_auc_ci(truth, score)
    assert (high - low) == pytest.approx(d_high - d_low, rel=0.25)


def test_bootstrap_keeps_a_case_s_answers_together():
    """Two identical readers carry no more information than one: same interval, not narrower."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 80).astype(bool)
    score = np.where(truth, rng.integers(2, 6, 80), rng.integers(1, 5, 80))
    weights = roc.stratified_case_weights(truth, 400, seed=3)
    one = roc.bootstrap_auc_ci(truth, roc.pooled_level_counts(np.arange(80), score, 80), weights)
    doubled = roc.pooled_level_counts(np.tile(np.arange(80), 2), np.tile(score, 2), 80)
    two = roc.bootstrap_auc_ci(truth, doubled, weights)
    assert two == pytest.approx(one)
