"""kratom-ae's statistics against independent implementations: vigipy 3.5.1 (PRR, ROR, their
Haldane-Anscombe corrections, the expected count, Fisher's mid-p and Benjamini-Hochberg) and
SciPy (the hypergeometric distribution, false_discovery_control, the gamma quantiles behind
Norén's IC025), on 2x2 tables with zero and small cells; and Fisher and BH on the textbook
examples.

What is compared with what, exactly (read from vigipy's source, vigipy/utils/common.py,
PRR/PRR.py, ROR/ROR.py, RFET/RFET.py, BCPNN/BCPNN.py):
* prr, prr025, prr975 and ror, ror025, ror975 (no zero cell) = vigipy prr() / ror() with
  continuity_correction=False: the same estimate and the same Wald interval on the log scale
  (z = 1.959963984540054).
* prr_ha, ror_ha and their CIs (a zero cell) = vigipy prr() / ror() with
  continuity_correction=True, which adds 0.5 to every cell of a table with a zero cell and only
  then, as kratom-ae does.
* fisher_midp = vigipy rfet(mid_pval=True): one-sided hypergeometric P(X >= a) - P(X = a) / 2;
  and = scipy.stats.hypergeom.
* fisher_q = vigipy.utils.common.compute_bh_fdr = scipy.stats.false_discovery_control
  (method "bh"). vigipy's own rfet "fdr" column is a local-Bayes estimate (lbe), not BH: not
  compared.
* IC: vigipy's IC is BCPNN's (Norén et al. 2006, digamma posterior mean with priors), not the
  observed-to-expected shrinkage IC = log2((O + 0.5)/(E + 0.5)) of Norén et al. 2013 that
  kratom-ae reports; no vigipy function computes the latter. What is compared: E (kratom-ae's
  expected) = vigipy's "Expected Count" (mantel-haentzel, n1j ni1 / N), IC recomputed from it,
  and IC025 against the exact 2.5% quantile of the Gamma(O + 0.5, E + 0.5) posterior (log2)
  that Norén et al. 2013's closed form approximates: within 0.06 for O >= 1, 0.35 for O = 0.
"""

import math
import warnings

import pytest

from kratom_ae.queries.disproportionality import statistics
from kratom_ae.queries.signals import bh_qvalues

vigipy = pytest.importorskip("vigipy")
scipy_stats = pytest.importorskip("scipy.stats")
import pandas as pd  # noqa: E402
from vigipy.utils.common import compute_bh_fdr  # noqa: E402

# Tables of every shape a signals run meets: zero cells in each position, small cells, a
# term no other report names (c = 0) with a of 3 and 359, big FAERS-sized backgrounds.
HAND = [
    (20, 180, 1000, 98800), (3, 997, 50, 998950), (1, 10, 3, 5000), (0, 100, 10, 9890), (5, 0, 0, 100),
    (3, 1, 1, 3), (359, 2000, 0, 19_998_000), (122, 2237, 0, 19_998_000), (35, 2324, 0, 19_998_000),
    (3, 2356, 0, 19_998_000), (1, 2358, 0, 19_998_000), (4, 0, 0, 3), (0, 3, 4, 0), (7, 3, 0, 0),
    (2, 2, 2, 2), (50, 2309, 20000, 19_978_000), (10, 3000, 100000, 19_900_000), (3000, 100, 200000, 19_800_000),
]
GRID = [(a, b, c, d) for a in (0, 1, 3, 12) for b in (0, 5, 400) for c in (0, 2, 900) for d in (0, 7, 250000) if a + b and c + d and (a, b, c, d) not in HAND]
TABLES = HAND + GRID


def test_there_are_enough_tables_with_zero_and_small_cells():
    assert len(TABLES) >= 50
    assert sum(0 in t for t in TABLES) >= 25 and sum(0 not in t and min(t) <= 5 for t in TABLES) >= 5


def container(a, b, c, d):
    data = pd.DataFrame({"product_name": ["kratom"], "ae_name": ["TERM"], "events": [a], "product_aes": [a + b], "count_across_brands": [a + c]})
    return vigipy.DataContainer(data=data, N=a + b + c + d)


def vigipy_row(method, table, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbe's FDR on one p-value warns; its value is not used
        result = method(container(*table), min_events=1, **options).all_signals
    return result.iloc[0]


@pytest.mark.parametrize("table", TABLES, ids=str)
def test_prr_and_ror_equal_vigipy(table):
    ours = statistics(*table)
    zero = 0 in table
    for name, method, column in (("prr", vigipy.prr, "PRR"), ("ror", vigipy.ror, "ROR")):
        theirs = vigipy_row(method, table, continuity_correction=zero)
        got = [getattr(ours, f"{name}_ha{suffix}" if zero else f"{name}{suffix}") for suffix in ("", "025", "975")]
        assert got == [pytest.approx(theirs[k], rel=1e-9) for k in (column, "CI Lower", "CI Upper")], name
        if not zero:
            assert getattr(ours, f"{name}_ha") is None  # corrected only when a cell is zero


@pytest.mark.parametrize("table", TABLES, ids=str)
def test_fisher_mid_p_equals_vigipy_and_scipy(table):
    a, b, c, d = table
    ours = statistics(*table).fisher_midp
    theirs = vigipy_row(vigipy.rfet, table, mid_pval=True)["p_value"]
    n = a + b + c + d
    exact = scipy_stats.hypergeom.sf(a - 1, n, a + b, a + c) - 0.5 * scipy_stats.hypergeom.pmf(a, n, a + b, a + c)
    # Double precision of lgamma at N = 20 million: 1e-7 relative; tiny p-values agree absolutely.
    assert ours == pytest.approx(exact, rel=1e-7, abs=1e-300)
    assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-300)


@pytest.mark.parametrize("table", TABLES, ids=str)
def test_ic_against_vigipys_expected_count_and_the_gamma_posterior(table):
    a = table[0]
    ours = statistics(*table)
    expected = vigipy_row(vigipy.prr, table, continuity_correction=False)["Expected Count"]
    assert ours.expected == pytest.approx(expected, rel=1e-12)
    assert ours.ic == pytest.approx(math.log2((a + 0.5) / (expected + 0.5)), rel=1e-12)
    exact025 = math.log2(scipy_stats.gamma.ppf(0.025, a + 0.5, scale=1 / (expected + 0.5)))
    assert abs(ours.ic025 - exact025) <= (0.06 if a >= 1 else 0.35)


def test_bh_equals_vigipy_and_scipy_on_every_tables_fisher_p():
    p_values = [statistics(*t).fisher_midp for t in TABLES]
    ours = bh_qvalues(p_values)
    import numpy as np

    assert ours == pytest.approx(list(compute_bh_fdr(np.array(p_values))), rel=1e-12)
    assert ours == pytest.approx(list(scipy_stats.false_discovery_control(p_values, method="bh")), rel=1e-12)


# ---- textbook examples ----------------------------------------------------------------------

def test_fisher_tea_tasting():
    """Fisher's lady tasting tea, as Agresti (2002, Categorical Data Analysis, 2nd ed., section 3.5)
    works it: 3 of the 4 cups with milk first guessed right. P(n11 = 3) = C(4,3) C(4,1) / C(8,4) =
    16/70, P(n11 = 4) = 1/70: the one-sided P is 17/70 = 0.243 and the mid-P 1/70 + 8/70 = 0.129."""
    s = statistics(3, 1, 1, 3)
    assert s.fisher_midp == pytest.approx(9 / 70, rel=1e-12)
    assert round(s.fisher_midp, 3) == 0.129
    assert round(s.fisher_midp + 0.5 * 16 / 70, 3) == 0.243  # the ordinary one-sided P


# Benjamini and Hochberg (1995, JRSS B 57:289-300, section 4.1): the 15 p-values of a study of
# myocardial infarction treatment; at FDR 0.05 their procedure rejects the four smallest (the
# Bonferroni-style procedure only three).
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]


def test_benjamini_hochberg_1995_example():
    q = bh_qvalues(BH_1995)
    assert sum(v <= 0.05 for v in q) == 4
    # q(i) = min over j >= i of p(j) 15 / j, worked by hand:
    # 0.0001*15 = 0.0015; 0.0004*15/2 = 0.003; 0.0019*15/3 = 0.0095; 0.0095*15/4 = 0.035625;
    # 0.0201*15/5 = 0.0603, 0.0278*15/6 = 0.0695, 0.0298*15/7 = 0.063857, 0.0344*15/8 = 0.0645,
    # 0.0459*15/9 = 0.0765, and the rest larger: the 5th keeps 0.0603, the 6th and 7th get 0.063857.
    assert q[:8] == pytest.approx([0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.0638571, 0.0638571, 0.0645], abs=1e-7)
    assert q[14] == 1.0
    assert q == pytest.approx(list(scipy_stats.false_discovery_control(BH_1995)), rel=1e-12)


def test_bh_leaves_untested_terms_out_of_the_family():
    # A row without a 2x2 table (no background count) has no p and does not count in m.
    assert bh_qvalues([0.01, None, 0.04]) == [0.02, None, 0.04]
