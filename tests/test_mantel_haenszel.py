"""Mantel-Haenszel ROR (Robins-Breslow-Greenland CI) and PRR (Greenland-Robins CI): a textbook
example worked by hand, the one-stratum identities, zero cells, and statsmodels'
StratifiedTable on many random stratified tables."""

import math
import random

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from kratom_ae.queries.disproportionality import mantel_haenszel, statistics

Z = 1.959963984540054

# Rothman, Greenland and Lash, Modern Epidemiology (3rd ed., 2008), chapter 15: the University
# Group Diabetes Program's deaths with tolbutamide or placebo, stratified by age (< 55, 55+).
# Per stratum (a, b, c, d) = (tolbutamide deaths, survivors, placebo deaths, survivors).
# The book's Mantel-Haenszel risk ratio is 1.33 (crude 1.44).
TOLBUTAMIDE = [(8, 98, 5, 115), (22, 76, 16, 69)]


def test_textbook_risk_ratio_and_its_greenland_robins_interval():
    m = mantel_haenszel(TOLBUTAMIDE)
    # numerator 8*120/226 + 22*85/183 = 4.247788 + 10.218579 = 14.466367; denominator
    # 5*106/226 + 16*98/183 = 2.345133 + 8.568306 = 10.913439: RR_MH = 1.325555
    assert m.mh_prr == pytest.approx(14.466367 / 10.913439, rel=1e-6) and round(m.mh_prr, 2) == 1.33
    # Greenland-Robins: (106*120*13 - 8*5*226)/226^2 = 156320/51076 = 3.060537,
    # (98*85*38 - 22*16*183)/183^2 = 252124/33489 = 7.528562; var = 10.589099 / (14.466367 * 10.913439)
    # = 0.0670712, SE = 0.258981
    se = math.sqrt(10.589099 / (14.466367 * 10.913439))
    assert se == pytest.approx(0.258981, abs=1e-6)
    assert (m.mh_prr025, m.mh_prr975) == (pytest.approx(1.325555 * math.exp(-Z * se), rel=1e-6), pytest.approx(1.325555 * math.exp(Z * se), rel=1e-6))
    # Crude: (30/204)/(21/205) = 1.4356 ("1.44"): the strata by age pull it toward 1.
    assert round(statistics(30, 174, 21, 184).prr, 2) == 1.44
    assert m.mh_strata == 2 and m.note == ""


def test_textbook_odds_ratio_and_its_robins_breslow_greenland_interval():
    m = mantel_haenszel(TOLBUTAMIDE)
    # R = 8*115/226 + 22*69/183 = 4.070796 + 8.295082 = 12.365878; S = 98*5/226 + 76*16/183 = 2.168142 + 6.644809 = 8.812951
    R, S = 12.365878, 8.812951
    assert m.mh_ror == pytest.approx(R / S, rel=1e-6)
    # P = (a+d)/n: 123/226, 91/183; Q = (b+c)/n: 103/226, 92/183
    PR = 123 / 226 * 4.070796 + 91 / 183 * 8.295082
    PS_QR = 123 / 226 * 2.168142 + 103 / 226 * 4.070796 + 91 / 183 * 6.644809 + 92 / 183 * 8.295082
    QS = 103 / 226 * 2.168142 + 92 / 183 * 6.644809
    se = math.sqrt(PR / (2 * R**2) + PS_QR / (2 * R * S) + QS / (2 * S**2))
    assert m.mh_ror025 == pytest.approx(R / S * math.exp(-Z * se), rel=1e-5)
    assert m.mh_ror975 == pytest.approx(R / S * math.exp(Z * se), rel=1e-5)


@pytest.mark.parametrize("cells", [(20, 180, 1000, 98800), (3, 997, 50, 998950), (1, 10, 3, 5000), (7, 2, 9, 11)])
def test_one_stratum_is_the_crude_estimate(cells):
    m, s = mantel_haenszel([cells]), statistics(*cells)
    assert (m.mh_prr, m.mh_prr025, m.mh_prr975) == pytest.approx((s.prr, s.prr025, s.prr975), rel=1e-12)
    assert (m.mh_ror, m.mh_ror025, m.mh_ror975) == pytest.approx((s.ror, s.ror025, s.ror975), rel=1e-12)


def test_zero_cells():
    # A stratum without kratom reports or without other reports adds nothing.
    assert mantel_haenszel(TOLBUTAMIDE + [(0, 0, 40, 400), (5, 50, 0, 0), (0, 0, 0, 0)]) == mantel_haenszel(TOLBUTAMIDE)
    # A zero cell inside a stratum needs no correction: c = 0 in one stratum, not in the other.
    m = mantel_haenszel([(4, 10, 0, 30), (6, 20, 5, 60)])
    assert m.mh_prr == pytest.approx((4 * 30 / 44 + 6 * 65 / 91) / (0 + 5 * 26 / 91))
    # No other report names the term in any stratum: infinite, left empty and said.
    inf = mantel_haenszel([(4, 10, 0, 30), (6, 20, 0, 60)])
    assert (inf.mh_prr, inf.mh_ror) == (None, None)
    assert "MH PRR infinite" in inf.note and "MH ROR infinite" in inf.note
    # No kratom report names it: 0, with no CI.
    zero = mantel_haenszel([(0, 10, 3, 30), (0, 20, 5, 60)])
    assert (zero.mh_prr, zero.mh_prr025, zero.mh_ror, zero.mh_ror975) == (0.0, None, 0.0, None)
    empty = mantel_haenszel([(0, 0, 3, 30)])
    assert empty.mh_strata == 0 and empty.mh_prr is None and "no stratum" in empty.note
    with pytest.raises(ValueError):
        mantel_haenszel([(1, -1, 2, 3)])


def greenland_robins_se(tables):
    """The Greenland-Robins (1985) SE of ln RR_MH, typed out from the paper's formula."""
    num = sum(a * (c + d) / (a + b + c + d) for a, b, c, d in tables)
    den = sum(c * (a + b) / (a + b + c + d) for a, b, c, d in tables)
    var = sum(((a + b) * (c + d) * (a + c) - a * c * (a + b + c + d)) / (a + b + c + d) ** 2 for a, b, c, d in tables)
    return math.sqrt(var / (num * den))


def test_against_statsmodels_on_random_stratified_tables():
    """300 random sets of 2 to 24 strata, small and large cells, a third of the cells possibly 0."""
    rng = random.Random(19)
    compared = 0
    for _ in range(300):
        k = rng.randint(2, 24)
        big = rng.random() < 0.5
        tables = []
        for _ in range(k):
            cell = (lambda: rng.choice([0, rng.randint(0, 5), rng.randint(1, 40)])) if not big else (lambda: rng.randint(0, 5000))
            tables.append((cell(), cell() + 1, cell(), cell() + 1))  # b, d >= 1: every stratum has kratom and other reports
        m = mantel_haenszel(tables)
        st = StratifiedTable(np.array([[[a, b], [c, d]] for a, b, c, d in tables], dtype=float).transpose(1, 2, 0))
        R = sum(a * d / sum(t) for t in tables for a, b, c, d in [t])
        S = sum(b * c / sum(t) for t in tables for a, b, c, d in [t])
        if R > 0 and S > 0:
            compared += 1
            assert m.mh_ror == pytest.approx(st.oddsratio_pooled, rel=1e-10)
            low, high = st.oddsratio_pooled_confint()
            assert (m.mh_ror025, m.mh_ror975) == (pytest.approx(low, rel=1e-8), pytest.approx(high, rel=1e-8))
        num = sum(a * (c + d) / sum(t) for t in tables for a, b, c, d in [t])
        den = sum(c * (a + b) / sum(t) for t in tables for a, b, c, d in [t])
        if num > 0 and den > 0:
            assert m.mh_prr == pytest.approx(st.riskratio_pooled, rel=1e-10)
            se = greenland_robins_se(tables)
            assert m.mh_prr025 == pytest.approx(m.mh_prr * math.exp(-Z * se), rel=1e-10)
        elif den == 0 and num > 0:
            assert m.mh_prr is None and "infinite" in m.note
    assert compared > 250
