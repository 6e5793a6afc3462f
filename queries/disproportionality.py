"""Disproportionality statistics for one 2x2 table of report counts.

                      term reported   term not reported
    kratom reports          a                 b
    all other reports       c                 d

* PRR (Evans et al. 2001): (a/(a+b)) / (c/(c+d)); 95% CI exp(ln PRR +/- 1.96 s),
  s = sqrt(1/a - 1/(a+b) + 1/c - 1/(c+d)).
* ROR (Rothman et al. 2004): (a/b) / (c/d) = ad/bc; 95% CI exp(ln ROR +/- 1.96 s),
  s = sqrt(1/a + 1/b + 1/c + 1/d).
* Chi-squared with Yates' correction (1 degree of freedom), as Evans et al. use it:
  N (|ad - bc| - N/2)^2 / ((a+b)(c+d)(a+c)(b+d)), N = a+b+c+d, taken as 0 when |ad - bc| < N/2.
* IC with the observed-to-expected shrinkage of Norén et al. (2013):
  IC = log2((O + 0.5) / (E + 0.5)), O = a, E = (a+b)(a+c)/N; the lower end of its 95%
  credibility interval IC025 = IC - 3.3 (O + 0.5)^-1/2 - 2 (O + 0.5)^-3/2.
* Haldane-Anscombe correction (Haldane 1956; Anscombe 1956): when a cell is 0, PRR and ROR
  with their CIs are also given for the table with 0.5 added to every cell (prr_ha, ror_ha and
  their CIs), as vigipy's continuity_correction does; with no zero cell they are left empty.
* Fisher's exact test, one-sided (more reports naming the term than independence predicts),
  with Lancaster's (1961) mid-p: P(X > a) + P(X = a) / 2, X hypergeometric with the table's
  margins (Agresti 2002, Categorical Data Analysis, 2nd ed., section 3.5: the tea-tasting table's
  one-sided P is 0.243, its mid-P 0.129). The Benjamini-Hochberg q-values over a whole
  signals run are computed by queries/signals.py (bh_qvalues).
* Signal flags: Evans (PRR >= 2, chi-squared >= 4, a >= 3); ROR025 > 1 with a >= 3; IC025 > 0;
  and, over a whole run, Fisher (BH q <= 0.05, a >= 3; set by queries/signals.py).

* Mantel-Haenszel estimates over strata i (each its own 2x2 table a_i, b_i, c_i, d_i, n_i):
  MH ROR = sum(a_i d_i / n_i) / sum(b_i c_i / n_i), with the Robins, Breslow and Greenland
  (1986) variance of its log, sum(P R)/(2 (sum R)^2) + sum(P S + Q R)/(2 sum R sum S) +
  sum(Q S)/(2 (sum S)^2), P = (a+d)/n, Q = (b+c)/n, R = ad/n, S = bc/n; MH PRR (the risk
  ratio of a term among kratom reports and among the others) = sum(a_i (c_i+d_i) / n_i) /
  sum(c_i (a_i+b_i) / n_i), with Greenland and Robins's (1985) variance of its log,
  sum(((a+b)(c+d)(a+c) - a c n) / n^2) / (sum(a (c+d)/n) sum(c (a+b)/n)); 95% CIs
  exp(ln MH +/- 1.96 sqrt(var)). A stratum with no kratom report or no other report adds 0 to
  every sum and so drops out by the formulas themselves; any other zero cell needs no
  correction (the estimators are consistent in sparse strata). Undefined when a sum in a
  denominator is 0 (an infinite estimate is left empty, as the crude ones are, and said).
  With one stratum they are the crude ROR and PRR with their CIs.

A zero cell makes some crude statistics undefined (a division by zero or the log of zero).
They are returned as None, never as an infinity, and `note` says which cell did it and what it
means. No term is left without a decision by a zero cell: with c = 0 (no other report names the
term) the crude PRR is infinite, and the Evans flag reads it as such (infinite >= 2; the
chi-squared needs no correction); whenever a cell is 0 the ROR flag reads the Haldane-Anscombe
corrected ROR025 instead of the crude one, whose CI is undefined; IC and Fisher need no
correction. These are hypothesis-generating signals, not risk estimates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Stats:
    prr: float | None
    prr025: float | None
    prr975: float | None
    ror: float | None
    ror025: float | None
    ror975: float | None
    prr_ha: float | None
    prr_ha025: float | None
    prr_ha975: float | None
    ror_ha: float | None
    ror_ha025: float | None
    ror_ha975: float | None
    chi2_yates: float | None
    expected: float | None
    ic: float | None
    ic025: float | None
    fisher_midp: float | None
    signal_evans: bool
    signal_ror: bool
    signal_ic: bool
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def prr_interval(a: float, b: float, c: float, d: float) -> tuple[float, float, float]:
    prr = (a / (a + b)) / (c / (c + d))
    s = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return prr, math.exp(math.log(prr) - Z95 * s), math.exp(math.log(prr) + Z95 * s)


def ror_interval(a: float, b: float, c: float, d: float) -> tuple[float, float, float]:
    ror = (a * d) / (b * c)
    s = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return ror, math.exp(math.log(ror) - Z95 * s), math.exp(math.log(ror) + Z95 * s)


def fisher_midp(a: int, b: int, c: int, d: int) -> float | None:
    """One-sided mid-p of Fisher's exact test: P(X > a) + P(X = a) / 2, X the number of kratom
    reports naming the term when the margins are fixed (hypergeometric). Summed from the point
    probabilities by their ratio, over whichever tail lies away from the mode (its terms fall
    fastest), in plain Python: no SciPy at run time (the tests compare it with
    scipy.stats.hypergeom and vigipy's rfet)."""
    n1, m1, n = a + b, a + c, a + b + c + d
    if n == 0:
        return None
    low, high = max(0, n1 + m1 - n), min(n1, m1)
    if low == high:  # the margins allow this one table: no evidence either way
        return 0.5

    def log_pmf(k: int) -> float:
        return (math.lgamma(n1 + 1) - math.lgamma(k + 1) - math.lgamma(n1 - k + 1)
                + math.lgamma(n - n1 + 1) - math.lgamma(m1 - k + 1) - math.lgamma(n - n1 - m1 + k + 1)
                - math.lgamma(n + 1) + math.lgamma(m1 + 1) + math.lgamma(n - m1 + 1))

    at_a = math.exp(log_pmf(a))
    mode = (n1 + 1) * (m1 + 1) // (n + 2)
    tail, term, k = 0.0, at_a, a
    if a >= mode:  # P(X > a) directly
        while k < high:
            term *= (n1 - k) * (m1 - k) / ((k + 1) * (n - n1 - m1 + k + 1))
            k += 1
            tail += term
            if term <= tail * 1e-17:
                break
        return min(1.0, tail + at_a / 2)
    while k > low:  # 1 - P(X < a) - P(X = a) / 2
        term *= k * (n - n1 - m1 + k) / ((n1 - k + 1) * (m1 - k + 1))
        k -= 1
        tail += term
        if term <= tail * 1e-17:
            break
    return min(1.0, max(0.0, 1.0 - tail - at_a / 2))


def statistics(a: int, b: int, c: int, d: int) -> Stats:
    """All the statistics of one 2x2 table (see the module docstring for the formulas)."""
    for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
        if value is None or value < 0 or int(value) != value:
            raise ValueError(f"{name} must be a whole number of reports, 0 or more, not {value!r}")
    a, b, c, d = int(a), int(b), int(c), int(d)
    n = a + b + c + d
    notes = []

    prr = prr025 = prr975 = None
    prr_infinite = False
    if a + b == 0 or c + d == 0:
        notes.append("no kratom reports or no other reports: PRR undefined")
    elif c == 0 and a == 0:
        notes.append("a=0 and c=0 (no report names the term): PRR undefined")
    elif c == 0:
        prr_infinite = True
        notes.append("c=0 (no other report names the term): PRR and ROR infinite; Haldane-Anscombe estimates given")
    elif a == 0:
        prr = 0.0
        notes.append("a=0: PRR is 0, its CI undefined")
    else:
        prr, prr025, prr975 = prr_interval(a, b, c, d)

    ror = ror025 = ror975 = None
    if b == 0 or c == 0:
        if b == 0:
            notes.append("b=0 (every kratom report names the term): ROR infinite; Haldane-Anscombe estimates given")
    elif d == 0:
        notes.append("d=0: ROR undefined")
    elif a == 0:
        ror = 0.0
        notes.append("a=0: ROR is 0, its CI undefined")
    else:
        ror, ror025, ror975 = ror_interval(a, b, c, d)

    # 0.5 added to every cell of a table with a zero cell, and only then (vigipy's rule).
    prr_ha = prr_ha025 = prr_ha975 = ror_ha = ror_ha025 = ror_ha975 = None
    if 0 in (a, b, c, d):
        prr_ha, prr_ha025, prr_ha975 = prr_interval(a + 0.5, b + 0.5, c + 0.5, d + 0.5)
        ror_ha, ror_ha025, ror_ha975 = ror_interval(a + 0.5, b + 0.5, c + 0.5, d + 0.5)

    chi2 = None
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if margins == 0:
        notes.append("an empty row or column: chi-squared undefined")
    else:
        difference = max(0.0, abs(a * d - b * c) - n / 2)
        chi2 = n * difference**2 / margins

    expected = ic = ic025 = None
    if n > 0:
        expected = (a + b) * (a + c) / n
        ic = math.log2((a + 0.5) / (expected + 0.5))
        ic025 = ic - 3.3 * (a + 0.5) ** -0.5 - 2 * (a + 0.5) ** -1.5

    # With a zero cell the crude ROR025 is undefined: the flag reads the corrected one.
    ror_lower = ror025 if ror_ha025 is None else ror_ha025
    return Stats(
        prr=prr, prr025=prr025, prr975=prr975,
        ror=ror, ror025=ror025, ror975=ror975,
        prr_ha=prr_ha, prr_ha025=prr_ha025, prr_ha975=prr_ha975,
        ror_ha=ror_ha, ror_ha025=ror_ha025, ror_ha975=ror_ha975,
        chi2_yates=chi2, expected=expected, ic=ic, ic025=ic025,
        fisher_midp=fisher_midp(a, b, c, d),
        signal_evans=(prr_infinite or (prr is not None and prr >= 2)) and chi2 is not None and chi2 >= 4 and a >= 3,
        signal_ror=ror_lower is not None and ror_lower > 1 and a >= 3,
        signal_ic=ic025 is not None and ic025 > 0,
        note="; ".join(notes),
    )


@dataclass(frozen=True)
class MantelHaenszel:
    mh_ror: float | None
    mh_ror025: float | None
    mh_ror975: float | None
    mh_prr: float | None
    mh_prr025: float | None
    mh_prr975: float | None
    mh_strata: int  # strata with a kratom report and another report: those the estimates use
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def mantel_haenszel(strata) -> MantelHaenszel:
    """MH ROR (Robins-Breslow-Greenland CI) and MH PRR (Greenland-Robins CI) over strata of
    (a, b, c, d) tables; see the module docstring."""
    sums = dict.fromkeys(["R", "S", "PR", "PS_QR", "QS", "rr_num", "rr_den", "gr"], 0.0)
    used = 0
    for cells in strata:
        a, b, c, d = (float(v) for v in cells)
        if min(a, b, c, d) < 0:
            raise ValueError(f"a stratum's cells must be 0 or more, not {cells!r}")
        n = a + b + c + d
        if a + b == 0 or c + d == 0:
            continue  # adds 0 to every sum
        used += 1
        p, q, r, s = (a + d) / n, (b + c) / n, a * d / n, b * c / n
        sums["R"] += r
        sums["S"] += s
        sums["PR"] += p * r
        sums["PS_QR"] += p * s + q * r
        sums["QS"] += q * s
        sums["rr_num"] += a * (c + d) / n
        sums["rr_den"] += c * (a + b) / n
        sums["gr"] += ((a + b) * (c + d) * (a + c) - a * c * n) / n**2
    notes = []
    ror = ror025 = ror975 = prr = prr025 = prr975 = None
    if used == 0:
        notes.append("no stratum holds kratom and other reports: MH estimates undefined")
    else:
        R, S = sums["R"], sums["S"]
        if S == 0 and R == 0:
            notes.append("MH ROR undefined (a d = 0 and b c = 0 in every stratum)")
        elif S == 0:
            notes.append("MH ROR infinite (b c = 0 in every stratum)")
        elif R == 0:
            ror = 0.0
            notes.append("MH ROR is 0 (a d = 0 in every stratum), its CI undefined")
        else:
            ror = R / S
            var = sums["PR"] / (2 * R**2) + sums["PS_QR"] / (2 * R * S) + sums["QS"] / (2 * S**2)
            half = Z95 * math.sqrt(var)
            ror025, ror975 = math.exp(math.log(ror) - half), math.exp(math.log(ror) + half)
        num, den = sums["rr_num"], sums["rr_den"]
        if den == 0 and num == 0:
            notes.append("MH PRR undefined (no report names the term in any stratum used)")
        elif den == 0:
            notes.append("MH PRR infinite (no other report names the term in any stratum used)")
        elif num == 0:
            prr = 0.0
            notes.append("MH PRR is 0 (no kratom report names the term), its CI undefined")
        else:
            prr = num / den
            half = Z95 * math.sqrt(sums["gr"] / (num * den))
            prr025, prr975 = math.exp(math.log(prr) - half), math.exp(math.log(prr) + half)
    return MantelHaenszel(ror, ror025, ror975, prr, prr025, prr975, used, "; ".join(notes))
