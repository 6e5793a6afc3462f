"""The empirical-Bayes prior of a local background's drug-by-event table, kept beside the store
once fitted (signals --background local fits it on every run otherwise: minutes for all of
FAERS, BENCHMARKS.md).

A kept prior is found by what it was fitted on, not by when: the file's name is a digest of
the table's pairs (N, E) in a fixed order, of the fit's settings (N*, starts, parameter
limit) and of the code and libraries that fit it (queries/ebgm.py's text, NumPy's and SciPy's
versions). Any change to any of them gives another name, so a kept prior is always the one
ebgm.fit would return now; nothing has to be invalidated. A folder that cannot be written
keeps nothing and the prior is fitted each time; a file that cannot be read is fitted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from kratom_ae.queries import ebgm

FOLDER = "priors"  # inside the store's folder (bulk_background.Store.folder)


def key(n: np.ndarray, e: np.ndarray, n_star: int, starts, param_limit: float) -> str:
    """The digest that names a prior's file: the pairs sorted by (N, E), since the store's
    query returns them in no fixed order, then the settings and the code."""
    import scipy

    n, e = np.asarray(n, dtype=np.float64), np.asarray(e, dtype=np.float64)
    order = np.lexsort((e, n))
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(n[order]).tobytes())
    digest.update(np.ascontiguousarray(e[order]).tobytes())
    digest.update(json.dumps({"n_star": n_star, "starts": [list(map(float, s)) for s in starts], "param_limit": float(param_limit),
                              "numpy": np.__version__, "scipy": scipy.__version__}).encode())
    digest.update(Path(ebgm.__file__).read_bytes())
    return digest.hexdigest()


def to_json(prior: ebgm.Prior) -> dict:
    return {"alpha1": prior.alpha1, "beta1": prior.beta1, "alpha2": prior.alpha2, "beta2": prior.beta2, "p": prior.p,
            "neg_log_likelihood": prior.neg_log_likelihood, "pairs": prior.pairs, "n_star": prior.n_star,
            "optima": [[list(theta), value] for theta, value in prior.optima]}


def from_json(data: dict) -> ebgm.Prior:
    optima = tuple((tuple(float(x) for x in theta), float(value)) for theta, value in data["optima"])
    return ebgm.Prior(float(data["alpha1"]), float(data["beta1"]), float(data["alpha2"]), float(data["beta2"]), float(data["p"]),
                      float(data["neg_log_likelihood"]), int(data["pairs"]), int(data["n_star"]), optima)


def fitted(folder: Path, n, e, n_star: int = 1, starts=None, param_limit: float | None = None) -> tuple[ebgm.Prior, Path | None]:
    """ebgm.fit(n, e, ...)'s prior, and the file it was read from (None when fitted now).
    ValueError as ebgm.fit raises it (a table that gives no prior keeps nothing)."""
    starts = ebgm.STARTS if starts is None else starts  # read here, not bound at import: a test narrows the starts
    param_limit = ebgm.PARAM_LIMIT if param_limit is None else param_limit
    path = Path(folder) / FOLDER / f"{key(n, e, n_star, starts, param_limit)}.json"
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8"))), path
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none kept, or a file cut short or not ours: fitted again and written over
    prior = ebgm.fit(n, e, n_star=n_star, starts=starts, param_limit=param_limit)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole or not at all: a kill mid-write leaves a temporary file, never a short prior.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".prior-", suffix=".tmp", delete=False) as out:
            json.dump(to_json(prior), out)
        os.replace(out.name, path)
    except OSError:
        pass  # a store on a read-only disk: the prior is fitted on every run, as before
    return prior, None
