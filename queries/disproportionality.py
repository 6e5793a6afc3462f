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
* Signal flags: Evans (PRR >= 2, chi-squared >= 4, a >= 3); ROR025 > 1 with a >= 3; IC025 > 0.

A zero cell makes some statistics undefined (a division by zero or the log of zero). They are
returned as None, never as an infinity, and `note` says which cell did it and what it means.
These are hypothesis-generating signals, not risk estimates.
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
    chi2_yates: float | None
    expected: float | None
    ic: float | None
    ic025: float | None
    signal_evans: bool
    signal_ror: bool
    signal_ic: bool
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def statistics(a: int, b: int, c: int, d: int) -> Stats:
    """All the statistics of one 2x2 table (see the module docstring for the formulas)."""
    for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
        if value is None or value < 0 or int(value) != value:
            raise ValueError(f"{name} must be a whole number of reports, 0 or more, not {value!r}")
    a, b, c, d = int(a), int(b), int(c), int(d)
    n = a + b + c + d
    notes = []

    prr = prr025 = prr975 = None
    if a + b == 0 or c + d == 0:
        notes.append("no kratom reports or no other reports: PRR undefined")
    elif c == 0:
        notes.append("c=0 (no other report names the term): PRR and ROR undefined (infinite)")
    else:
        prr = (a / (a + b)) / (c / (c + d))
        if a == 0:
            notes.append("a=0: PRR is 0, its CI undefined")
        else:
            s = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
            prr025, prr975 = math.exp(math.log(prr) - Z95 * s), math.exp(math.log(prr) + Z95 * s)

    ror = ror025 = ror975 = None
    if b == 0 or c == 0:
        if b == 0:
            notes.append("b=0 (every kratom report names the term): ROR undefined (infinite)")
    elif d == 0:
        notes.append("d=0: ROR undefined")
    else:
        ror = (a * d) / (b * c)
        if a == 0:
            notes.append("a=0: ROR is 0, its CI undefined")
        else:
            s = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
            ror025, ror975 = math.exp(math.log(ror) - Z95 * s), math.exp(math.log(ror) + Z95 * s)

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

    return Stats(
        prr=prr, prr025=prr025, prr975=prr975,
        ror=ror, ror025=ror025, ror975=ror975,
        chi2_yates=chi2, expected=expected, ic=ic, ic025=ic025,
        signal_evans=prr is not None and chi2 is not None and prr >= 2 and chi2 >= 4 and a >= 3,
        signal_ror=ror025 is not None and ror025 > 1 and a >= 3,
        signal_ic=ic025 is not None and ic025 > 0,
        note="; ".join(notes),
    )
