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


# openEBGM's procedure (autoHyper): local optimisations from these starts (its vignette's),
# estimates with a shape or rate of 100 or more refused, the lowest negative log-likelihood kept.
VIGNETTE_STARTS = [(0.2, 0.1, 2, 4, 1 / 3), (0.1, 0.2, 10, 10, 0.2), (0.3, 0.5, 6, 6, 0.5)]


def test_openebgm_s_procedure_gives_its_prior_to_three_significant_figures(pairs):
    prior = ebgm.fit(pairs["N"], pairs["E"], starts=VIGNETTE_STARTS, param_limit=100)
    assert [significant(x) for x in prior.theta] == [significant(x) for x in FULL] == [3.26, 0.4, 2.02, 1.91, 0.0653]
    assert round(prior.neg_log_likelihood, 3) == FULL_MINIMUM
    assert prior.pairs == 17_189


def test_the_fit_takes_the_higher_of_the_likelihood_s_two_maxima(pairs):
    """openEBGM's estimate is a local maximum: with alpha1 near 21 the likelihood is higher by
    0.27, and kratom-ae's fit (its starts, shapes and rates up to 10^4) reaches both and takes
    that one, as maximum likelihood asks. Both priors give nearly the same screening: 128
    pairs with EB05 >= 2 against 131."""
    prior = ebgm.fit(pairs["N"], pairs["E"])
    assert [significant(x) for x in prior.theta] == [21.0, 1.66, 1.74, 1.56, 0.0349]
    assert prior.neg_log_likelihood == pytest.approx(4162.1808, abs=1e-4)
    assert [significant(x) for x in prior.optima[1][0]] == [3.26, 0.4, 2.02, 1.91, 0.0653]
    assert int((ebgm.quantile(prior, pairs["N"], pairs["E"], 0.05) >= 2).sum()) == 128


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


def caers_records(raw: pd.DataFrame) -> list[dict]:
    """openEBGM's caers rows as CAERS records of openFDA's food/event (SYNTHETIC dates): one per
    report, its products and terms as listed."""
    records = []
    for report, rows in raw.groupby("id", sort=True):
        records.append({
            "report_number": str(report), "date_created": "20120601", "outcomes": ["OTHER SERIOUS (IMPORTANT MEDICAL EVENTS)"],
            "products": [{"role": "SUSPECT", "name_brand": name, "industry_code": "54"} for name in dict.fromkeys(rows["var1"])],
            "reactions": list(dict.fromkeys(rows["var2"])), "consumer": {"gender": rows["strat1"].iloc[0]},
        })
    return records


def test_the_local_background_gives_openebgm_s_table_and_prior(tmp_path, pairs):
    """openEBGM's caers served as a bulk export of CAERS and built into a local background: its
    ingredient-by-event table (a CAERS product's ingredient is its name) is openEBGM's 17,189
    pairs with their N and E, and the prior fitted on it openEBGM's."""
    from typer.testing import CliRunner

    import oracle
    from fake_bulk import FakeBulk
    from kratom_ae.cli.main import app
    from kratom_ae.queries.local_background import local_background

    raw = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False)
    # kratom-ae normalizes an ingredient's name ("CENTRUM SILVER WOMEN'S 50+" and "CENTRUM SILVER
    # WOMENS 50+" are one): 2,874 products would be 2,600 ingredients. Named PRODUCT 0001 ... here,
    # one name each, the table is openEBGM's pair for pair.
    assert raw["var1"].map(oracle.normalized).nunique() == 2_600
    names = {name: f"PRODUCT {i:04d}" for i, name in enumerate(sorted(raw["var1"].unique()), 1)}
    runner = CliRunner()
    cache = tmp_path / "cache"
    with FakeBulk({"caers": [caers_records(raw.assign(var1=raw["var1"].map(names)))]}) as server:
        assert runner.invoke(app, ["bulk", "download", str(cache), "--listing-url", server.listing_url, "--source", "caers", "--quiet"]).exit_code == 0
    assert runner.invoke(app, ["bulk", "background", str(cache), "--source", "caers", "--quiet"]).exit_code == 0
    table = local_background(cache, ["caers"], drug_events=True).drug_events
    expected = pairs.assign(drug=pairs["var1"].map(names), term=pairs["var2"].map(oracle.term)).set_index(["drug", "term"])
    assert pairs["var2"].map(oracle.term).nunique() == pairs["var2"].nunique() == 1_328
    got = table.set_index(["drug", "term"])
    assert len(got) == 17_189 and set(got.index) == set(expected.index)
    assert (got["n"] == expected.loc[got.index, "N"].to_numpy()).all()
    assert np.allclose(got["expected"].to_numpy(), expected.loc[got.index, "E"].to_numpy(), rtol=1e-12)
    prior = ebgm.fit(table["n"], table["expected"], starts=VIGNETTE_STARTS, param_limit=100)
    assert [significant(x) for x in prior.theta] == [3.26, 0.4, 2.02, 1.91, 0.0653]


def careful_gradient(x, n, e, n_star):
    """Central differences of neg_log_likelihood in each coordinate, Richardson-extrapolated
    from steps 1e-3 and 5e-4 (error of order h^4)."""
    out = []
    for i in range(5):
        def central(h):
            step = np.zeros(5)
            step[i] = h
            return (ebgm.neg_log_likelihood(ebgm._theta(x + step), n, e, n_star) - ebgm.neg_log_likelihood(ebgm._theta(x - step), n, e, n_star)) / (2 * h)
        out.append((4 * central(5e-4) - central(1e-3)) / 3)
    return np.array(out)


@pytest.mark.parametrize("x", [
    np.log([0.2, 0.1, 2.0, 4.0, 1.0]),  # DuMouchel's start, P = 1/2
    np.array([math.log(21.0), math.log(1.66), math.log(1.74), math.log(1.56), -3.3]),  # near the caers maximum
    np.array([-0.5, 1.0, 3.0, 3.0, 0.0]),
    np.array([9.2, 9.2, 0.1, -0.2, -20.0]),  # near-degenerate: a point mass of weight 2e-9
    np.array([-9.0, -9.0, 9.0, 9.0, 25.0]),  # near-degenerate: shapes and rates at 1e-4 and 1e4
])
@pytest.mark.parametrize("n_star", [1, 2, 3])
def test_the_analytic_gradient_is_the_likelihood_s(x, n_star):
    """ebgm.objective's gradient (what L-BFGS-B and newton() follow) against careful finite
    differences of neg_log_likelihood, on 300 pairs with E from 1e-5 to 1e3. Within 1e-6
    relative, or 1e-9 absolute: the differences' own rounding (a likelihood of some 10^3, a
    step of 5e-4) for the coordinates of a component of weight 2e-9 or one that is a point mass,
    whose slope is 1e-8 or less."""
    rng = np.random.default_rng(3)
    e = 10 ** rng.normal(-1, 1.2, 300)
    n = np.maximum(1, rng.poisson(e * rng.gamma(2, 1, 300))) + n_star - 1
    value, gradient = ebgm.objective(x, n, e, n_star)
    assert value == ebgm.neg_log_likelihood(ebgm._theta(x), n, e, n_star)
    assert gradient == pytest.approx(careful_gradient(x, n, e, n_star), rel=1e-6, abs=1e-9)
