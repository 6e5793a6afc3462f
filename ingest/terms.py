"""The search terms: loading them, and the openFDA queries built from them.

openFDA is queried broadly (wildcards on several name fields); every product of every report
it returns is then checked against the same terms by the page SQL (ingest/sql/faers_page.sql,
caers_page.sql), so that the decision is ours, reproducible and stored. A term is matched in
one of two ways, or excludes:

* ``substring``: the term, letters and digits only, occurs anywhere in the name once case,
  spaces and punctuation are ignored. ``KRATOM`` finds "O.P.M.S. Kratom", "KRATOM(MITRAGYNA
  SPECIOSA)" and "KRATOMPOWDER"; ``MITRAGYN`` finds "7-HYDROXYMITRAGYNINE".
* ``word``: the term occurs as whole words in the normalized name. ``7-OH`` finds "7-OH
  TABLETS" but not "17-OH PROGESTERONE".
* ``exclude``: a look-alike that is not kratom. ``7-OH-DPAT`` (a research chemical) keeps
  the ``7-OH`` term from matching "7-OH-DPAT HYDROBROMIDE"; a name that contains the
  look-alike is not matched by the terms the look-alike itself contains. Not searched;
  its note must say why.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.inputs import read_bytes
from kratom_ae.ingest.text import quoted

MATCH_KINDS = ("substring", "word", "exclude")
# The longest term accepted: longer than any product name seen in openFDA's reports, and short
# enough that a search of it over every name field stays a URL servers accept.
MAX_TERM_LENGTH = 200
# Thousands of terms of that length; the bundled list is a few kilobytes.
MAX_TERMS_FILE_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Term:
    term: str
    match: str
    note: str = ""
    # The forms the SQL macros give the term (ingest/sql/shaping_macros.sql, the one place
    # names are normalised): letters and digits only, and the normalized words.
    squeezed: str = ""
    words: str = ""

    @property
    def searched(self) -> bool:
        """Exclude terms are not sent to openFDA: they only veto local matches."""
        return self.match != "exclude"

    def search_value(self) -> str:
        """The term as an openFDA search value for analysed (case-insensitive) fields."""
        if self.match == "substring":
            return f"*{self.squeezed.lower()}*"
        words = self.words.lower()
        return f'"{words}"' if " " in words else words


def forms(terms: list[str]) -> list[tuple[str, str]]:
    """(squeezed, normalized words) of each term, computed by the SQL macros that the page
    SQL matches names with, so that the search sent and the local match cannot drift."""
    import duckdb

    from kratom_ae.ingest.sqlfiles import sql

    con = duckdb.connect()
    try:
        con.execute(sql("shaping_macros"))
        return [(a or "", b or "") for a, b in con.execute("SELECT squeeze(t), normalize_name(t) FROM unnest($t::VARCHAR[]) AS u(t)", {"t": terms}).fetchall()]
    finally:
        con.close()


def make_terms(rows: list[tuple[str, str, str]]) -> list[Term]:
    """Terms from (term, match, note) rows, with their forms from the SQL macros."""
    return [Term(term, match, note, squeezed, words) for (term, match, note), (squeezed, words) in zip(rows, forms([r[0] for r in rows]))]


def load_terms(path: str | Path | None = None) -> list[Term]:
    """Read a terms CSV (columns term, match[, note]); None reads the bundled kratom list."""
    if path is None:
        text = resources.files("kratom_ae.ingest").joinpath("data/kratom_terms.csv").read_text(encoding="utf-8")
        where = "the bundled kratom terms"
    else:
        try:
            # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte order mark.
            text = read_bytes(Path(path), "the terms file", MAX_TERMS_FILE_BYTES).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise KratomAEError(f"The terms file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); save it as UTF-8.") from None
        where = str(path)
    try:
        rows = list(csv.DictReader(text.splitlines()))
    except csv.Error as exc:  # a cell past the csv module's limit of 131,072 characters
        raise KratomAEError(f"{where} cannot be read as CSV ({exc}); a terms file holds short names, one per line.") from None
    if not rows or "term" not in rows[0] or "match" not in rows[0]:
        raise KratomAEError(f"The terms file {where} needs a header line with the columns term and match.")
    raw = []
    for line_no, row in enumerate(rows, start=2):
        term, match = (row.get("term") or "").strip(), (row.get("match") or "").strip().lower()
        note = (row.get("note") or "").strip()
        if len(term) > MAX_TERM_LENGTH:
            raise KratomAEError(f"{where}, line {line_no}: the term has {len(term):,} characters; a term is a product's name or part of it, of at most {MAX_TERM_LENGTH}.")
        if match not in MATCH_KINDS:
            raise KratomAEError(f"{where}, line {line_no}: match must be substring, word or exclude, not {quoted(match)}.")
        if match == "exclude" and not note:
            raise KratomAEError(f"{where}, line {line_no}: an exclude term needs a note saying why {quoted(term)} is not kratom.")
        raw.append((line_no, term, match, note))
    terms = make_terms([(term, match, note) for _, term, match, note in raw])
    for (line_no, *_), term in zip(raw, terms):
        if not term.squeezed:
            raise KratomAEError(f"{where}, line {line_no}: the term has no letters or digits.")
    if not any(t.searched for t in terms):
        raise KratomAEError(f"The terms file {where} has no substring or word term to search for.")
    return terms


# Letters and digits as the SQL macros keep them: DuckDB's upper() makes an ASCII letter of two
# other characters only (dotless ı as I, long ſ as S; tests/test_bulk_prefilter.py asks DuckDB
# about every character), Python's of more (ß as SS, ﬁ as FI): those two are made ASCII, then
# only ASCII is kept before upper().
AS_DUCKDB_UPPER = str.maketrans({"\u0131": "I", "\u017f": "S"})
NOT_LETTER_OR_DIGIT = re.compile(r"[^A-Za-z0-9]")
# A near miss (queries/_kratom_names.sql, near_term) is one edit from a term of at least this
# many letters and digits: shorter terms (7OH, 7-OH) are one edit from too many other names.
NEAR_LETTERS = 5
# normalize_name of ingest/sql/shaping_macros.sql, for the words of a name.
DROPPED = re.compile(r"[.'`’]")
BETWEEN_WORDS = re.compile(r"[^A-Za-z0-9]+")


def could_match(names, terms: list[Term]) -> bool:
    """Whether any of these names might be matched by a substring or word term: its letters
    and digits, in upper case, hold the term's. Every name the page SQL matches passes (a
    word match is also a match of the letters and digits), so a record this turns down is one
    the matcher would have turned down too; a record it lets through is judged by the SQL.
    For the bulk files (ingest/bulk_load.py), where every record of FAERS passes by. A name
    that is not text is given as the text DuckDB reads it as (its JSON)."""
    squeezed = [t.squeezed for t in terms if t.searched]
    for name in names:
        text = NOT_LETTER_OR_DIGIT.sub("", name.translate(AS_DUCKDB_UPPER)).upper()
        if any(term in text for term in squeezed):
            return True
    return False


def near_miss(names, terms: list[Term]) -> bool:
    """Whether a word of any of these names, or two adjacent words written together, is one
    edit (a letter or digit changed, added or dropped) from a substring or word term of at
    least NEAR_LETTERS letters and digits: the rule by which `kratom-ae terms` lists a name not
    judged kratom as a near miss (queries/_kratom_names.sql), so that bulk load keeps such
    records for it to list."""
    squeezed = [t.squeezed for t in terms if t.searched and len(t.squeezed) >= NEAR_LETTERS]
    for name in names:
        words = BETWEEN_WORDS.sub(" ", DROPPED.sub("", name.translate(AS_DUCKDB_UPPER))).upper().split()
        for piece in words + [a + b for a, b in zip(words, words[1:])]:
            if any(one_edit_apart(piece, term) for term in squeezed):
                return True
    return False


def one_edit_apart(a: str, b: str) -> bool:
    """Levenshtein distance exactly 1, without computing it (DuckDB's levenshtein in the SQL)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + 1:] == b[i + 1:] if len(a) == len(b) else a[i:] == b[i + 1:]


# A record's JSON text, as its partition holds it, for the bulk files' first sieve
# (bulk_sieve): a letter or digit, and what the sieve lets stand between two of a name's.
LETTER_OR_DIGIT = "[A-Za-z0-9\u0131\u017f]"
GAP = "[^A-Za-z0-9]*"
# The characters DuckDB's upper() makes these ASCII letters (AS_DUCKDB_UPPER).
ALSO = {"I": "\u0131", "S": "\u017f"}
# A JSON escape that can stand for a letter or digit (\u004B is K) or, written out again by
# as_json inside a name that is not text, be one (\t, \u001f): \" \\ \/ never are.
LETTER_ESCAPE = r"\\[bfnrtu]"
# JSON's whitespace; the start of a value that is not text nor null (true and false
# included: a name that is not text is written out by as_json, a sieve reads the text), and
# of one that is not text, null nor a list; a JSON string's text up to some point.
SPACE = "[ \t\n\r]*"
NOT_TEXT = r"[-0-9\[{tf]"
NOT_TEXT_OR_LIST = "[-0-9{tf]"
TEXT_SO_FAR = r'"(?:[^"\\]|\\.)*?'
JSON_TEXT = r'"(?:[^"\\]|\\.)*"'


def bulk_sieve(terms: list[Term], name_fields: list[str], near_fields: list[str], list_fields: set[str]) -> tuple[str, str]:
    r"""Two regular expressions (RE2, DuckDB's regexp_matches, and Python's re alike) that
    between them find in a record's JSON text, as its partition holds it, every record that
    could_match or near_miss could keep by one of `name_fields` or `near_fields` (dotted, as
    Source.search_fields; `list_fields`: those openFDA fills with lists of names), and some
    others: they may let a record through that neither keeps, never turn down one they keep.
    Two, not one: each starts with a fixed character (\ or "), which RE2 looks for quickly.
    Why none is turned down (tests/test_bulk_sieve.py tries the ways round it):

    - the first finds an escape that can stand for a letter or digit (LETTER_ESCAPE); in any
      other record every letter and digit of a name's text is one of its JSON text's, in the
      same order, with only other characters between;
    - the second finds a name field's key (the last part of a field, as JSON text, anywhere in
      the record: more than the fields' own, never fewer) whose value is not text or null (for
      a list field: not text, null or a list of text and null): as_json writes those out
      again, with numbers, keys and escapes the JSON text may not show;
    - or whose value, or an element of a list field's value, is text that holds a term's
      letters and digits in order, in either case (ı and ſ for I and S, as AS_DUCKDB_UPPER),
      with no letter or digit between (GAP): every name could_match keeps;
    - or, for a near field, text that holds a term of NEAR_LETTERS or more with one letter or
      digit changed, dropped or added, in the same way: every name near_miss keeps (a word,
      or two written together, one edit from the term; a gap covers the dots and apostrophes
      near_miss drops and the space between two words)."""
    searched = [t.squeezed for t in terms if t.searched]
    spelled_terms = sorted({spelled(term) for term in searched})
    near = sorted({edit for term in searched if len(term) >= NEAR_LETTERS for edit in one_edit_patterns(term)})
    lists = {field.rsplit(".", 1)[-1] for field in list_fields} - {field.rsplit(".", 1)[-1] for field in [*name_fields, *near_fields] if field not in list_fields}
    near_keys = {field.rsplit(".", 1)[-1] for field in near_fields}
    groups: dict[tuple[bool, bool], list[str]] = {}
    for key in sorted({field.rsplit(".", 1)[-1] for field in [*name_fields, *near_fields]}):
        groups.setdefault((key in lists, key in near_keys), []).append(key)
    alternatives = []
    for (is_list, is_near), keys in sorted(groups.items()):
        names = TEXT_SO_FAR + "(?:" + "|".join(spelled_terms + (near if is_near else [])) + ")"
        if is_list:
            element = f"(?:{JSON_TEXT}|null)"
            value = rf"(?:{NOT_TEXT_OR_LIST}|\[{SPACE}(?:{element}{SPACE},{SPACE})*(?:{NOT_TEXT}|{names})|{names})"
        else:
            value = f"(?:{NOT_TEXT}|{names})"
        alternatives.append('"(?:' + "|".join(re.escape(k) for k in keys) + ')"' + SPACE + ":" + SPACE + value)
    return LETTER_ESCAPE, "|".join(alternatives)


def letter(char: str) -> str:
    """A letter or digit of a term (upper case), as the sieve finds it in a name's text."""
    if char == "*":  # one_edit_patterns: any letter or digit
        return LETTER_OR_DIGIT
    cases = {char, char.lower(), *([ALSO[char]] if char in ALSO else [])}
    return "[" + "".join(sorted(re.escape(c) for c in cases)) + "]" if len(cases) > 1 else re.escape(char)


def spelled(term: str) -> str:
    return GAP.join(letter(c) for c in term)


def one_edit_patterns(term: str) -> list[str]:
    """The term with one letter or digit changed or dropped (*? in place of it: any one, or
    none), or one added (*), each as the sieve spells it."""
    patterns = []
    for i in range(len(term) + 1):
        patterns.append(spelled(term[:i] + "*" + term[i:]))  # one added before term[i]
        if i < len(term):
            prefix, suffix = term[:i], term[i + 1:]
            patterns.append(GAP.join(p for p in (spelled(prefix) if prefix else "", f"(?:{LETTER_OR_DIGIT})?", spelled(suffix) if suffix else "") if p))
    return patterns


def search_query(term: Term, fields: list[str]) -> str:
    """openFDA search string for one term over several fields, joined by OR.

    Joined with spaces, not '+': requests encodes them, and a literal '+AND+' that gets
    percent-encoded is reported to make openFDA answer 500.
    """
    value = term.search_value()
    return " OR ".join(f"{field}:{value}" for field in fields)
