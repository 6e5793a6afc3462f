"""The report's figures with any text and any --top: text from the data is escaped before it
reaches a figure or the page (an SVG stays valid XML, nothing raw reaches stderr), and every
figure lays out, from one bar to a hundred, with nothing cut, covered or warned about.

Every warning is an error here: matplotlib warns (on stderr, quoting the raw character) rather
than fail, so a warning is how a figure that went wrong shows."""

import csv
import io
import re
import xml.dom.minidom
import xml.etree.ElementTree
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image
from typer.testing import CliRunner

from kratom_ae.ingest import openfda
import synthetic
from kratom_ae.cli.main import app
from kratom_ae.cli.terminal import printable
from fake_openfda import FakeOpenFDA
from kratom_ae.ingest import store
from kratom_ae.queries.library import Filters
from kratom_ae.queries import signals as signal_lib
from kratom_ae.report import build, figures

# Every warning of the report's own is an error; not a socket another test left for the
# garbage collector, which may happen to be collected during one of these (CI failed so once).
pytestmark = pytest.mark.filterwarnings("error", "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")

runner = CliRunner()
KRATOM_ONLY = str(Path(__file__).parent / "fixtures" / "terms_kratom.csv")
HOSTILE_LAST_UPDATED = "2026-04-28\x1b[2J\x07"
LONG_TERM = "ACUTE GENERALISED EXANTHEMATOUS PUSTULOSIS WITH EOSINOPHILIA AND SYSTEMIC SYMPTOMS IN A PATIENT WHO TOOK KRATOM DAILY"
# Reaction terms that break a figure drawn naively: control characters (invalid XML), a
# noncharacter, text matplotlib reads as math, characters DejaVu Sans has no glyph for, and a
# term too long for two lines.
HOSTILE_TERMS = ["ESC\x1b[2JTERM", "BEL\x07TERM", "NUL\x00TERM", "NONCHARACTER\uffffTERM", "PRICE $\\FRAC$ TERM", "\u30af\u30e9\u30c8\u30e0 TERM", LONG_TERM]
HOSTILE_PRODUCTS = ["PRODUCT\x1b[31mESC", "PRODUCT\x07BEL", "PRODUCT\x00NUL"]
# Characters that must never reach a file or stderr as they are: C0 controls but tab and line
# breaks, DEL, C1, and the characters XML 1.0 forbids.
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
TOPS = [1, 2, 3, 5, 10, 20, 50, 100]


def report(report_id: int, products: list[str], terms: list[str]) -> dict:
    return {
        "safetyreportid": str(report_id), "safetyreportversion": "1", "receivedate": "20240102", "serious": "1",
        "patient": {"drug": [{"medicinalproduct": p, "drugcharacterization": "1"} for p in products], "reaction": [{"reactionmeddrapt": t} for t in terms],
                    "patientsex": "2", "patientonsetage": "30", "patientonsetageunit": "801"},
    }


def hostile_records() -> list[dict]:
    """Three kratom reports per hostile term and product, and other reports for the signals
    background to compare them with (the fake server counts the background from all of them)."""
    kratom = [report(700 + i, ["KRATOM", HOSTILE_PRODUCTS[i % 3]], [term]) for i, term in enumerate(HOSTILE_TERMS * 3)]
    others = [report(800 + i, ["ASPIRIN"], ["NAUSEA"] + ([HOSTILE_TERMS[i % 7]] if i % 5 == 0 else [])) for i in range(70)]
    return kratom + others


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """`kratom-ae report` of a database fetched from the fake openFDA whose terms and products
    hold control characters, and whose last_updated (of the reports and of the signals
    background) holds an escape sequence and BEL."""
    folder = tmp_path_factory.mktemp("hostile-report")
    db = folder / "hostile.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synthetic, "LAST_UPDATED", HOSTILE_LAST_UPDATED)
        patch.setattr(openfda, "wait", lambda seconds: None)  # no pacing
        with FakeOpenFDA(hostile_records()) as server:
            fetched = runner.invoke(app, ["fetch", "--db", str(db), "--source", "faers", "--terms", KRATOM_ONLY, "--base-url", server.url, "--requests-per-minute", "0", "--quiet"])
            assert fetched.exit_code == 0, fetched.output
            result = runner.invoke(app, ["report", str(folder / "out"), "--db", str(db), "--fetch-background", "--base-url", server.url, "--quiet", "--min-reports", "1"])
    return folder / "out", result


def test_text_from_the_data_is_escaped_in_every_figure_and_on_the_page(hostile_report):
    out, result = hostile_report
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no warning, no raw byte
    svgs = {path.name: path.read_text(encoding="utf-8") for path in out.glob("*.svg")}
    assert {"reactions.svg", "drugs.svg", "signals_forest.svg", "trend.svg"} <= set(svgs)
    for name, text in svgs.items():
        xml.dom.minidom.parseString(text.encode("utf-8"))  # valid XML (a NUL or ESC made it invalid)
        xml.etree.ElementTree.fromstring(text.encode("utf-8"))
        assert not RAW.search(text), name
        assert "2026-04-28\\x1b[2J\\x07" in text, name  # the footnote's last_updated, escaped
    for escaped in ("ESC\\x1b[2JTERM", "BEL\\x07TERM", "NUL\\x00TERM", "NONCHARACTER\\uffffTERM", "PRICE $\\FRAC$ TERM", "\\u30af\\u30e9\\u30c8\\u30e0 TERM"):
        assert escaped in svgs["reactions.svg"] and escaped in svgs["signals_forest.svg"], escaped
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not RAW.search(page)
    assert "ESC\\x1b[2JTERM" in page and "NUL\\x00TERM" in page and "last_updated 2026-04-28\\x1b[2J\\x07" in page
    assert "\u30af\u30e9\u30c8\u30e0 TERM" in page  # a browser has the glyphs: only the figures escape them
    # The CSV beside each figure keeps the data as it is, the long term whole.
    with open(out / "reactions.csv", encoding="utf-8", newline="") as f:
        assert {row["reaction_pt"] for row in csv.DictReader(f)} == set(HOSTILE_TERMS)


def test_escaped_figure_text_is_what_the_figures_draw(hostile_report):
    """The tick labels themselves: escaped, a $ drawn as a $, the long term cut with … on two lines."""
    out, _ = hostile_report
    con = store.connect(out.parent / "hostile.duckdb", read_only=True)
    try:
        drawn = {d.name: d for d in build.collect(con, out.parent / "hostile.duckdb", Filters(top=20), min_reports=1).figures}
    finally:
        con.close()
    ticks = {tick.get_text() for tick in drawn["reactions"].figure.axes[0].get_yticklabels()}
    assert {"ESC\\x1b[2JTERM", "NUL\\x00TERM", "PRICE \\$\\FRAC\\$ TERM", "\\u30af\\u30e9\\u30c8\\u30e0 TERM"} <= ticks
    long = next(text for text in ticks if text.startswith("ACUTE"))
    assert long.count("\n") == figures.LABEL_LINES - 1 and long.endswith("…")
    assert LONG_TERM.startswith(long.replace("\n", " ").removesuffix("…").rstrip())  # only the end is cut, no word in between lost


@pytest.mark.parametrize(
    "char,shown",
    [("\x00", r"\x00"), ("\x07", r"\x07"), ("\x1b", r"\x1b"), ("\x7f", r"\x7f"), ("\x85", r"\x85"), ("\u2028", r"\u2028"), ("\u202e", r"\u202e"),
     ("\ud800", r"\ud800"), ("\udfff", r"\udfff"), ("\ufdd0", r"\ufdd0"), ("\ufffe", r"\ufffe"), ("\uffff", r"\uffff"), ("\U0010ffff", r"\U0010ffff")],
)
def test_characters_xml_or_a_terminal_cannot_hold_are_escaped(char, shown):
    """The terminal's rule, shared by the page and the figures: controls, and what XML 1.0
    forbids (lone surrogates, U+FFFE, U+FFFF) or Unicode reserves (noncharacters)."""
    assert printable(f"A{char}B") == f"A{shown}B"


def test_figure_text_escapes_what_the_font_cannot_draw():
    assert figures.shown("\u30af\u30e9\u30c8\u30e0") == "\\u30af\\u30e9\\u30c8\\u30e0"
    assert figures.shown("CAF\u00c9 \u2026 \u00b5g") == "CAF\u00c9 \u2026 \u00b5g"  # the font has these
    assert figures.shown("\u0915 \U0001f9ea") == "\\u0915 \\U0001f9ea"  # Devanagari, and a test tube beyond the BMP


@pytest.fixture(scope="module")
def connection(signals_db):
    con = store.connect(signals_db, read_only=True)
    yield con
    con.close()


def drawn_figures(con, db, top):
    report = build.collect(con, db, Filters(top=top))
    for drawn in report.figures:
        if drawn.figure is not None:
            renderer = FigureCanvasAgg(drawn.figure).get_renderer()
            drawn.figure.draw(renderer)
            yield drawn, renderer


def assert_laid_out(drawn, renderer):
    """Nothing is drawn outside the figure; the title and footnote cover neither the plot nor
    its labels; no two bar labels overlap."""
    figure, axes = drawn.figure, drawn.figure.axes[0]
    width, height = figure.get_size_inches()
    drawn_box = figure.get_tightbbox(renderer)  # in inches
    assert drawn_box.x0 >= 0 and drawn_box.y0 >= 0 and drawn_box.x1 <= width and drawn_box.y1 <= height, (drawn.name, drawn_box, width, height)
    plot = axes.get_tightbbox(renderer)  # the axes with its tick labels, axis labels and legend
    assert axes.get_window_extent(renderer).height > 0
    assert len(figure.texts) == 2  # the title and the footnote (the SYNTHETIC warning starts it)
    for text in figure.texts:
        assert not text.get_window_extent(renderer).overlaps(plot), (drawn.name, text.get_text())
    # The bars' labels, which may take two lines (the x labels of trend and age_by_sex are
    # turned, so that their upright boxes overlap where the text does not).
    boxes = [tick.get_window_extent(renderer) for tick in axes.get_yticklabels() if tick.get_text()]
    assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:])), drawn.name


@pytest.mark.parametrize("top", TOPS)
def test_every_figure_lays_out_at_every_top(connection, signals_db, top):
    seen = set()
    for drawn, renderer in drawn_figures(connection, signals_db, top):
        seen.add(drawn.name)
        assert_laid_out(drawn, renderer)
        if drawn.name in ("reactions", "drugs"):
            key = "reaction_pt" if drawn.name == "reactions" else "ingredient"
            labels = [t.get_text() for t in drawn.figure.axes[0].get_yticklabels()]  # top to bottom, as the bars were given
            assert labels == drawn.data[key].tolist()  # every term whole
            assert 0 < len(labels) <= top
    assert seen == set(build.LABELS)


def test_the_top_reaction_shows_whole_at_top_1(connection, signals_db):
    """It read DEPENDENCE: the layout gave up, and DRUG was drawn left of the figure's edge."""
    reactions, renderer = next((d, r) for d, r in drawn_figures(connection, signals_db, 1) if d.name == "reactions")
    assert reactions.data["reaction_pt"].tolist() == ["DRUG DEPENDENCE"]  # the fixture's top term
    [tick] = reactions.figure.axes[0].get_yticklabels()
    assert tick.get_text() == "DRUG DEPENDENCE"
    assert reactions.figure.bbox.contains(*tick.get_window_extent(renderer).min)


def test_a_hundred_long_labels_lay_out_in_a_png_of_sensible_size():
    """--top 100 (the most the command allows) of terms that need two lines and more: the bars
    keep their labels apart, and the 300 dpi PNG stays under 10,000 pixels tall."""
    names = [f"{LONG_TERM} {i}" if i % 2 else f"TERM {i} \x1b[2J $\\FRAC$" for i in range(100)]
    frame = pd.DataFrame({"reaction_pt": names, "reports": range(1000, 900, -1), "pct_of_kratom_reports": [10.0] * 100})
    drawn = figures.reactions(frame, 5000, "SYNTHETIC DATA, not from openFDA: openFDA (FAERS last_updated 2026-04-28\x1b[2J\x07)")
    renderer = FigureCanvasAgg(drawn.figure).get_renderer()
    drawn.figure.draw(renderer)
    assert_laid_out(drawn, renderer)
    with Image.open(io.BytesIO(drawn.png())) as image:
        assert image.size[0] == 2100 and image.size[1] < 10_000, image.size


def test_report_at_top_1_writes_nothing_on_stderr(signals_db, tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "out"), "--db", str(signals_db), "--top", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def drawn_by_name(con, db, **filters) -> dict:
    return {drawn.name: drawn for drawn in build.collect(con, db, Filters(top=20, **filters)).figures}


def test_skin_outcomes_are_shares_of_each_bar_adding_up_to_100_with_its_n(connection, signals_db):
    """Each bar is 100% of the reports naming the term: a report with two outcomes for it is one
    hatched segment, not one in each outcome (the "(any skin term)" bar reached 660 beside n = 613)."""
    drawn = drawn_by_name(connection, signals_db)["skin_outcomes"]
    frame, axes = drawn.data, drawn.figure.axes[0]
    rows = list(dict.fromkeys(frame["reaction_pt"]))
    first = frame.drop_duplicates("reaction_pt").set_index("reaction_pt")
    assert first["reports_several_outcomes"].sum() > 0  # the fixture has reports with two outcomes for one term
    segments = {}
    for container in axes.containers:
        for y, bar in zip(range(len(rows) - 1, -1, -1), container.patches):
            segments.setdefault(rows[len(rows) - 1 - y], {})[container.get_label()] = bar.get_width()
    for row in rows:
        widths = segments[row]
        assert sum(widths.values()) == pytest.approx(100.0), row
        mine = frame[frame["reaction_pt"] == row].set_index("outcome")
        for outcome, width in widths.items():
            count = first.loc[row, "reports_several_outcomes"] if outcome == figures.SEVERAL_OUTCOMES else mine["reports_only_this_outcome"].get(outcome, 0)
            assert width == pytest.approx(100.0 * count / first.loc[row, "term_reports"]), (row, outcome)
    n_labels = [text.get_text() for text in axes.texts if text.get_text().startswith("n = ")]
    assert n_labels == [f"n = {int(first.loc[row, 'term_reports']):,}" for row in rows]
    bold = [tick.get_text() for tick in axes.get_yticklabels() if tick.get_fontweight() == "bold"]
    assert bold == [row for row in rows if first.loc[row, "is_group"]] == ["(any skin term)", "(any pigmentation term)", "(any hyperpigmentation term)"]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["0%", "25%", "50%", "75%", "100%"]


def test_axes_read_as_plain_numbers(connection, signals_db):
    """The forest plot's log axis read 10^0, 10^1; count axes had ticks at 2.5 reports."""
    drawn = drawn_by_name(connection, signals_db)
    for name, drawn_figure in drawn.items():
        if drawn_figure.figure is None:
            continue
        axes = drawn_figure.figure.axes[0]
        axes.figure.draw_without_rendering()
        axis = axes.yaxis if name in ("trend", "age_by_sex") else axes.xaxis
        low, high = axis.get_view_interval()
        shown = [(tick, label.get_text()) for tick, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels()) if low <= tick <= high]
        assert shown, name
        for tick, text in shown:
            assert "^" not in text and "$" not in text and "e" not in text, (name, text)
            if name == "signals_forest":
                assert float(text.replace(",", "")) == pytest.approx(tick), (name, text)
            elif name not in ("skin_outcomes", "skin_profile"):  # percent axes
                assert float(text.replace(",", "")) == tick and float(tick).is_integer(), (name, text)
    forest = [label.get_text() for label in drawn["signals_forest"].figure.axes[0].xaxis.get_majorticklabels()]
    assert {"1", "10", "100"} <= set(forest)


def test_the_page_writes_statistics_as_signals_prints_them(report_page_and_rows):
    page, rows = report_page_and_rows
    table = page[page.index('id="data-signals_forest"'):]
    table = table[:table.index("</table>")]
    assert not re.search(r"\d\.\d{3,}", table)  # it showed 605.2735632183908
    first = rows[rows["prr"].notna()].iloc[0]  # (the first rows are terms whose PRR is infinite)
    for value in (f"{first.prr:,.2f}", f"{first.ror025:,.2f}", f"{first.ic025:,.2f}", f"{first.chi2_yates:,.1f}"):
        assert f">{value}<" in table, value
    # An infinite PRR or ROR reads "inf", as signals prints it; its CSV cell stays empty.
    infinite = int(signal_lib.infinite_prr(rows).sum() + signal_lib.infinite_ror(rows).sum())
    assert infinite > 0 and table.count(">inf<") == infinite
    assert rows.loc[signal_lib.infinite_prr(rows), "prr"].isna().all()


@pytest.fixture(scope="module")
def report_page_and_rows(report_dir):
    """The page and the forest plot's CSV of `kratom-ae report` of signals_db (tests/conftest.py)."""
    return (report_dir / "report.html").read_text(encoding="utf-8"), pd.read_csv(report_dir / "signals_forest.csv")


def mark_positions(axes) -> tuple[list[float], list[float]]:
    marks = [text for text in axes.texts if text.get_text() == figures.MARK]
    return sorted({m.get_position()[0] for m in marks}), sorted({m.get_position()[1] for m in marks})


def test_synthetic_data_is_marked_across_every_plot(connection, signals_db):
    """The SYNTHETIC footnote is cropped with the margin; a mark at most MARK_SPACING inches
    from any point of the plot, in both directions, is not."""
    for name, drawn in drawn_by_name(connection, signals_db).items():
        if drawn.figure is None:
            continue
        drawn.figure.draw_without_rendering()
        width, height = drawn.figure.get_size_inches()
        for axes in drawn.figure.axes:
            box = axes.get_position()
            for positions, inches in zip(mark_positions(axes), (box.width * width, box.height * height)):
                assert positions, name
                edges = [0.0, *positions, 1.0]
                gaps = [(b - a) * inches for a, b in zip(edges, edges[1:])]
                # from an edge to the first mark at most half the spacing, between marks at most the spacing
                assert max(gaps[0], gaps[-1]) <= figures.MARK_SPACING / 2 + 1e-9 and max(gaps[1:-1], default=0) <= figures.MARK_SPACING + 1e-9, (name, gaps)


def test_real_data_is_not_marked(connection, signals_db, monkeypatch):
    provenance = build.export.provenance
    monkeypatch.setattr(build.export, "provenance", lambda *args: {**provenance(*args), "synthetic": False})
    for drawn in drawn_by_name(connection, signals_db).values():
        if drawn.figure is not None:
            assert mark_positions(drawn.figure.axes[0]) == ([], []), drawn.name


def figure_texts(drawn) -> str:
    """Every text drawn in a figure: its title, axis labels and captions on the canvas."""
    figure = drawn.figure
    texts = [t.get_text() for t in figure.texts] + [figure._suptitle.get_text() if figure._suptitle else ""]
    for axes in figure.axes:
        texts += [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]
    return "\n".join(texts)


@pytest.mark.parametrize("unit,noun,bars", [("report", "kratom reports", "reports"), ("case", "probable cases", "cases")])
def test_every_figure_names_the_unit_it_counts(connection, signals_db, unit, noun, bars):
    """A figure used alone (its PNG in a paper) says whether it counts reports or probable cases:
    with --unit case the titles said "N = 2,345 kratom reports" over 2,345 cases."""
    other = "kratom reports" if unit == "case" else "probable cases"
    n = connection.execute("SELECT count(DISTINCT case_id) FROM reports WHERE is_kratom_report").fetchone()[0] if unit == "case" else \
        connection.execute("SELECT count(*) FROM reports WHERE is_kratom_report").fetchone()[0]
    for name, drawn in drawn_by_name(connection, signals_db, unit=unit).items():
        assert noun in drawn.title and other not in drawn.title, (name, drawn.title)
        if name != "signals_forest":
            assert f"N = {n:,} {noun}" in drawn.title, (name, drawn.title)
        if drawn.figure is not None:
            text = figure_texts(drawn)
            assert noun in text and other not in text, (name, text)
            if name in ("trend", "age_by_sex", "reactions", "seriousness", "drugs"):
                assert re.search(rf"(^|\n){bars}\b", text), (name, text)
