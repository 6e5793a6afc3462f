"""The report's figures, drawn with matplotlib from the frames the summary tables return.

Each function takes the rows of one table (the same SQL as `kratom-ae query`) and returns a
Drawn: the figure and the exact rows it draws, so that what a figure shows can be checked
against the table and is written beside it as CSV. A figure with nothing to draw is None,
with a sentence saying why.

Text from the data is escaped before it reaches a figure (shown, label, paragraph), and every
figure is as tall as its content needs (fit), so that it lays out whatever the text and --top.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache, cached_property

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to files

import pandas as pd  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kratom_ae.ingest.text import escape, printable  # noqa: E402

# Fixed ids in the SVG files, so that the same data gives the same file.
matplotlib.rcParams["svg.hashsalt"] = "kratom-ae"
matplotlib.rcParams["font.size"] = 8
matplotlib.rcParams["axes.titlesize"] = 9
matplotlib.rcParams["axes.spines.top"] = False
matplotlib.rcParams["axes.spines.right"] = False

WIDTH = 7.0  # inches: a full-width figure of a two-column journal page
DPI = 300
SOURCE_COLOURS = {"faers": "#4C72B0", "caers": "#DD8452"}
OUTCOMES = ["recovered/resolved", "recovering/resolving", "not recovered/not resolved", "recovered/resolved with sequelae", "fatal", "unknown", "not reported"]
OUTCOME_COLOURS = ["#1b7837", "#7fbf7b", "#e08214", "#8073ac", "#000000", "#bababa", "#e0e0e0"]
# Outcomes whose bar segment is dark enough that its percent is written in white.
DARK_OUTCOMES = {"recovered/resolved", "recovered/resolved with sequelae", "fatal"}
SEVERAL_OUTCOMES = "two or more outcomes"
SEX_COLOURS = {"female": "#C44E52", "male": "#4C72B0", "unknown or not reported": "#AAAAAA"}
NO_REPORTS = "No kratom report is in scope with these filters: nothing to draw."

# Room for text, in inches: titles and footnotes span the figure; a tick label may take at
# most LABEL_INCHES (the forest plot's, which name the source and flags too, FOREST_LABEL_INCHES)
# on at most LABEL_LINES lines, so that the plot beside always keeps most of the width.
TEXT_INCHES = WIDTH - 0.2
LABEL_INCHES = 2.6
FOREST_LABEL_INCHES = 3.8
LABEL_LINES = 2
# The plot's height, in inches: per bar (and per further line of the tallest label), and of the
# trend and age figures.
ROW = 0.18
FOREST_ROW = 0.21
ROW_LINE = 0.12
TREND_HEIGHT = 1.7
AGE_HEIGHT = 1.6
# A first height for each figure, in which any title, legend, axis labels and footnote fit.
ROOM = 50.0
# Synthetic data: SYNTHETIC is written across every plot at most this far apart (inches), in
# both directions, so that any crop of a plot large enough to read a bar keeps the mark.
MARK_SPACING = 1.0
MARK = "SYNTHETIC"
# The forest plot's ticks, by how many powers of ten its axis spans: as many as their labels
# leave room for.
LOG_TICKS = {1.0: (1.0, 1.5, 2.0, 3.0, 5.0, 7.0), 2.5: (1.0, 2.0, 5.0), math.inf: (1.0,)}


@dataclass
class Drawn:
    name: str  # file stem of the PNG, SVG and CSV
    title: str  # what the figure counts, with its N
    caption: str  # how to read it: denominators, what is left out
    data: pd.DataFrame  # exactly the rows drawn
    figure: Figure | None  # None: nothing to draw (see empty)
    empty: str | None = None

    @cached_property
    def svg(self) -> bytes:
        """Written once: the file beside the page and the image inside it are the same bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return buffer.getvalue()


class Count(int):
    """A number of kratom reports in scope, or with --unit case of probable cases: the titles,
    captions and axes of a figure name the unit from it, so that a figure used alone (its PNG
    in a paper) says what it counts."""

    def __new__(cls, value: int, unit: str = "report"):
        count = super().__new__(cls, value)
        count.unit = unit
        return count


def units(n: int) -> str:
    """"kratom reports" or "probable cases", as n counts them."""
    case = getattr(n, "unit", "report") == "case"
    return ("probable case" if case else "kratom report") + ("" if n == 1 else "s")


def counted(n: int) -> str:
    """What a bar counts: "reports" or "cases"."""
    return "cases" if getattr(n, "unit", "report") == "case" else "reports"


def n_text(n: int) -> str:
    return f"N = {n:,} {units(n)}"


def plain_number(value: float, _position=None) -> str:
    """A tick label as a reader writes the number: 0.5, 1, 20, 1,000 (not 10^0 or 1e3)."""
    if value >= 1 and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.10g}"


def count_axis(axis) -> None:
    """An axis of counts: whole numbers only (no tick at 2.5 reports), with thousands separators."""
    axis.set_major_locator(ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    axis.set_major_formatter(ticker.FuncFormatter(plain_number))


# -- Text from the data, as a figure draws it ---------------------------------------------


@cache
def glyphs() -> frozenset[int]:
    """The characters the figures' font (DejaVu Sans, shipped with matplotlib) draws, in both
    the weights they use."""
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    regular, bold = (set(FT2Font(findfont(FontProperties(weight=w))).get_charmap()) for w in ("normal", "bold"))
    return frozenset(regular & bold)


def shown(value) -> str:
    """Text from the data as a figure shows it: escaped by the terminal's rule (ingest/text.py;
    a NUL or ESC made the SVG invalid XML), and so is a character the font has no glyph for
    (matplotlib drew a box and warned on stderr, quoting the raw character)."""
    text = printable(value)
    return "".join(c if ord(c) in glyphs() else escape(c) for c in text)


def plain(text: str) -> str:
    """matplotlib reads text between two $ as math (and a $ it cannot parse stopped the whole
    report): a $ in the data is drawn as a $."""
    return text.replace("$", r"\$")


@cache
def inches(text: str, size: float, weight: str = "normal") -> float:
    """How wide matplotlib draws one line of text at size points: its outline's width (as in
    the SVG), and 6% more, since the PNG's renderer hints glyphs and draws up to 5% wider at
    screen resolution (100 dpi; 1% at the PNG's 300)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    width, _, _ = text_to_path.get_text_width_height_descent(text, FontProperties(size=size, weight=weight), ismath=False)
    return 1.06 * width / 72


def wrap(text: str, width: float, lines: int, size: float, weight: str = "normal") -> list[str]:
    """text on at most `lines` lines no wider than `width` inches, broken between words (and
    inside a word wider than a line, so that no word is lost); when more lines would be needed,
    the last one ends in "…" (the CSV beside the figure keeps the text whole)."""
    fits = lambda line: inches(line, size, weight) <= width  # noqa: E731
    limit = 200 * lines  # more characters than fit on the lines even at 6 points
    rows, line = [], ""
    for word in text[:limit].split(" "):
        if line and fits(f"{line} {word}"):
            line = f"{line} {word}"
            continue
        if line:
            rows.append(line)
        line = word
        while not fits(line) and len(line) > 1:
            cut = next((i for i in range(len(line) - 1, 1, -1) if fits(line[:i])), 1)
            rows.append(line[:cut])
            line = line[cut:]
    rows.append(line)
    if len(rows) > lines or len(text) > limit:
        rows = rows[:lines]
        while len(rows[-1]) > 1 and not fits(rows[-1] + "…"):
            rows[-1] = rows[-1][:-1]
        rows[-1] = rows[-1].rstrip() + "…"
    return rows


def label(value, suffix: str = "", width: float = LABEL_INCHES) -> str:
    """A tick label: text from the data on at most LABEL_LINES lines, then the suffix (the
    forest plot's source and flags), which is never cut."""
    size = matplotlib.rcParams["font.size"]
    rows, suffix = wrap(shown(value), width, LABEL_LINES, size), shown(suffix)
    if suffix and inches(rows[-1] + suffix, size) <= width:
        rows[-1] += suffix
    elif suffix:
        rows.append(suffix.strip())
    return plain("\n".join(rows))


def paragraph(text: str, size: float, weight: str = "normal", lines: int = 6) -> str:
    """A title or footnote across the figure (matplotlib would cut it at the figure's edge)."""
    return plain("\n".join(wrap(shown(text), TEXT_INCHES, lines, size, weight)))


# -- Layout -------------------------------------------------------------------------------


def new_figure(title: str, footnote: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(WIDTH, ROOM), layout="constrained")
    axes = figure.add_subplot()
    figure.suptitle(paragraph(title, 9, "bold"), fontsize=9, fontweight="bold", ha="left", x=0.01)
    figure.supxlabel(paragraph(footnote, 6), fontsize=6, color="#555555", ha="left", x=0.01)
    return figure, axes


def fit(figure: Figure, plot_height: float) -> Figure:
    """Give the plot plot_height inches, and the figure the height its title, legend, axis labels
    and footnote need around it. constrained layout keeps a figure's size and squeezes the plot
    into what is left: when nothing was left (one bar under a title and a footnote), it gave up
    with a warning, and the plot covered the footnote and the labels ran off the figure's left
    edge (DRUG DEPENDENCE showed as DEPENDENCE)."""
    figure.set_figheight(ROOM)
    figure.draw_without_rendering()  # lays the figure out
    plot = figure.axes[0].get_position().height * ROOM
    figure.set_figheight(ROOM - plot + plot_height)
    return figure


def bars_height(labels: list[str], row: float = ROW) -> float:
    """A row per bar, as tall as the tallest label needs; two rows at least (a single bar would be fat)."""
    lines = max((text.count("\n") + 1 for text in labels), default=1)
    return max(len(labels), 2) * (row + ROW_LINE * (lines - 1))


def nothing(name: str, title: str, caption: str, data: pd.DataFrame, why: str = NO_REPORTS) -> Drawn:
    return Drawn(name, title, caption, data, None, why)


def trend(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    """Kratom reports per received year, stacked by source, with the reports naming a skin
    term and a pigmentation term drawn alongside (queries/trend.sql)."""
    title = f"{units(n).capitalize()} per received year, by source, with skin and pigmentation {counted(n)} ({n_text(n)})"
    dated = frame.dropna(subset=["received_year"])
    undated = int(frame.loc[frame["received_year"].isna(), "reports"].sum())
    caption = (
        "Bars: kratom reports received that year, stacked by source (FAERS, CAERS). Lines: of those, reports naming at least one skin "
        "term, and at least one pigmentation term (all sources). A report counts once, in the year openFDA received it."
        + (f" {undated:,} report{'s' if undated != 1 else ''} with no received date {'are' if undated != 1 else 'is'} not drawn." if undated else "")
    )
    if dated.empty:
        return nothing("trend", title, caption, frame)
    years = sorted(int(y) for y in dated["received_year"].unique())
    figure, axes = new_figure(title, footnote)
    bottom = pd.Series(0, index=years)
    for source in ("faers", "caers"):
        rows = dated[dated["source"] == source]
        if rows.empty:
            continue
        counts = rows.groupby(rows["received_year"].astype(int))["reports"].sum().reindex(years, fill_value=0)
        axes.bar(years, counts.values, bottom=bottom.values, color=SOURCE_COLOURS[source], label=f"{source.upper()} reports", width=0.8)
        bottom += counts
    per_year = dated.groupby(dated["received_year"].astype(int))[["skin_reports", "pigmentation_reports"]].sum().reindex(years, fill_value=0)
    axes.plot(years, per_year["skin_reports"].values, color="#222222", marker="o", markersize=3, linewidth=1.2, label="of those, naming a skin term")
    axes.plot(years, per_year["pigmentation_reports"].values, color="#8B4513", marker="s", markersize=3, linewidth=1.2, linestyle="--", label="of those, naming a pigmentation term")
    axes.set_xlabel("year openFDA received the report")
    axes.set_ylabel(counted(n))
    count_axis(axes.yaxis)
    axes.set_xticks(years, [str(y) for y in years], rotation=90 if len(years) > 12 else 0)
    axes.legend(frameon=False, fontsize=7, ncol=2, loc="lower left", bbox_to_anchor=(0.0, 1.0))
    return Drawn("trend", title, caption, frame, fit(figure, TREND_HEIGHT))


def barh(figure, axes, names, values, texts, colour="#4C72B0") -> Figure:
    """Horizontal bars, the first name on top, each with its value written beside it; the
    figure laid out."""
    positions = list(range(len(names)))[::-1]
    labels = [label(name) for name in names]
    axes.barh(positions, values, color=colour, height=0.7)
    axes.set_yticks(positions, labels)
    top = max(values) if len(values) else 0
    for y, value, text in zip(positions, values, texts):
        axes.text(value + top * 0.01, y, text, va="center", fontsize=7)
    axes.set_xlim(0, top * 1.18 if top else 1)
    count_axis(axes.xaxis)
    return fit(figure, bars_height(labels))


def reactions(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    title = f"The {len(frame)} most reported reactions (MedDRA preferred terms; {n_text(n)})"
    caption = (
        f"Reports naming each term, and their percent of the {n:,} {units(n)} in scope. A report with several terms counts once "
        "for each, so the bars add up to more than the reports; a term counts once per report in any spelling."
    )
    if frame.empty:
        return nothing("reactions", title, caption, frame)
    figure, axes = new_figure(title, footnote)
    axes.set_xlabel(f"{counted(n)} (percent of the {n:,} {units(n)})")
    figure = barh(figure, axes, frame["reaction_pt"].tolist(), frame["reports"].tolist(), [f"{r:,} ({p:.1f}%)" for r, p in zip(frame["reports"], frame["pct_of_kratom_reports"])])
    return Drawn("reactions", title, caption, frame, figure)


def skin_outcomes(frame: pd.DataFrame, n: int, skin_reports: int, footnote: str) -> Drawn:
    """Each skin term's reports as one bar of 100%, split by that term's own reaction outcome
    (queries/skin_outcomes.sql), with the reports it stands for (n) beside it."""
    title = f"Skin disorders by the outcome reported for that term, in percent of the reports naming it ({n_text(n)}; {skin_reports:,} name a skin term)"
    caption = (
        "Each bar: the n reports naming the term (or any term of the group), split by the outcome reported for that term itself "
        "(FAERS reactionoutcome), in percent of n, so that every bar adds up to 100%. A report whose rows for the term carry two or "
        f"more different outcomes is drawn once, as \"{SEVERAL_OUTCOMES}\" (hatched); the table skin_outcomes (its reports column) "
        "counts it under each of them. CAERS has no outcome per reaction, and AERS-era FAERS reports none: they are \"not reported\". "
        "Reports of kratom's reactions, not a sample of its users: a share says how reports describe the outcome, not how often it happens."
    )
    if frame.empty:
        return nothing("skin_outcomes", title, caption, frame, NO_REPORTS if n == 0 else "No kratom report in scope names a skin term: nothing to draw.")
    rows = list(dict.fromkeys(frame["reaction_pt"]))
    first = frame.drop_duplicates("reaction_pt").set_index("reaction_pt")
    totals, several, groups = first["term_reports"], first["reports_several_outcomes"], first["is_group"].astype(bool)
    only = frame.pivot_table(index="reaction_pt", columns="outcome", values="reports_only_this_outcome", aggfunc="sum", fill_value=0)
    only = only.reindex(index=rows, columns=OUTCOMES, fill_value=0)
    segments = [(outcome, colour, only[outcome], None) for outcome, colour in zip(OUTCOMES, OUTCOME_COLOURS)]
    segments.append((SEVERAL_OUTCOMES, "white", several.reindex(rows), "////"))
    figure, axes = new_figure(title, footnote)
    positions = list(range(len(rows)))[::-1]
    left = pd.Series(0.0, index=rows)
    for outcome, colour, counts, hatch in segments:
        if counts.sum() == 0:
            continue
        shares = 100.0 * counts / totals.reindex(rows)
        axes.barh(positions, shares.values, left=left.values, color=colour, height=0.7, label=outcome, edgecolor="#666666" if hatch else "white",
                  linewidth=0.3, hatch=hatch)
        for y, share, start in zip(positions, shares.values, left.values):
            if share >= 8:  # room for "100%" at 6 points across a 7-inch figure
                axes.text(start + share / 2, y, f"{share:.0f}%", ha="center", va="center", fontsize=6,
                          color="white" if outcome in DARK_OUTCOMES else "#222222")
        left += shares
    for y, row in zip(positions, rows):
        axes.text(101.5, y, f"n = {int(totals[row]):,}", va="center", fontsize=7)
    labels = [label(row) for row in rows]
    axes.set_yticks(positions, labels)
    for tick, row in zip(axes.get_yticklabels(), rows):
        if groups[row]:
            tick.set_fontweight("bold")
    axes.set_xlim(0, 116)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    axes.set_xlabel("percent of the reports naming the term (n), by that term's outcome")
    axes.legend(frameon=False, fontsize=6, ncol=4, loc="lower right", bbox_to_anchor=(1.0, 1.0))
    return Drawn("skin_outcomes", title, caption, frame, fit(figure, bars_height(labels)))


PROFILE_OUTCOME = "reaction outcome (of this reaction)"
PROFILE_ONSET = "time to onset (event date minus kratom start date)"
PROFILE_PIGMENTING = "co-reported pigmenting drug"


def skin_profile(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    """The clinical profile of the pigmentation groups (queries/_profile.sql): for each group,
    the outcome of the reaction itself and the share of reports naming a drug known to pigment
    the skin, in percent of the n reports naming the group, with 95% Wilson intervals; the time
    to onset written on the group's row."""
    title = f"Skin disorders: clinical profile of the hyperpigmentation and pigmentation reports ({n_text(n)})"
    caption = (
        "For each group, its n reports (those naming any of its terms): the outcome reported for that reaction itself (FAERS reactionoutcome; "
        "\"not reported\" for every AERS-era and CAERS report), and the reports naming another drug known to pigment the skin (queries/pigmenting_drugs.csv, "
        "by active ingredient, so that brands count), in percent of n, each with its 95% Wilson interval (the line). A report whose rows for the "
        "group carry two outcomes counts under both. Time to onset: the event date minus the earliest kratom start date, whole dates only, "
        "as median and quartiles over the reports that allow it. Seriousness is a report's, not a reaction's, so this figure leaves it out: "
        "the profile lists it (kratom-ae profile --hyperpigmentation). Reports are not incidence: a share says how reports describe the reaction."
    )
    data = frame[frame["section"].isin([PROFILE_OUTCOME, PROFILE_ONSET]) | ((frame["section"] == PROFILE_PIGMENTING) & (frame["measure"] == "present"))].reset_index(drop=True)
    groups = list(dict.fromkeys(data["profile"]))
    sizes = {g: int(frame.loc[(frame["profile"] == g) & (frame["section"] == "reports"), "reports"].iloc[0]) for g in groups}
    if n == 0 or not any(sizes.values()):
        return nothing("skin_profile", title, caption, data, NO_REPORTS if n == 0 else "No kratom report in scope names a pigmentation term: nothing to draw.")
    names, shares, lows, highs, colours, headers, notes = [], [], [], [], [], [], []
    for group in groups:
        rows = data[data["profile"] == group].set_index(["section", "measure"])
        onset = rows.loc[PROFILE_ONSET]
        allowing = int(onset.loc["allowing it", "reports"])
        when = (f"time to onset: median {onset.loc['median', 'days']:,.0f} days (quartiles {onset.loc['lower quartile', 'days']:,.0f}-"
                f"{onset.loc['upper quartile', 'days']:,.0f}), {allowing:,} of {sizes[group]:,} allow it" if allowing else f"time to onset: none of {sizes[group]:,} allows it")
        headers.append(len(names))
        names.append(group)
        notes.append(f"n = {sizes[group]:,}; {when}")
        shares.append(0.0), lows.append(0.0), highs.append(0.0), colours.append("none")
        chosen = [(PROFILE_OUTCOME, outcome, colour) for outcome, colour in zip(OUTCOMES, OUTCOME_COLOURS)] + [(PROFILE_PIGMENTING, "present", "#8B4513")]
        for section, measure, colour in chosen:
            if (section, measure) not in rows.index:
                continue
            row = rows.loc[(section, measure)]
            names.append(measure if section == PROFILE_OUTCOME else "another pigmenting drug reported")
            notes.append(f"{int(row['reports']):,} ({row['pct_of_term_reports']:.1f}%)")
            shares.append(float(row["pct_of_term_reports"] if pd.notna(row["pct_of_term_reports"]) else 0.0))
            lows.append(float(row["ci95_low"]) if pd.notna(row["ci95_low"]) else 0.0)
            highs.append(float(row["ci95_high"]) if pd.notna(row["ci95_high"]) else 0.0)
            colours.append(colour)
    figure, axes = new_figure(title, footnote)
    positions = list(range(len(names)))[::-1]
    bars = [i for i in range(len(names)) if i not in headers]
    axes.barh([positions[i] for i in bars], [shares[i] for i in bars], color=[colours[i] for i in bars], height=0.7, edgecolor="#666666", linewidth=0.3)
    axes.errorbar([shares[i] for i in bars], [positions[i] for i in bars], xerr=[[shares[i] - lows[i] for i in bars], [highs[i] - shares[i] for i in bars]],
                  fmt="none", ecolor="#222222", elinewidth=0.8, capsize=2)
    for i, (y, note) in enumerate(zip(positions, notes)):
        axes.text(1 if i in headers else highs[i] + 1.5, y, note, va="center", fontsize=7 if i in headers else 6, fontweight="bold" if i in headers else "normal")
    labels = [label(name) for name in names]
    axes.set_yticks(positions, labels)
    for i, tick in enumerate(axes.get_yticklabels()):
        if i in headers:
            tick.set_fontweight("bold")
    axes.set_xlim(0, 115)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    axes.set_xlabel(f"percent of the group's n {counted(n)}, with 95% Wilson interval")
    return Drawn("skin_profile", title, caption, data, fit(figure, bars_height(labels)))


def forest(frame: pd.DataFrame, measure: str, min_reports: int, kratom: dict, background: pd.DataFrame, notes: list[str], footnote: str, unit: str = "report") -> Drawn:
    """The signals forest plot: one row per term (and source), the measure with its 95% CI
    on a log scale, flagged terms filled. frame holds the rows of `signals` it draws; a term
    whose measure is infinite (a zero cell) is a triangle at the axis's right edge, its line
    from the lower end of its Haldane-Anscombe CI (the notes, from report/build.py, say so)."""
    from kratom_ae.queries.signals import infinite_prr, infinite_ror

    statistic = measure.upper()
    kratom_text = ", ".join(f"{source.upper()} {count:,}" for source, count in kratom.items())
    background_text = "; ".join(
        f"{row.source.upper()}: {row.total_reports:,} reports in openFDA {row.endpoint}, last_updated {row.background_last_updated} (fetched {row.background_fetched_at})"
        for row in background.itertuples(index=False)
    )
    many = Count(2, unit)  # a and b count kratom reports, or with --unit case probable cases
    title = f"Disproportionality: {statistic} with 95% CI of the {len(frame)} terms with the highest {statistic} and at least {min_reports} {units(many)} (N = {kratom_text} {units(many)})"
    caption = (
        f"One row per term and source: {statistic} of kratom reports against all other reports of the same openFDA database, with its 95% "
        "confidence interval, on a log scale; the dashed line is 1 (reported as often as elsewhere). Filled red: flagged by at least one "
        "rule (Fisher: mid-p with Benjamini-Hochberg q <= 0.05, a >= 3; Evans: PRR >= 2, chi2 >= 4, a >= 3; ROR: ROR025 > 1, a >= 3; "
        "IC: IC025 > 0); open: not flagged. a = kratom reports naming "
        f"the term. Background: {background_text}. Signals count reports received at any date, so --since, --until and --serious do "
        "not apply here. A hypothesis-generating signal of reporting, not an estimate of risk."
        + ("".join(f" {note}" for note in notes))
    )
    if frame.empty:
        return nothing("signals_forest", title, caption, frame, f"No term has at least {min_reports} kratom reports and a {statistic}: nothing to draw.")
    low, high = f"{measure}025", f"{measure}975"
    infinite = (infinite_prr if measure == "prr" else infinite_ror)(frame).tolist()
    finite = frame[[not i for i in infinite]]
    corrected_low = frame.loc[infinite, f"{measure}_ha025"].astype(float)
    shown_values = pd.concat([finite[c].astype(float) for c in (measure, low, high)] + [corrected_low]).dropna()
    shown_values = shown_values[shown_values > 0]
    smallest = min([*shown_values, 1.0]) if len(shown_values) else 1.0
    largest = max([*shown_values, 1.0]) if len(shown_values) else 1.0
    edge = largest * 2.5  # the infinite terms' place: beyond every finite value
    figure, axes = new_figure(title, footnote)
    positions = list(range(len(frame)))[::-1]
    flagged = (frame["flags"].fillna("") != "").tolist()
    labels = []
    for y, row, is_flagged, is_infinite in zip(positions, frame.itertuples(index=False), flagged, infinite):
        colour, edge_colour = ("#C0392B", "#C0392B") if is_flagged else ("white", "#333333")
        if is_infinite:
            start = getattr(row, f"{measure}_ha025")
            axes.plot([start if pd.notna(start) and start > 0 else smallest, edge], [y, y], color="#333333", linewidth=1, linestyle=":")
            axes.plot([edge], [y], marker=">", markersize=5.5, color=colour, markeredgecolor=edge_colour, clip_on=False)
        else:
            value, lower, upper = getattr(row, measure), getattr(row, low), getattr(row, high)
            if pd.notna(lower):
                axes.plot([lower, upper], [y, y], color="#333333", linewidth=1)
            axes.plot([value], [y], marker="D", markersize=4.5, color=colour, markeredgecolor=edge_colour)
        infinite_text = f", {statistic} infinite" if is_infinite else ""
        labels.append(label(row.term, f" ({row.source.upper()}, a = {int(row.a):,}{infinite_text})" + (f"  [{row.flags}]" if row.flags else ""), FOREST_LABEL_INCHES))
    axes.set_yticks(positions, labels)
    axes.set_xscale("log")
    if any(infinite):
        axes.set_xlim(smallest / 1.5, edge)
    # Ticks at 1, 2 and 5 times a power of ten, or only the powers when the axis spans too many
    # for their labels to fit, written as numbers (matplotlib writes 10^0, 10^1).
    low_x, high_x = axes.get_xlim()
    decades = math.log10(high_x / low_x)
    axes.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=LOG_TICKS[next(d for d in LOG_TICKS if decades <= d)]))
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(plain_number))
    axes.xaxis.set_minor_formatter(ticker.NullFormatter())
    axes.axvline(1.0, color="#888888", linestyle="--", linewidth=0.8)
    axes.set_xlabel(f"{statistic} (95% CI), log scale" + ("; a triangle at the right edge: infinite" if any(infinite) else ""))
    return Drawn("signals_forest", title, caption, frame, fit(figure, bars_height(labels, FOREST_ROW)))


def age_by_sex(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    title = f"Age group by sex ({n_text(n)})"
    caption = (
        f"Reports per age group and sex, of the {n:,} {units(n)} in scope (all bars add up to N). Ages given only as a decade are in "
        "an age group when the whole decade lies in it, else in \"decade spanning two groups\"."
    )
    if frame.empty:
        return nothing("age_by_sex", title, caption, frame)
    groups = list(dict.fromkeys(frame["age_group"]))
    sexes = [s for s in SEX_COLOURS if s in set(frame["sex"])]
    table = frame.pivot_table(index="age_group", columns="sex", values="reports", aggfunc="sum", fill_value=0).reindex(index=groups, columns=sexes, fill_value=0)
    figure, axes = new_figure(title, footnote)
    width = 0.8 / len(sexes)
    for i, sex in enumerate(sexes):
        xs = [g + (i - (len(sexes) - 1) / 2) * width for g in range(len(groups))]
        axes.bar(xs, table[sex].values, width=width, color=SEX_COLOURS[sex], label=sex)
    axes.set_xticks(range(len(groups)), [label(group) for group in groups], rotation=20, ha="right")
    axes.set_ylabel(counted(n))
    count_axis(axes.yaxis)
    axes.legend(frameon=False, fontsize=7, ncol=3, loc="lower left", bbox_to_anchor=(0.0, 1.0))
    return Drawn("age_by_sex", title, caption, frame, fit(figure, AGE_HEIGHT))


def seriousness(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    """The seriousness rows of the summary table (queries/summary.sql)."""
    title = f"Seriousness criteria ({n_text(n)}; a report can meet several)"
    caption = (
        f"Reports meeting each criterion, and their percent of the {n:,} {units(n)} in scope. FAERS gives the criteria; for CAERS they are "
        "derived from its outcomes (docs/methods.md, \"How openFDA's fields are read\"). \"serious reports\" counts reports meeting at least one."
    )
    if n == 0:
        return nothing("seriousness", title, caption, frame)
    figure, axes = new_figure(title, footnote)
    axes.set_xlabel(f"{counted(n)} (percent of the {n:,} {units(n)})")
    figure = barh(figure, axes, frame["measure"].tolist(), frame["reports"].tolist(), [f"{r:,} ({p:.1f}%)" for r, p in zip(frame["reports"], frame["pct_of_kratom_reports"])], colour="#C44E52")
    return Drawn("seriousness", title, caption, frame, figure)


def drugs(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    title = f"The {len(frame)} drugs most often reported with kratom, by active ingredient ({n_text(n)})"
    caption = (
        f"Reports listing a product with each active ingredient (openFDA's generic name where it mapped the product, else the active substance or "
        f"the product's name; any role), and their percent of the {n:,} {units(n)} in scope; a report listing several counts once for each, "
        "and a combination product under each of its ingredients."
    )
    if frame.empty:
        return nothing("drugs", title, caption, frame, NO_REPORTS if n == 0 else "No other product is listed on the kratom reports in scope: nothing to draw.")
    figure, axes = new_figure(title, footnote)
    axes.set_xlabel(f"{counted(n)} (percent of the {n:,} {units(n)})")
    figure = barh(figure, axes, frame["ingredient"].tolist(), frame["reports"].tolist(), [f"{r:,} ({p:.1f}%)" for r, p in zip(frame["reports"], frame["pct_of_kratom_reports"])], colour="#55A868")
    return Drawn("drugs", title, caption, frame, figure)


def mark_synthetic(figure: Figure) -> Figure:
    """SYNTHETIC across every plot of the figure, at most MARK_SPACING inches apart in both
    directions: the footnote says it too, but a footnote is the first thing a crop cuts. The
    marks are left out of the layout (they would push the plot smaller) and clipped to it."""
    figure.draw_without_rendering()  # the plot's final place
    width, height = figure.get_size_inches()
    for axes in figure.axes:
        box = axes.get_position()
        columns = max(2, math.ceil(box.width * width / MARK_SPACING))
        rows = max(1, math.ceil(box.height * height / MARK_SPACING))
        for i in range(columns):
            for j in range(rows):
                mark = axes.text((i + 0.5) / columns, (j + 0.5) / rows, MARK, transform=axes.transAxes, ha="center", va="center", rotation=15,
                                 fontsize=8, fontweight="bold", color="#C0392B", alpha=0.22, zorder=10, clip_on=True)
                mark.set_in_layout(False)
    return figure
