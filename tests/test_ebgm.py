"""EBGM and EB05 (queries/ebgm.py: DuMouchel's 1999 gamma-Poisson shrinker) against the worked
example of the R package openEBGM 0.9.1: its data set `caers` (tests/fixtures/openebgm, whose
README cites the file, the commit and the vignettes each published value below is printed in).
The pairs' counts are made here in plain Python, as openEBGM's processRaw documents them: N
the reports naming the product and the event, E = (reports naming the product) x (reports
naming the event) / (all reports)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kratom_ae.queries import ebgm

FIXTURE = Path(__file__).parent / "fixtures" / "openebgm" / "caers.csv.gz"
# vignette03 (autoHyper on every pair, not squashed): the estimate and its negative log-likelihood.
FULL = (3.25596685, 0.39998994, 2.02376139, 1.90614108, 0.06530755)
FULL_MINIMUM = 4162.456
# vignette04: the estimate on squashed pairs that its EB scores are computed with.
SQUASHED = ebgm.Prior(3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557, neg_log_likelihood=math.nan, pairs=0)


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    raw = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False)
    counted = raw.groupby(["var1", "var2"])["id"].nunique().rename("N").reset_index()
    products, events, total = raw.groupby("var1")["id"].nunique(), raw.groupby("var2")["id"].nunique(), raw["id"].nunique()
    counted["E"] = counted["var1"].map(products) * counted["var2"].map(events) / total
    return counted.sort_values(["var1", "var2"]).reset_index(drop=True)


def significant(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits - 1}e}")


def test_the_counts_are_openebgm_s(pairs):
    assert len(pairs) == 17_189
    assert pairs["E"][:4].round(10).tolist() == [0.0360548272, 0.0038736591, 0.0002979738, 0.0360548272]
    top = pairs.set_index(["var1", "var2"]).loc[("REUMOFAN PLUS", "WEIGHT INCREASED")]
    assert (top["N"], round(top["E"], 8)) == (16, 0.40643623)


def test_the_likelihood_is_openebgm_s_at_its_estimate(pairs):
    assert round(ebgm.neg_log_likelihood(FULL, pairs["N"], pairs["E"]), 3) == FULL_MINIMUM


def test_the_fitted_prior_is_openebgm_s_to_three_significant_figures(pairs):
    prior = ebgm.fit(pairs["N"], pairs["E"])
    assert [significant(x) for x in prior.theta] == [significant(x) for x in FULL] == [3.26, 0.4, 2.02, 1.91, 0.0653]
    assert round(prior.neg_log_likelihood, 3) == FULL_MINIMUM
    assert prior.pairs == 17_189


def test_the_likelihood_has_a_second_maximum_that_the_fit_does_not_take(pairs):
    """openEBGM's estimate (and so kratom-ae's, from the same starting points) is a local
    maximum: with alpha1 near 21 the likelihood is higher by 0.27. Both programs stop at the
    optimum their starts lead to; Prior.optima lists every one a start reached."""
    other = (20.9577, 1.65776, 1.73831, 1.56426, 0.0349379)
    assert ebgm.neg_log_likelihood(other, pairs["N"], pairs["E"]) == pytest.approx(4162.1808, abs=1e-4)
    found = ebgm.fit(pairs["N"], pairs["E"], starts=[(0.3, 0.5, 6.0, 6.0, 0.5), (20.0, 2.0, 2.0, 2.0, 0.05)])
    assert [significant(x) for x in found.optima[0][0]] == [21.0, 1.66, 1.74, 1.56, 0.0349]


def test_eb_scores_are_openebgm_s(pairs):
    n, e = pairs["N"].to_numpy(), pairs["E"].to_numpy()
    scores = ebgm.scores(SQUASHED, n, e)
    assert scores["qn"][:6].round(7).tolist() == [0.2819737, 0.3409653, 0.3482317, 0.2819737, 0.2226356, 0.2556670]
    assert [round(scores["qn"].min(), 7), round(float(np.median(scores["qn"])), 7), round(scores["qn"].mean(), 7), round(scores["qn"].max(), 7)] == [
        0.0001205, 0.3089649, 0.2846021, 0.9999997]
    assert scores["ebgm"][:6].round(2).tolist() == [2.23, 2.58, 2.63, 2.23, 1.92, 2.09]
    # openEBGM's quantBisect rounds to 2 decimals and stops its bisection there: within 0.01.
    assert scores["eb05"][:6] == pytest.approx([0.49, 0.52, 0.52, 0.49, 0.47, 0.48], abs=0.01)
    assert scores["eb95"][:6] == pytest.approx([13.85, 15.78, 16.02, 13.85, 11.77, 12.95], abs=0.01)
    assert int((scores["eb05"] >= 2).sum()) == 131
    by_pair = pairs.assign(**scores).set_index(["var1", "var2"])
    published = {  # the five highest QUANT_05: (QUANT_05, EBGM, QUANT_95)
        ("REUMOFAN PLUS", "WEIGHT INCREASED"): (15.68, 23.26, 33.48),
        ("HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "EMOTIONAL DISTRESS"): (11.65, 16.78, 23.55),
        ("REUMOFAN PLUS", "IMMOBILE"): (10.16, 18.28, 30.83),
        ("HYDROXYCUT HARDCORE CAPSULES", "CARDIO-RESPIRATORY DISTRESS"): (9.00, 15.25, 24.52),
        ("HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "INJURY"): (8.98, 14.28, 21.78),
    }
    assert by_pair.sort_values("eb05", ascending=False).index[:5].tolist() == list(published)
    for pair, (eb05, gm, eb95) in published.items():
        row = by_pair.loc[pair]
        assert round(row["ebgm"], 2) == gm, pair
        assert [row["eb05"], row["eb95"]] == pytest.approx([eb05, eb95], abs=0.01), pair


def test_a_hand_worked_posterior():
    """One pair, prior of one gamma (P = 1): the posterior is Gamma(alpha + n, beta + E), whose
    geometric mean is exp(psi(alpha + n) - log(beta + E)); with alpha + n = 1 it is an
    exponential of rate beta + E, whose 5th percentile is -log(0.95) / (beta + E)."""
    prior = ebgm.Prior(0.5, 2.0, 1.0, 1.0, 1.0 - 1e-15, math.nan, 0)
    # alpha1 + n = 1: psi(1) = -Euler's gamma.
    assert ebgm.ebgm(prior, [0.5], [2.0])[0] == pytest.approx(math.exp(-0.5772156649015329 - math.log(4.0)))
    assert ebgm.quantile(prior, [0.5], [2.0], 0.05)[0] == pytest.approx(-math.log(0.95) / 4.0, rel=1e-9)
    assert ebgm.quantile(prior, [0.5], [2.0], 0.95)[0] == pytest.approx(-math.log(0.05) / 4.0, rel=1e-9)


def test_too_small_a_table_is_refused():
    with pytest.raises(ValueError, match="at least 10 drug-event pairs"):
        ebgm.fit([1, 2, 3], [0.5, 0.5, 0.5])
