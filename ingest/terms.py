"""The search terms: loading them, and the openFDA queries built from them.

openFDA is queried broadly (wildcards on several name fields); every product of every report
it returns is then checked against the same terms by the page SQL (ingest/sql/faers_page.sql,
caers_page.sql), so that the decision is ours, reproducible and stored. A term is matched in
one of two ways:

* ``substring``: the term, letters and digits only, occurs anywhere in the name once case,
  spaces and punctuation are ignored. ``KRATOM`` finds "O.P.M.S. Kratom", "KRATOM(MITRAGYNA
  SPECIOSA)" and "KRATOMPOWDER"; ``MITRAGYN`` finds "7-HYDROXYMITRAGYNINE".
* ``word``: the term occurs as whole words in the normalized name. ``7-OH`` finds "7-OH
  TABLETS" but not "17-OH PROGESTERONE".
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ingest.errors import KratomAEError

MATCH_KINDS = ("substring", "word")


@dataclass(frozen=True)
class Term:
    term: str
    match: str

    def search_value(self) -> str:
        """The term as an openFDA search value for analysed (case-insensitive) fields."""
        if self.match == "substring":
            return f"*{squeeze(self.term).lower()}*"
        words = normalize_name(self.term).lower()
        return f'"{words}"' if " " in words else words


def normalize_name(name: str | None) -> str | None:
    """Upper case, dots and apostrophes dropped, other punctuation as spaces, spaces collapsed
    (the same rule as the SQL macro normalize_name in ingest/sql/shaping_macros.sql).

    "O.P.M.S. Kratom" -> "OPMS KRATOM"; "Kratom (Mitragyna speciosa)" -> "KRATOM MITRAGYNA SPECIOSA".
    """
    if name is None:
        return None
    upper = re.sub(r"[.'`’]", "", name.upper())
    return re.sub(r"[^A-Z0-9]+", " ", upper).strip() or None


def squeeze(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def load_terms(path: str | Path | None = None) -> list[Term]:
    """Read a terms CSV (columns term, match[, note]); None reads the bundled kratom list."""
    if path is None:
        text = resources.files("ingest").joinpath("data/kratom_terms.csv").read_text(encoding="utf-8")
        where = "the bundled kratom terms"
    else:
        try:
            # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte order mark.
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise KratomAEError(f"Cannot read the terms file {path}: {exc.strerror}.") from None
        except UnicodeDecodeError as exc:
            raise KratomAEError(f"The terms file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); save it as UTF-8.") from None
        where = str(path)
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or "term" not in rows[0] or "match" not in rows[0]:
        raise KratomAEError(f"The terms file {where} needs a header line with the columns term and match.")
    terms = []
    for line_no, row in enumerate(rows, start=2):
        term, match = (row.get("term") or "").strip(), (row.get("match") or "").strip().lower()
        if match not in MATCH_KINDS:
            raise KratomAEError(f"{where}, line {line_no}: match must be substring or word, not {match!r}.")
        if not squeeze(term):
            raise KratomAEError(f"{where}, line {line_no}: the term has no letters or digits.")
        terms.append(Term(term, match))
    return terms


def search_query(term: Term, fields: list[str]) -> str:
    """openFDA search string for one term over several fields, joined by OR.

    Joined with spaces, not '+': requests encodes them, and a literal '+AND+' that gets
    percent-encoded is reported to make openFDA answer 500.
    """
    value = term.search_value()
    return " OR ".join(f"{field}:{value}" for field in fields)
