"""queries/prior_cache.py: the empirical-Bayes prior of a drug-by-event table, kept beside the
local background once fitted and found again by what it was fitted on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kratom_ae.queries import ebgm, prior_cache

START = ebgm.STARTS[1:2]  # one start: a fit of these tables in well under a second


def table(seed: int = 5, pairs: int = 3000):
    """A drug-by-event table drawn as bench/background.py draws its SYNTHETIC ones (N given E
    from openEBGM's CAERS prior, kept when N >= 1)."""
    rng = np.random.default_rng(seed)
    e = 10 ** rng.normal(-1.0, 1.0, 4 * pairs)
    lam = np.where(rng.random(4 * pairs) < 0.0653, rng.gamma(3.26, 1 / 0.4, 4 * pairs), rng.gamma(2.02, 1 / 1.91, 4 * pairs))
    n = rng.poisson(lam * e)
    kept = n >= 1
    return n[kept][:pairs].astype(float), e[kept][:pairs]


def refuse_to_fit(monkeypatch):
    def no(*args, **kwargs):
        raise AssertionError("fitted again")

    monkeypatch.setattr(ebgm, "fit", no)


def test_a_prior_is_fitted_once_and_found_again_whatever_the_order_of_the_pairs(tmp_path, monkeypatch):
    n, e = table()
    first, kept = prior_cache.fitted(tmp_path, n, e, starts=START)
    assert kept is None
    assert first == ebgm.fit(n, e, starts=START)
    assert [p.name for p in (tmp_path / "priors").iterdir()] == [f"{prior_cache.key(n, e, 1, START, ebgm.PARAM_LIMIT)}.json"]
    refuse_to_fit(monkeypatch)
    order = np.random.default_rng(1).permutation(len(n))
    again, kept = prior_cache.fitted(tmp_path, n[order], e[order], starts=START)
    assert kept == tmp_path / "priors" / f"{prior_cache.key(n, e, 1, START, ebgm.PARAM_LIMIT)}.json"
    assert again == first  # every digit: JSON keeps a float's shortest exact form


def test_another_table_or_other_settings_are_fitted_anew(tmp_path):
    n, e = table()
    prior_cache.fitted(tmp_path, n, e, starts=START)
    changed = n.copy()
    changed[17] += 1
    names = {prior_cache.key(n, e, 1, START, ebgm.PARAM_LIMIT), prior_cache.key(changed, e, 1, START, ebgm.PARAM_LIMIT),
             prior_cache.key(n, e * (1 + 1e-15), 1, START, ebgm.PARAM_LIMIT), prior_cache.key(n, e, 2, START, ebgm.PARAM_LIMIT),
             prior_cache.key(n, e, 1, ebgm.STARTS[:1], ebgm.PARAM_LIMIT), prior_cache.key(n, e, 1, START, 100)}
    assert len(names) == 6
    other, kept = prior_cache.fitted(tmp_path, changed, e, starts=START)
    assert kept is None and other == ebgm.fit(changed, e, starts=START)
    assert len(list((tmp_path / "priors").glob("*.json"))) == 2


def test_a_change_to_the_fitting_code_is_another_key(tmp_path, monkeypatch):
    n, e = table()
    before = prior_cache.key(n, e, 1, START, ebgm.PARAM_LIMIT)
    copy = tmp_path / "ebgm.py"
    copy.write_bytes(open(ebgm.__file__, "rb").read() + b"\n# a change\n")
    monkeypatch.setattr(ebgm, "__file__", str(copy))
    assert prior_cache.key(n, e, 1, START, ebgm.PARAM_LIMIT) != before


def test_a_kept_file_cut_short_is_fitted_again_and_written_whole(tmp_path):
    n, e = table()
    fresh, _ = prior_cache.fitted(tmp_path, n, e, starts=START)
    path = next((tmp_path / "priors").glob("*.json"))
    text = path.read_text(encoding="utf-8")
    for broken in (text[: len(text) // 2], "{}", "[1, 2]"):
        path.write_text(broken, encoding="utf-8")
        prior, kept = prior_cache.fitted(tmp_path, n, e, starts=START)
        assert kept is None and prior == fresh
        assert json.loads(path.read_text(encoding="utf-8")) == prior_cache.to_json(fresh)
    assert [p.name for p in (tmp_path / "priors").iterdir()] == [path.name]  # no temporary file left


def test_a_store_that_cannot_be_written_still_gets_its_prior(tmp_path):
    n, e = table()
    (tmp_path / "priors").write_text("not a folder", encoding="utf-8")  # mkdir fails as on a read-only disk (these tests run as root)
    prior, kept = prior_cache.fitted(tmp_path, n, e, starts=START)
    assert kept is None and prior == ebgm.fit(n, e, starts=START)
    prior, kept = prior_cache.fitted(tmp_path, n, e, starts=START)
    assert kept is None


def test_a_table_with_no_prior_keeps_nothing(tmp_path):
    with pytest.raises(ValueError, match="at least 10 drug-event pairs"):
        prior_cache.fitted(tmp_path, np.ones(5), np.ones(5), starts=START)
    assert not (tmp_path / "priors").exists()
