"""`kratom-ae report`: the files it writes, the page's figures and tables with their N, figures
drawn from the same SQL as the tables and signals, empty scopes, no background, no request."""

import csv
import io
import json
import shutil
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import oracle
from kratom_ae.cli.main import app
from vcr_setup import make_vcr

runner = CliRunner()
ROOT = Path(__file__).parents[1]
FIGURES = ["trend", "reactions", "skin_outcomes", "skin_profile", "signals_forest", "age_by_sex", "seriousness", "drugs"]
NOTHING = "No kratom report is in scope with these filters: nothing to draw."
NO_BACKGROUND = "No disproportionality background is cached in this database, so there is no forest plot"


def report(db, folder, *args, cassette="empty_never_recorded"):
    """Run the report with every openFDA request answered by the cassette: the empty one
    fails on any request."""
    with make_vcr("none").use_cassette(f"{cassette}.json", allow_playback_repeats=False):
        result = runner.invoke(app, ["report", str(folder), "--db", str(db), *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def cli_csv(*args):
    result = runner.invoke(app, [*map(str, args), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


class Page(HTMLParser):
    """The parts of report.html a reader relies on: figures (image, caption), tables (caption), sections."""

    def __init__(self, text):
        super().__init__()
        self.figures, self.tables, self.ids, self.stack, self.text = {}, {}, set(), [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "figure":
            self.figures[attrs["id"]] = {"img": None, "caption": "", "empty": ""}
            self.stack.append(("figure", attrs["id"]))
        elif tag == "img" and self.current("figure"):
            self.figures[self.current("figure")]["img"] = attrs["src"]
        elif tag == "table":
            self.tables[attrs["id"]] = ""
            self.stack.append(("table", attrs["id"]))
        elif tag in ("figcaption", "caption", "p"):
            self.stack.append((tag, None))

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def current(self, kind):
        return next((name for k, name in reversed(self.stack) if k == kind), None)

    def handle_data(self, data):
        self.text.append(data)
        inner = self.stack[-1][0] if self.stack else None
        if inner == "figcaption":
            self.figures[self.current("figure")]["caption"] += data
        elif inner == "p" and self.current("figure"):
            self.figures[self.current("figure")]["empty"] += data
        elif inner == "caption" and self.current("table"):
            self.tables[self.current("table")] += data


@pytest.fixture(scope="module")
def page(report_dir):
    return Page((report_dir / "report.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def n():
    return len(oracle.scope(oracle.all_reports()))


def test_report_writes_the_page_and_every_figure_as_png_svg_and_csv(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert names == {"report.html", "provenance.json"} | {f"{f}.{s}" for f in FIGURES for s in ("png", "svg", "csv")}
    for figure in FIGURES:
        with Image.open(report_dir / f"{figure}.png") as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.1)
            assert image.size[0] == 2100  # 7 inches at 300 dpi
        assert (report_dir / f"{figure}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_every_figure_and_table_is_on_the_page_with_its_n(page, n):
    in_scope = f"N = {n:,} kratom reports"
    assert set(page.figures) == {f"fig-{f}" for f in FIGURES}
    for name, figure in page.figures.items():
        assert figure["img"].startswith("data:image/svg+xml;base64,"), name  # embedded: the page opens offline
        assert "N = " in figure["caption"], name
        assert in_scope in figure["caption"] or name == "fig-signals_forest", name
    scoped = oracle.scope(oracle.all_reports())
    faers, caers = sum(r.source == "faers" for r in scoped), sum(r.source == "caers" for r in scoped)
    assert f"(N = CAERS {caers:,}, FAERS {faers:,} kratom reports)" in page.figures["fig-signals_forest"]["caption"]
    assert "last_updated 2026-11-18" in page.figures["fig-signals_forest"]["caption"]
    assert f"{in_scope} in scope" in page.tables["table-summary"]
    assert f"{in_scope} in scope" in page.tables["table-skin"]
    # The numbers each figure draws, as a table under it, with the same N in its caption.
    for figure in FIGURES:
        assert "N = " in page.tables[f"data-{figure}"], figure
    assert {"provenance", "rules", "disclaimer", "citation", "provenance-faers", "provenance-caers"} <= page.ids


def test_the_page_holds_provenance_counting_rules_and_the_disclaimer(report_dir, page, n):
    from kratom_ae.queries.export import DISCLAIMER, counting_rules

    text = " ".join(" ".join(page.text).split())
    provenance = json.loads((report_dir / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["kratom_reports_in_scope"] == n
    assert f"kratom-ae {provenance['tool_version']}" in text
    for rule in counting_rules():
        assert " ".join(rule.split()) in text
    assert DISCLAIMER in text
    assert "fetched 2026" in text and "last_updated 2026-11-18" in text
    for term in ("KRATOM", "MITRAGYN", "BIAK BIAK"):
        assert term in page.tables["provenance-faers"] + text
    assert "Filters: source=all, role=any, top=20, unit=report." in text
    # The report's database is filled from the synthetic fixtures: the page and every figure say so.
    assert "SYNTHETIC DATA: the caers and faers reports in this database come from a server that calls them synthetic" in text
    assert all("SYNTHETIC DATA, not from openFDA" in path.read_text(encoding="utf-8") for path in report_dir.glob("*.svg"))


def test_the_trend_figure_draws_query_trend(report_dir, signals_db):
    trend = cli_csv("query", "trend", "--db", signals_db)
    assert read_csv(report_dir / "trend.csv") == trend
    assert trend[0].keys() >= {"pigmentation_reports"}


def test_the_trend_figure_draws_its_rows(signals_db):
    """The bars and lines themselves, not only the CSV beside them, are the table's numbers."""
    from kratom_ae.ingest import store
    from kratom_ae.queries.library import Filters
    from kratom_ae.report import build

    con = store.connect(signals_db, read_only=True)
    try:
        drawn = build.collect(con, signals_db, Filters(top=20)).figures[0]
    finally:
        con.close()
    assert drawn.name == "trend"
    axes = drawn.figure.axes[0]
    heights = {}
    for bar in axes.patches:
        year = round(bar.get_x() + bar.get_width() / 2)
        heights[year] = heights.get(year, 0) + bar.get_height()
    per_year = drawn.data.groupby("received_year")[["reports", "skin_reports", "pigmentation_reports"]].sum()
    assert heights == {int(y): float(v) for y, v in per_year["reports"].items()}
    assert list(axes.lines[0].get_ydata()) == per_year["skin_reports"].tolist()
    assert list(axes.lines[1].get_ydata()) == per_year["pigmentation_reports"].tolist()


def drawable(row, measure="prr", min_reports=3):
    """A row of signals the forest plot can draw: enough reports, and the measure known or infinite."""
    infinite = row["c"] == "0" or (measure == "ror" and row["b"] == "0")
    return int(row["a"]) >= min_reports and (row[measure] != "" or infinite)


def test_the_forest_plot_draws_the_rows_of_signals(report_dir, signals_db, page):
    rows = cli_csv("signals", "--db", signals_db, "--quiet")
    want = [r for r in rows if drawable(r)][:20]
    assert len(want) == 20
    assert read_csv(report_dir / "signals_forest.csv") == want
    # Issue 19: the 15 terms no other report names (PRR infinite) are drawn, first, and said to be;
    # every flagged term not drawn is named in the caption with the reason (here the top-20 cut).
    infinite = [r for r in want if r["c"] == "0"]
    assert len(infinite) == 15 and want[:15] == infinite
    caption = " ".join(page.figures["fig-signals_forest"]["caption"].split())
    assert "15 drawn term(s) have an infinite PRR (no other report names them, c = 0): each is drawn as a triangle at the right edge" in caption
    left = [r for r in rows if r["flags"] and r not in want]
    assert left and f"{len(left)} flagged term(s) are not drawn, beyond the top 20 by PRR (--top): " in caption
    assert all(f"{r['term']} ({r['source'].upper()})" in caption for r in left[:10])


def test_every_flagged_term_is_drawn_when_the_top_holds_them(signals_db, tmp_path):
    report(signals_db, tmp_path, "--top", "100", "--since", "2099-01-01")
    rows = cli_csv("signals", "--db", signals_db, "--quiet")
    drawn = read_csv(tmp_path / "signals_forest.csv")
    assert all(r in drawn for r in rows if r["flags"])
    assert "not drawn" not in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_forest_plot_in_ror_of_suspect_reports_equals_signals(signals_db, tmp_path):
    report(signals_db, tmp_path, "--role", "suspect", "--source", "faers", "--measure", "ror", "--top", "5", "--min-reports", "50", "--since", "2099-01-01")
    rows = cli_csv("signals", "--db", signals_db, "--role", "suspect", "--source", "faers", "--sort", "ror", "--min-reports", "50", "--quiet")
    assert read_csv(tmp_path / "signals_forest.csv") == [r for r in rows if drawable(r, "ror", 50)][:5]
    assert "ROR with 95% CI" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_report_unit_case_counts_cases_and_says_so(signals_db, tmp_path):
    """report --unit case, like every table command: the figures' CSVs equal the case-counting
    tables, named by the unit; the forest plot draws `signals --unit case`; the page, every
    figure's footnote and provenance.json say the unit."""
    report(signals_db, tmp_path, "--unit", "case")
    reactions = read_csv(tmp_path / "reactions.csv")
    assert reactions == cli_csv("query", "reactions", "--db", signals_db, "--unit", "case", "--top", "20")
    assert list(reactions[0])[:3] == ["reaction_pt", "cases", "pct_of_kratom_cases"]
    signals_rows = cli_csv("signals", "--db", signals_db, "--unit", "case", "--quiet")
    assert read_csv(tmp_path / "signals_forest.csv") == [r for r in signals_rows if drawable(r)][:20]
    assert signals_rows[0]["ab_unit"] == "probable cases"
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    text = " ".join(" ".join(page.text).split())
    cases = len(oracle.case_scope(oracle.all_reports(), oracle.cases(oracle.all_reports())))
    assert f"N = {cases:,} probable cases in scope" in text and "Unit: probable cases." in text
    from kratom_ae.queries.library import Filters
    from kratom_ae.report import build

    # Every figure draws this footnote under it.
    assert build.footnote(provenance_of(tmp_path), Filters(unit="case")).startswith("SYNTHETIC DATA, not from openFDA: Unit: probable cases (duplicate reports grouped, not verified patients); the signals background counts reports.")
    provenance = provenance_of(tmp_path)
    assert provenance["filters"]["unit"] == "case" and provenance["kratom_cases_in_scope"] == cases


def provenance_of(folder):
    return json.loads((folder / "provenance.json").read_text())


def test_a_scope_with_no_report_draws_nothing_and_says_so(signals_db, tmp_path):
    result = report(signals_db, tmp_path, "--since", "2099-01-01", "--min-reports", "1000000")
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    for name in FIGURES:
        figure = page.figures[f"fig-{name}"]
        assert figure["img"] is None, name
        assert "N = " in figure["caption"], name
        assert not (tmp_path / f"{name}.png").exists() and (tmp_path / f"{name}.csv").exists()
    assert " ".join(page.figures["fig-trend"]["empty"].split()) == NOTHING
    assert " ".join(page.figures["fig-signals_forest"]["empty"].split()) == "No term has at least 1000000 kratom reports and a PRR: nothing to draw."
    assert "N = 0 kratom reports in scope" in page.tables["table-summary"]
    assert str(tmp_path / "report.html") in result.stdout


def test_without_a_cached_background_the_page_says_so_and_sends_no_request(fetched_db, tmp_path):
    report(fetched_db, tmp_path, "--since", "2099-01-01")  # the empty cassette fails on any request
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert NO_BACKGROUND in " ".join(page.figures["fig-signals_forest"]["empty"].split())
    assert "Disproportionality background: none cached." in " ".join(page.text)
    assert not (tmp_path / "signals_forest.png").exists()


def test_fetch_background_asks_openfda_and_draws_the_forest_plot(fetched_db, tmp_path, monkeypatch):
    monkeypatch.setattr("kratom_ae.ingest.openfda.Pacer.wait", lambda self: None)
    db = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    report(db, tmp_path / "out", "--fetch-background", "--since", "2099-01-01", "--quiet", cassette="synthetic_signals_background")
    assert (tmp_path / "out" / "signals_forest.png").exists()
    assert read_csv(tmp_path / "out" / "signals_forest.csv") == [r for r in cli_csv("signals", "--db", db, "--quiet") if drawable(r)][:20]


def test_a_background_that_cannot_be_fetched_leaves_the_report_without_the_plot(fetched_db, tmp_path):
    db = tmp_path / "kratom.duckdb"
    shutil.copy(fetched_db, db)
    # No cassette: a closed local port refuses the connection (retried without waiting: the sleeps fixture).
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--db", str(db), "--fetch-background", "--base-url", "http://127.0.0.1:9", "--since", "2099-01-01", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: no signals background could be fetched (Cannot reach openFDA at http://127.0.0.1:9")
    assert result.stderr.endswith("the report has no forest plot where none was cached.\n")
    page = Page((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert NO_BACKGROUND in " ".join(page.figures["fig-signals_forest"]["empty"].split())


def test_text_from_the_data_is_escaped(report_dir, signals_db):
    import pandas as pd

    from kratom_ae.queries.library import Filters
    from kratom_ae.report import build, figures

    provenance = json.loads((report_dir / "provenance.json").read_text(encoding="utf-8"))
    provenance["sources"][0]["queries"][0]["term"] = "<script>alert(1)</script>"
    skin = pd.DataFrame({"reaction_pt": ["<b>RASH</b> & \"ITCH\""], "reports": [3]})
    drawn = [figures.Drawn(f, f"{f} (N = 3 kratom reports)", "<i>caption</i>", skin, None, "nothing <here>") for f in FIGURES]
    signals = build.Signals(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {})
    html = build.render(build.Report(Filters(top=20), 3, {"summary": skin, "skin": skin, "skin_profile": skin}, drawn, signals, provenance))
    assert "<script>" not in html and "<b>RASH" not in html and "<i>caption" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;RASH&lt;/b&gt; &amp; &#34;ITCH&#34;" in html


@pytest.mark.parametrize(
    "args,message",
    [
        (["--since", "2020-13-01"], "Error: --since must be a date written YYYY-MM-DD, such as 2019-01-31, not '2020-13-01'.\n"),
        (["--db", "/nonexistent/k.duckdb"], "Error: There is no database at /nonexistent/k.duckdb; run `kratom-ae fetch` first or pass --db.\n"),
    ],
)
def test_user_errors(fetched_db, tmp_path, args, message):
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--db", str(fetched_db), *args])
    assert result.exit_code == 1 and result.stderr == message


def test_an_out_dir_that_is_a_file_is_one_sentence(fetched_db, tmp_path):
    (tmp_path / "taken").write_text("x")
    result = runner.invoke(app, ["report", str(tmp_path / "taken"), "--db", str(fetched_db), "--since", "2099-01-01"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: Cannot write the report into {tmp_path / 'taken'}: it is a file, not a folder.\n"


@pytest.mark.filterwarnings("ignore:Support for")
def test_package_data_holds_every_file_the_code_reads():
    """A wheel holds the templates and data files the code opens (not only an editable install)."""
    pyprojecttoml = pytest.importorskip("setuptools.config.pyprojecttoml")
    tool = pyprojecttoml.read_configuration(ROOT / "pyproject.toml")["tool"]["setuptools"]
    assert set(tool["packages"]) == set(tool["package-dir"])
    for package, folder in tool["package-dir"].items():
        patterns = tool["package-data"].get(package, [])
        # Each package's own folder (kratom_ae.queries is queries/): a package's name as a
        # path is no folder, and a walk of it found nothing to check.
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc", ".md") and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT / folder).as_posix()
                assert any(fnmatch(relative, p) for p in patterns), f"{package}/{relative} is not in package-data"


def test_the_installed_command_writes_the_report_outside_the_repository(signals_db, tmp_path):
    """The page's template is read from the installed package: run from the repository, a
    folder named report/ beside the tests found it anyway, and everywhere else the report
    failed (no module named 'report')."""
    import subprocess
    import sys

    command = Path(sys.executable).parent / "kratom-ae"
    done = subprocess.run([str(command), "report", "out", "--db", str(signals_db)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "report.html").stat().st_size > 0
