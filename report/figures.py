"""The report's figures, drawn with matplotlib from the frames the summary tables return.

Each function takes the rows of one table (the same SQL as `kratom-ae query`) and returns a
Drawn: the figure and the exact rows it draws, so that what a figure shows can be checked
against the table and is written beside it as CSV. A figure with nothing to draw is None,
with a sentence saying why.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from functools import cached_property

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to files

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

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
SEX_COLOURS = {"female": "#C44E52", "male": "#4C72B0", "unknown or not reported": "#AAAAAA"}
NO_REPORTS = "No kratom report is in scope with these filters: nothing to draw."


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


def n_text(n: int) -> str:
    return f"N = {n:,} kratom report{'' if n == 1 else 's'}"


def new_figure(height: float, title: str, footnote: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = figure.add_subplot()
    # Wrapped by hand: matplotlib cuts a long title at the figure's edge.
    figure.suptitle(textwrap.fill(title, 88), fontsize=9, fontweight="bold", ha="left", x=0.01)
    figure.supxlabel(textwrap.fill(footnote, 140), fontsize=6, color="#555555", ha="left", x=0.01)
    return figure, axes


def nothing(name: str, title: str, caption: str, data: pd.DataFrame, why: str = NO_REPORTS) -> Drawn:
    return Drawn(name, title, caption, data, None, why)


def trend(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    """Kratom reports per received year, stacked by source, with the reports naming a skin
    term and a pigmentation term drawn alongside (queries/trend.sql)."""
    title = f"Kratom reports per received year, by source, with skin and pigmentation reports ({n_text(n)})"
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
    figure, axes = new_figure(3.4, title, footnote)
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
    axes.set_ylabel("reports")
    axes.set_xticks(years, [str(y) for y in years], rotation=90 if len(years) > 12 else 0)
    axes.legend(frameon=False, fontsize=7, ncol=2, loc="lower left", bbox_to_anchor=(0.0, 1.0))
    return Drawn("trend", title, caption, frame, figure)


def barh(axes, labels, values, texts, colour="#4C72B0"):
    """Horizontal bars, the first label on top, each with its value written beside it."""
    positions = list(range(len(labels)))[::-1]
    axes.barh(positions, values, color=colour, height=0.7)
    axes.set_yticks(positions, labels)
    top = max(values) if len(values) else 0
    for y, value, text in zip(positions, values, texts):
        axes.text(value + top * 0.01, y, text, va="center", fontsize=7)
    axes.set_xlim(0, top * 1.18 if top else 1)


def reactions(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    title = f"The {len(frame)} most reported reactions (MedDRA preferred terms; {n_text(n)})"
    caption = (
        f"Reports naming each term, and their percent of the {n:,} kratom reports in scope. A report with several terms counts once "
        "for each, so the bars add up to more than the reports; a term counts once per report in any spelling."
    )
    if frame.empty:
        return nothing("reactions", title, caption, frame)
    figure, axes = new_figure(0.6 + 0.2 * len(frame), title, footnote)
    barh(axes, frame["reaction_pt"].tolist(), frame["reports"].tolist(), [f"{r:,} ({p:.1f}%)" for r, p in zip(frame["reports"], frame["pct_of_kratom_reports"])])
    axes.set_xlabel(f"reports (percent of the {n:,} kratom reports)")
    return Drawn("reactions", title, caption, frame, figure)


def skin_outcomes(frame: pd.DataFrame, n: int, skin_reports: int, footnote: str) -> Drawn:
    """Each skin term's reports split by that term's own reaction outcome (queries/skin_outcomes.sql)."""
    title = f"Skin disorders by the outcome reported for that term ({n_text(n)}; {skin_reports:,} name a skin term)"
    caption = (
        "Each bar: the reports naming the term (or any term of the group), split by the outcome reported for that term itself "
        "(FAERS reactionoutcome). CAERS has no outcome per reaction, and AERS-era FAERS reports none: they are \"not reported\". "
        "A report whose rows for one term carry two outcomes counts in both, so a bar can be longer than its n (the reports naming it)."
    )
    if frame.empty:
        return nothing("skin_outcomes", title, caption, frame, NO_REPORTS if n == 0 else "No kratom report in scope names a skin term: nothing to draw.")
    rows = list(dict.fromkeys(frame["reaction_pt"]))
    totals = frame.drop_duplicates("reaction_pt").set_index("reaction_pt")["term_reports"]
    table = frame.pivot_table(index="reaction_pt", columns="outcome", values="reports", aggfunc="sum", fill_value=0).reindex(index=rows, columns=OUTCOMES, fill_value=0)
    figure, axes = new_figure(0.9 + 0.22 * len(rows), title, footnote)
    positions = list(range(len(rows)))[::-1]
    left = pd.Series(0, index=rows)
    for outcome, colour in zip(OUTCOMES, OUTCOME_COLOURS):
        values = table[outcome]
        if values.sum() == 0:
            continue
        axes.barh(positions, values.values, left=left.values, color=colour, height=0.7, label=outcome, edgecolor="white", linewidth=0.3)
        left += values
    longest = left.max()
    for y, row in zip(positions, rows):
        axes.text(left[row] + longest * 0.01, y, f"n = {int(totals[row]):,}", va="center", fontsize=7)
    axes.set_yticks(positions, rows)
    for label in axes.get_yticklabels():
        if label.get_text().startswith("(any "):
            label.set_fontweight("bold")
    axes.set_xlim(0, longest * 1.15)
    axes.set_xlabel("reports naming the term, by that term's outcome")
    axes.legend(frameon=False, fontsize=6, ncol=4, loc="lower right", bbox_to_anchor=(1.0, 1.0))
    return Drawn("skin_outcomes", title, caption, frame, figure)


def forest(frame: pd.DataFrame, measure: str, min_reports: int, kratom: dict, background: pd.DataFrame, notes: list[str], footnote: str) -> Drawn:
    """The signals forest plot: one row per term (and source), the measure with its 95% CI
    on a log scale, flagged terms filled. frame holds the rows of `signals` it draws."""
    label = measure.upper()
    kratom_text = ", ".join(f"{source.upper()} {count:,}" for source, count in kratom.items())
    background_text = "; ".join(
        f"{row.source.upper()}: {row.total_reports:,} reports in openFDA {row.endpoint}, last_updated {row.background_last_updated} (fetched {row.background_fetched_at})"
        for row in background.itertuples(index=False)
    )
    title = f"Disproportionality: {label} with 95% CI of the {len(frame)} terms with the highest {label} and at least {min_reports} kratom reports (N = {kratom_text} kratom reports)"
    caption = (
        f"One row per term and source: {label} of kratom reports against all other reports of the same openFDA database, with its 95% "
        "confidence interval, on a log scale; the dashed line is 1 (reported as often as elsewhere). Filled red: flagged by at least one "
        "rule (Evans: PRR >= 2, chi2 >= 4, a >= 3; ROR: ROR025 > 1, a >= 3; IC: IC025 > 0); open: not flagged. a = kratom reports naming "
        f"the term. Background: {background_text}. Signals count reports received at any date, so --since, --until and --serious do "
        "not apply here. A hypothesis-generating signal of reporting, not an estimate of risk."
        + ("".join(f" {note}" for note in notes))
    )
    if frame.empty:
        return nothing("signals_forest", title, caption, frame, f"No term has at least {min_reports} kratom reports and a {label}: nothing to draw.")
    low, high = f"{measure}025", f"{measure}975"
    figure, axes = new_figure(1.0 + 0.22 * len(frame), title, footnote)
    positions = list(range(len(frame)))[::-1]
    flagged = frame[["signal_evans", "signal_ror", "signal_ic"]].astype(bool).any(axis=1)
    labels = []
    for y, row, is_flagged in zip(positions, frame.itertuples(index=False), flagged):
        value, lower, upper = getattr(row, measure), getattr(row, low), getattr(row, high)
        if pd.notna(lower):
            axes.plot([lower, upper], [y, y], color="#333333", linewidth=1)
        axes.plot([value], [y], marker="D", markersize=4.5, color="#C0392B" if is_flagged else "white", markeredgecolor="#C0392B" if is_flagged else "#333333")
        flags = ", ".join(name for name, on in (("Evans", row.signal_evans), ("ROR", row.signal_ror), ("IC", row.signal_ic)) if on)
        labels.append(f"{row.term} ({row.source.upper()}, a = {int(row.a):,})" + (f"  [{flags}]" if flags else ""))
    axes.set_yticks(positions, labels)
    axes.set_xscale("log")
    axes.axvline(1.0, color="#888888", linestyle="--", linewidth=0.8)
    axes.set_xlabel(f"{label} (95% CI), log scale")
    return Drawn("signals_forest", title, caption, frame, figure)


def age_by_sex(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    title = f"Age group by sex ({n_text(n)})"
    caption = (
        f"Reports per age group and sex, of the {n:,} kratom reports in scope (all bars add up to N). Ages given only as a decade are in "
        "an age group when the whole decade lies in it, else in \"decade spanning two groups\"."
    )
    if frame.empty:
        return nothing("age_by_sex", title, caption, frame)
    groups = list(dict.fromkeys(frame["age_group"]))
    sexes = [s for s in SEX_COLOURS if s in set(frame["sex"])]
    table = frame.pivot_table(index="age_group", columns="sex", values="reports", aggfunc="sum", fill_value=0).reindex(index=groups, columns=sexes, fill_value=0)
    figure, axes = new_figure(3.2, title, footnote)
    width = 0.8 / len(sexes)
    for i, sex in enumerate(sexes):
        xs = [g + (i - (len(sexes) - 1) / 2) * width for g in range(len(groups))]
        axes.bar(xs, table[sex].values, width=width, color=SEX_COLOURS[sex], label=sex)
    axes.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    axes.set_ylabel("reports")
    axes.legend(frameon=False, fontsize=7, ncol=3, loc="lower left", bbox_to_anchor=(0.0, 1.0))
    return Drawn("age_by_sex", title, caption, frame, figure)


def seriousness(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    """The seriousness rows of the summary table (queries/summary.sql)."""
    title = f"Seriousness criteria ({n_text(n)}; a report can meet several)"
    caption = (
        f"Reports meeting each criterion, and their percent of the {n:,} kratom reports in scope. FAERS gives the criteria; for CAERS they are "
        "derived from its outcomes (README, Seriousness). \"serious reports\" counts reports meeting at least one."
    )
    if n == 0:
        return nothing("seriousness", title, caption, frame)
    figure, axes = new_figure(0.6 + 0.22 * len(frame), title, footnote)
    barh(axes, frame["measure"].tolist(), frame["reports"].tolist(), [f"{r:,} ({p:.1f}%)" for r, p in zip(frame["reports"], frame["pct_of_kratom_reports"])], colour="#C44E52")
    axes.set_xlabel(f"reports (percent of the {n:,} kratom reports)")
    return Drawn("seriousness", title, caption, frame, figure)


def drugs(frame: pd.DataFrame, n: int, footnote: str) -> Drawn:
    title = f"The {len(frame)} products most often reported with kratom ({n_text(n)})"
    caption = (
        f"Reports listing each other product (normalized name, any role), and their percent of the {n:,} kratom reports in scope; "
        "a report listing several products counts once for each."
    )
    if frame.empty:
        return nothing("drugs", title, caption, frame, NO_REPORTS if n == 0 else "No other product is listed on the kratom reports in scope: nothing to draw.")
    figure, axes = new_figure(0.6 + 0.2 * len(frame), title, footnote)
    barh(axes, frame["product"].tolist(), frame["reports"].tolist(), [f"{r:,} ({p:.1f}%)" for r, p in zip(frame["reports"], frame["pct_of_kratom_reports"])], colour="#55A868")
    axes.set_xlabel(f"reports (percent of the {n:,} kratom reports)")
    return Drawn("drugs", title, caption, frame, figure)
