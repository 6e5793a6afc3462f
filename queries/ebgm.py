"""Empirical-Bayes disproportionality: DuMouchel's (1999) gamma-Poisson shrinker (GPS), with
the prior fitted by maximum likelihood on the whole drug-by-event table.

DuMouchel W. Bayesian data mining in large frequency tables, with an application to the FDA
spontaneous reporting system. The American Statistician 1999; 53(3): 177-190. The count N of
a drug-event pair is Poisson(lambda E), E its expected count (drug and event reported
independently); the ratio lambda has the prior of a mixture of two gammas,

    lambda ~ P Gamma(alpha1, beta1) + (1 - P) Gamma(alpha2, beta2)    (beta a rate),

so that N is marginally a mixture of two negative binomials,

    f(n; alpha, beta, E) = Gamma(alpha + n) / (Gamma(alpha) n!) (beta / (beta + E))^alpha (E / (beta + E))^n.

* The prior, theta = (alpha1, beta1, alpha2, beta2, P), maximises the likelihood of the pairs
  observed with N >= N* (N* = 1: the table lists only pairs reported together). Each pair's
  term is the mixture of the two negative binomials, each truncated below N* (DuMouchel and
  Pregibon 2001, "Empirical Bayes screening for multi-item associations", KDD '01: 67-76,
  whose likelihood openEBGM's negLL maximises):
      P f1(n) / (1 - F1(N* - 1)) + (1 - P) f2(n) / (1 - F2(N* - 1)),  F the NB's CDF.
* The posterior of lambda given N = n is P' Gamma(alpha1 + n, beta1 + E) + (1 - P')
  Gamma(alpha2 + n, beta2 + E), with P' = Qn = P f1(n) / (P f1(n) + (1 - P) f2(n))
  (DuMouchel 1999, eq. 6).
* EBGM = exp(E[log lambda | n]) = exp(Qn (psi(alpha1 + n) - log(beta1 + E)) + (1 - Qn)
  (psi(alpha2 + n) - log(beta2 + E))), psi the digamma function: the geometric mean of the
  posterior.
* EB05 (EB95): the posterior's 5th (95th) percentile, the mixture's CDF solved by bisection
  between the two components' own percentiles (the mixture's lies between them).

Validated against openEBGM's worked example (tests/test_ebgm.py, tests/fixtures/openebgm): the
likelihood at openEBGM's estimate, the estimate openEBGM's procedure reaches (its starting
points, shapes and rates below 100) to 3 significant figures, and Qn, EBGM and the posterior
quantiles given a prior. The likelihood there has two maxima; openEBGM's estimate is the lower
one, and fit() takes the higher (alpha1 near 21, 0.27 higher in log-likelihood), as maximum
likelihood asks: Prior.optima lists both. The fit is on every pair, not squashed (openEBGM's
squashData), with the pairs of one (n, E) summed as one term: a table of some hundred
thousand pairs takes seconds. SciPy gives the special functions, the negative binomial's CDF for N* > 1
and the optimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Starting points of the fit: DuMouchel's (1999) "lightly justified" one first, then those of
# openEBGM's vignette; the best optimum found from any of them is kept.
STARTS = (
    (0.2, 0.1, 2.0, 4.0, 1 / 3),
    (0.1, 0.2, 10.0, 10.0, 0.2),
    (0.3, 0.5, 6.0, 6.0, 0.5),
    (0.5, 0.3, 12.0, 12.0, 0.8),
    (1.0, 1.0, 2.0, 2.0, 0.3),
)
# The largest shape or rate of an estimate (the smallest is its inverse). openEBGM's
# param_limit is 100; a background of mostly independent pairs (the synthetic fixture's) has a
# prior component concentrated near lambda = 1, with shape and rate in the thousands, which 100
# would refuse.
PARAM_LIMIT = 1e4
BISECTIONS = 80  # halves the bracket below 1e-20 of its width: far below any printed digit


@dataclass(frozen=True)
class Prior:
    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    p: float
    neg_log_likelihood: float
    pairs: int  # the pairs (N >= n_star) it was fitted on
    n_star: int = 1
    # Every optimum inside the parameter space that some start reached, (theta, negLL), best
    # first: the likelihood can have several (openEBGM's example has two), and a reader should
    # see when it has.
    optima: tuple = ()

    @property
    def theta(self) -> tuple[float, float, float, float, float]:
        return (self.alpha1, self.beta1, self.alpha2, self.beta2, self.p)


def _log_nb(n: np.ndarray, e: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(alpha + n) - gammaln(alpha) - gammaln(n + 1) + alpha * np.log(beta / (beta + e)) + n * np.log(e / (beta + e))


def _log_mixture(n: np.ndarray, e: np.ndarray, theta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log P f1(n), log (1 - P) f2(n), log of their sum)."""
    alpha1, beta1, alpha2, beta2, p = theta
    first = np.log(p) + _log_nb(n, e, alpha1, beta1)
    second = np.log1p(-p) + _log_nb(n, e, alpha2, beta2)
    return first, second, np.logaddexp(first, second)


def _truncation(n_star: int, e: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """log P(N >= n_star) of the negative binomial, per pair."""
    from scipy.stats import nbinom

    if n_star == 1:
        # P(N >= 1) = 1 - f(0), f(0) = (beta / (beta + E))^alpha
        return np.log(-np.expm1(alpha * np.log(beta / (beta + e))))
    return np.log(nbinom.sf(n_star - 1, alpha, beta / (beta + e)))


def neg_log_likelihood(theta, n, e, n_star: int = 1, weights=None) -> float:
    """The negative log-likelihood of theta given the pairs' counts n >= n_star and expected
    counts e: per pair, the mixture of the two negative binomials truncated below n_star
    (`weights`: how many pairs each (n, e) stands for)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    weights = np.ones_like(n) if weights is None else np.asarray(weights, dtype=float)
    alpha1, beta1, alpha2, beta2, p = theta
    first = np.log(p) + _log_nb(n, e, alpha1, beta1) - _truncation(n_star, e, alpha1, beta1)
    second = np.log1p(-p) + _log_nb(n, e, alpha2, beta2) - _truncation(n_star, e, alpha2, beta2)
    return float(-np.sum(weights * np.logaddexp(first, second)))


def _d_log_nb(n: np.ndarray, e: np.ndarray, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """The derivatives of _log_nb with respect to log alpha and log beta."""
    from scipy.special import digamma

    return alpha * (digamma(alpha + n) - digamma(alpha) + np.log(beta / (beta + e))), (alpha * e - n * beta) / (beta + e)


def _d_truncation(n_star: int, e: np.ndarray, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """The derivatives of _truncation with respect to log alpha and log beta. For N* = 1 in
    closed form. For N* > 1 by central differences of log P(N >= N*) (SciPy's, accurate to its
    last digits): the closed form, minus the sum of f(m) d log f(m) over m < N* over
    P(N >= N*), loses every digit to cancellation where P(N >= N*) is small (a pair of tiny E),
    and signals fits with N* = 1."""
    if n_star == 1:
        # f(0) / (1 - f(0)) = 1 / (f(0)^-1 - 1), without 1 - f(0)'s cancellation when f(0)
        # nears 1; 0 where f(0)^-1 overflows.
        log_r = np.log(beta / (beta + e))
        with np.errstate(over="ignore"):
            odds = 1 / np.expm1(-alpha * log_r)
        return -odds * alpha * log_r, -odds * alpha * e / (beta + e)
    h = 1e-5
    up, down = np.exp(h), np.exp(-h)
    return ((_truncation(n_star, e, alpha * up, beta) - _truncation(n_star, e, alpha * down, beta)) / (2 * h),
            (_truncation(n_star, e, alpha, beta * up) - _truncation(n_star, e, alpha, beta * down)) / (2 * h))


def objective(x, n, e, n_star: int = 1, weights=None) -> tuple[float, np.ndarray]:
    """neg_log_likelihood at the optimiser's coordinates x (logs of the shapes and rates, logit
    of P: _theta), and its gradient in them, analytic: per pair the log of the mixture is
    log(P g1 + (1 - P) g2), g a truncated negative binomial, whose derivative in a component's
    coordinate is Qn (or 1 - Qn) times that of log g, and in logit P is Qn - P (Qn here the
    truncated components' posterior weight)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    weights = np.ones_like(n) if weights is None else np.asarray(weights, dtype=float)
    alpha1, beta1, alpha2, beta2, p = _theta(x)
    kept1, kept2 = _truncation(n_star, e, alpha1, beta1), _truncation(n_star, e, alpha2, beta2)
    first = np.log(p) + _log_nb(n, e, alpha1, beta1) - kept1
    second = np.log1p(-p) + _log_nb(n, e, alpha2, beta2) - kept2
    total = np.logaddexp(first, second)
    q = np.exp(first - total)
    gradient = np.empty(5)
    for i, (alpha, beta, weight) in enumerate(((alpha1, beta1, q), (alpha2, beta2, 1 - q))):
        da, db = _d_log_nb(n, e, alpha, beta)
        ka, kb = _d_truncation(n_star, e, alpha, beta)
        gradient[2 * i] = -np.sum(weights * weight * (da - ka))
        gradient[2 * i + 1] = -np.sum(weights * weight * (db - kb))
    gradient[4] = -np.sum(weights * (q - p))
    return float(-np.sum(weights * total)), gradient


def _theta(x) -> tuple[float, float, float, float, float]:
    """Unconstrained coordinates (logs of the shapes and rates, logit of P) -> theta."""
    return (float(np.exp(x[0])), float(np.exp(x[1])), float(np.exp(x[2])), float(np.exp(x[3])), float(1 / (1 + np.exp(-x[4]))))


def fit(n, e, n_star: int = 1, starts=STARTS, param_limit: float = PARAM_LIMIT) -> Prior:
    """The maximum-likelihood prior on the pairs with n >= n_star (the others are left out, as
    the likelihood is conditional on N >= n_star): the highest local maximum, among those
    reached from each starting point, inside the parameter space (shapes and rates below
    param_limit, 0 < P < 1); Prior.optima lists them all. The likelihood grows without bound as a component's shape and rate grow
    together (the component then tends to a point mass, no longer a gamma): an optimum on the
    limit is that, not an estimate, and is left out, as openEBGM leaves it out. ValueError when
    the table is too small or no start reaches an optimum inside."""
    from scipy.optimize import minimize

    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    kept = n >= n_star
    n, e = n[kept], e[kept]
    if len(n) < 10 or np.any(e <= 0):
        raise ValueError(f"An empirical-Bayes prior needs at least 10 drug-event pairs with expected counts above 0 (here {len(n)}).")

    # Pairs of one (n, e) are one term of the likelihood, counted as often: the same sum, in a
    # fraction of the time (the margins repeat, so E does: openEBGM's 17,189 pairs have some
    # thousands of distinct (n, e)). Not openEBGM's squashing, which averages nearby E's.
    (n, e), weights = np.unique(np.stack([n, e]), axis=1, return_counts=True)

    def value_and_gradient(x):
        value, gradient = objective(x, n, e, n_star, weights)
        # Far outside (a P of 0 or 1 in floating point) the likelihood is 0: a value no step
        # goes to, with no slope to follow.
        return (value, gradient) if np.isfinite(value) and np.all(np.isfinite(gradient)) else (1e300, np.zeros(5))

    limit = np.log(param_limit)
    bounds = [(-limit, limit)] * 4 + [(-30.0, 30.0)]
    best = None
    optima = []
    for start in starts:
        a1, b1, a2, b2, p = start
        found = minimize(value_and_gradient, np.log([a1, b1, a2, b2, p / (1 - p)]), method="L-BFGS-B", jac=True, bounds=bounds,
                         options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9})
        x, value = newton(value_and_gradient, found.x, found.fun)
        inside = np.all(np.abs(x[:4]) < limit - 1e-6) and abs(x[4]) < 30 - 1e-6
        if inside:
            optima.append((_theta(x), float(value)))
        if inside and (best is None or value < best[1]):
            best = (x, value)
    if best is None:
        raise ValueError(f"No starting point reached a maximum of the likelihood with every shape and rate below {param_limit:g}: the table gives no empirical-Bayes prior.")
    alpha1, beta1, alpha2, beta2, p = _theta(best[0])
    distinct: list = []
    for theta, value in sorted(optima, key=lambda o: o[1]):
        if not any(np.allclose(theta, other, rtol=1e-3) for other, _ in distinct):
            distinct.append((theta, value))
    return Prior(alpha1, beta1, alpha2, beta2, p, float(best[1]), int(weights.sum()), n_star, tuple(distinct))


def newton(value_and_gradient, x, value, steps: int = 30):
    """Newton's steps from an optimiser's end (L-BFGS-B stops early along a flat ridge: alpha1's
    standard error is some 70% of it in openEBGM's example) to the optimum's last digits: the
    analytic gradient, the Hessian from its central differences (2k gradients, where the
    objective's own would take some 2k^2 values); a step that does not lower the objective, or
    a Hessian that is not positive definite, ends them."""
    x = np.asarray(x, dtype=float)
    k = len(x)
    h = 1e-5
    for _ in range(steps):
        _, gradient = value_and_gradient(x)
        unit = np.eye(k)
        columns = [(value_and_gradient(x + h * unit[i])[1] - value_and_gradient(x - h * unit[i])[1]) / (2 * h) for i in range(k)]
        hessian = np.array(columns)
        hessian = (hessian + hessian.T) / 2
        try:
            np.linalg.cholesky(hessian)
        except np.linalg.LinAlgError:
            break
        step = np.linalg.solve(hessian, gradient)
        moved = value_and_gradient(x - step)[0]
        if not moved <= value:
            break
        x, value = x - step, moved
        if np.max(np.abs(step)) < 1e-9:
            break
    return x, value


def qn(prior: Prior, n, e) -> np.ndarray:
    """The posterior probability that a pair's lambda comes from the prior's first component."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    first, _, total = _log_mixture(n, e, prior.theta)
    return np.exp(first - total)


def ebgm(prior: Prior, n, e) -> np.ndarray:
    """The empirical-Bayes geometric mean: exp of the posterior mean of log lambda."""
    from scipy.special import digamma

    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    q = qn(prior, n, e)
    mean_log = q * (digamma(prior.alpha1 + n) - np.log(prior.beta1 + e)) + (1 - q) * (digamma(prior.alpha2 + n) - np.log(prior.beta2 + e))
    return np.exp(mean_log)


def quantile(prior: Prior, n, e, level: float) -> np.ndarray:
    """The posterior's quantile at `level` (0.05 for EB05), per pair."""
    from scipy.special import gammainc, gammaincinv

    if not 0 < level < 1:
        raise ValueError("A quantile's level lies between 0 and 1.")
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    q = qn(prior, n, e)
    shape1, rate1 = prior.alpha1 + n, prior.beta1 + e
    shape2, rate2 = prior.alpha2 + n, prior.beta2 + e
    one, two = gammaincinv(shape1, level) / rate1, gammaincinv(shape2, level) / rate2
    low, high = np.minimum(one, two), np.maximum(one, two)
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        below = q * gammainc(shape1, rate1 * middle) + (1 - q) * gammainc(shape2, rate2 * middle) < level
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return (low + high) / 2


def scores(prior: Prior, n, e) -> dict[str, np.ndarray]:
    """EBGM with its 90% credibility interval (EB05, EB95) and Qn, per pair."""
    return {"ebgm": ebgm(prior, n, e), "eb05": quantile(prior, n, e, 0.05), "eb95": quantile(prior, n, e, 0.95), "qn": qn(prior, n, e)}


def drug_event_scores(table, n_star: int = 1, starts=STARTS):
    """EBGM, EB05 and EB95 of every pair of a drug-by-event table (columns source, drug, term,
    n, expected: queries/_local_drug_events.sql), the prior fitted per source on all of that
    source's pairs; returns (the table with the scores, {source: Prior})."""
    import pandas as pd

    parts, priors = [], {}
    for source, frame in table.groupby("source", sort=True):
        prior = fit(frame["n"].to_numpy(), frame["expected"].to_numpy(), n_star, starts)
        priors[source] = prior
        scored = scores(prior, frame["n"].to_numpy(dtype=float), frame["expected"].to_numpy(dtype=float))
        parts.append(frame.assign(ebgm=scored["ebgm"], eb05=scored["eb05"], eb95=scored["eb95"]))
    return (pd.concat(parts, ignore_index=True) if parts else table.assign(ebgm=[], eb05=[], eb95=[])), priors
